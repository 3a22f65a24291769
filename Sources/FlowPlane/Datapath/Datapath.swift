/// The switch's forwarding plane as the control plane drives it. `BPFDatapath` implements it
/// with libbpf and XDP; `SimulatedDatapath` implements the same forwarding rules in memory,
/// so control-plane tests run without root.
///
/// All methods are called from one thread (the daemon's event loop) unless an implementation
/// says otherwise. Every method throws `BPFError` (or the implementation's error) naming the
/// failing call, and leaves the datapath as it was when it throws.
public protocol Datapath: AnyObject {
    /// Adds a port or replaces its configuration, attaching the ingress program when the port
    /// is new. Applying a new configuration to a live port loses no frames of other ports.
    func setPort(_ port: DatapathPort) throws

    /// Detaches the ingress program from `ifindex` and forgets the port: its flood-set
    /// membership, TX entry and counters. FDB entries pointing at it are the caller's to remove.
    func removePort(_ ifindex: InterfaceIndex) throws

    /// The ports the datapath holds now (as found pinned after a restart, too).
    func ports() throws -> [DatapathPort]

    /// Installs or replaces FDB entries in one batch. A replaced entry keeps nothing of the old one.
    func installFDB(_ entries: [FDBEntry]) throws

    /// Removes FDB entries in one batch; keys that are absent are ignored.
    func removeFDB(_ keys: [FDBKey]) throws

    /// Every FDB entry, with the last-seen times the datapath refreshed.
    func fdbEntries() throws -> [FDBEntry]

    /// Counters of one port, summed over CPUs; zeros for an unknown port.
    func counters(_ ifindex: InterfaceIndex) throws -> PortCounters

    /// Hands queued learn events to `handler`, at most `limit` of them (the rest stay queued),
    /// waiting up to `timeoutMilliseconds` (0: do not wait) for the first. Returns the number
    /// of events handled.
    func pollLearnEvents(timeoutMilliseconds: Int32, limit: Int, _ handler: (LearnEvent) -> Void) throws -> Int
}

extension Datapath {
    /// Hands every queued learn event to `handler`, waiting up to `timeoutMilliseconds`
    /// (0: do not wait) for the first. Returns the number of events handled.
    public func pollLearnEvents(timeoutMilliseconds: Int32, _ handler: (LearnEvent) -> Void) throws -> Int {
        try pollLearnEvents(timeoutMilliseconds: timeoutMilliseconds, limit: Int.max, handler)
    }
}
