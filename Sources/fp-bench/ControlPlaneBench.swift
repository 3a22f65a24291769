/// Control-plane figures of issue 5 (owner: control-plane bench author).
enum ControlPlaneBench {
    static func run(_ options: BenchOptions) throws -> [BenchFigure] {
        [BenchFigure(section: "control-plane", name: "not measured yet", value: .nan, unit: "")]
    }
}
