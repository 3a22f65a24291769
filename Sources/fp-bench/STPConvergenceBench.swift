import FlowPlane
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// STP/RSTP convergence figures of issue 4 (owner: STP interop author). Measured, not asserted:
///
/// - RSTP between two FlowPlane bridges (two bridges of one real daemon) joined by two
///   point-to-point veth links: the time from the last `add-port` until every port has its
///   final role and state (one side designated/forwarding on both links, the other root port
///   forwarding and alternate discarding).
/// - The 802.1D fallback against a Linux kernel bridge with STP (priority 0, so it is root) in
///   a namespace, cabled to FlowPlane twice: the time from the last `add-port` until
///   FlowPlane's root port forwards, its alternate discards and the Linux ports forward.
///
/// Both sides use hello 1 s, max age 6 s, forward delay 4 s (the shortest 802.1D allows), so
/// the 802.1D figure is bound below by 2 × forward delay = 8 s by design; RSTP needs no timer.
/// Uses `options.flowctl` as daemon and client; creates and removes its own links, namespace,
/// daemon state and pins (also on failure).
enum STPConvergenceBench {
    static let section = "stp-convergence"
    static let helloTime = 1, maxAge = 6, forwardDelay = 4

    static func run(_ options: BenchOptions) throws -> [BenchFigure] {
        guard let flowctl = options.flowctl, FileManager.default.isExecutableFile(atPath: flowctl) else {
            return [BenchFigure(section: section, name: "not measured", value: .nan, unit: "ms",
                                note: "no flowctl binary given (options.flowctl)")]
        }
        guard geteuid() == 0 else {
            return [BenchFigure(section: section, name: "not measured", value: .nan, unit: "ms", note: "needs root")]
        }
        let runs = options.smoke ? 1 : max(1, options.runs)
        let daemon = try Daemon(flowctl: flowctl)
        defer { daemon.cleanup() }
        var figures: [BenchFigure] = []

        var rstp: [Timing] = [], rstpFailures: [String] = []
        for i in 0..<runs {
            do { rstp.append(try rstpRun(daemon, index: i)) } catch { rstpFailures.append("\(error)") }
        }
        figures.append(figure("RSTP, two FlowPlane bridges, 2 point-to-point veth links: ports added → final roles forwarding",
                              rstp.map(\.afterAdd), failures: rstpFailures,
                              note: "one daemon, two bridges; from the last add-port (adding the 4 ports took \(ms(median(rstp.map(\.adding)))) ms, "
                                  + "from the first add-port \(ms(median(rstp.map(\.total)))) ms); hello \(helloTime) s: the ports of one bridge join after the "
                                  + "other's first BPDUs went unheard, so up to one hello passes before the proposal/agreement handshake; stp-show polled every 20 ms"))

        let failovers = rstp.compactMap(\.failover)
        figures.append(figure("RSTP failover: root port's link down → alternate port forwarding as root port",
                              failovers, failures: rstpFailures + Array(repeating: "no failover within 20 s", count: rstp.count - failovers.count),
                              note: "same topology; carrier is polled by the daemon's STP tick (250 ms)"))

        var legacy: [Timing] = [], legacyFailures: [String] = []
        for i in 0..<runs {
            do { legacy.append(try linuxRun(daemon, index: i)) } catch { legacyFailures.append("\(error)") }
        }
        figures.append(figure("802.1D fallback vs Linux bridge (root, stp_state 1), 2 links: ports added → forwarding",
                              legacy.map(\.afterAdd), failures: legacyFailures,
                              note: "from the last add-port (from the first: \(ms(median(legacy.map(\.total)))) ms); forward delay \(forwardDelay) s on both sides: "
                                  + "802.1D needs ≥ 2 × forward delay = \(2 * forwardDelay * 1000) ms"))
        return figures
    }

    /// One run: milliseconds spent in the `add-port`s, from the last one to convergence, and in all.
    struct Timing {
        var adding: Double, afterAdd: Double
        /// RSTP only: root port's link taken down → the alternate port forwards as root port.
        var failover: Double? = nil
        var total: Double { adding + afterAdd }
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? Double.nan
            : sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    static func ms(_ v: Double) -> String { v.isNaN ? "-" : String(Int(v.rounded())) }

    static func figure(_ name: String, _ values: [Double], failures: [String], note: String) -> BenchFigure {
        let sorted = values.sorted()
        let median = median(values)
        var n = note
        if !failures.isEmpty { n += "; \(failures.count) run(s) failed: \(failures.first!.prefix(300))" }
        return BenchFigure(section: section, name: name, value: median, unit: "ms", min: sorted.first, max: sorted.last,
                           runs: values.count, note: n)
    }

    // MARK: - The two arms

