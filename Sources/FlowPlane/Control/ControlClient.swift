import Foundation

/// Why a request did not get an answer.
public enum ControlClientError: Error, CustomStringConvertible {
    /// Nothing listens on the socket (no daemon).
    case noDaemon(path: String, reason: String)
    /// The socket exists but this user may not use it (it is root-only).
    case permissionDenied(path: String)
    /// The daemon did not answer properly.
    case badReply(String)
    public var description: String {
        switch self {
        case .noDaemon(let path, let reason): return "no FlowPlane daemon is answering on \(path) (\(reason)); start one with 'flowctl daemon'"
        case .permissionDenied(let path): return "permission denied: the control socket \(path) is for root only (run flowctl as root)"
        case .badReply(let s): return "the daemon's reply was unreadable: \(s)"
        }
    }
}

/// A small blocking client of the control socket, for `flowctl`.
public enum ControlClient {
    public static let defaultSocket = "/run/flowplane/flowplane.sock"

    /// Sends one request and waits (up to `timeoutSeconds`) for the reply.
    public static func send(_ request: ControlRequest, socketPath: String, timeoutSeconds: Int = 30) throws -> ControlResponse {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlClientError.noDaemon(path: socketPath, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socketPath.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            throw ControlClientError.noDaemon(path: socketPath, reason: "path too long")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            for (i, b) in bytes.enumerated() { p[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            if e == EACCES || e == EPERM { throw ControlClientError.permissionDenied(path: socketPath) }
            throw ControlClientError.noDaemon(path: socketPath, reason: String(cString: strerror(e)))
        }
        var data = try JSONEncoder().encode(request)
        data.append(UInt8(ascii: "\n"))
        var off = 0
        while off < data.count {
            // MSG_NOSIGNAL: a daemon that refuses the peer answers and closes at once; no SIGPIPE.
            let n = data.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, data.count - off, Int32(MSG_NOSIGNAL)) }
            if n > 0 { off += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EPIPE || errno == ECONNRESET) { break }  // its reply may be waiting: read it
            throw ControlClientError.noDaemon(path: socketPath, reason: String(cString: strerror(errno)))
        }
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw ControlClientError.badReply("read: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            reply += chunk[0..<n]
            if reply.last == UInt8(ascii: "\n") { break }
        }
        guard !reply.isEmpty else { throw ControlClientError.badReply("empty reply") }
        do { return try JSONDecoder().decode(ControlResponse.self, from: Data(reply)) } catch {
            throw ControlClientError.badReply("\(error)")
        }
    }
}
