import SystemPackage

/// A failed libbpf, bpf(2), netlink or ethtool call: the operation's name and its errno,
/// as swift-nio's `IOError(errnoCode:reason:)` does.
public struct BPFError: Error, Equatable, CustomStringConvertible {
    /// The failing call, for example `bpf_xdp_attach` or `bpf_map_update_elem(fp_ports)`.
    public var operation: String
    public var errno: Errno
    /// What FlowPlane was doing, when it adds something to the call's name.
    public var detail: String?

    public init(operation: String, errno: Errno, detail: String? = nil) {
        self.operation = operation; self.errno = errno; self.detail = detail
    }

    /// Builds an error from a libbpf-style return code (a negative errno).
    public init(operation: String, code: Int32, detail: String? = nil) {
        self.init(operation: operation, errno: Errno(rawValue: code < 0 ? -code : code), detail: detail)
    }

    public var description: String {
        var s = "\(operation) failed: \(errno) (errno \(errno.rawValue))"
        if let detail { s += " while \(detail)" }
        return s
    }
}

/// Throws a `BPFError` when `code`, a libbpf-style return value, is negative.
@discardableResult
func checkBPF(_ code: Int32, _ operation: @autoclosure () -> String) throws -> Int32 {
    if code < 0 { throw BPFError(operation: operation(), code: code) }
    return code
}
