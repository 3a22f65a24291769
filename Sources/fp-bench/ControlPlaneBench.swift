import CBPF
import FlowPlane
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Control-plane figures of issue 5 (owner: control-plane bench author).
///
/// Learning is measured through the real path: a frame with a new source MAC runs through the
/// daemon's pinned `fp_ingress` (`BPF_PROG_TEST_RUN` with the port's ifindex as ingress), which
/// emits a learn event on the ring buffer; the real `flowctl daemon` (SwitchController) learns
/// it and installs the entry; the bench sees the entry appear in the pinned `fp_fdb` map.
/// The forwarding cost of a large FDB is measured on `BPFDatapath` directly (no daemon: it is
/// about the datapath's hash lookup), as the kernel's ns per `fp_ingress` run, each run with a
/// different destination MAC so the lookups are not all served from one cache line.
enum ControlPlaneBench {
    static let section = "control-plane"

    static func run(_ options: BenchOptions) throws -> [BenchFigure] {
        var figures: [BenchFigure] = []
        do {
            figures += try daemonFigures(options)
        } catch {
            figures.append(BenchFigure(section: section, name: "learning/dump-fdb/RSS (real daemon)", value: .nan,
                                       unit: "", note: "not measured: \(error)"))
        }
        do {
            figures += try largeFDBFigures(options)
        } catch {
            figures.append(BenchFigure(section: section, name: "forwarding with 1 M FDB entries", value: .nan,
                                       unit: "", note: "not measured: \(error)"))
        }
        return figures
    }

    // MARK: - Learning, dump-fdb and RSS through the real daemon

