/// A spanning tree BPDU, as carried after the LLC header [802.1D-2004 9.3].
///
/// Times are whole seconds; on the wire they are in units of 1/256 s [802.1D-2004 9.2.8].
public struct BPDU: Equatable, Sendable {
    /// The BPDU type [802.1D-2004 9.3.1-9.3.3].
    public enum Kind: UInt8, Sendable {
        /// Configuration BPDU (type 0x00, 35 bytes).
        case config = 0x00
        /// Rapid spanning tree BPDU (type 0x02, version 2, 36 bytes).
        case rst = 0x02
        /// Topology change notification (type 0x80, 4 bytes).
        case tcn = 0x80
    }

    /// The port role encoded in an RST BPDU's flags, bits 3-4 [802.1D-2004 9.3.3].
    public enum EncodedRole: UInt8, Sendable {
        case unknown = 0, alternateOrBackup = 1, root = 2, designated = 3
    }

    /// Flag bits [802.1D-2004 9.3.3]; a configuration BPDU uses only `topologyChange` and
    /// `topologyChangeAck`.
    public struct Flags: OptionSet, Sendable, Equatable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let topologyChange = Flags(rawValue: 0x01)
        public static let proposal = Flags(rawValue: 0x02)
        public static let learning = Flags(rawValue: 0x10)
        public static let forwarding = Flags(rawValue: 0x20)
        public static let agreement = Flags(rawValue: 0x40)
        public static let topologyChangeAck = Flags(rawValue: 0x80)
    }

    public var kind: Kind
    /// Protocol version identifier: 0 for configuration and TCN BPDUs, 2 for RST BPDUs.
    public var version: UInt8
    /// Flags other than the role bits.
    public var flags: Flags
    /// The role bits of an RST BPDU (`.unknown` for other kinds).
    public var role: EncodedRole
    public var rootID: BridgeID
    /// Root path cost [802.1D-2004 9.2.6].
    public var rootPathCost: UInt32
    /// The transmitting bridge's identifier.
    public var bridgeID: BridgeID
    /// The transmitting port's identifier.
    public var portID: PortID
    /// Message age, max age, hello time, forward delay, in seconds.
    public var messageAge: Int, maxAge: Int, helloTime: Int, forwardDelay: Int

    /// A BPDU of the given kind; fields not carried by the kind keep their defaults.
    public init(kind: Kind, flags: Flags = [], role: EncodedRole = .unknown,
                rootID: BridgeID = BridgeID(raw: 0), rootPathCost: UInt32 = 0,
                bridgeID: BridgeID = BridgeID(raw: 0), portID: PortID = PortID(raw: 0),
                messageAge: Int = 0, maxAge: Int = 20, helloTime: Int = 2, forwardDelay: Int = 15) {
        self.kind = kind
        self.version = kind == .rst ? 2 : 0
        self.flags = flags; self.role = kind == .rst ? role : .unknown
        self.rootID = rootID; self.rootPathCost = rootPathCost
        self.bridgeID = bridgeID; self.portID = portID
        self.messageAge = messageAge; self.maxAge = maxAge
        self.helloTime = helloTime; self.forwardDelay = forwardDelay
    }

    /// A topology change notification BPDU [802.1D-2004 9.3.2].
    public static let tcn = BPDU(kind: .tcn)

    /// The encoded length: 35 (config), 36 (RST) or 4 (TCN) bytes.
    public var encodedLength: Int {
        switch kind { case .config: return 35; case .rst: return 36; case .tcn: return 4 }
    }

    /// Encodes the BPDU (without LLC header), big-endian, times in 1/256 s [802.1D-2004 9.3].
    public func encode() -> [UInt8] {
        var out: [UInt8] = [0, 0, version, kind.rawValue]
        if kind == .tcn { return out }
        var f = flags.rawValue & ~0x0C
        if kind == .rst { f |= role.rawValue << 2 } else { f &= 0x81 }
        out.append(f)
        func be64(_ v: UInt64) { for s in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: v >> UInt64(s))) } }
        func be32(_ v: UInt32) { for s in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: v >> UInt32(s))) } }
        func be16(_ v: UInt16) { out.append(UInt8(v >> 8)); out.append(UInt8(truncatingIfNeeded: v)) }
        func time(_ s: Int) { be16(UInt16(clamping: max(0, s) * 256)) }
        be64(rootID.raw); be32(rootPathCost); be64(bridgeID.raw); be16(portID.raw)
        time(messageAge); time(maxAge); time(helloTime); time(forwardDelay)
        if kind == .rst { out.append(0) }  // Version 1 Length = 0 [802.1D-2004 9.3.3]
        return out
    }

    /// Decodes and validates a BPDU [802.1D-2004 9.3.4]. Trailing bytes (frame padding)
    /// are ignored.
    /// - Parameter bytes: the BPDU, starting at the Protocol Identifier.
    /// - Throws: `BPDUError` naming what is wrong.
    public init<C: Collection>(decoding bytes: C) throws where C.Element == UInt8 {
        let b = Array(bytes)
        guard b.count >= 4 else { throw BPDUError.truncated(expected: 4, actual: b.count) }
        let protocolID = UInt16(b[0]) << 8 | UInt16(b[1])
        guard protocolID == 0 else { throw BPDUError.unknownProtocol(protocolID) }
        let version = b[2]
        let kind: Kind
        switch b[3] {
        case 0x80: kind = .tcn
        case 0x00: kind = .config
        case 0x02:
            guard version >= 2 else { throw BPDUError.rstWithOldVersion(version) }
            kind = .rst
        default: throw BPDUError.unknownType(b[3])
        }
        self.init(kind: kind)
        self.version = version
        if kind == .tcn { return }
        let need = kind == .rst ? 36 : 35
        guard b.count >= need else { throw BPDUError.truncated(expected: need, actual: b.count) }
        func u64(_ i: Int) -> UInt64 { b[i..<i + 8].reduce(0) { $0 << 8 | UInt64($1) } }
        func u32(_ i: Int) -> UInt32 { b[i..<i + 4].reduce(0) { $0 << 8 | UInt32($1) } }
        func u16(_ i: Int) -> UInt16 { UInt16(b[i]) << 8 | UInt16(b[i + 1]) }
        func time(_ i: Int) -> Int { (Int(u16(i)) + 128) / 256 }
        let f = b[4]
        if kind == .rst {
            flags = Flags(rawValue: f & ~0x0C & ~0x80)
            role = EncodedRole(rawValue: (f >> 2) & 3)!
        } else {
            flags = Flags(rawValue: f & 0x81)
        }
        rootID = BridgeID(raw: u64(5)); rootPathCost = u32(13)
        bridgeID = BridgeID(raw: u64(17)); portID = PortID(raw: u16(25))
        messageAge = time(27); maxAge = time(29); helloTime = time(31); forwardDelay = time(33)
    }
}