    /// Two bridges of one daemon, two veth links between them; returns milliseconds.
    static func rstpRun(_ d: Daemon, index: Int) throws -> Timing {
        let tag = "\(getpid() % 10000)\(index)"
        let (brA, brB) = ("fpbsa\(tag)", "fpbsb\(tag)")
        let links = [("fbsa\(tag)x", "fbsb\(tag)x"), ("fbsa\(tag)y", "fbsb\(tag)y")]
        defer {
            _ = try? d.flowctl(["del-br", brA]); _ = try? d.flowctl(["del-br", brB])
            for (a, _) in links { _ = try? Shell.run(["ip", "link", "del", a]) }
        }
        for (a, b) in links {
            try Shell.check(["ip", "link", "add", a, "mtu", "1500", "type", "veth", "peer", "name", b, "mtu", "1500"])
            try Shell.check(["ip", "link", "set", a, "up"]); try Shell.check(["ip", "link", "set", b, "up"])
        }
        try d.stpBridge(brA, priority: 4096)
        try d.stpBridge(brB, priority: 32768)
        let start = Date()
        for (a, b) in links {
            try d.flowctl(["add-port", brA, a]); try d.flowctl(["add-port", brB, b])
        }
        let added = Date()
        let done = try d.waitFor(seconds: 30) {
            guard let sa = try? d.stpShow(brA), let sb = try? d.stpShow(brB), sa.ports.count == 2, sb.ports.count == 2 else { return false }
            let aFinal = sa.ports.allSatisfy { $0.role == "designated" && $0.state == "forwarding" }
            let bRoles = sb.ports.map { "\($0.role)/\($0.state)" }.sorted()
            return aFinal && bRoles == ["alternate/discarding", "root/forwarding"] && sb.rootID == sa.bridgeID
        }
        guard done else { throw BenchError("RSTP did not converge in 30 s: \((try? d.flowctl(["stp-show", brB])) ?? "")") }
        var timing = Timing(adding: added.timeIntervalSince(start) * 1000, afterAdd: Date().timeIntervalSince(added) * 1000)

        // Failover: take the root port's link down; the alternate takes over without timers.
        let sb = try d.stpShow(brB)
        guard let rootPort = sb.ports.first(where: { $0.role == "root" })?.name,
              let alternate = sb.ports.first(where: { $0.role == "alternate" })?.name else { return timing }
        let down = Date()
        try Shell.check(["ip", "link", "set", rootPort, "down"])
        let failedOver = try d.waitFor(seconds: 20) {
            guard let s = try? d.stpShow(brB) else { return false }
            return s.ports.contains { $0.name == alternate && $0.role == "root" && $0.state == "forwarding" }
        }
        if failedOver { timing.failover = Date().timeIntervalSince(down) * 1000 }
        return timing
    }

    /// A Linux bridge with STP (priority 0) in a namespace, cabled twice to one FlowPlane bridge.
    static func linuxRun(_ d: Daemon, index: Int) throws -> Timing {
        let tag = "\(getpid() % 10000)\(index)"
        let ns = "fpbsl\(tag)"
        let br = "fpbsc\(tag)"
        let ports = ["fbsc\(tag)x", "fbsc\(tag)y"]
        defer {
            _ = try? d.flowctl(["del-br", br])
            for p in ports { _ = try? Shell.run(["ip", "link", "del", p]) }
            _ = try? Shell.run(["ip", "netns", "del", ns])
        }
        try Shell.check(["ip", "netns", "add", ns])
        try Shell.check(["ip", "-n", ns, "link", "add", "lbr", "type", "bridge", "stp_state", "1",
                         "forward_delay", String(forwardDelay * 100), "hello_time", String(helloTime * 100),
                         "max_age", String(maxAge * 100), "priority", "0"])
        try Shell.check(["ip", "-n", ns, "link", "set", "lbr", "up"])
        for (i, p) in ports.enumerated() {
            try Shell.check(["ip", "link", "add", p, "mtu", "1500", "type", "veth", "peer", "name", "l\(i)", "mtu", "1500", "netns", ns])
            try Shell.check(["ip", "-n", ns, "link", "set", "l\(i)", "master", "lbr"])
            try Shell.check(["ip", "-n", ns, "link", "set", "l\(i)", "up"])
            try Shell.check(["ip", "link", "set", p, "up"])
        }
        let lbrID = try Shell.check(["ip", "netns", "exec", ns, "cat", "/sys/class/net/lbr/bridge/bridge_id"])
            .trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        try d.stpBridge(br, priority: 32768)
        let start = Date()
        for p in ports { try d.flowctl(["add-port", br, p]) }
        let added = Date()
        let done = try d.waitFor(seconds: 40) {
            guard let s = try? d.stpShow(br), s.ports.count == 2, s.rootID == lbrID else { return false }
            guard s.ports.map({ "\($0.role)/\($0.state)" }).sorted() == ["alternate/discarding", "root/forwarding"] else { return false }
            let linux = (0..<2).map { (try? Shell.run(["ip", "netns", "exec", ns, "cat", "/sys/class/net/l\($0)/brport/state"]))?.output
                .trimmingCharacters(in: .whitespacesAndNewlines) }
            return linux == ["3", "3"]
        }
        guard done else { throw BenchError("no convergence with the Linux bridge in 40 s: \((try? d.flowctl(["stp-show", br])) ?? "")") }
        return Timing(adding: added.timeIntervalSince(start) * 1000, afterAdd: Date().timeIntervalSince(added) * 1000)
    }