    static func daemonFigures(_ options: BenchOptions) throws -> [BenchFigure] {
        guard let flowctl = options.flowctl ?? CPBUtil.defaultFlowctl() else {
            throw CPBError("no flowctl binary (build it with swift build -c release --product flowctl)")
        }
        let latencySamples = options.smoke ? 200 : 2000
        let bulkMACs = options.smoke ? 10_000 : 100_000
        let id = CPBUtil.uniqueID()
        let portA = "fpcb\(id)a", portB = "fpcb\(id)b"
        let daemon = try CPBDaemon(flowctl: flowctl, id: id, fdbCapacity: nil)
        defer {
            daemon.cleanup()
            _ = try? CPBUtil.sh(["ip", "link", "del", portA], seconds: 10)
        }
        try CPBUtil.check(["ip", "link", "add", portA, "type", "veth", "peer", "name", portB])
        try CPBUtil.check(["ip", "link", "set", portA, "up"])
        try CPBUtil.check(["ip", "link", "set", portB, "up"])
        try daemon.start()
        try daemon.check(["add-br", "cpb0"])
        try daemon.check(["set", "bridge", "cpb0", "mac-table-size=\(bulkMACs + latencySamples + 1000)", "mac-aging-time=3600"])
        try daemon.check(["add-port", "cpb0", portA])
        let ifindex = UInt32(if_nametoindex(portA))
        guard ifindex != 0 else { throw CPBError("no ifindex for \(portA)") }

        let prog = try CPBUtil.objGet(daemon.pinRoot + "/fp_ingress")
        defer { close(prog) }
        let fdb = try CPBUtil.objGet(daemon.pinRoot + "/fp_fdb")
        defer { close(fdb) }

        // Warm up, and find the bridge number and VLAN the datapath keys this port's MACs with.
        let warm = CPBUtil.mac(prefix: 0xfe, 0)
        try CPBUtil.inject(prog: prog, ifindex: ifindex, src: warm)
        var keyTemplate: fp_fdb_key?
        let warmDeadline = CPBUtil.now() + 2_000_000_000
        while keyTemplate == nil && CPBUtil.now() < warmDeadline {
            keyTemplate = CPBUtil.findKey(fdb: fdb, mac: warm)
            if keyTemplate == nil { usleep(1000) }
        }
        guard var key = keyTemplate else { throw CPBError("the warm-up MAC was not learned within 2 s; daemon log:\n\(daemon.log)") }

        // 1. Learn latency: one new MAC at a time, from the frame to the entry in fp_fdb.
        var latencies: [Double] = []
        var lost = 0
        for i in 0..<latencySamples {
            let mac = CPBUtil.mac(prefix: 0x01, i)
            key.mac = mac
            let t0 = CPBUtil.now()
            try CPBUtil.inject(prog: prog, ifindex: ifindex, src: mac)
            let deadline = t0 + 1_000_000_000
            var seen = false
            var value = fp_fdb_value()
            while CPBUtil.now() < deadline {
                if bpf_map_lookup_elem(fdb, &key, &value) == 0 { seen = true; break }
                sched_yield()
            }
            if seen { latencies.append(Double(CPBUtil.now() - t0) / 1000) } else { lost += 1 }
            usleep(UInt32(200 + (i * 7919) % 800))  // spread the phase against the daemon's timers
        }
        latencies.sort()
        let p50 = CPBUtil.percentile(latencies, 0.50), p99 = CPBUtil.percentile(latencies, 0.99)
        let latNote = "\(latencies.count) new MACs one at a time (test-run frame on \(portA) -> ring buffer -> daemon -> fp_fdb)"
            + (lost > 0 ? ", \(lost) not learned within 1 s" : "")
        var figures = [
            BenchFigure(section: section, name: "learn latency p50", value: p50, unit: "µs",
                        min: latencies.first, max: latencies.last, runs: latencies.count, note: latNote),
            BenchFigure(section: section, name: "learn latency p99", value: p99, unit: "µs",
                        min: latencies.first, max: latencies.last, runs: latencies.count,
                        target: "≤ 1000 µs", met: p99 <= 1000 && lost == 0, note: latNote),
        ]

        // 2. Sustained new MACs per second: a burst of bulkMACs new MACs, from the first frame
        // to the last entry present. A MAC whose event was lost is sent again (as real traffic
        // would repeat) after 50 ms without progress.
        let t0 = CPBUtil.now()
        for i in 0..<bulkMACs { try CPBUtil.inject(prog: prog, ifindex: ifindex, src: CPBUtil.mac(prefix: 0x02, i)) }
        let injected = CPBUtil.now()
        var resent = 0
        var next = 0
        var lastProgress = CPBUtil.now()
        let bulkDeadline = t0 + 60_000_000_000
        var value = fp_fdb_value()
        while next < bulkMACs && CPBUtil.now() < bulkDeadline {
            key.mac = CPBUtil.mac(prefix: 0x02, next)
            if bpf_map_lookup_elem(fdb, &key, &value) == 0 {
                next += 1; lastProgress = CPBUtil.now(); continue
            }
            if CPBUtil.now() - lastProgress > 50_000_000 {
                try CPBUtil.inject(prog: prog, ifindex: ifindex, src: key.mac)
                resent += 1; lastProgress = CPBUtil.now()
            }
            sched_yield()
        }
        let done = CPBUtil.now()
        let rate = Double(next) / (Double(done - t0) / 1e9)
        let injectRate = Double(bulkMACs) / (Double(injected - t0) / 1e9)
        figures.append(BenchFigure(
            section: section, name: "sustained new MACs", value: rate, unit: "MACs/s",
            target: "≥ 200000 MACs/s", met: next == bulkMACs && rate >= 200_000,
            note: "\(next)/\(bulkMACs) MACs learned in \(String(format: "%.0f", Double(done - t0) / 1e6)) ms "
                + "(frames sent at \(String(format: "%.0f", injectRate)) /s by one test-run thread; \(resent) re-sent after a lost event)"))

        // 3. dump-fdb wall time with about bulkMACs entries.
        var dumpTimes: [Double] = []
        var lines = 0
        for _ in 0..<(options.smoke ? 1 : max(3, options.runs)) {
            let t = CPBUtil.now()
            let r = try daemon.run(["dump-fdb", "cpb0"], seconds: 30)
            dumpTimes.append(Double(CPBUtil.now() - t) / 1e6)
            guard r.status == 0 else { throw CPBError("dump-fdb failed: \(r.err)") }
            lines = r.out.split(separator: "\n").count - 1
        }
        dumpTimes.sort()
        let dumpMedian = CPBUtil.percentile(dumpTimes, 0.5)
        figures.append(BenchFigure(
            section: section, name: "flowctl dump-fdb at \(bulkMACs / 1000) k entries", value: dumpMedian, unit: "ms",
            min: dumpTimes.first, max: dumpTimes.last, runs: dumpTimes.count,
            target: options.smoke ? "< 1000 ms at 100 k (smoke: fewer entries)" : "< 1000 ms", met: dumpMedian < 1000,
            note: "\(lines) rows printed, wall time of the flowctl process"))

        // 4. Daemon RSS with those MACs.
        let rss = CPBUtil.status(pid: daemon.pid, field: "VmRSS") / 1024
        let hwm = CPBUtil.status(pid: daemon.pid, field: "VmHWM") / 1024
        figures.append(BenchFigure(
            section: section, name: "daemon RSS at \(bulkMACs / 1000) k MACs", value: rss, unit: "MiB",
            target: "< 64 MiB", met: rss < 64,
            note: String(format: "VmRSS after learning and dump-fdb; peak VmHWM %.1f MiB", hwm)))
        return figures
    }

