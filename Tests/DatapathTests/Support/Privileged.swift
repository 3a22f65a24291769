import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Whether privileged tests can and must run (TEAM.md): as root they run; without root they
/// are skipped, unless FLOWPLANE_REQUIRE_PRIVILEGED=1, when they run and fail.
enum Privileged {
    static var isRoot: Bool { geteuid() == 0 }
    static var required: Bool { ProcessInfo.processInfo.environment["FLOWPLANE_REQUIRE_PRIVILEGED"] == "1" }
    /// Use as `.enabled(if: Privileged.shouldRun)`.
    static var shouldRun: Bool { isRoot || required }
}

/// A failure in test plumbing (a command that failed, a socket that did not open).
struct TestSupportError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Names unique to this process and call: `prefix` + pid + counter, short enough for
/// interface names (15 characters).
///
/// When `FLOWPLANE_TEST_LEDGER` names a file, every name is appended to it (one a line)
/// before it is returned, so before anything is created under it: `scripts/run-tests.sh`
/// removes exactly these names (namespaces, links, pins, files) after a run that was killed.
enum UniqueName {
    private static let lock = NSLock()
    private static var counter = 0
    /// The ledger, opened on first use (-1: none).
    private static var ledger: Int32 = {
        guard let path = ProcessInfo.processInfo.environment["FLOWPLANE_TEST_LEDGER"], !path.isEmpty else { return -1 }
        return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
    }()

    static func make(_ prefix: String) -> String {
        lock.lock(); defer { lock.unlock() }
        counter += 1
        let name = "\(prefix)\(getpid() % 100000)\(counter)"
        if ledger >= 0 {
            // One write(2) per line: with O_APPEND, lines from both test processes never interleave.
            let line = Array((name + "\n").utf8)
            _ = line.withUnsafeBytes { write(ledger, $0.baseAddress, $0.count) }
        }
        return name
    }
}
