/// Builds and parses complete Ethernet frames carrying BPDUs: 802.3 length encapsulation to
/// 01:80:C2:00:00:00 with the LLC header DSAP 0x42, SSAP 0x42, control 0x03 (UI)
/// [802.1D-2004 7.12.3, 8.13.4].
public enum BPDUFrame {
    /// The Bridge Group Address every BPDU is sent to.
    public static let groupAddress = MACAddress(0x01, 0x80, 0xC2, 0x00, 0x00, 0x00)
    /// Minimum Ethernet frame length without FCS, in bytes; shorter frames are zero padded.
    public static let minimumLength = 60

    /// Builds the frame (without FCS), padded with zeros to 60 bytes.
    /// - Parameters:
    ///   - bpdu: the BPDU to carry.
    ///   - source: the transmitting port's MAC address.
    /// - Returns: the frame bytes.
    public static func build(_ bpdu: BPDU, source: MACAddress) -> [UInt8] {
        let payload = bpdu.encode()
        let length = 3 + payload.count
        var frame = groupAddress.bytes + source.bytes
        frame += [UInt8(length >> 8), UInt8(length & 0xFF), 0x42, 0x42, 0x03]
        frame += payload
        if frame.count < minimumLength { frame += [UInt8](repeating: 0, count: minimumLength - frame.count) }
        return frame
    }

    /// Parses a frame built as by `build(_:source:)`. Any 802.1Q tag must have been removed.
    /// - Returns: the BPDU and the source MAC address.
    /// - Throws: `BPDUError` when the destination, length field, LLC header or BPDU is wrong.
    public static func parse<C: Collection>(_ frame: C) throws -> (bpdu: BPDU, source: MACAddress) where C.Element == UInt8 {
        let f = Array(frame)
        guard f.count >= 17 else { throw BPDUError.frameTooShort(f.count) }
        let dst = MACAddress(bytes: f[0..<6])!
        guard dst == groupAddress else { throw BPDUError.notSTPGroupAddress(dst) }
        let src = MACAddress(bytes: f[6..<12])!
        let lengthField = UInt16(f[12]) << 8 | UInt16(f[13])
        guard lengthField <= 1500 else { throw BPDUError.notLengthEncapsulated(lengthField) }
        guard Int(lengthField) <= f.count - 14 else {
            throw BPDUError.lengthFieldBeyondFrame(length: Int(lengthField), available: f.count - 14)
        }
        guard lengthField >= 3, f[14] == 0x42, f[15] == 0x42, f[16] == 0x03 else {
            throw BPDUError.badLLC(dsap: f[14], ssap: f[15], control: f[16])
        }
        let bpdu = try BPDU(decoding: f[17..<(14 + Int(lengthField))])
        return (bpdu, src)
    }
}
