// The benchmark's sections. Each lives in its own file and is owned by one author:
//   forwarding (Forwarding*.swift), control plane (ControlPlaneBench.swift),
//   STP convergence (STPConvergenceBench.swift). Placeholders below are replaced by the
//   real sections; until then they report that nothing was measured.

/// Options shared by every section.
struct BenchOptions: Sendable {
    /// Short run for CI: checks the section still runs and prints its rows (< 60 s in all).
    var smoke = false
    /// Runs per figure (medians of these).
    var runs = 5
    /// Path of the release `flowctl` binary (daemon and client), when a section needs it.
    var flowctl: String?
    /// The CPU fp-bench pinned itself to (`--cpu`).
    var cpu = 0
}