    // MARK: - Forwarding with a large FDB (BPFDatapath, no daemon)

    static func largeFDBFigures(_ options: BenchOptions) throws -> [BenchFigure] {
        let big = options.smoke ? 100_000 : 1_000_000
        let small = 256
        let samples = options.smoke ? 20_000 : 200_000
        let id = CPBUtil.uniqueID()
        let portA = "fpcf\(id)a", peerA = "fpcf\(id)b", portC = "fpcf\(id)c", peerC = "fpcf\(id)d"
        let pinRoot = "/sys/fs/bpf/fpcb_fdb_\(id)"
        var dp: BPFDatapath?
        defer {
            if let dp { try? dp.destroy(); dp.close() }
            _ = try? CPBUtil.sh(["ip", "link", "del", portA], seconds: 10)
            _ = try? CPBUtil.sh(["ip", "link", "del", portC], seconds: 10)
            _ = try? CPBUtil.sh(["rm", "-rf", pinRoot], seconds: 10)
        }
        for (a, b) in [(portA, peerA), (portC, peerC)] {
            try CPBUtil.check(["ip", "link", "add", a, "type", "veth", "peer", "name", b])
            try CPBUtil.check(["ip", "link", "set", a, "up"])
            try CPBUtil.check(["ip", "link", "set", b, "up"])
        }
        let ia = InterfaceIndex(UInt32(if_nametoindex(portA))), ic = InterfaceIndex(UInt32(if_nametoindex(portC)))
        var logger = Logger(label: "fp-bench.cp")
        logger.logLevel = .error
        let datapath = try BPFDatapath(pinRoot: pinRoot, fdbCapacity: big + small + 16, logger: logger)
        dp = datapath
        try datapath.setPort(DatapathPort(ifindex: ia, bridge: 1, slot: 0))
        try datapath.setPort(DatapathPort(ifindex: ic, bridge: 1, slot: 1))
        let prog = try CPBUtil.objGet(pinRoot + "/fp_ingress")
        defer { close(prog) }

        let src = CPBUtil.mac(prefix: 0xfe, 1)
        func entry(_ mac: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8), _ port: InterfaceIndex) -> FDBEntry {
            FDBEntry(key: FDBKey(bridge: 1, vlan: VLANID(rawValue: 0)!,
                                 mac: MACAddress(mac.0, mac.1, mac.2, mac.3, mac.4, mac.5)),
                     ifindex: port, isStatic: true)
        }
        try datapath.installFDB([entry(src, ia)])
        try datapath.installFDB((0..<small).map { entry(CPBUtil.mac(prefix: 0x03, $0), ic) })

