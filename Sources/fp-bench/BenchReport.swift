import Foundation

/// The report: a Markdown table (report.md), the figures as JSON, a PNG plot (gnuplot).
enum BenchReport {
    static func format(_ v: Double?, _ unit: String) -> String {
        guard let v, v.isFinite else { return "–" }
        switch unit {
        case "packets/s": return String(format: "%.3f M", v / 1e6)
        case "×": return String(format: "%.2f", v)
        default: return String(format: "%.1f", v)
        }
    }

    static func table(_ figures: [BenchFigure]) -> String {
        var s = ""
        var section = ""
        for f in figures {
            if f.section != section {
                section = f.section
                s += "\n### \(section)\n\n| figure | median | min | max | unit | runs | target | met | note |\n|---|---:|---:|---:|---|---:|---|---|---|\n"
            }
            let met = f.met.map { $0 ? "yes" : "**no**" } ?? ""
            s += "| \(f.name) | \(format(f.value, f.unit)) | \(format(f.min, f.unit)) | \(format(f.max, f.unit)) | \(f.unit) | \(f.runs) | \(f.target ?? "") | \(met) | \(f.note) |\n"
        }
        return s
    }

    /// The 1-minute load average (/proc/loadavg).
    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.map(String.init) ?? "?"
    }

    nonisolated(unsafe) static var loadAtStart = "?"

    static func machine() -> [(String, String)] {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) } ?? "?"
        let kernel = (try? command(["uname", "-r"]))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        var commit = (try? command(["git", "rev-parse", "--short=12", "HEAD"]))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        if let dirty = try? command(["git", "status", "--porcelain", "--untracked-files=no"]), !dirty.isEmpty { commit += " (with uncommitted changes)" }
        let branch = (try? command(["git", "rev-parse", "--abbrev-ref", "HEAD"]))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        return [("machine", "\(cpu), \(ProcessInfo.processInfo.activeProcessorCount) CPUs"),
                ("kernel", kernel), ("commit", "\(commit) (branch \(branch))")]
    }

    /// Writes results/<stamp>/{report.md, figures.json, plot.dat, plot.gp, plot.png} and points
    /// results/latest at it. Returns the directory.
    static func write(_ figures: [BenchFigure], options: BenchOptions, cpu: Int, resultsRoot: String,
                      started: Date, elapsed: Double) throws -> String {
        let stamp = ISO8601DateFormatter.string(from: started, timeZone: TimeZone(identifier: "UTC")!,
                                                formatOptions: [.withYear, .withMonth, .withDay, .withTime, .withColonSeparatorInTime])
            .replacingOccurrences(of: ":", with: "")
        let dir = resultsRoot + "/" + stamp
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var md = "# FlowPlane benchmark (issue 5)\n\n"
        md += "| | |\n|---|---|\n"
        md += "| date (UTC) | \(ISO8601DateFormatter().string(from: started)) |\n"
        for (k, v) in machine() { md += "| \(k) | \(v) |\n" }
        md += "| sections | \(figures.map(\.section).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }.joined(separator: ", ")) |\n"
        md += "| CPU placement | everything on CPU \(cpu): the sender (live frames or sendmmsg), the switch and the receivers' NAPI; "
            + "the control-plane section moves its daemon to the other CPU after the first learn-latency samples |\n"
        md += "| runs | \(options.smoke ? 1 : options.runs) per figure (median, min, max), \(options.smoke ? "0.2" : "1") s each |\n"
        md += "| wall time | \(String(format: "%.0f", elapsed)) s |\n"
        md += "| load average (1 min) | \(loadAtStart) at the start, \(loadAverage()) at the end (other work on the machine shares the CPUs) |\n\n"
        md += "Rates are frames/s counted at the receivers by an XDP counter (flood counts every copy). "
        md += "64 B = 60 B + FCS, 1500 B = 1514 B + FCS. See docs/benchmarks.md for the method.\n\n"
        if !ForwardingBench.results.isEmpty { md += "![plot](plot.png)\n" }  // plot() draws the forwarding section only
        md += table(figures)
        try md.write(toFile: dir + "/report.md", atomically: true, encoding: .utf8)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try enc.encode(figures).write(to: URL(fileURLWithPath: dir + "/figures.json"))
        plot(dir)
        let latest = resultsRoot + "/latest"
        try? FileManager.default.removeItem(atPath: latest)
        try? FileManager.default.createSymbolicLink(atPath: latest, withDestinationPath: stamp)
        return dir
    }

    /// plot.png: median Mpps per scenario and source, one bar per arm (gnuplot, bounded).
    static func plot(_ dir: String) {
        let res = ForwardingBench.results
        guard !res.isEmpty else { return }
        var dat = "# scenario FlowPlane LinuxBridge XDPRedirect\n"
        for s in ForwardingBench.scenarios {
            for src in ForwardingBench.Source.allCases {
                let v = ForwardingBench.Arm.allCases.map { arm in
                    ForwardingBench.find(res, arm, s.label, src).map { String(format: "%.4f", $0.median / 1e6) } ?? "0"
                }
                let short = s.label.replacingOccurrences(of: "known ", with: "").replacingOccurrences(of: " to 4 ports", with: "")
                    .replacingOccurrences(of: ", tagged trunk (VLAN 10)", with: " tagged")
                let label = "\(short)\\n\(src == .live ? "live" : "skb")"
                dat += "\"\(label)\" \(v.joined(separator: " "))\n"
            }
        }
        let gp = """
        set terminal pngcairo size 1600,650 noenhanced font ',10'
        set bmargin 5
        set output '\(dir)/plot.png'
        set title 'FlowPlane vs Linux bridge vs trivial XDP redirect (receiver rate, Mpps, median)'
        set style data histograms
        set style histogram clustered gap 1
        set style fill solid 0.8 border -1
        set ylabel 'Mpps at the receivers'
        set grid ytics
        set key top right
        set logscale y
        plot '\(dir)/plot.dat' using 2:xtic(1) title 'FlowPlane', '' using 3 title 'Linux bridge', '' using 4 title 'XDP redirect (limit)'

        """
        try? dat.write(toFile: dir + "/plot.dat", atomically: true, encoding: .utf8)
        try? gp.write(toFile: dir + "/plot.gp", atomically: true, encoding: .utf8)
        do { try command(["gnuplot", dir + "/plot.gp"], timeout: 30) } catch {
            FileHandle.standardError.write(Data("fp-bench: gnuplot failed: \(error)\n".utf8))
        }
    }
}
