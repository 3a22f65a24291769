import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Cleanup actions run at exit and on SIGINT/SIGTERM/SIGHUP (then the process exits 130), so
/// no namespace, link or pin outlives a run. Each action must be safe to run twice.
enum BenchCleanup {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var actions: [() -> Void] = []
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    static func add(_ action: @escaping () -> Void) {
        lock.lock(); actions.append(action); lock.unlock()
    }

    /// Runs the actions, newest first, once each.
    static func runAll() {
        lock.lock(); let todo = actions.reversed(); actions = []; lock.unlock()
        for a in todo { a() }
    }

    static func installSignalHandlers() {
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler {
                FileHandle.standardError.write(Data("fp-bench: signal \(sig), cleaning up\n".utf8))
                runAll()
                exit(130)
            }
            s.resume()
            sources.append(s)
        }
    }
}
