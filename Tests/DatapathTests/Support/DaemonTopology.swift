import Foundation
import FlowPlane
#if canImport(Glibc)
import Glibc
#endif

/// A real `flowctl daemon` (RealDaemon) with bridge br0 and veth hosts: each host is a veth
/// whose peer (named like the host label) sits in a namespace of its own, optionally with an
/// IPv4 address, and a packet socket on the peer. Ports are added through `flowctl add-port`,
/// so the daemon prepares the peers itself. Call `tearDown()` from `defer`.
final class DaemonTopology {
    let daemon: RealDaemon
    let bridge = "br0"
    private(set) var namespaces: [String: NetworkNamespace] = [:]
    private(set) var links: [String: VethPair] = [:]
    private(set) var sockets: [String: PacketSocket] = [:]
    private var torn = false

    init(bridge: Bool = true) throws {
        daemon = try RealDaemon()
        if bridge {
            do { try daemon.check(["add-br", self.bridge]) } catch { daemon.cleanup(); throw error }
        }
    }

    /// Adds host `label`: namespace, veth (peer `label`), optional address `ip` (CIDR), a
    /// packet socket, and, when `addPort`, `flowctl add-port br0 <veth>`.
    @discardableResult
    func addHost(_ label: String, ip: String? = nil, addPort: Bool = true) throws -> VethPair {
        let ns = try NetworkNamespace(prefix: "fpi")
        namespaces[label] = ns
        let pair = try VethPair(namespace: ns, peer: label, prefix: "fpi")
        links[label] = pair
        if let ip { try Command.check(["ip", "-n", ns.name, "addr", "add", ip, "dev", label]) }
        sockets[label] = try PacketSocket(namespace: ns, interface: label)
        if addPort { try daemon.check(["add-port", bridge, pair.name]) }
        return pair
    }

    /// The switch-side port name of host `label`.
    func port(_ label: String) -> String { links[label]!.name }
    func socket(_ label: String) -> PacketSocket { sockets[label]! }
    func ns(_ label: String) -> NetworkNamespace { namespaces[label]! }
    /// Host label of a switch-side port name.
    func label(ofPort name: String) -> String? { links.first { $0.value.name == name }?.key }

    // MARK: flowctl views

    /// `dump-fdb br0 --format json` as rows.
    func fdbRows() throws -> [[String: Any]] {
        let out = try daemon.check(["dump-fdb", bridge, "--format", "json"])
        guard let rows = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]] else {
            throw TestSupportError("dump-fdb json is not an array: \(out)")
        }
        return rows
    }

    /// MAC → host label (or port name when no host owns it), from `dump-fdb --format json`.
    func fdb() throws -> [MACAddress: String] {
        var out: [MACAddress: String] = [:]
        for r in try fdbRows() {
            guard let m = r["mac"] as? String, let mac = MACAddress(m), let p = r["port"] as? String else { continue }
            out[mac] = label(ofPort: p) ?? p
        }
        return out
    }

    /// Port name → counters object, from `dump-ports br0 --format json`.
    func portCounters() throws -> [String: [String: Any]] {
        let out = try daemon.check(["dump-ports", bridge, "--format", "json"])
        guard let rows = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]] else {
            throw TestSupportError("dump-ports json is not an array: \(out)")
        }
        var byPort: [String: [String: Any]] = [:]
        for r in rows { if let p = r["port"] as? String { byPort[p] = r } }
        return byPort
    }

    /// One counter of host `label`'s port (0 when absent).
    func counter(_ label: String, _ key: String) throws -> UInt64 {
        let c = try portCounters()[port(label)]
        return (c?[key] as? NSNumber)?.uint64Value ?? 0
    }

    /// `fdb-stats br0 --format json`.
    func fdbStats() throws -> FDBStats {
        let out = try daemon.check(["fdb-stats", bridge, "--format", "json"])
        return try JSONDecoder().decode(FDBStats.self, from: Data(out.utf8))
    }

    // MARK: waiting

    /// Polls `condition` every 50 ms for at most `seconds` (and at most 400 times).
    @discardableResult
    static func waitUntil(seconds: Double = 3, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        for _ in 0..<400 {
            if try condition() { return true }
            if Date() >= deadline { return false }
            usleep(50_000)
        }
        return try condition()
    }

    /// Waits until the FDB maps `mac` to host `label` (at most `seconds`).
    @discardableResult
    func waitLearned(_ mac: MACAddress, on label: String, seconds: Double = 3) -> Bool {
        Self.waitUntil(seconds: seconds) { ((try? fdb()) ?? [:])[mac] == label }
    }

    /// Sends `frame` from host `label` (through its veth into the switch).
    func send(_ frame: [UInt8], from label: String) throws { try socket(label).send(frame) }

    /// Frames from `src` that reached each host within the time limits: `expecting` hosts are
    /// waited for (1 s each), the others drained for a short while.
    func captured(from src: MACAddress, expecting: Set<String> = []) -> [String: [[UInt8]]] {
        var got: [String: [[UInt8]]] = [:]
        let isOurs: ([UInt8]) -> Bool = { Frames.source($0) == src }
        for l in expecting.sorted() {
            if let f = socket(l).receive(timeoutMilliseconds: 1000, where: isOurs) { got[l, default: []].append(f) }
        }
        for l in sockets.keys.sorted() {
            got[l, default: []] += socket(l).drain(timeoutMilliseconds: expecting.contains(l) ? 5 : 30, where: isOurs)
        }
        return got.filter { !$0.value.isEmpty }
    }

    /// Drops whatever is queued on every host's socket.
    func drainAll() { for s in sockets.values { _ = s.drain(timeoutMilliseconds: 5) } }

    func tearDown() {
        guard !torn else { return }
        torn = true
        daemon.cleanup()
        sockets = [:]
        for l in links.values { l.delete() }
        for n in namespaces.values { n.delete() }
    }

    deinit { tearDown() }
}
