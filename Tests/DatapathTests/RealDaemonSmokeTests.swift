import Foundation
import Testing

/// The real daemon on the BPF datapath starts, answers flowctl, and stops cleanly on SIGTERM.
@Suite(.serialized, .enabled(if: Privileged.shouldRun))
struct RealDaemonSmokeTests {
    @Test func startsAnswersAndStops() throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let d = try RealDaemon()
        defer { d.cleanup() }
        try d.check(["add-br", "br0"])
        #expect(try d.check(["list-br"]) == "br0\n")
        #expect(d.stop() == 0, "\(d.log)")
    }
}
