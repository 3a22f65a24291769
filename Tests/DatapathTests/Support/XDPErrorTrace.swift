import Foundation

/// Records the kernel's XDP redirect failures while it lives: a private tracefs mount and
/// trace instance with `xdp:xdp_redirect_err` and `xdp:xdp_devmap_xmit` enabled (the former
/// for failed redirects, the latter for frames a target's ndo_xdp_xmit dropped, as a veth
/// does when its peer has neither XDP nor GRO). Call `close()` from `defer`.
final class XDPErrorTrace {
    let mountPoint: String
    let instance: String
    private var closed = false

    init() throws {
        mountPoint = "/tmp/" + UniqueName.make("fptrace")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        do {
            try Command.check(["mount", "-t", "tracefs", "nodev", mountPoint])
        } catch {
            rmdir(mountPoint)
            throw error
        }
        instance = mountPoint + "/instances/" + UniqueName.make("fp")
        do {
            try FileManager.default.createDirectory(atPath: instance, withIntermediateDirectories: false)
            for event in ["xdp_redirect_err", "xdp_devmap_xmit"] {
                try "1".write(toFile: "\(instance)/events/xdp/\(event)/enable", atomically: false, encoding: .utf8)
            }
        } catch {
            close()
            throw error
        }
    }

    /// Trace lines about `ifindexes` that report a failure: every xdp_redirect_err, and
    /// xdp_devmap_xmit with drops or an error.
    func failures(involving ifindexes: Set<UInt32>) -> [String] {
        let text = (try? String(contentsOfFile: "\(instance)/trace", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init).filter { line in
            guard !line.hasPrefix("#") else { return false }
            let mentions = ifindexes.contains { i in
                line.contains("ifindex=\(i) ") || line.hasSuffix("ifindex=\(i)")
            }
            guard mentions else { return false }
            if line.contains("xdp_redirect_err") { return true }
            if line.contains("xdp_devmap_xmit") {
                return !(line.contains(" drops=0 ") && line.hasSuffix(" err=0"))
            }
            return false
        }
    }

    func close() {
        guard !closed else { return }
        closed = true
        for event in ["xdp_redirect_err", "xdp_devmap_xmit"] {
            try? "0".write(toFile: "\(instance)/events/xdp/\(event)/enable", atomically: false, encoding: .utf8)
        }
        rmdir(instance)
        _ = try? Command.run(["umount", mountPoint])
        rmdir(mountPoint)
    }

    deinit { close() }
}
