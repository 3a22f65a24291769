/// A network interface index in the daemon's network namespace (`if_nametoindex`).
public struct InterfaceIndex: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ value: UInt32) { rawValue = value }
    public static func < (l: InterfaceIndex, r: InterfaceIndex) -> Bool { l.rawValue < r.rawValue }
    public var description: String { String(rawValue) }
}
