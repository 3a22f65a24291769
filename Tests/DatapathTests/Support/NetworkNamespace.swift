import Foundation

/// A named network namespace (`ip netns add`) with a unique name, deleted by `delete()`
/// (call it from `defer`).
final class NetworkNamespace {
    let name: String
    var path: String { "/run/netns/\(name)" }
    private var deleted = false

    init(prefix: String = "fpt") throws {
        name = UniqueName.make(prefix)
        try Command.check(["ip", "netns", "add", name])
        // No IPv6 chatter (router solicitations, MLD) in captures.
        _ = try? Command.run(["ip", "netns", "exec", name, "sysctl", "-qw",
                              "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
        try Command.check(["ip", "-n", name, "link", "set", "lo", "up"])
    }

    /// Runs a command inside the namespace.
    @discardableResult
    func exec(_ args: [String], seconds: Int = 10) throws -> Command.Result {
        try Command.run(["ip", "netns", "exec", name] + args, seconds: seconds)
    }

    func delete() {
        guard !deleted else { return }
        deleted = true
        _ = try? Command.run(["ip", "netns", "del", name])
    }

    deinit { delete() }
}

/// A veth pair: `name` in the test's own namespace, `peer` in `namespace`.
final class VethPair {
    let name: String
    let peer: String
    let namespace: NetworkNamespace
    let ifindex: UInt32
    private var deleted = false

    /// Creates the pair, with IPv6 off on both ends, MTU 1500, both ends up.
    init(namespace: NetworkNamespace, peer: String, prefix: String = "fpv") throws {
        name = UniqueName.make(prefix)
        self.peer = peer
        self.namespace = namespace
        try Command.check(["ip", "link", "add", "name", name, "mtu", "1500", "type", "veth", "peer", "name", peer,
                           "mtu", "1500", "netns", namespace.name])
        try? "1".write(toFile: "/proc/sys/net/ipv6/conf/\(name)/disable_ipv6", atomically: false, encoding: .utf8)
        _ = try? namespace.exec(["sysctl", "-qw", "net.ipv6.conf.\(peer).disable_ipv6=1"])
        try Command.check(["ip", "link", "set", "dev", name, "up"])
        try Command.check(["ip", "-n", namespace.name, "link", "set", "dev", peer, "up"])
        let index = if_nametoindex(name)
        guard index != 0 else { throw TestSupportError("no ifindex for \(name)") }
        ifindex = index
    }

    func delete() {
        guard !deleted else { return }
        deleted = true
        _ = try? Command.run(["ip", "link", "del", "dev", name])
    }

    deinit { delete() }
}
