/// STP/RSTP convergence figures of issue 4 (owner: STP interop author).
enum STPConvergenceBench {
    static func run(_ options: BenchOptions) throws -> [BenchFigure] {
        [BenchFigure(section: "stp-convergence", name: "not measured yet", value: .nan, unit: "")]
    }
}
