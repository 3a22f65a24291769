import Foundation
import FlowPlane

/// Builders for test frames: Ethernet, 802.1Q, ARP. Test MACs start with 02:46:50 ("FP").
enum Frames {
    static func mac(_ n: UInt8) -> MACAddress { MACAddress(0x02, 0x46, 0x50, 0x00, 0x00, n) }
    static let broadcast = MACAddress.broadcast
    static let multicast = MACAddress(0x01, 0x00, 0x5e, 0x01, 0x02, 0x03)

    /// An Ethernet frame; with `vlan` an 802.1Q tag (VID, PCP) follows the MACs.
    static func ethernet(dst: MACAddress, src: MACAddress, vlan: (vid: UInt16, pcp: UInt8)? = nil,
                         etherType: UInt16 = 0x88b5, payload: [UInt8] = Array(repeating: 0xab, count: 46)) -> [UInt8] {
        var f = dst.bytes + src.bytes
        if let vlan {
            let tci = UInt16(vlan.pcp) << 13 | (vlan.vid & 0x0fff)
            f += [0x81, 0x00, UInt8(tci >> 8), UInt8(tci & 0xff)]
        }
        f += [UInt8(etherType >> 8), UInt8(etherType & 0xff)]
        return f + payload
    }

    /// A broadcast ARP request "who has `target`, tell `sender`" from `src`.
    static func arpRequest(src: MACAddress, sender: [UInt8], target: [UInt8], vlan: (vid: UInt16, pcp: UInt8)? = nil) -> [UInt8] {
        let body: [UInt8] = [0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01] + src.bytes + sender
            + [0, 0, 0, 0, 0, 0] + target + Array(repeating: 0, count: 18)
        return ethernet(dst: .broadcast, src: src, vlan: vlan, etherType: 0x0806, payload: body)
    }

    /// The source MAC of a frame.
    static func source(_ f: [UInt8]) -> MACAddress? { f.count >= 12 ? MACAddress(bytes: f[6..<12]) : nil }

    /// The frame with its 802.1Q tag rewritten (nil: removed), for expected outputs.
    static func retagged(_ f: [UInt8], _ vlan: (vid: UInt16, pcp: UInt8)?) -> [UInt8] {
        var body = f
        if f.count >= 16 && f[12] == 0x81 && f[13] == 0x00 { body.removeSubrange(12..<16) }
        guard let vlan else { return body }
        let tci = UInt16(vlan.pcp) << 13 | (vlan.vid & 0x0fff)
        body.insert(contentsOf: [0x81, 0x00, UInt8(tci >> 8), UInt8(tci & 0xff)], at: 12)
        return body
    }

    static func hex(_ f: [UInt8]) -> String { f.map { String(format: "%02x", $0) }.joined() }
}