        func nsPerFrame(population: Int) throws -> (mean: Double, retvals: Set<UInt32>) {
            var total: UInt64 = 0
            var retvals = Set<UInt32>()
            var rng = SystemRandomNumberGenerator()
            for _ in 0..<samples {
                let dst = CPBUtil.mac(prefix: 0x03, Int.random(in: 0..<population, using: &rng))
                let (duration, retval) = try CPBUtil.testRun(prog: prog, ifindex: ia.rawValue, src: src, dst: dst)
                total += UInt64(duration); retvals.insert(retval)
            }
            return (Double(total) / Double(samples), retvals)
        }
        var emptyRuns: [Double] = [], bigRuns: [Double] = []
        let runs = options.smoke ? 1 : max(3, options.runs)
        for _ in 0..<runs { emptyRuns.append(try nsPerFrame(population: small).mean) }
        // Fill to `big` entries, all on port C (4096 per batch).
        var i = small
        while i < small + big {
            let n = min(4096, small + big - i)
            try datapath.installFDB((i..<(i + n)).map { entry(CPBUtil.mac(prefix: 0x03, $0), ic) })
            i += n
        }
        var verdicts = Set<UInt32>()
        for _ in 0..<runs {
            let r = try nsPerFrame(population: small + big)
            bigRuns.append(r.mean); verdicts.formUnion(r.retvals)
        }
        emptyRuns.sort(); bigRuns.sort()
        let e = CPBUtil.percentile(emptyRuns, 0.5), b = CPBUtil.percentile(bigRuns, 0.5)
        let cost = (b - e) / b * 100  // share of the per-frame time (rate = 1/time) lost
        let label = big >= 1_000_000 ? "\(big / 1_000_000) M" : "\(big / 1000) k"
        let verdictNote = verdicts == [UInt32(XDP_REDIRECT.rawValue)] ? "every run redirected" : "verdicts \(verdicts.sorted())"
        return [
            BenchFigure(section: section, name: "fp_ingress ns/frame, \(small)-entry FDB", value: e, unit: "ns/frame",
                        min: emptyRuns.first, max: emptyRuns.last, runs: runs,
                        note: "BPF_PROG_TEST_RUN (not live), 64 B known unicast, a random destination per run, \(samples) runs"),
            BenchFigure(section: section, name: "fp_ingress ns/frame, \(label) FDB entries", value: b, unit: "ns/frame",
                        min: bigRuns.first, max: bigRuns.last, runs: runs,
                        note: "destinations random among all entries; \(verdictNote)"),
            BenchFigure(section: section, name: "rate lost to a \(label)-entry FDB", value: cost, unit: "%",
                        target: "≤ 10 %", met: cost <= 10,
                        note: String(format: "rate %.2f M vs %.2f M frames/s per core (1/ns-per-frame)", 1e3 / b, 1e3 / e)),
        ]
    }
}

struct CPBError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A real `flowctl daemon` with its own socket, database and pin root.
final class CPBDaemon {
    let flowctl: String
    let dir: String, socket: String, db: String, pinRoot: String, logPath: String
    let fdbCapacity: Int?
    var process: Process?

