import CBPF
import Foundation
import FlowPlane
#if canImport(Glibc)
import Glibc
#endif

/// An AF_PACKET raw socket bound to one interface in a namespace: sends frames as given and
/// receives incoming ones with their VLAN tag re-inserted (the kernel moves it to metadata).
final class PacketSocket {
    let fd: Int32
    let interface: String

    init(namespace: NetworkNamespace?, interface: String) throws {
        var op: UnsafePointer<CChar>? = nil
        let fd = cbpf_packet_socket(namespace?.path, interface, &op)
        guard fd >= 0 else {
            throw TestSupportError("packet socket on \(interface): \(op.map { String(cString: $0) } ?? "?") errno \(-fd)")
        }
        self.fd = fd
        self.interface = interface
    }

    deinit { close(fd) }

    func send(_ frame: [UInt8]) throws {
        let n = frame.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
        guard n == frame.count else { throw TestSupportError("send on \(interface): errno \(errno)") }
    }

    /// The next incoming frame accepted by `filter`, or nil after `timeoutMilliseconds`.
    func receive(timeoutMilliseconds: Int = 1000, where filter: ([UInt8]) -> Bool = { _ in true }) -> [UInt8]? {
        let deadline = Date().addingTimeInterval(Double(timeoutMilliseconds) / 1000)
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let left = Int(deadline.timeIntervalSinceNow * 1000)
            if left < 0 { return nil }
            let n = buf.withUnsafeMutableBytes { cbpf_packet_recv(fd, $0.baseAddress, $0.count, Int32(left)) }
            if n <= 0 { return nil }
            let frame = Array(buf[0..<n])
            if filter(frame) { return frame }
        }
    }

    /// Every frame accepted by `filter` that arrives within `timeoutMilliseconds`.
    func drain(timeoutMilliseconds: Int = 20, where filter: ([UInt8]) -> Bool = { _ in true }) -> [[UInt8]] {
        var out: [[UInt8]] = []
        while let f = receive(timeoutMilliseconds: timeoutMilliseconds, where: filter) { out.append(f) }
        return out
    }
}

extension PacketSocket {
    /// What each socket of `sockets` (label → socket) received from source `src`: the
    /// `expecting` ones are waited for (up to 1 s each), then every socket is drained briefly
    /// (`quietMilliseconds` for the ones not expected) so extra copies show up too.
    static func captured(from src: MACAddress, on sockets: [String: PacketSocket], expecting: Set<String>,
                         quietMilliseconds: Int) -> [String: [[UInt8]]] {
        var got: [String: [[UInt8]]] = [:]
        let isOurs: ([UInt8]) -> Bool = { Frames.source($0) == src }
        for label in expecting.sorted() {
            if let f = sockets[label]?.receive(timeoutMilliseconds: 1000, where: isOurs) {
                got[label, default: []].append(f)
            }
        }
        for label in sockets.keys.sorted() {
            got[label, default: []] += sockets[label]!.drain(timeoutMilliseconds: expecting.contains(label) ? 5 : quietMilliseconds,
                                                             where: isOurs)
        }
        return got.filter { !$0.value.isEmpty }
    }
}
