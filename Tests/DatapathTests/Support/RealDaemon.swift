import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `flowctl` as built next to the test bundle (`swift build --build-tests` builds it).
enum Flowctl {
    static let binary: String? = {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let p = candidate.appendingPathComponent("flowctl").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }()

    struct Result: CustomStringConvertible {
        var status: Int32
        var out: String
        var err: String
        var description: String { "exit \(status)\nstdout: \(out)\nstderr: \(err)" }
    }

    /// Runs `flowctl args`, killed after `seconds`; stdout and stderr apart.
    static func run(_ args: [String], env: [String: String] = [:], seconds: Double = 10) throws -> Result {
        guard let binary else { throw TestSupportError("flowctl binary not found next to the test bundle") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        let outFile = FileManager.default.temporaryDirectory.appendingPathComponent(UniqueName.make("fpo") + ".out")
        let errFile = FileManager.default.temporaryDirectory.appendingPathComponent(UniqueName.make("fpe") + ".err")
        FileManager.default.createFile(atPath: outFile.path, contents: nil)
        FileManager.default.createFile(atPath: errFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outFile); try? FileManager.default.removeItem(at: errFile) }
        p.standardOutput = try FileHandle(forWritingTo: outFile)
        p.standardError = try FileHandle(forWritingTo: errFile)
        try p.run()
        let deadline = Date().addingTimeInterval(seconds)
        while p.isRunning && Date() < deadline { usleep(5_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        return Result(status: p.terminationStatus,
                      out: (try? String(contentsOf: outFile, encoding: .utf8)) ?? "",
                      err: (try? String(contentsOf: errFile, encoding: .utf8)) ?? "")
    }
}

/// A real `flowctl daemon` on the BPF datapath, with its own socket, database and pin root
/// (unique per run). `kill9()` and `start()` simulate a crash and a restart on the same state;
/// `cleanup()` (call it from `defer`) stops it and removes its pins and files.
final class RealDaemon {
    let dir: String
    let socket: String
    let db: String
    let pinRoot: String
    let logPath: String
    var env: [String: String] { ["FLOWCTL_SOCKET": socket] }
    private var process: Process?

    init(start: Bool = true) throws {
        dir = NSTemporaryDirectory() + UniqueName.make("fpd-")
        socket = dir + "/run/fp.sock"
        db = dir + "/db/fp.db"
        pinRoot = "/sys/fs/bpf/" + UniqueName.make("fpd_")
        logPath = dir + "/daemon.log"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if start { try self.start() }
    }

    var pid: Int32? { process?.processIdentifier }
    var isRunning: Bool { process?.isRunning ?? false }

    /// Starts the daemon and waits (at most 10 s) until it answers `list-br`.
    func start() throws {
        guard let binary = Flowctl.binary else { throw TestSupportError("flowctl binary not found") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["daemon", "--socket", socket, "--db", db, "--pin-root", pinRoot]
        var e = ProcessInfo.processInfo.environment
        e.removeValue(forKey: "FLOWPLANE_DATAPATH")
        p.environment = e
        if !FileManager.default.fileExists(atPath: logPath) { FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        p.standardOutput = log
        p.standardError = log
        try p.run()
        process = p
        for _ in 0..<200 {
            if !p.isRunning { break }
            if (try? Flowctl.run(["list-br"], env: env, seconds: 2))?.status == 0 { return }
            usleep(50_000)
        }
        let log2 = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        stop()
        throw TestSupportError("daemon did not answer within 10 s; log:\n\(log2)")
    }

    /// `flowctl args` against this daemon.
    @discardableResult
    func run(_ args: [String], seconds: Double = 10) throws -> Flowctl.Result {
        try Flowctl.run(args, env: env, seconds: seconds)
    }

    /// `flowctl args`, throwing unless it exits 0; returns stdout.
    @discardableResult
    func check(_ args: [String], seconds: Double = 10) throws -> String {
        let r = try run(args, seconds: seconds)
        guard r.status == 0 else { throw TestSupportError("flowctl \(args.joined(separator: " ")): \(r)") }
        return r.out
    }

    /// SIGKILL, as a crash: pins, database and socket file stay behind.
    func kill9() {
        guard let p = process else { return }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        process = nil
    }

    /// SIGTERM, bounded wait (5 s), then SIGKILL. Returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        guard let p = process else { return 0 }
        if p.isRunning { p.terminate() }
        for _ in 0..<250 where p.isRunning { usleep(20_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        process = nil
        return p.terminationStatus
    }

    /// The daemon's log so far (for failure messages).
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Stops the daemon, detaches what it left and removes its pins and files.
    func cleanup() {
        kill9()
        _ = try? Command.run(["rm", "-rf", pinRoot])
        try? FileManager.default.removeItem(atPath: dir)
    }

    deinit { cleanup() }
}
