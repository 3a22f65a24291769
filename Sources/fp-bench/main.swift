// fp-bench: FlowPlane's benchmark (issue 5). Run it through `make bench` (or `make bench-smoke`).
// Sections (forwarding, control plane, STP convergence) each return [BenchFigure].
import CBPF
import Foundation
#if canImport(Glibc)
import Glibc
#endif

let usage = "usage: fp-bench [--smoke] [--runs N] [--cpu N] [--results DIR | --no-report] [--flowctl PATH] [--only SECTION[,SECTION...]]\n"
    + "sections: forwarding, control-plane, stp-convergence (default: all)"
var options = BenchOptions()
var cpu = ProcessInfo.processInfo.activeProcessorCount > 1 ? 1 : 0
var resultsRoot: String? = "results"
var only: Set<String>?
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--smoke": options.smoke = true
    case "--runs": options.runs = args.popFirst().flatMap { Int($0) }.map { max(1, min($0, 50)) } ?? options.runs
    case "--cpu": cpu = args.popFirst().flatMap { Int($0) } ?? cpu
    case "--results": resultsRoot = args.popFirst()
    case "--no-report": resultsRoot = nil
    case "--flowctl": options.flowctl = args.popFirst()
    case "--only": only = Set((args.popFirst() ?? "").split(separator: ",").map { String($0) })
    case "-h", "--help": print(usage); exit(0)
    default: FileHandle.standardError.write(Data("\(usage)\n".utf8)); exit(64)
    }
}
if options.smoke && !CommandLine.arguments.contains("--results") { resultsRoot = nil }
options.cpu = cpu
guard getuid() == 0 else {
    FileHandle.standardError.write(Data("fp-bench: needs root (namespaces, XDP)\n".utf8))
    exit(1)
}
BenchCleanup.installSignalHandlers()
let started = Date()
BenchReport.loadAtStart = BenchReport.loadAverage()
let t0 = ProcessInfo.processInfo.systemUptime
// One CPU for everything: the sender, the switch and the receivers run where the frames are made.
if cbpf_pin_cpu(Int32(cpu)) != 0 { FileHandle.standardError.write(Data("fp-bench: could not pin to CPU \(cpu)\n".utf8)) }

var figures: [BenchFigure] = []
var failed = false
let sections: [(String, (BenchOptions) throws -> [BenchFigure])] = [
    ("forwarding", ForwardingBench.run),
    ("control-plane", ControlPlaneBench.run),
    ("stp-convergence", STPConvergenceBench.run),
].filter { only?.contains($0.0) ?? true }
if let only, let unknown = only.subtracting(["forwarding", "control-plane", "stp-convergence"]).first {
    FileHandle.standardError.write(Data("fp-bench: no section named '\(unknown)'\n\(usage)\n".utf8))
    exit(64)
}
for (name, section) in sections {
    do {
        figures += try section(options)
    } catch {
        failed = true
        FileHandle.standardError.write(Data("fp-bench: section \(name) failed: \(error)\n".utf8))
        figures.append(BenchFigure(section: name, name: "FAILED: \(error)", value: .nan, unit: ""))
    }
}
BenchCleanup.runAll()
let elapsed = ProcessInfo.processInfo.systemUptime - t0
print(BenchReport.table(figures))
print(String(format: "fp-bench: %.0f s", elapsed))
if let resultsRoot {
    do {
        let dir = try BenchReport.write(figures, options: options, cpu: cpu, resultsRoot: resultsRoot, started: started, elapsed: elapsed)
        print("fp-bench: report in \(dir)/report.md")
    } catch {
        FileHandle.standardError.write(Data("fp-bench: writing the report failed: \(error)\n".utf8))
        failed = true
    }
}
exit(failed ? 1 : 0)
