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
/// Bursts of new MACs and traffic to many destinations come from `fpb_vary`
/// (bpf/bench_vary.bpf.c): one test run presents thousands of frames, each with the next MAC.
/// The forwarding cost of a large FDB is measured on `BPFDatapath` directly (no daemon: it is
/// about the datapath's hash lookups), as the kernel's ns per frame for the same traffic with a
/// small and a large FDB.
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
        try daemon.check(["set", "bridge", "cpb0", "mac-table-size=\(bulkMACs + 2 * latencySamples + 1000)", "mac-aging-time=3600"])
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

        // 1. Learn latency: one new MAC at a time, from the frame to the entry in fp_fdb. First
        // with the daemon on fp-bench's CPU (the sender yields to it while it waits), as in
        // earlier reports; then with the daemon on the other CPU, woken there from idle.
        let otherCPU = (options.cpu + 1) % max(1, ProcessInfo.processInfo.activeProcessorCount)
        func learnLatency(prefix: UInt8) throws -> (sorted: [Double], lost: Int) {
            var latencies: [Double] = []
            var lost = 0
            for i in 0..<latencySamples {
                let mac = CPBUtil.mac(prefix: prefix, i)
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
            return (latencies.sorted(), lost)
        }
        var figures: [BenchFigure] = []
        for (placement, prefix) in [("same", UInt8(0x01)), ("other", UInt8(0x04))] {
            if placement == "other" { try daemon.pin(cpu: otherCPU) }
            let (latencies, lost) = try learnLatency(prefix: prefix)
            let p50 = CPBUtil.percentile(latencies, 0.50), p99 = CPBUtil.percentile(latencies, 0.99)
            let latNote = "\(latencies.count) new MACs one at a time (test-run frame on \(portA) -> ring buffer -> daemon -> fp_fdb); "
                + (placement == "same" ? "daemon on the sender's CPU \(options.cpu)" : "daemon on CPU \(otherCPU), woken across CPUs")
                + (lost > 0 ? ", \(lost) not learned within 1 s" : "")
            let suffix = placement == "same" ? "" : ", daemon on the other CPU"
            figures.append(BenchFigure(section: section, name: "learn latency p50" + suffix, value: p50, unit: "µs",
                                       min: latencies.first, max: latencies.last, runs: latencies.count, note: latNote))
            figures.append(BenchFigure(section: section, name: "learn latency p99" + suffix, value: p99, unit: "µs",
                                       min: latencies.first, max: latencies.last, runs: latencies.count,
                                       target: placement == "same" ? "≤ 1000 µs" : nil,
                                       met: placement == "same" ? p99 <= 1000 && lost == 0 : nil, note: latNote))
        }

        // 2. Sustained new MACs per second: a burst of bulkMACs new source MACs through
        // fp_ingress in one test run (fpb_vary writes each frame's MAC), from its first frame
        // to the last entry present in fp_fdb. MACs whose learn event was lost are sent again,
        // all in one run, once nothing has been learned for stallNs (longer than the datapath's
        // learn dedup time, FP_LEARN_DEDUP_NS, so the frames do produce events again). Each
        // burst brings new MACs; between bursts `fdb-flush` empties the table, so the last
        // one leaves bulkMACs entries for dump-fdb and RSS.
        try daemon.pin(cpu: otherCPU)
        let vary = try CPBVary()
        defer { vary.close() }
        let stallNs: UInt64 = 3 * FP_LEARN_DEDUP_NS
        let suffixes = (0..<bulkMACs).map { UInt32($0) }
        let bursts = options.smoke ? 1 : max(3, options.runs)
        var rates: [Double] = [], burstNotes: [String] = []
        var allLearned = true
        for b in 0..<bursts {
            if b > 0 { try daemon.check(["fdb-flush", "cpb0"]) }
            let prefix = UInt8(0x10 + b)
            try vary.prepare(target: prog, field: CBPF_VARY_SRC, seq: suffixes)
            let burstFrame = CPBUtil.frame(src: CPBUtil.mac(prefix: prefix, 0), dst: (0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
            let countersBefore = try CPBUtil.portCounters(pinRoot: daemon.pinRoot, ifindex: ifindex)
            let t0 = CPBUtil.now()
            try vary.run(frame: burstFrame, ifindex: ifindex, frames: bulkMACs)
            let injected = CPBUtil.now()
            var resent = 0, resends = 0
            var next = 0
            var lastProgress = CPBUtil.now()
            let bulkDeadline = t0 + 60_000_000_000
            var value = fp_fdb_value()
            func learned(_ i: Int) -> Bool {
                key.mac = CPBUtil.mac(prefix: prefix, i)
                return bpf_map_lookup_elem(fdb, &key, &value) == 0
            }
            while next < bulkMACs && CPBUtil.now() < bulkDeadline {
                if learned(next) { next += 1; lastProgress = CPBUtil.now(); continue }
                if CPBUtil.now() - lastProgress > stallNs {
                    let missing = (next..<bulkMACs).filter { !learned($0) }.map { UInt32($0) }
                    try vary.prepare(target: prog, field: CBPF_VARY_SRC, seq: missing)
                    try vary.run(frame: burstFrame, ifindex: ifindex, frames: missing.count)
                    resent += missing.count; resends += 1; lastProgress = CPBUtil.now()
                }
                sched_yield()
            }
            let done = CPBUtil.now()
            let countersAfter = try CPBUtil.portCounters(pinRoot: daemon.pinRoot, ifindex: ifindex)
            rates.append(Double(next) / (Double(done - t0) / 1e9))
            allLearned = allLearned && next == bulkMACs
            let events = countersAfter.learnEvents - countersBefore.learnEvents
            let lostEvents = countersAfter.learnLost - countersBefore.learnLost
            burstNotes.append("\(next)/\(bulkMACs) in \(String(format: "%.0f", Double(done - t0) / 1e6)) ms "
                + "(sent in \(String(format: "%.0f", Double(injected - t0) / 1e6)) ms; \(events) events, \(lostEvents) lost"
                + (resent > 0 ? ", \(resent) re-sent in \(resends) batches)" : ")"))
        }
        let sortedRates = rates.sorted()
        let rate = CPBUtil.percentile(sortedRates, 0.5)
        figures.append(BenchFigure(
            section: section, name: "sustained new MACs", value: rate, unit: "MACs/s",
            min: sortedRates.first, max: sortedRates.last, runs: rates.count,
            target: "≥ 200000 MACs/s", met: allLearned && rate >= 200_000,
            note: "bursts of \(bulkMACs) new MACs, each one test run (fpb_vary -> fp_ingress) on CPU \(options.cpu), the daemon on CPU \(otherCPU); "
                + "rate = MACs in fp_fdb / time from the first frame to the last entry; "
                + "the table emptied (fdb-flush) before each burst: " + burstNotes.joined(separator: "; ")))

        // 3. dump-fdb wall time with the table the last burst left (bulkMACs entries; with a
        // single burst, as in smoke runs, the latency MACs too).
        let installed = CPBUtil.countEntries(fdb: fdb)
        let rssLearned = CPBUtil.status(pid: daemon.pid, field: "VmRSS") / 1024
        let anonLearned = CPBUtil.status(pid: daemon.pid, field: "RssAnon") / 1024
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
        let full = lines >= bulkMACs
        figures.append(BenchFigure(
            section: section, name: "flowctl dump-fdb at \(bulkMACs / 1000) k entries", value: dumpMedian, unit: "ms",
            min: dumpTimes.first, max: dumpTimes.last, runs: dumpTimes.count,
            target: options.smoke ? "< 1000 ms at 100 k (smoke: fewer entries)" : "< 1000 ms", met: dumpMedian < 1000 && full,
            note: "\(lines) rows printed (fp_fdb held \(installed) entries), wall time of the flowctl process"
                + (full ? "" : "; FEWER than \(bulkMACs) rows")))

        // 4. Daemon RSS with those MACs.
        let rss = CPBUtil.status(pid: daemon.pid, field: "VmRSS") / 1024
        let hwm = CPBUtil.status(pid: daemon.pid, field: "VmHWM") / 1024
        let anon = CPBUtil.status(pid: daemon.pid, field: "RssAnon") / 1024
        let ringMapped = CPBUtil.bpfMapRSS(pid: daemon.pid) / 1024
        figures.append(BenchFigure(
            section: section, name: "daemon RSS at \(bulkMACs / 1000) k MACs", value: rss, unit: "MiB",
            target: "< 64 MiB", met: rss < 64 && full,
            note: String(format: "VmRSS after learning and %d × dump-fdb at %d entries: %.1f MiB anonymous memory, %.1f MiB the learn ring "
                         + "buffer (mapped twice by libbpf), the rest program text; after learning, before dump-fdb: %.1f MiB (%.1f MiB anonymous); "
                         + "peak VmHWM %.1f MiB", dumpTimes.count, installed, anon, ringMapped, rssLearned, anonLearned, hwm)))
        return figures
    }

    // MARK: - Forwarding with a large FDB (BPFDatapath, no daemon)

    /// The cost of a big FDB for the same traffic: to a working set of 1 k and 10 k active
    /// destinations, and, as the worst case, to a random destination among all entries.
    ///
    /// The small FDB holds the frames' source and the 10 k active destinations; the big one
    /// holds `big` destinations installed in order, the active ones every big/10 k-th among
    /// them, so that they sit at random places in memory and in the hash chains (the kernel adds
    /// an entry at its chain's head), not all behind every later entry. Frames run back to back
    /// in one test run each, fpb_vary writing each frame's destination, minus the driver's own
    /// time per frame (fpb_vary tail-calling fpb_vary_end instead of fp_ingress):
    /// - the forwarding path: live frames, fp_ingress → redirect → port C's veth,
    ///   whose peer drops them in native XDP (fpb_vary_end). This is the rate the target is about.
    /// - fp_ingress alone (not live): the lookups' own cost.
    static func largeFDBFigures(_ options: BenchOptions) throws -> [BenchFigure] {
        let big = options.smoke ? 100_000 : 1_000_000
        let active = 10_000
        let workingSets = [1_000, active]
        let frames = options.smoke ? 20_000 : 200_000
        let runs = options.smoke ? 1 : max(3, options.runs)
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
        let datapath = try BPFDatapath(pinRoot: pinRoot, fdbCapacity: big + 16, logger: logger)
        dp = datapath
        try datapath.setPort(DatapathPort(ifindex: ia, bridge: 1, slot: 0))
        try datapath.setPort(DatapathPort(ifindex: ic, bridge: 1, slot: 1))
        let prog = try CPBUtil.objGet(pinRoot + "/fp_ingress")
        defer { close(prog) }
        let vary = try CPBVary()
        defer { vary.close() }
        // The receiver: port C's peer drops what arrives, in native XDP.
        var op: UnsafePointer<CChar>? = nil
        var used: Int32 = 0
        let peerIndex = Int32(if_nametoindex(peerC))
        let arc = cbpf_xdp_attach(peerIndex, vary.handles.end_fd, Int32(CBPF_XDP_NATIVE.rawValue), &used, &op)
        guard arc == 0 else { throw CPBError("attaching the receiver to \(peerC): \(String(cString: strerror(-arc)))") }
        defer { _ = cbpf_xdp_detach(peerIndex, nil, &op) }

        let src = CPBUtil.mac(prefix: 0xfe, 1)
        func entry(_ mac: CPBUtil.MAC, _ port: InterfaceIndex) -> FDBEntry {
            FDBEntry(key: FDBKey(bridge: 1, vlan: VLANID(rawValue: 0)!,
                                 mac: MACAddress(mac.0, mac.1, mac.2, mac.3, mac.4, mac.5)),
                     ifindex: port, isStatic: true)
        }
        func install(_ range: Range<Int>) throws {
            var i = range.lowerBound
            while i < range.upperBound {
                let n = min(4096, range.upperBound - i)
                try datapath.installFDB((i..<(i + n)).map { entry(CPBUtil.mac(prefix: 0x03, $0), ic) })
                i += n
            }
        }
        // Destination i is 02:cb:03:ii:ii:ii on port C; the frames' source is known on port A.
        // Active destination j is destination j * stride.
        let stride = big / active
        let actives = (0..<active).map { $0 * stride }
        try datapath.installFDB([entry(src, ia)] + actives.map { entry(CPBUtil.mac(prefix: 0x03, $0), ic) })
        let frame = CPBUtil.frame(src: src, dst: CPBUtil.mac(prefix: 0x03, 0))

        struct Timing {
            /// ns per frame, the driver's own time subtracted, sorted; live and not.
            var live: [Double] = [], ingress: [Double] = []
            var driverLive = 0.0, driverIngress = 0.0
        }
        var verdicts = Set<UInt32>()
        /// `runs` test runs of `frames` frames each way, destinations random among the first
        /// `population` destinations `spread` apart; medians of the driver alone subtracted.
        func measure(destinations population: Int, spread: Int) throws -> Timing {
            var rng = SystemRandomNumberGenerator()
            let seq = (0..<frames).map { _ in UInt32(Int.random(in: 0..<population, using: &rng) * spread) }
            var t = Timing()
            for live in [true, false] {
                var driver: [Double] = [], total: [Double] = []
                for _ in 0..<runs {
                    try vary.prepare(target: vary.handles.end_fd, field: CBPF_VARY_DST, seq: seq)
                    driver.append(Double(try vary.run(frame: frame, ifindex: ia.rawValue, frames: frames, live: live).duration))
                    try vary.prepare(target: prog, field: CBPF_VARY_DST, seq: seq)
                    let r = try vary.run(frame: frame, ifindex: ia.rawValue, frames: frames, live: live)
                    total.append(Double(r.duration))
                    if !live { verdicts.insert(r.retval) }
                }
                let d = CPBUtil.percentile(driver.sorted(), 0.5)
                if live { t.live = total.map { $0 - d }.sorted(); t.driverLive = d } else { t.ingress = total.map { $0 - d }.sorted(); t.driverIngress = d }
            }
            return t
        }

        var small: [Int: Timing] = [:], large: [Int: Timing] = [:]
        for n in workingSets { small[n] = try measure(destinations: n, spread: stride) }
        // The big FDB: everything again, in order, the source half-way.
        try datapath.removeFDB(([src] + actives.map { CPBUtil.mac(prefix: 0x03, $0) }).map { entry($0, ic).key })
        try install(0..<(big / 2))
        try datapath.installFDB([entry(src, ia)])
        try install((big / 2)..<big)
        for n in workingSets { large[n] = try measure(destinations: n, spread: stride) }
        large[big] = try measure(destinations: big, spread: 1)
        let entries = try datapath.fdbEntries().count
        let received = try datapath.counters(ic).txPackets

        func label(_ n: Int) -> String { n >= 1_000_000 ? "\(n / 1_000_000) M" : "\(n / 1000) k" }
        let bigLabel = label(big), smallLabel = label(active)
        let verdictNote = verdicts == [UInt32(XDP_REDIRECT.rawValue)] ? "every frame redirected" : "verdicts \(verdicts.sorted())"
        let t = large[big]!
        let method = "BPF_PROG_TEST_RUN, 64 B known unicast from port A to port C, \(frames) frames back to back per run "
            + "(fpb_vary -> fp_ingress), minus the driver's own time (\(String(format: "%.0f", t.driverLive)) ns/frame live, "
            + "\(String(format: "%.0f", t.driverIngress)) ns not live)"
        func row(_ name: String, _ runs: [Double], note: String) -> BenchFigure {
            BenchFigure(section: section, name: name, value: CPBUtil.percentile(runs, 0.5), unit: "ns/frame",
                        min: runs.first, max: runs.last, runs: runs.count, note: note)
        }
        func lost(_ e: [Double], _ b: [Double]) -> (Double, Double, Double) {
            let me = CPBUtil.percentile(e, 0.5), mb = CPBUtil.percentile(b, 0.5)
            return ((mb - me) / mb * 100, me, mb)  // share of the per-frame time (rate = 1/time) lost
        }
        var figures: [BenchFigure] = []
        let cases: [(traffic: String, small: Timing, big: Timing, worst: Bool, smallNote: String)] =
            workingSets.map { ("traffic to \(label($0)) active destinations", small[$0]!, large[$0]!, false,
                               "each frame to a random one of the \(label($0)) active destinations") }
            + [("worst case: every frame to a random one of all entries", small[active]!, large[big]!, true,
                "")]
        for c in cases {
            // The worst case's small-FDB traffic is the 10 k working set's, measured above.
            if !c.worst {
                figures.append(row("forwarding ns/frame, \(smallLabel)-entry FDB, \(c.traffic)", c.small.live,
                                   note: "live frames: fp_ingress, redirect, veth into port C's peer (dropped in native XDP); "
                                       + "\(c.smallNote); " + method))
            }
            figures.append(row("forwarding ns/frame, \(bigLabel)-entry FDB, \(c.traffic)", c.big.live,
                               note: "the same; fp_fdb held \(entries) entries" + (c.worst ? "; random among all \(bigLabel)" : "")))
            let (l, e, b) = lost(c.small.live, c.big.live)
            let (li, ei, bi) = lost(c.small.ingress, c.big.ingress)
            figures.append(BenchFigure(
                section: section, name: "rate lost to a \(bigLabel)-entry FDB, \(c.traffic)", value: l, unit: "%",
                target: c.worst ? "≤ 10 % (read as the worst case)" : "≤ 10 %", met: l <= 10,
                note: String(format: "forwarding rate %.2f M vs %.2f M frames/s per core (%.0f vs %.0f ns/frame); ", 1e3 / b, 1e3 / e, b, e)
                    + (c.worst ? "against the \(smallLabel)-entry FDB with traffic to all its \(smallLabel) entries; " : "")
                    + "fp_ingress alone (not live, \(verdictNote)): "
                    + String(format: "%.0f vs %.0f ns/frame, %.1f %% of its rate", bi, ei, li)))
        }
        figures[0].note += "; port C's counters: \(received) frames sent in all"
        return figures
    }
}

/// fpb_vary (bpf/bench_vary.bpf.c): one test run presents many frames to a program of the
/// switch, each with the next MAC of a sequence in its source or destination.
final class CPBVary {
    var handles = cbpf_vary()

    init() throws {
        guard let b64 = EmbeddedBPFObjects.all["bench_vary"], let object = Data(base64Encoded: b64.description) else {
            throw CPBError("EmbeddedBPFObjects has no bench_vary")
        }
        var op: UnsafePointer<CChar>? = nil
        let rc = object.withUnsafeBytes { cbpf_vary_load($0.baseAddress, $0.count, &handles, &op) }
        guard rc == 0 else { throw CPBError("\(op.map { String(cString: $0) } ?? "cbpf_vary_load"): \(String(cString: strerror(-rc)))") }
    }

    /// Each run goes on to `target` (fp_ingress's fd, or `handles.end_fd`) with the low 24 bits
    /// of `field`'s MAC set from `seq`, in order.
    func prepare(target: Int32, field: cbpf_vary_field, seq: [UInt32]) throws {
        let rc = seq.withUnsafeBufferPointer { cbpf_vary_prepare(&handles, target, Int32(field.rawValue), $0.baseAddress, UInt32($0.count)) }
        guard rc == 0 else { throw CPBError("cbpf_vary_prepare: \(String(cString: strerror(-rc)))") }
    }

    /// One test run of `frames` frames (at most the prepared sequence's length), live frames
    /// when `live` (redirects are carried out); the kernel's mean ns per frame and the last
    /// verdict (0 when live).
    @discardableResult
    func run(frame: [UInt8], ifindex: UInt32, frames: Int, live: Bool = false) throws -> (duration: UInt32, retval: UInt32) {
        guard frames > 0 else { return (0, 0) }
        var duration: UInt32 = 0, retval: UInt32 = 0
        let rc = frame.withUnsafeBytes {
            cbpf_vary_run(&handles, $0.baseAddress, UInt32($0.count), ifindex, UInt32(frames), live ? 1 : 0, &duration, &retval)
        }
        guard rc == 0 else { throw CPBError("BPF_PROG_TEST_RUN (fpb_vary): \(String(cString: strerror(-rc)))") }
        return (duration, retval)
    }

    func close() { cbpf_vary_close(&handles) }
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
        // A child inherits the spawning thread's affinity: the daemon starts on fp-bench's CPU.
        try p.run()
        process = p
        for _ in 0..<100 {
            if !p.isRunning { break }
            if (try? run(["list-br"], seconds: 2))?.status == 0 { return }
            usleep(100_000)
        }
        throw CPBError("the daemon did not answer within 10 s; log:\n\(self.log)")
    }

    /// Moves every thread of the daemon to `cpu` (-1: any CPU).
    func pin(cpu: Int) throws {
        let rc = cbpf_pin_process(pid, Int32(cpu))
        guard rc == 0 else { throw CPBError("pinning the daemon to CPU \(cpu): \(String(cString: strerror(-rc)))") }
    }

    func run(_ args: [String], seconds: Double = 10) throws -> CPBUtil.Result {
        try CPBUtil.sh([flowctl] + args + ["--socket", socket], seconds: seconds)
    }

    func check(_ args: [String]) throws {
        let r = try run(args)
        guard r.status == 0 else { throw CPBError("flowctl \(args.joined(separator: " ")): exit \(r.status): \(r.err)") }
    }

    /// Deletes the bridges (detach, unpin), stops the daemon (TERM, 5 s, KILL), removes files
    /// and the pin root's lock file.
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
        // The daemon keeps its pin root's lock file (FlowPlaneDaemon.pinRootLockBase) after it stops.
        unlink(FlowPlaneDaemon.pinRootLockBase(pinRoot) + ".lock")
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

    /// Entries of a hash map, by walking its keys.
    static func countEntries(fdb: Int32) -> Int {
        var key = fp_fdb_key(), next = fp_fdb_key()
        var n = 0
        var rc = bpf_map_get_next_key(fdb, nil, &next)
        while rc == 0 {
            n += 1
            key = next
            rc = bpf_map_get_next_key(fdb, &key, &next)
        }
        return n
    }

    /// The counters of the port `ifindex` of the datapath pinned at `pinRoot`.
    static func portCounters(pinRoot: String, ifindex: UInt32) throws -> (learnEvents: UInt64, learnLost: UInt64) {
        let portsFD = try objGet(pinRoot + "/fp_ports"), statsFD = try objGet(pinRoot + "/fp_stats")
        defer { close(portsFD); close(statsFD) }
        guard let port = try BPFMap<UInt32, fp_port>(fd: portsFD, name: "fp_ports").lookup(ifindex) else {
            throw CPBError("ifindex \(ifindex) is not a port")
        }
        let c = BPFDatapath.counters(perCPU: try BPFMap<UInt32, fp_port_stats>(fd: statsFD, name: "fp_stats").lookupPerCPU(port.slot))
        return (c.learnEvents, c.learnLost)
    }

    /// kB of `pid`'s resident set in mappings of BPF maps (the learn ring buffer), from smaps.
    static func bpfMapRSS(pid: Int32) -> Double {
        guard let text = procFile("/proc/\(pid)/smaps") else { return 0 }
        var inMap = false
        var kB = 0.0
        for line in text.split(separator: "\n") {
            let range = line.prefix { $0 != " " }
            if range.contains("-") && range.allSatisfy({ $0.isHexDigit || $0 == "-" }) {
                inMap = line.hasSuffix("anon_inode:bpf-map")
            } else if inMap && line.hasPrefix("Rss:") {
                kB += Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
            }
        }
        return kB
    }

    static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let i = Int((Double(sorted.count - 1) * q).rounded())
        return sorted[Swift.min(Swift.max(i, 0), sorted.count - 1)]
    }

    /// A /proc file read to its end (String(contentsOfFile:) stops after the first read of a
    /// file whose size is 0).
    static func procFile(_ path: String) -> String? {
        guard let h = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? h.close() }
        return String(decoding: h.readDataToEndOfFile(), as: UTF8.self)
    }

    /// A `/proc/PID/status` field in kB (0 when missing).
    static func status(pid: Int32, field: String) -> Double {
        guard let text = procFile("/proc/\(pid)/status") else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        return 0
    }
}

private func == (a: CPBUtil.MAC, b: CPBUtil.MAC) -> Bool {
    a.0 == b.0 && a.1 == b.1 && a.2 == b.2 && a.3 == b.3 && a.4 == b.4 && a.5 == b.5
}
