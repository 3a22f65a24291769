import Foundation

/// Runs external commands, each under `timeout(1)`, so a wedged `ip` cannot hang a test run.
enum Command {
    struct Result {
        var status: Int32
        var output: String
    }

    /// Runs `args` with a deadline of `seconds`; returns status and combined output.
    @discardableResult
    static func run(_ args: [String], seconds: Int = 10) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        p.arguments = ["-k", "2", String(seconds)] + args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    /// Runs `args` and throws when it fails.
    @discardableResult
    static func check(_ args: [String], seconds: Int = 10) throws -> String {
        let r = try run(args, seconds: seconds)
        guard r.status == 0 else {
            throw TestSupportError("\(args.joined(separator: " ")) exited \(r.status): \(r.output)")
        }
        return r.output
    }
}