    // MARK: - Plumbing

    struct BenchError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// External commands, each under `timeout(1)`.
    enum Shell {
        struct Result { var status: Int32; var output: String }

        static func run(_ args: [String], seconds: Int = 10) throws -> Result {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            p.arguments = ["-k", "2", String(seconds)] + args
            let pipe = Pipe()
            p.standardOutput = pipe
            p.standardError = pipe
            try p.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return Result(status: p.terminationStatus, output: String(decoding: data, as: UTF8.self))
        }

        @discardableResult
        static func check(_ args: [String], seconds: Int = 10) throws -> String {
            let r = try run(args, seconds: seconds)
            guard r.status == 0 else { throw BenchError("\(args.joined(separator: " ")) exited \(r.status): \(r.output)") }
            return r.output
        }
    }

    /// A `flowctl daemon` with its own socket, database and pin root.
    final class Daemon {
        let flowctl: String
        let dir: String
        let socket: String
        let pinRoot: String
        private var process: Process?

        init(flowctl: String) throws {
            self.flowctl = flowctl
            dir = NSTemporaryDirectory() + "fpbench-stp-\(getpid())"
            socket = dir + "/fp.sock"
            pinRoot = "/sys/fs/bpf/fpbench_stp_\(getpid())"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: flowctl)
            p.arguments = ["daemon", "--socket", socket, "--db", dir + "/fp.db", "--pin-root", pinRoot]
            var env = ProcessInfo.processInfo.environment
            env.removeValue(forKey: "FLOWPLANE_DATAPATH")
            p.environment = env
            FileManager.default.createFile(atPath: dir + "/daemon.log", contents: nil)
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/daemon.log"))
            p.standardOutput = log
            p.standardError = log
            try p.run()
            process = p
            for _ in 0..<200 {
                if !p.isRunning { break }
                if (try? Shell.run([flowctl, "list-br", "--socket", socket], seconds: 2))?.status == 0 { return }
                usleep(50_000)
            }
            let text = (try? String(contentsOfFile: dir + "/daemon.log", encoding: .utf8)) ?? ""
            cleanup()
            throw BenchError("the daemon did not answer within 10 s: \(text.suffix(500))")
        }

        @discardableResult
        func flowctl(_ args: [String], seconds: Int = 10) throws -> String {
            try Shell.check([flowctl] + args + ["--socket", socket], seconds: seconds)
        }

        func stpBridge(_ br: String, priority: Int) throws {
            try flowctl(["add-br", br])
            try flowctl(["set", "bridge", br, "stp_enable=true", "other_config:stp-priority=\(priority)",
                         "other_config:stp-hello-time=\(STPConvergenceBench.helloTime)",
                         "other_config:stp-max-age=\(STPConvergenceBench.maxAge)",
                         "other_config:stp-forward-delay=\(STPConvergenceBench.forwardDelay)"])
        }

        func stpShow(_ br: String) throws -> STPInfo {
            try JSONDecoder().decode(STPInfo.self, from: Data(flowctl(["stp-show", br, "--format", "json"], seconds: 5).utf8))
        }

        /// Polls `condition` every 20 ms for at most `seconds`.
        func waitFor(seconds: Double, _ condition: () -> Bool) throws -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if condition() { return true }
                usleep(20_000)
            }
            return false
        }

        func cleanup() {
            if let p = process {
                if p.isRunning { p.terminate() }
                for _ in 0..<250 where p.isRunning { usleep(20_000) }
                if p.isRunning { kill(p.processIdentifier, SIGKILL) }
                p.waitUntilExit()
                process = nil
            }
            _ = try? Shell.run(["rm", "-rf", pinRoot])
            // A daemon stopped with bridges left keeps its pin root's lock file.
            unlink(FlowPlaneDaemon.pinRootLockBase(pinRoot) + ".lock")
            try? FileManager.default.removeItem(atPath: dir)
        }
    }
}
