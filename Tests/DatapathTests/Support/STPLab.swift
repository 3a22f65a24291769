import Foundation
@testable import FlowPlane

/// A lab for spanning tree on real links: a real `flowctl daemon` (root namespace) whose ports
/// are veths cabled into namespaces, where a Linux kernel bridge with STP, or plain hosts, sit.
/// Timers are short (hello 1 s, max age 6 s, forward delay 4 s) on both sides.
/// Call `tearDown()` from `defer`: it stops the daemon and removes namespaces, links and pins.
final class STPLab {
    let daemon: RealDaemon
    private(set) var namespaces: [NetworkNamespace] = []
    private(set) var cables: [VethPair] = []
    private var torn = false

    /// FlowPlane's timers, in seconds (the Linux bridge gets the same in centiseconds).
    static let helloTime = 1, maxAge = 6, forwardDelay = 4

    init() throws {
        daemon = try RealDaemon()
    }

    func namespace(_ prefix: String = "fps") throws -> NetworkNamespace {
        let ns = try NetworkNamespace(prefix: prefix)
        namespaces.append(ns)
        return ns
    }

    /// A veth whose root-namespace end (returned `.name`, for `add-port`) is uniquely named and
    /// whose other end is `peer` inside `ns`.
    @discardableResult
    func cable(to ns: NetworkNamespace, peer: String) throws -> VethPair {
        let pair = try VethPair(namespace: ns, peer: peer, prefix: "fps")
        cables.append(pair)
        return pair
    }

    /// A veth pair inside `ns` from `a` to `b` (in `other`).
    func innerCable(in ns: NetworkNamespace, _ a: String, to other: NetworkNamespace, _ b: String) throws {
        try Command.check(["ip", "-n", ns.name, "link", "add", a, "mtu", "1500", "type", "veth", "peer", "name", b,
                           "mtu", "1500", "netns", other.name])
        _ = try? ns.exec(["sysctl", "-qw", "net.ipv6.conf.\(a).disable_ipv6=1"])
        _ = try? other.exec(["sysctl", "-qw", "net.ipv6.conf.\(b).disable_ipv6=1"])
        try Command.check(["ip", "-n", ns.name, "link", "set", a, "up"])
        try Command.check(["ip", "-n", other.name, "link", "set", b, "up"])
    }

    /// A Linux kernel bridge `name` in `ns` with STP on, the lab's timers and `priority`,
    /// enslaving `ports` (interfaces already in `ns`), up.
    func linuxBridge(_ name: String, in ns: NetworkNamespace, priority: Int, ports: [String]) throws {
        try Command.check(["ip", "-n", ns.name, "link", "add", name, "type", "bridge", "stp_state", "1",
                           "forward_delay", String(Self.forwardDelay * 100), "hello_time", String(Self.helloTime * 100),
                           "max_age", String(Self.maxAge * 100), "priority", String(priority)])
        _ = try? ns.exec(["sysctl", "-qw", "net.ipv6.conf.\(name).disable_ipv6=1"])
        for p in ports { try Command.check(["ip", "-n", ns.name, "link", "set", p, "master", name]) }
        try Command.check(["ip", "-n", ns.name, "link", "set", name, "up"])
    }

    /// A Linux bridge port's STP state from sysfs: 0 disabled, 1 listening, 2 learning,
    /// 3 forwarding, 4 blocking (nil: unreadable).
    func linuxPortState(_ port: String, in ns: NetworkNamespace) -> Int? {
        (try? ns.exec(["cat", "/sys/class/net/\(port)/brport/state"], seconds: 5))
            .flatMap { $0.status == 0 ? Int($0.output.trimmingCharacters(in: .whitespacesAndNewlines)) : nil }
    }

    /// The Linux bridge's own ID or its root ID, as `8000.aabbccddeeff` (FlowPlane's spelling).
    func linuxBridgeID(_ br: String, in ns: NetworkNamespace, root: Bool = false) -> String? {
        (try? ns.exec(["cat", "/sys/class/net/\(br)/bridge/\(root ? "root_id" : "bridge_id")"], seconds: 5))
            .flatMap { $0.status == 0 ? $0.output.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() : nil }
    }

    /// Creates bridge `br` with STP on and the lab's timers (before any port is added, so
    /// ports start discarding).
    func stpBridge(_ br: String, priority: Int? = nil) throws {
        try daemon.check(["add-br", br])
        var args = ["set", "bridge", br, "stp_enable=true",
                    "other_config:stp-hello-time=\(Self.helloTime)", "other_config:stp-max-age=\(Self.maxAge)",
                    "other_config:stp-forward-delay=\(Self.forwardDelay)"]
        if let priority { args.append("other_config:stp-priority=\(priority)") }
        try daemon.check(args)
    }

    /// `flowctl stp-show br --format json`, decoded.
    func stpShow(_ br: String) throws -> STPInfo {
        let out = try daemon.check(["stp-show", br, "--format", "json"])
        return try JSONDecoder().decode(STPInfo.self, from: Data(out.utf8))
    }

    /// Polls `condition` every 200 ms for at most `seconds`; true once it held.
    @discardableResult
    func wait(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if condition() { return true }
            usleep(200_000)
        } while Date() < deadline
        return condition()
    }

    /// The MAC address of an interface in the root namespace.
    static func mac(of interface: String) -> MACAddress? {
        guard let s = try? String(contentsOfFile: "/sys/class/net/\(interface)/address", encoding: .utf8) else { return nil }
        return MACAddress(s.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// A configuration BPDU frame (802.3, LLC 42 42 03) from `source`, claiming `root` as root.
    static func configBPDU(source: MACAddress, root: BridgeID, bridge: BridgeID, cost: UInt32 = 0) -> [UInt8] {
        let bpdu = BPDU(kind: .config, rootID: root, rootPathCost: cost, bridgeID: bridge, portID: PortID(raw: 0x8001),
                        messageAge: 0, maxAge: maxAge, helloTime: helloTime, forwardDelay: forwardDelay)
        return BPDUFrame.build(bpdu, source: source)
    }

    static func isBPDU(_ f: [UInt8]) -> Bool { f.count >= 6 && Array(f[0..<6]) == BPDUFrame.groupAddress.bytes }

    func tearDown() {
        guard !torn else { return }
        torn = true
        daemon.cleanup()
        for c in cables { c.delete() }
        for ns in namespaces { ns.delete() }
    }

    deinit { tearDown() }
}
