/// A 48-bit IEEE 802 MAC address, stored in wire order.
public struct MACAddress: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    /// The six octets, in the order they appear on the wire.
    public var octets: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, _ e: UInt8, _ f: UInt8) {
        octets = (a, b, c, d, e, f)
    }

    /// Creates an address from exactly six bytes in wire order; nil for any other count.
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        guard bytes.count == 6 else { return nil }
        let b = Array(bytes)
        self.init(b[0], b[1], b[2], b[3], b[4], b[5])
    }

    /// Parses `aa:bb:cc:dd:ee:ff` (also with `-`); case-insensitive. Nil when malformed.
    public init?(_ text: String) {
        let parts = text.split(separator: text.contains("-") ? "-" : ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard (1...2).contains(part.count), let v = UInt8(part, radix: 16) else { return nil }
            bytes.append(v)
        }
        self.init(bytes: bytes)
    }

    /// The six octets as an array, wire order.
    public var bytes: [UInt8] { [octets.0, octets.1, octets.2, octets.3, octets.4, octets.5] }

    /// The address as a 48-bit integer (first octet most significant).
    public var integer: UInt64 {
        let o = octets
        return UInt64(o.0) << 40 | UInt64(o.1) << 32 | UInt64(o.2) << 24 | UInt64(o.3) << 16 | UInt64(o.4) << 8 | UInt64(o.5)
    }

    public static let broadcast = MACAddress(0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
    /// 00:00:00:00:00:00, never a station's address (the Linux bridge refuses it in its FDB).
    public static let zero = MACAddress(0, 0, 0, 0, 0, 0)

    /// Group (multicast or broadcast) addresses have the I/G bit, bit 0 of the first octet.
    public var isMulticast: Bool { octets.0 & 1 == 1 }
    public var isBroadcast: Bool { self == .broadcast }
    /// 01:80:C2:00:00:00 ... 01:80:C2:00:00:0F, which bridges never forward [802.1D-2004 7.12.6].
    public var isReservedGroup: Bool {
        octets.0 == 0x01 && octets.1 == 0x80 && octets.2 == 0xC2 && octets.3 == 0 && octets.4 == 0
            && octets.5 & 0xF0 == 0
    }

    /// `aa:bb:cc:dd:ee:ff`, lower case.
    public var description: String {
        withUnsafeBytes(of: octets) { o in
            String(unsafeUninitializedCapacity: 17) { out in
                for i in 0..<6 {
                    if i > 0 { out[3 * i - 1] = UInt8(ascii: ":") }
                    out[3 * i] = Self.hexDigits[Int(o[i] >> 4)]
                    out[3 * i + 1] = Self.hexDigits[Int(o[i] & 0xf)]
                }
                return 17
            }
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    public static func == (l: MACAddress, r: MACAddress) -> Bool { l.integer == r.integer }
    public func hash(into h: inout Hasher) { h.combine(integer) }
    public static func < (l: MACAddress, r: MACAddress) -> Bool { l.integer < r.integer }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let mac = MACAddress(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "invalid MAC '\(text)'"))
        }
        self = mac
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
