import CBPF
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A failed step of the benchmark, named.
struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ text: String) { description = text }
}

/// Runs a command with a timeout (`timeout -k 2 SECONDS`) and returns its stdout.
/// - Throws: `BenchError` when it exits non-zero and `check` is true.
@discardableResult
func command(_ args: [String], timeout seconds: Int = 10, check: Bool = true) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
    p.arguments = ["-k", "2", String(seconds)] + args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    if check && p.terminationStatus != 0 {
        let msg = String(decoding: errData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        throw BenchError("\(args.joined(separator: " ")) exited \(p.terminationStatus): \(msg)")
    }
    return String(decoding: data, as: UTF8.self)
}

/// The forwarding topology, the same for every arm:
///
///     namespace NS: h0 ──veth── p0 ┐
///                   h1 ──veth── p1 │  the switch under test (FlowPlane, Linux bridge
///                   h2 ──veth── p2 │  or the trivial XDP redirect) joins p0 ... p4
///                   h3 ──veth── p3 │
///                   h4 ──veth── p4 ┘
///
/// p0 is the sending port: live frames are injected as if received on p0, and the skb
/// source sends from h0 (inside namespace NS) with AF_PACKET. h1 ... h4 (root namespace)
/// carry `fpb_count`, the receivers' XDP counter; unicast goes to h1, flood to h1 ... h4.
/// Names are unique per run (`fb<pid>…`); `cleanup()` removes everything and is safe to call
/// twice (it also runs on SIGINT/SIGTERM).
final class ForwardingLab {
    let id: String
    let netns: String
    let ports: [String]
    let hosts: [String]
    var portIndex: [UInt32] = []
    var hostIndex: [UInt32] = []
    var bench = cbpf_bench()
    var loaded = false
    var bridgeName: String { id + "br" }
    private var cleaned = false
    private let lock = NSLock()

    init(portCount: Int = 5) {
        let id = "fb\(getpid())"
        self.id = id
        netns = id + "ns"
        ports = (0..<portCount).map { "\(id)p\($0)" }
        hosts = (0..<portCount).map { "\(id)h\($0)" }
    }

    func setUp() throws {
        try command(["ip", "netns", "add", netns])
        for (i, (p, h)) in zip(ports, hosts).enumerated() {
            if i == 0 {
                try command(["ip", "link", "add", p, "type", "veth", "peer", "name", h, "netns", netns])
                try command(["ip", "-n", netns, "link", "set", h, "up"])
            } else {
                try command(["ip", "link", "add", p, "type", "veth", "peer", "name", h])
                try command(["ip", "link", "set", h, "up"])
                // No IPv6 autoconf/ND chatter on the receivers.
                try? command(["sysctl", "-q", "-w", "net.ipv6.conf.\(h).disable_ipv6=1"])
            }
            try? command(["sysctl", "-q", "-w", "net.ipv6.conf.\(p).disable_ipv6=1"])
            try command(["ip", "link", "set", p, "up"])
        }
        try? command(["ip", "netns", "exec", netns, "sysctl", "-q", "-w", "net.ipv6.conf.\(hosts[0]).disable_ipv6=1"])
        portIndex = ports.map { if_nametoindex($0) }
        hostIndex = hosts.map { $0 == hosts[0] ? 0 : if_nametoindex($0) }
        guard !portIndex.contains(0) else { throw BenchError("if_nametoindex failed for a port") }

        guard let b64 = EmbeddedBPFObjects.all["bench_redirect"], let object = Data(base64Encoded: b64.description) else {
            throw BenchError("EmbeddedBPFObjects has no bench_redirect")
        }
        var op: UnsafePointer<CChar>? = nil
        let rc = object.withUnsafeBytes { cbpf_bench_load($0.baseAddress, $0.count, &bench, &op) }
        guard rc == 0 else { throw BenchError("\(op.map { String(cString: $0) } ?? "load") failed: \(rc)") }
        loaded = true
        // The receivers' counters (native XDP on h1 ... h4; also makes XDP_REDIRECT into p1 ... p4 deliver).
        for i in 1..<hosts.count {
            var k = hostIndex[i], slot = UInt32(i)
            guard bpf_map_update_elem(bench.rx_slot_fd, &k, &slot, 0) == 0 else { throw BenchError("fpb_rx_slot update failed") }
            try attach(hostIndex[i], bench.count_fd)
        }
    }

    func attach(_ ifindex: UInt32, _ fd: Int32) throws {
        var used: Int32 = 0
        var op: UnsafePointer<CChar>? = nil
        let rc = cbpf_xdp_attach(Int32(ifindex), fd, Int32(CBPF_XDP_NATIVE.rawValue), &used, &op)
        guard rc >= 0 else { throw BenchError("XDP attach on ifindex \(ifindex): \(op.map { String(cString: $0) } ?? "") \(rc)") }
    }

    func detach(_ ifindex: UInt32) {
        var op: UnsafePointer<CChar>? = nil
        _ = cbpf_xdp_detach(Int32(ifindex), nil, &op)
    }

    /// Frames the receivers h1 ... h4 counted so far, each summed over CPUs.
    func received() -> [UInt64] {
        (1..<hosts.count).map { i in
            var sum: UInt64 = 0
            _ = cbpf_percpu_sum(bench.rx_fd, UInt32(i), &sum)
            return sum
        }
    }

    /// An AF_PACKET socket on h0 inside the namespace (the skb source), or on a root-namespace host.
    func packetSocket(host: Int) throws -> Int32 {
        var op: UnsafePointer<CChar>? = nil
        let fd = host == 0 ? cbpf_packet_socket("/run/netns/" + netns, hosts[0], &op)
                           : cbpf_packet_socket(nil, hosts[host], &op)
        guard fd >= 0 else { throw BenchError("packet socket on \(hosts[host]): \(fd)") }
        return fd
    }

    func cleanup() {
        lock.lock(); defer { lock.unlock() }
        guard !cleaned else { return }
        cleaned = true
        try? command(["ip", "link", "del", bridgeName], timeout: 5, check: false)
        for i in hostIndex.indices.dropFirst() where hostIndex[i] != 0 { detach(hostIndex[i]) }
        for p in ports { try? command(["ip", "link", "del", p], timeout: 5, check: false) }
        try? command(["ip", "netns", "del", netns], timeout: 5, check: false)
        if loaded { cbpf_bench_close(&bench); loaded = false }
    }
}
