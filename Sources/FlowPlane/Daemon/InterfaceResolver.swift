import Foundation

/// Finds network interfaces by name (`if_nametoindex`) in the daemon's namespace.
public protocol InterfaceResolver: AnyObject {
    /// The interface's index, nil when there is no such interface.
    func index(of name: String) -> InterfaceIndex?
    /// The interface's master (a Linux bridge or bond it is enslaved to), nil when none.
    func master(of name: String) -> String?
    /// The interface's own MAC address (BPDUs are sourced from it), nil when unknown.
    func macAddress(of name: String) -> MACAddress?
    /// Whether the interface has carrier (link up); nil when unknown.
    func hasCarrier(_ name: String) -> Bool?
    /// The interface's ARPHRD link type (1 = Ethernet); nil when unknown.
    func linkType(of name: String) -> Int?
}

extension InterfaceResolver {
    public func master(of name: String) -> String? { nil }
    public func linkType(of name: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/sys/class/net/\(name)/type", encoding: .utf8) else { return nil }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    public func hasCarrier(_ name: String) -> Bool? {
        if let text = try? String(contentsOfFile: "/sys/class/net/\(name)/carrier", encoding: .utf8) {
            return text.trimmingCharacters(in: .whitespacesAndNewlines) == "1"
        }
        // Reading `carrier` fails (EINVAL) while the interface is administratively down: no link
        // then (without this, STP kept an admin-down port as root port until its info aged out).
        guard let text = try? String(contentsOfFile: "/sys/class/net/\(name)/flags", encoding: .utf8),
              let flags = Int(text.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "0x", with: ""), radix: 16)
        else { return nil }
        return flags & 0x1 /* IFF_UP */ == 0 ? false : nil
    }
    public func macAddress(of name: String) -> MACAddress? {
        guard let text = try? String(contentsOfFile: "/sys/class/net/\(name)/address", encoding: .utf8) else { return nil }
        return MACAddress(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// The system's interfaces.
public final class SystemInterfaces: InterfaceResolver {
    public init() {}
    public func index(of name: String) -> InterfaceIndex? {
        let i = if_nametoindex(name)
        return i == 0 ? nil : InterfaceIndex(i)
    }
    public func master(of name: String) -> String? {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/sys/class/net/\(name)/master") else { return nil }
        return (target as NSString).lastPathComponent
    }
}

/// A fixed table of interfaces, for tests and the simulated daemon
/// (`FLOWPLANE_SIM_INTERFACES=name,name,...` gives ifindex 100, 101, ...).
public final class StaticInterfaces: InterfaceResolver {
    public var table: [String: InterfaceIndex]
    public init(_ table: [String: InterfaceIndex] = [:]) { self.table = table }
    public convenience init(names: [String], firstIndex: UInt32 = 100) {
        var t: [String: InterfaceIndex] = [:]
        for (i, n) in names.enumerated() { t[n] = InterfaceIndex(firstIndex + UInt32(i)) }
        self.init(t)
    }
    public func index(of name: String) -> InterfaceIndex? { table[name] }
    /// Masters of interfaces, for tests.
    public var masters: [String: String] = [:]
    public func master(of name: String) -> String? { masters[name] }
    /// MAC addresses of interfaces, for tests.
    public var macs: [String: MACAddress] = [:]
    public func macAddress(of name: String) -> MACAddress? { macs[name] }
    /// Link types of interfaces, for tests (default Ethernet).
    public var linkTypes: [String: Int] = [:]
    public func linkType(of name: String) -> Int? { table[name] == nil ? nil : linkTypes[name] ?? 1 }
    /// Interfaces without carrier, for tests.
    public var down: Set<String> = []
    public func hasCarrier(_ name: String) -> Bool? { table[name] == nil ? nil : !down.contains(name) }
}