/// Why a BPDU or BPDU frame was refused.
public enum BPDUError: Error, Equatable, CustomStringConvertible {
    case truncated(expected: Int, actual: Int)
    case unknownProtocol(UInt16)
    case unknownType(UInt8)
    case rstWithOldVersion(UInt8)
    case notSTPGroupAddress(MACAddress)
    case notLengthEncapsulated(UInt16)
    case badLLC(dsap: UInt8, ssap: UInt8, control: UInt8)
    case lengthFieldBeyondFrame(length: Int, available: Int)
    case frameTooShort(Int)

    public var description: String {
        switch self {
        case let .truncated(e, a): return "BPDU truncated: \(a) bytes, need \(e)"
        case let .unknownProtocol(p): return "BPDU protocol identifier \(p) is not 0 (spanning tree)"
        case let .unknownType(t): return "unknown BPDU type 0x\(String(t, radix: 16))"
        case let .rstWithOldVersion(v): return "RST BPDU with protocol version \(v) (need 2 or more)"
        case let .notSTPGroupAddress(m): return "destination \(m) is not 01:80:c2:00:00:00"
        case let .notLengthEncapsulated(t): return "EtherType/length 0x\(String(t, radix: 16)) is not an 802.3 length"
        case let .badLLC(d, s, c): return "LLC \(d) \(s) \(c) is not 0x42 0x42 0x03"
        case let .lengthFieldBeyondFrame(l, a): return "802.3 length \(l) exceeds the \(a) bytes present"
        case let .frameTooShort(n): return "frame of \(n) bytes is shorter than the 17-byte BPDU frame header"
        }
    }
}
