import Foundation
import Logging
import Testing
@testable import FlowPlane

/// The daemon's stop (root, real BPF): with bridges it leaves everything pinned (forwarding
/// goes on without it); with no bridge left it removes the pins.
@Suite(.serialized) struct DaemonLifecycleTests {
    func daemon(_ dir: String, pinRoot: String) -> FlowPlaneDaemon {
        var o = FlowPlaneDaemon.Options()
        o.socketPath = dir + "/fp.sock"; o.dbPath = dir + "/fp.db"; o.pinRoot = pinRoot
        var logger = Logger(label: "flowplane.test")
        logger.logLevel = .error
        return FlowPlaneDaemon(options: o, logger: logger)
    }

    @Test(.enabled(if: Privileged.shouldRun)) func stopKeepsPinsWithBridgesAndRemovesThemWithout() throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let dir = NSTemporaryDirectory() + UniqueName.make("fpdl")
        let pinRoot = "/sys/fs/bpf/" + UniqueName.make("fpdl_")
        defer {
            try? FileManager.default.removeItem(atPath: dir)
            if FileManager.default.fileExists(atPath: pinRoot) {
                var logger = Logger(label: "t"); logger.logLevel = .error
                try? BPFDatapath(pinRoot: pinRoot, logger: logger).destroy()
            }
            unlink(FlowPlaneDaemon.pinRootLockBase(pinRoot) + ".lock")
        }
        let d1 = daemon(dir, pinRoot: pinRoot)
        try d1.start()
        try d1.withController { try $0.addBridge("br0") }
        let lockFile = FlowPlaneDaemon.pinRootLockBase(pinRoot) + ".lock"
        d1.stop()
        #expect(FileManager.default.fileExists(atPath: pinRoot + "/fp_fdb"))
        #expect(FileManager.default.fileExists(atPath: lockFile), "the pin root stays, and so does its lock file")
        let d2 = daemon(dir, pinRoot: pinRoot)
        try d2.start()
        #expect(d2.withController { $0.config.bridges.keys.sorted() } == ["br0"])
        // A second daemon on the same pin root is refused while d2 holds it.
        var o = FlowPlaneDaemon.Options()
        o.socketPath = dir + "/other.sock"; o.dbPath = dir + "/other.db"; o.pinRoot = pinRoot
        let other = FlowPlaneDaemon(options: o, logger: Logger(label: "t"))
        #expect(throws: (any Error).self) { try other.start() }
        other.stop()
        #expect(!FileManager.default.fileExists(atPath: dir + "/other.db"), "a refused daemon created its database")
        try d2.withController { try $0.deleteBridge("br0") }
        d2.stop()
        #expect(!FileManager.default.fileExists(atPath: pinRoot))
        #expect(!FileManager.default.fileExists(atPath: lockFile), "the pin root's lock file goes with it")
        // And a daemon can take the pin root again afterwards.
        let d3 = daemon(dir, pinRoot: pinRoot)
        try d3.start()
        d3.stop()
    }
}
