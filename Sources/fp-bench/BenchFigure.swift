/// One measured figure of the benchmark report: a row of the Markdown table.
///
/// Forwarding rates are in packets/s (frames counted at the receiver), latencies in µs,
/// times in ms, sizes in MiB. `target` says what issue 5 asks for, `met` whether this run met it
/// (nil: no target).
struct BenchFigure: Codable, Sendable {
    /// Section of the report: "forwarding", "control-plane", "stp-convergence", ...
    var section: String
    /// What was measured, e.g. "64 B known unicast, live frames, FlowPlane".
    var name: String
    /// Median of the runs.
    var value: Double
    /// Unit of `value`, `min` and `max`: "packets/s", "µs", "ms", "MiB", "MACs/s", "×".
    var unit: String
    var min: Double?
    var max: Double?
    var runs: Int = 1
    var target: String? = nil
    var met: Bool? = nil
    var note: String = ""
}
