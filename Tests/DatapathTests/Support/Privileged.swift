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
enum UniqueName {
    private static let lock = NSLock()
    private static var counter = 0
    static func make(_ prefix: String) -> String {
        lock.lock(); defer { lock.unlock() }
        counter += 1
        return "\(prefix)\(getpid() % 100000)\(counter)"
    }
}