    init(flowctl: String, id: String, fdbCapacity: Int?) throws {
        self.flowctl = flowctl
        self.fdbCapacity = fdbCapacity
        dir = NSTemporaryDirectory() + "fpcb-\(id)"
        socket = dir + "/fp.sock"; db = dir + "/fp.db"; logPath = dir + "/daemon.log"
        pinRoot = "/sys/fs/bpf/fpcb_\(id)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    var pid: Int32 { process?.processIdentifier ?? 0 }
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Starts the daemon and waits (at most 10 s) until it answers `list-br`.
    func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: flowctl)
        p.arguments = ["daemon", "--socket", socket, "--db", db, "--pin-root", pinRoot]
            + (fdbCapacity.map { ["--fdb-capacity", "\($0)"] } ?? [])
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "FLOWPLANE_DATAPATH")
        p.environment = env
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        p.standardOutput = log; p.standardError = log
        try p.run()
        process = p
        for _ in 0..<100 {
            if !p.isRunning { break }
            if (try? run(["list-br"], seconds: 2))?.status == 0 { return }
            usleep(100_000)
        }
        throw CPBError("the daemon did not answer within 10 s; log:\n\(self.log)")
    }

    func run(_ args: [String], seconds: Double = 10) throws -> CPBUtil.Result {
        try CPBUtil.sh([flowctl] + args + ["--socket", socket], seconds: seconds)
    }

    func check(_ args: [String]) throws {
        let r = try run(args)
        guard r.status == 0 else { throw CPBError("flowctl \(args.joined(separator: " ")): exit \(r.status): \(r.err)") }
    }

    /// Deletes the bridges (detach, unpin), stops the daemon (TERM, 5 s, KILL), removes files.
    func cleanup() {
        if let p = process, p.isRunning {
            _ = try? run(["del-br", "cpb0", "--if-exists"], seconds: 10)
            p.terminate()
            for _ in 0..<250 where p.isRunning { usleep(20_000) }
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
        }
        process = nil
        _ = try? CPBUtil.sh(["rm", "-rf", pinRoot], seconds: 10)
        try? FileManager.default.removeItem(atPath: dir)
    }
}

enum CPBUtil {
    struct Result { var status: Int32; var out: String; var err: String }

