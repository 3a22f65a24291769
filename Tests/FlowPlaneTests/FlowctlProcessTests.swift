import Foundation
import Testing
@testable import FlowPlane

/// flowctl and its daemon as real processes, with FLOWPLANE_DATAPATH=simulated (no root).
/// Every process runs with a timeout; the daemon is killed in `defer`.
@Suite(.serialized) struct FlowctlProcessTests {
    static let binary: String? = {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let p = candidate.appendingPathComponent("flowctl").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }()

    struct Result { var status: Int32; var out: String; var err: String }

    /// Runs flowctl with `args`, killing it after `timeout` seconds.
    static func flowctl(_ args: [String], env: [String: String] = [:], timeout: Double = 10, executable: String? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable ?? binary!)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning { p.terminate(); usleep(100_000); if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        p.waitUntilExit()
        return Result(status: p.terminationStatus,
                      out: String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
                      err: String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    final class DaemonProcess {
        let dir: String
        let socket: String
        let process = Process()
        let env: [String: String]
        init(dir: String? = nil) throws {
            self.dir = dir ?? NSTemporaryDirectory() + "fp-proc-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            socket = self.dir + "/run/fp.sock"
            env = ["FLOWPLANE_DATAPATH": "simulated", "FLOWPLANE_SIM_INTERFACES": "p1,p2,p3", "FLOWCTL_SOCKET": socket]
            process.executableURL = URL(fileURLWithPath: FlowctlProcessTests.binary!)
            process.arguments = ["daemon", "--socket", socket, "--db", self.dir + "/db/fp.db", "--pin-root", self.dir + "/pins"]
            process.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
            process.standardError = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            // Bounded wait for the socket to answer.
            for _ in 0..<100 {
                if (try? FlowctlProcessTests.flowctl(["list-br"], env: env, timeout: 2))?.status == 0 { return }
                usleep(50_000)
            }
            stop()
            throw DatapathError(operation: "daemon", message: "did not answer within 5 s")
        }
        func run(_ args: [String]) throws -> Result { try FlowctlProcessTests.flowctl(args, env: env) }
        /// SIGTERM, bounded wait, then SIGKILL.
        @discardableResult
        func stop() -> Int32 {
            if process.isRunning { process.terminate() }
            for _ in 0..<100 where process.isRunning { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            return process.terminationStatus
        }
        func cleanup() { stop(); try? FileManager.default.removeItem(atPath: dir) }
    }

    @Test(.enabled(if: binary != nil)) func commandsExitCodesAndRestart() throws {
        let d = try DaemonProcess()
        defer { d.cleanup() }
        #expect(try d.run(["add-br", "br0"]).status == 0)
        #expect(try d.run(["--may-exist", "add-br", "br0"]).status == 0)
        let dup = try d.run(["add-br", "br0"])
        #expect(dup.status == 1 && dup.err.contains("br0"))
        #expect(try d.run(["add-port", "br0", "p1", "tag=10"]).status == 0)
        #expect(try d.run(["add-port", "br0", "p2", "trunks=10,20"]).status == 0)
        for (args, needle) in [(["add-port", "br0", "p3", "tag=4096"], "4096"), (["add-port", "br0", "p3", "trunks=abc"], "abc"),
                               (["add-port", "br0", "p3", "vlan_mode=foo"], "foo"), (["add-port", "br0", "lo"], "lo"),
                               (["add-port", "br0", "nosuch9"], "nosuch9"), (["add-port", "br9", "p3"], "br9"),
                               (["fdb-add", "br0", "p1", "10", "02:00:00:00:00:zz"], "02:00:00:00:00:zz"),
                               (["set", "bridge", "br0", "mac-table-size=0"], "0"), (["set", "bridge", "br0", "mac-table-size=200000"], "200000")] {
            let r = try d.run(args)
            #expect(r.status == 1, "\(args)")
            #expect(r.err.contains(needle) && r.err.split(separator: "\n").count == 1, "\(args): \(r.err)")
        }
        #expect(try d.run(["list-ports", "br0"]).out == "p1\np2\n")
        #expect(try d.run(["fdb-add", "br0", "p1", "10", "02:00:00:00:00:01"]).status == 0)
        let fdb = try d.run(["dump-fdb", "br0"])
        #expect(fdb.out.contains(" port  VLAN  MAC                Age") && fdb.out.contains("static"))
        let json = try d.run(["dump-fdb", "br0", "--format", "json"])
        #expect(json.out.contains("\"static\" : true"))
        #expect(try d.run(["show"]).out.contains("tag: 10"))
        #expect(try d.run(["stp-show", "br0"]).out.contains("STP disabled"))
        #expect(try d.run(["bogus-command"]).status == 64)
        #expect(try d.run(["del-port", "br0", "p9"]).status == 1)
        #expect(try d.run(["--if-exists", "del-port", "br0", "p9"]).status == 0)
        // A second daemon on the same socket and db is refused.
        let second = try FlowctlProcessTests.flowctl(["daemon", "--socket", d.socket, "--db", d.dir + "/db/fp.db"], env: d.env, timeout: 5)
        #expect(second.status == 1 && second.err.contains("lock"))
        // Clean stop on SIGTERM; the config survives a restart.
        #expect(d.stop() == 0)
        #expect(try FlowctlProcessTests.flowctl(["list-br"], env: d.env, timeout: 5).status == 3)
        let d2 = try DaemonProcess(dir: d.dir)
        defer { d2.stop() }
        #expect(try d2.run(["list-ports", "br0"]).out == "p1\np2\n")
        #expect(try d2.run(["dump-fdb", "br0"]).out.contains("02:00:00:00:00:01"))
    }

    /// A non-root client gets "permission denied" and exit 1, both from the socket's mode (0600)
    /// and, with the mode opened up, from the daemon's SO_PEERCRED check. Needs root (to drop to nobody).
    /// Root, setpriv, and a checkout that user nobody can reach (not under a 0700 home).
    static let canRunAsNobody: Bool = {
        guard let binary, getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { return false }
        let probe = try? flowctl(["--reuid=65534", "--regid=65534", "--clear-groups", binary, "--help"], timeout: 10,
                                 executable: "/usr/bin/setpriv")
        return probe?.status == 0
    }()

    @Test(.enabled(if: canRunAsNobody, "needs root, setpriv and a checkout readable by nobody"))
    func nonRootClientIsRefused() throws {
        let d = try DaemonProcess()
        defer { d.cleanup() }
        func asNobody() throws -> Result {
            try FlowctlProcessTests.flowctl(["--reuid=65534", "--regid=65534", "--clear-groups", FlowctlProcessTests.binary!,
                                             "list-br", "--socket", d.socket], timeout: 10, executable: "/usr/bin/setpriv")
        }
        let byMode = try asNobody()
        #expect(byMode.status == 1, "\(byMode.err)")
        #expect(byMode.err.contains("permission denied"), "\(byMode.err)")
        // Open the path and the socket to everyone: the daemon itself must still refuse.
        for p in [d.dir, d.dir + "/run"] { chmod(p, 0o755) }
        chmod(d.socket, 0o666)
        let byPeerCred = try asNobody()
        #expect(byPeerCred.status == 1, "\(byPeerCred.err)")
        #expect(byPeerCred.err.contains("permission denied"), "\(byPeerCred.err)")
        #expect(try d.run(["list-br"]).status == 0)
    }
}
