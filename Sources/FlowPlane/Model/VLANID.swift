import Foundation

/// An 802.1Q VLAN identifier, 0 ... 4095. VID 0 is the VLAN of untagged frames on trunk
/// ports; 4095 is reserved and, as a `tag`, isolates a port (OpenStack's dead VLAN).
public struct VLANID: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: UInt16

    /// Nil when `rawValue` is above 4095.
    public init?(rawValue: UInt16) {
        guard rawValue <= 4095 else { return nil }
        self.rawValue = rawValue
    }

    /// Parses a decimal VID (digits only, no sign); nil when not a number in 0 ... 4095.
    public init?(_ text: String) {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard !t.isEmpty, t.allSatisfy(\.isASCIIDigit), let v = UInt16(t), v <= 4095 else { return nil }
        rawValue = v
    }

    public static let untagged = VLANID(rawValue: 0)!
    public static let isolated = VLANID(rawValue: 4095)!

    public static func < (l: VLANID, r: VLANID) -> Bool { l.rawValue < r.rawValue }
    public var description: String { String(rawValue) }
}


extension Character {
    /// 0 ... 9.
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
