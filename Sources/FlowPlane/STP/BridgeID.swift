/// A bridge identifier: a 16-bit priority followed by the bridge's 48-bit MAC address
/// [802.1D-2004 9.2.5]. Lower values are better; the lowest identifier on a LAN becomes root.
public struct BridgeID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The priority part (RSTP: a multiple of 4096, 0...61440; default 32768).
    public var priority: UInt16
    /// The bridge's MAC address.
    public var mac: MACAddress

    public init(priority: UInt16, mac: MACAddress) {
        self.priority = priority; self.mac = mac
    }

    /// Creates an identifier from its 64-bit wire value (priority in the top 16 bits).
    public init(raw: UInt64) {
        priority = UInt16(truncatingIfNeeded: raw >> 48)
        let m = raw & 0xFFFF_FFFF_FFFF
        mac = MACAddress(UInt8(truncatingIfNeeded: m >> 40), UInt8(truncatingIfNeeded: m >> 32),
                         UInt8(truncatingIfNeeded: m >> 24), UInt8(truncatingIfNeeded: m >> 16),
                         UInt8(truncatingIfNeeded: m >> 8), UInt8(truncatingIfNeeded: m))
    }

    /// The 64-bit value as carried in BPDUs (big-endian on the wire).
    public var raw: UInt64 { UInt64(priority) << 48 | mac.integer }

    /// `8000.aabbccddeeff`, as `ovs-appctl rstp/show` and `brctl showstp` print it.
    public var description: String {
        let p = String(priority, radix: 16)
        return String(repeating: "0", count: 4 - p.count) + p + "." + mac.bytes.map {
            $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16)
        }.joined()
    }

    public static func < (l: BridgeID, r: BridgeID) -> Bool { l.raw < r.raw }
}

/// A port identifier: priority in the high bits, port number in the low bits
/// [802.1D-2004 9.2.7, 17.19.21]. RSTP uses a 4-bit priority (multiples of 16 in the
/// `priority << 8` form) and a 12-bit port number (1...4095).
public struct PortID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The 16-bit wire value.
    public var raw: UInt16

    public init(raw: UInt16) { self.raw = raw }

    /// - Parameters:
    ///   - priority: 0...240 in steps of 16 (default 128).
    ///   - number: 1...4095.
    public init(priority: UInt8, number: UInt16) {
        raw = UInt16(priority & 0xF0) << 8 | (number & 0x0FFF)
    }

    /// The priority part, 0...240.
    public var priority: UInt8 { UInt8(truncatingIfNeeded: raw >> 8) & 0xF0 }
    /// The port number part, 0...4095.
    public var number: UInt16 { raw & 0x0FFF }

    /// Four hex digits, e.g. `8001`.
    public var description: String {
        let s = String(raw, radix: 16)
        return String(repeating: "0", count: 4 - s.count) + s
    }

    public static func < (l: PortID, r: PortID) -> Bool { l.raw < r.raw }
}
