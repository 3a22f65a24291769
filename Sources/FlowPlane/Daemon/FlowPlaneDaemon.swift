import CBPF
import Foundation
import Logging

/// The control-plane daemon: opens the store, creates the datapath (`BPFDatapath`, or
/// `SimulatedDatapath` when the environment says `FLOWPLANE_DATAPATH=simulated`), reconciles
/// the stored configuration with what is pinned and attached without flushing, serves the
/// control socket and drives learning, ageing and interface checks on one serial queue, until
/// SIGTERM or SIGINT.
public final class FlowPlaneDaemon {
    /// The largest FDB capacity a daemon accepts (entries): the FDB map holds
    /// `FP_FDB_HEADROOM` times as many hash buckets, 16 bytes of kernel memory each.
    public static let maxFDBCapacity = 4 * 1024 * 1024

    public struct Options: Sendable {
        public var socketPath = "/run/flowplane/flowplane.sock"
        public var dbPath = "/var/lib/flowplane/flowplane.db"
        public var pinRoot = "/sys/fs/bpf/flowplane"
        public var fdbCapacity: Int?
        /// Learn-event polling period, ms.
        public var learnPeriodMilliseconds = 10
        /// Ageing sweep and interface check period, ms.
        public var housekeepingPeriodMilliseconds = 2000
        public init() {}
    }

    public enum DaemonError: Error, CustomStringConvertible {
        case locked(String)
        case startup(String)
        public var description: String {
            switch self {
            case .locked(let p): return "another FlowPlane daemon holds \(p)"
            case .startup(let s): return s
            }
        }
    }

