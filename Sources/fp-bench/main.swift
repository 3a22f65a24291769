// fp-bench: FlowPlane's benchmark (issue 5). Run it through `make bench`.
// Sections (forwarding, control plane, STP convergence) each return [BenchFigure].
print("fp-bench: not implemented yet")