    static var counter = 0
    static func uniqueID() -> String {
        counter += 1
        return "\(getpid() % 100_000)\(counter)"
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    static func defaultFlowctl() -> String? {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let p = dir.appendingPathComponent("flowctl").path
        return FileManager.default.isExecutableFile(atPath: p) ? p : nil
    }

    /// Runs a command (argv[0] an absolute path, or looked up in /usr/sbin, /usr/bin, /sbin,
    /// /bin), killed after `seconds`.
    static func sh(_ argv: [String], seconds: Double) throws -> Result {
        var exe = argv[0]
        if !exe.hasPrefix("/") {
            exe = ["/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/"].map { $0 + argv[0] }
                .first { FileManager.default.isExecutableFile(atPath: $0) } ?? exe
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = Array(argv.dropFirst())
        let tmp = NSTemporaryDirectory() + "fpcb-\(getpid())-\(now())"
        FileManager.default.createFile(atPath: tmp + ".out", contents: nil)
        FileManager.default.createFile(atPath: tmp + ".err", contents: nil)
        defer { try? FileManager.default.removeItem(atPath: tmp + ".out"); try? FileManager.default.removeItem(atPath: tmp + ".err") }
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: tmp + ".out"))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: tmp + ".err"))
        try p.run()
        let deadline = Date().addingTimeInterval(seconds)
        while p.isRunning && Date() < deadline { usleep(1_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        return Result(status: p.terminationStatus,
                      out: (try? String(contentsOfFile: tmp + ".out", encoding: .utf8)) ?? "",
                      err: (try? String(contentsOfFile: tmp + ".err", encoding: .utf8)) ?? "")
    }

    static func check(_ argv: [String]) throws {
        let r = try sh(argv, seconds: 10)
        guard r.status == 0 else { throw CPBError("\(argv.joined(separator: " ")): exit \(r.status): \(r.err)") }
    }

    static func objGet(_ path: String) throws -> Int32 {
        let fd = bpf_obj_get(path)
        guard fd >= 0 else { throw CPBError("bpf_obj_get \(path): \(String(cString: strerror(errno)))") }
        return fd
    }

    typealias MAC = (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)

    /// A locally administered unicast MAC 02:cb:PP:ii:ii:ii.
    static func mac(prefix: UInt8, _ i: Int) -> MAC {
        (0x02, 0xcb, prefix, UInt8(truncatingIfNeeded: i >> 16), UInt8(truncatingIfNeeded: i >> 8), UInt8(truncatingIfNeeded: i))
    }

    /// A 64-byte frame (60 on the wire without FCS): dst, src, IPv4 ethertype, zero payload.
    static func frame(src: MAC, dst: MAC) -> [UInt8] {
        var f = [UInt8](repeating: 0, count: 60)
        f[0] = dst.0; f[1] = dst.1; f[2] = dst.2; f[3] = dst.3; f[4] = dst.4; f[5] = dst.5
        f[6] = src.0; f[7] = src.1; f[8] = src.2; f[9] = src.3; f[10] = src.4; f[11] = src.5
        f[12] = 0x08; f[13] = 0x00
        return f
    }

    /// Runs fp_ingress once on a broadcast frame from `src` arriving on `ifindex`.
    static func inject(prog: Int32, ifindex: UInt32, src: MAC) throws {
        let f = frame(src: src, dst: (0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
        var retval: UInt32 = 0
        let rc = f.withUnsafeBytes { cbpf_xdp_test_run(prog, $0.baseAddress, UInt32($0.count), nil, nil, ifindex, 0, 1, &retval) }
        guard rc == 0 else { throw CPBError("BPF_PROG_TEST_RUN: \(rc)") }
    }

    /// One fp_ingress run; the kernel's duration (ns) and the verdict.
    static func testRun(prog: Int32, ifindex: UInt32, src: MAC, dst: MAC) throws -> (UInt32, UInt32) {
        var f = frame(src: src, dst: dst)
        var ctx = xdp_md()
        ctx.data_end = UInt32(f.count)
        ctx.ingress_ifindex = ifindex
        var opts = bpf_test_run_opts()
        opts.sz = MemoryLayout<bpf_test_run_opts>.size
        let rc: Int32 = f.withUnsafeMutableBytes { data in
            withUnsafeMutablePointer(to: &ctx) { c in
                opts.data_in = UnsafeRawPointer(data.baseAddress)
                opts.data_size_in = UInt32(data.count)
                opts.ctx_in = UnsafeRawPointer(c)
                opts.ctx_size_in = UInt32(MemoryLayout<xdp_md>.size)
                opts.`repeat` = 1
                return bpf_prog_test_run_opts(prog, &opts)
            }
        }
        guard rc == 0 else { throw CPBError("BPF_PROG_TEST_RUN: \(rc)") }
        return (opts.duration, opts.retval)
    }

    /// The fp_fdb key holding `mac` (any bridge and VLAN), by walking the map.
    static func findKey(fdb: Int32, mac: MAC) -> fp_fdb_key? {
        var key = fp_fdb_key(), next = fp_fdb_key()
        var first = true
        for _ in 0..<1_000_000 {
            let rc = first ? bpf_map_get_next_key(fdb, nil, &next) : bpf_map_get_next_key(fdb, &key, &next)
            first = false
            if rc != 0 { return nil }
            if next.mac == mac { return next }
            key = next
        }
        return nil
    }

    static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let i = Int((Double(sorted.count - 1) * q).rounded())
        return sorted[Swift.min(Swift.max(i, 0), sorted.count - 1)]
    }

    /// A `/proc/PID/status` field in kB (0 when missing).
    static func status(pid: Int32, field: String) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        return 0
    }
}

private func == (a: CPBUtil.MAC, b: CPBUtil.MAC) -> Bool {
    a.0 == b.0 && a.1 == b.1 && a.2 == b.2 && a.3 == b.3 && a.4 == b.4 && a.5 == b.5
}
