import Foundation

/// How the daemon exchanges BPDUs with the ports: the datapath hands BPDUs
/// (01:80:C2:00:00:00) of STP-enabled bridges to the port's netdev (XDP_PASS); the daemon
/// reads them here and sends its own BPDUs straight out of a port.
public protocol BPDUTransport: AnyObject {
    /// Sends a whole Ethernet frame (destination MAC first, no FCS) out of `ifindex`.
    func send(_ frame: [UInt8], ifindex: InterfaceIndex) throws
    /// Hands every queued received BPDU frame to `handler` without waiting.
    /// - Returns: the number of frames handled.
    @discardableResult
    func receive(_ handler: (InterfaceIndex, [UInt8]) -> Void) throws -> Int
}

/// `struct SockaddrLL` (linux/if_packet.h), which Glibc's module does not export.
struct SockaddrLL {
    var sll_family: UInt16 = 0
    var sll_protocol: UInt16 = 0
    var sll_ifindex: Int32 = 0
    var sll_hatype: UInt16 = 0
    var sll_pkttype: UInt8 = 0
    var sll_halen: UInt8 = 0
    var sll_addr: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0)
}

/// BPDUs through one AF_PACKET socket of protocol ETH_P_802_2 (802.3 frames with an LLC
/// header, which BPDUs are), unbound so it sees every interface. Only frames to
/// 01:80:C2:00:00:00 arriving (not leaving) are reported.
public final class PacketSocketBPDUTransport: BPDUTransport {
    private let fd: Int32
    static let ethP8022: UInt16 = 0x0004

    /// - Throws: `DatapathError` naming `socket` when the socket cannot be opened (needs root).
    public init() throws {
        fd = socket(AF_PACKET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
                    Int32(Self.ethP8022.bigEndian))
        guard fd >= 0 else { throw DatapathError(operation: "socket(AF_PACKET)", message: String(cString: strerror(errno))) }
    }

    deinit { close(fd) }

    public func send(_ frame: [UInt8], ifindex: InterfaceIndex) throws {
        guard frame.count >= 14 else { throw DatapathError(operation: "sendto(AF_PACKET)", message: "frame of \(frame.count) bytes is too short") }
        var addr = SockaddrLL()
        addr.sll_addr = (frame[0], frame[1], frame[2], frame[3], frame[4], frame[5], 0, 0)
        addr.sll_family = UInt16(AF_PACKET)
        addr.sll_protocol = Self.ethP8022.bigEndian
        addr.sll_ifindex = Int32(bitPattern: ifindex.rawValue)
        addr.sll_halen = 6
        let n = withUnsafePointer(to: &addr) { a in
            a.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                frame.withUnsafeBytes { sendto(fd, $0.baseAddress, frame.count, 0, sa, socklen_t(MemoryLayout<SockaddrLL>.size)) }
            }
        }
        guard n == frame.count else { throw DatapathError(operation: "sendto(AF_PACKET)", message: String(cString: strerror(errno))) }
    }

    @discardableResult
    public func receive(_ handler: (InterfaceIndex, [UInt8]) -> Void) throws -> Int {
        var buf = [UInt8](repeating: 0, count: 2048)
        var count = 0
        while count < 4096 {
            var addr = SockaddrLL()
            var len = socklen_t(MemoryLayout<SockaddrLL>.size)
            let n = withUnsafeMutablePointer(to: &addr) { a in
                a.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buf, buf.count, Int32(MSG_DONTWAIT), $0, &len) }
            }
            if n < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK { break }
                if errno == EINTR { continue }
                throw DatapathError(operation: "recvfrom(AF_PACKET)", message: String(cString: strerror(errno)))
            }
            // PACKET_OUTGOING = 4: our own transmissions.
            guard addr.sll_pkttype != 4, n >= 14, buf[0] == 0x01, buf[1] == 0x80, buf[2] == 0xC2,
                  buf[3] == 0, buf[4] == 0, buf[5] == 0 else { continue }
            handler(InterfaceIndex(UInt32(bitPattern: addr.sll_ifindex)), Array(buf[0..<n]))
            count += 1
        }
        return count
    }
}

extension SimulatedDatapath: BPDUTransport {
    public func send(_ frame: [UInt8], ifindex: InterfaceIndex) throws {
        transmitted.append((ifindex, frame))
    }

    @discardableResult
    public func receive(_ handler: (InterfaceIndex, [UInt8]) -> Void) throws -> Int {
        let frames = toHost
        clearToHost()
        for f in frames { handler(f.ifindex, f.bytes) }
        return frames.count
    }
}