    public let options: Options
    private let logger: Logger
    private let queue = DispatchQueue(label: "flowplane.controller")
    /// Held locks: the open lock file and its path.
    private var locks: [(fd: Int32, path: String)] = []
    private var controller: SwitchController?
    private var bpf: BPFDatapath?
    private var server: ControlServer?
    private var timers: [DispatchSourceTimer] = []
    /// Fires when the datapath's learn ring buffer has events (see `learnEventDescriptor`).
    private var learnReadySource: DispatchSourceRead?
    /// Where BPDUs are read and sent: an AF_PACKET socket with the BPF datapath (nil when it
    /// could not be opened), the `SimulatedDatapath` itself when simulated.
    public private(set) var bpduTransport: BPDUTransport?
    /// The spanning tree machines around the controller.
    public private(set) var stpWiring: STPWiring?
    /// Called once on the controller's executor after reconciling, before the socket serves:
    /// the STP wiring sets `configObserver`/`stpShowProvider` and adds its timers here.
    public var onStart: ((FlowPlaneDaemon, SwitchController) -> Void)?

    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// Takes an exclusive lock on `path` + ".lock" (kept until the daemon stops). A lock file
    /// may be removed by the daemon that held it as it stops (see `stop()`): a lock taken on a
    /// file that is no longer the one at the path is dropped and taken again.
    /// - Throws: `DaemonError.locked` when another daemon holds it, `.startup` when the file
    ///   cannot be opened.
    private func lock(_ path: String) throws {
        let lockPath = path + ".lock"
        let dir = (lockPath as NSString).deletingLastPathComponent
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) }
        for _ in 0..<10 {
            let fd = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw DaemonError.startup("cannot open \(lockPath): \(String(cString: strerror(errno)))") }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { close(fd); throw DaemonError.locked(lockPath) }
            var held = stat(), atPath = stat()
            if fstat(fd, &held) == 0, stat(lockPath, &atPath) == 0, held.st_dev == atPath.st_dev, held.st_ino == atPath.st_ino {
                locks.append((fd, lockPath))
                return
            }
            close(fd) // unlinked by its last holder after we opened it
        }
        throw DaemonError.startup("cannot take \(lockPath): it keeps being replaced")
    }

    /// Where the lock for a pin root lives (without ".lock"): two daemons must not drive one pin root.
    public static func pinRootLockBase(_ pinRoot: String) -> String {
        let canonical = (pinRoot as NSString).standardizingPath
        let escaped = canonical.map { $0 == "/" ? "_" : $0 }
        return "/run/flowplane/pin-root" + String(escaped)
    }

    /// Starts everything; returns once the socket serves.
    public func start() throws {
        // A table of 100 k MACs and a dump of it allocate blocks of megabytes. With glibc's
        // sliding thresholds such blocks, once freed, stay in the process (up to 64 MiB per
        // arena); fixed thresholds unmap them when freed.
        if cbpf_tune_allocator(Self.mmapThreshold, Self.trimThreshold) != 0 {
            logger.warning("could not set the allocator's thresholds")
        }
        let env = ProcessInfo.processInfo.environment
        let simulated = env["FLOWPLANE_DATAPATH"] == "simulated"
        try lock(options.socketPath)
        try lock(options.dbPath)
        // bpffs holds no plain files: the pin root's lock lives under /run/flowplane. It is
        // taken before the database is opened, so a daemon refused here creates nothing.
        if !simulated { try lock(Self.pinRootLockBase(options.pinRoot)) }
        let store = try ConfigStore(path: options.dbPath)
        let datapath: Datapath
        let interfaces: InterfaceResolver
        let capacity: Int
        if simulated {
            capacity = options.fdbCapacity ?? Int(FP_FDB_MAX)
            datapath = SimulatedDatapath(fdbCapacity: capacity)
            if let names = env["FLOWPLANE_SIM_INTERFACES"] {
                interfaces = StaticInterfaces(names: names.split(separator: ",").map(String.init))
            } else {
                interfaces = SystemInterfaces()
            }
            bpduTransport = datapath as? SimulatedDatapath
            logger.info("using the simulated datapath")
        } else {
            let b: BPFDatapath
            if let c = options.fdbCapacity {
                b = try BPFDatapath(pinRoot: options.pinRoot, fdbCapacity: c, logger: logger)
            } else {
                b = try BPFDatapath(pinRoot: options.pinRoot, logger: logger)
            }
            bpf = b
            datapath = b
            capacity = b.fdbCapacity
            interfaces = SystemInterfaces()
            do { bpduTransport = try PacketSocketBPDUTransport() } catch {
                logger.warning("no BPDU socket; STP cannot run", metadata: ["error": "\(error)"])
            }
        }
        let ctl = try SwitchController(datapath: datapath, store: store, interfaces: interfaces, fdbCapacity: capacity, logger: logger)
        try ctl.reconcile()
        controller = ctl
        let q = queue
        let log = logger
        let learn = DispatchSource.makeTimerSource(queue: q)
        learn.schedule(deadline: .now(), repeating: .milliseconds(options.learnPeriodMilliseconds))
        learn.setEventHandler {
            do { try ctl.pollLearnEvents() } catch { log.error("learning failed", metadata: ["error": "\(error)"]) }
        }
        let bpfForHousekeeping = bpf
        let house = DispatchSource.makeTimerSource(queue: q)
        house.schedule(deadline: .now() + .milliseconds(options.housekeepingPeriodMilliseconds),
                       repeating: .milliseconds(options.housekeepingPeriodMilliseconds))
        house.setEventHandler {
            do { try ctl.checkInterfaces() } catch { log.error("interface check failed", metadata: ["error": "\(error)"]) }
            do { try ctl.ageSweep() } catch { log.error("ageing failed", metadata: ["error": "\(error)"]) }
            // The sweep reads the whole FDB; with a large table that is megabytes the allocator
            // would keep once freed. Give freed memory back when there is a lot of it.
            _ = cbpf_release_free_memory(Self.releaseThreshold)
            // Veth peers whose tx-vlan-offload was turned back on would lose or leak VLAN tags.
            bpfForHousekeeping?.reassertDelivery()
        }
        timers.append(contentsOf: [learn, house])
        // Learn events wake the daemon at once (the timer above is only a fallback): the learn
        // latency is then the time to handle one batch, not up to one timer period.
        if let fd = bpf?.learnEventDescriptor {
            let ready = DispatchSource.makeReadSource(fileDescriptor: fd, queue: q)
            ready.setEventHandler {
                do { try ctl.pollLearnEvents() } catch { log.error("learning failed", metadata: ["error": "\(error)"]) }
            }
            ready.resume()
            learnReadySource = ready
        }
        // Spanning tree around the controller: BPDUs in every 20 ms, timers every 250 ms.
        let stp = STPWiring(controller: ctl, transport: bpduTransport, logger: logger)
        stpWiring = stp
        stp.install()
        addPeriodicTask(milliseconds: 20) { _ in stp.receiveBPDUs() }
        addPeriodicTask(milliseconds: 250) { _ in stp.tick() }
        if let onStart { q.sync { onStart(self, ctl) } }
        timers.forEach { $0.resume() }
        let server = ControlServer(path: options.socketPath) { request, reply in
            q.async { reply(ctl.handle(request)) }
        }
        try server.start()
        self.server = server
        logger.info("serving", metadata: ["socket": "\(options.socketPath)", "db": "\(options.dbPath)"])
    }

    /// Freed heap memory (bytes) above which housekeeping returns it to the kernel.
    static let releaseThreshold = 4 << 20
    /// Allocations of at least this many bytes get their own mapping (`M_MMAP_THRESHOLD`).
    static let mmapThreshold = 256 << 10
    /// A heap whose free top exceeds this many bytes shrinks (`M_TRIM_THRESHOLD`).
    static let trimThreshold = 1 << 20

    /// Runs the daemon until SIGTERM or SIGINT, then stops cleanly: ports keep forwarding.
    public func run() throws {
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        let done = DispatchSemaphore(value: 0)
        let sources = [SIGTERM, SIGINT].map { sig -> DispatchSourceSignal in
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { done.signal() }
            s.resume()
            return s
        }
        try start()
        done.wait()
        logger.info("stopping")
        sources.forEach { $0.cancel() }
        stop()
    }

    /// Stops serving and polling; leaves the datapath pinned and attached, so the ports keep
    /// forwarding. With no bridge left (the last one was deleted) there is nothing to keep:
    /// the pins are removed (`BPFDatapath.destroy()`).
    public func stop() {
        server?.stop()
        server = nil
        var pinRootGone = false
        queue.sync {
            timers.forEach { $0.cancel() }
            timers = []
            learnReadySource?.cancel()  // before the ring buffer (and its epoll fd) goes
            learnReadySource = nil
            if let b = bpf, let ctl = controller, ctl.config.bridges.isEmpty {
                do {
                    try b.destroy()
                    pinRootGone = true
                } catch { logger.warning("removing the pins failed", metadata: ["error": "\(error)"]) }
            } else {
                bpf?.close()
            }
        }
        // The pin root's lock goes with the pin root (removed while still held; see lock()).
        let pinRootLock = Self.pinRootLockBase(options.pinRoot) + ".lock"
        for l in locks {
            if pinRootGone && l.path == pinRootLock { unlink(l.path) }
            flock(l.fd, LOCK_UN)
            close(l.fd)
        }
        locks = []
    }

    /// Runs `body` every `milliseconds` on the controller's executor (e.g. the STP tick);
    /// call it from `onStart`. Stops with the daemon.
    public func addPeriodicTask(milliseconds: Int, _ body: @escaping (SwitchController) -> Void) {
        guard let ctl = controller else { return }
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(deadline: .now() + .milliseconds(milliseconds), repeating: .milliseconds(milliseconds))
        t.setEventHandler { body(ctl) }
        timers.append(t)
    }

    /// Runs `body` on the controller's queue (tests, STP wiring).
    public func withController<T>(_ body: (SwitchController) throws -> T) rethrows -> T? {
        try queue.sync { try controller.map(body) }
    }
}
