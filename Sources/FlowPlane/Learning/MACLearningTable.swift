/// Changes to project into the datapath's FDB map, in order: remove first, then install.
public struct FDBChanges: Equatable, Sendable {
    public var install: [FDBEntry] = []
    public var remove: [FDBKey] = []
    public init(install: [FDBEntry] = [], remove: [FDBKey] = []) { self.install = install; self.remove = remove }
    public var isEmpty: Bool { install.isEmpty && remove.isEmpty }

    /// Appends `other`; a key removed and later installed ends installed, and vice versa.
    public mutating func merge(_ other: FDBChanges) {
        let removed = Set(other.remove)
        install.removeAll { removed.contains($0.key) }
        let installed = Set(other.install.map(\.key))
        remove.removeAll { installed.contains($0) }
        install.append(contentsOf: other.install)
        remove.append(contentsOf: other.remove)
    }
}

/// Counters of one learning table, since it was created.
public struct LearningCounters: Equatable, Sendable, Codable {
    /// New dynamic entries.
    public var learned: UInt64 = 0
    /// Dynamic entries removed because they were not seen for the ageing time.
    public var expired: UInt64 = 0
    /// Dynamic entries removed to make room when the table was full.
    public var evicted: UInt64 = 0
    /// Dynamic entries that moved to another port.
    public var moved: UInt64 = 0
    public init() {}
}

/// One entry of a learning table.
public struct LearnedMAC: Equatable, Sendable {
    public var vlan: VLANID
    public var mac: MACAddress
    public var port: InterfaceIndex
    public var isStatic: Bool
    /// Clock time (ns) the MAC was last seen; for static entries the time they were added.
    public var lastSeen: UInt64
}

/// A bridge's MAC learning table: (MAC, VLAN) → port, the source of truth whose projection is
/// the datapath's FDB map. Dynamic entries age out after `agingTime` seconds without a frame;
/// static entries never age and never move. The table holds at most `maxEntries` entries:
/// when a new MAC arrives on a full table, the port holding the most dynamic MACs loses its
/// least recently seen one, so one port cannot push every other port's MACs out.
///
/// Times come from an injected clock in nanoseconds (CLOCK_MONOTONIC in the daemon, the
/// same clock the datapath's last-seen times use). Every mutating method returns the FDB
/// changes the caller must apply to the datapath. Not thread-safe: one owner.
public final class MACLearningTable {
    public struct Key: Hashable, Sendable {
        public var vlan: VLANID
        public var mac: MACAddress
        public init(vlan: VLANID, mac: MACAddress) { self.vlan = vlan; self.mac = mac }
    }

    public let bridge: BridgeNumber
    /// Seconds a dynamic entry lives without being seen (OVS `mac-aging-time`, default 300).
    public private(set) var agingTime: UInt64
    /// Most entries the table holds (OVS `mac-table-size`, default 8192).
    public private(set) var maxEntries: Int
    public private(set) var counters = LearningCounters()
    private let clock: () -> UInt64
    private var entries: [Key: LearnedMAC] = [:]
    /// Dynamic entries per port, for fair eviction.
    private var dynamicPerPort: [InterfaceIndex: Set<Key>] = [:]
    /// Per port, dynamic entries by last-seen time (lazily pruned).
    private var ages: [InterfaceIndex: AgeHeap<Key>] = [:]

    public static let defaultAgingTime: UInt64 = 300
    public static let defaultMaxEntries = 8192

    /// - Parameters:
    ///   - bridge: the datapath's number of the bridge, used in the FDB keys returned.
    ///   - agingTime: seconds, at least 1.
    ///   - maxEntries: at least 1.
    ///   - clock: now, in nanoseconds of a monotonic clock.
    public init(bridge: BridgeNumber, agingTime: UInt64 = defaultAgingTime, maxEntries: Int = defaultMaxEntries,
                clock: @escaping () -> UInt64) {
        self.bridge = bridge
        self.agingTime = max(1, agingTime)
        self.maxEntries = max(1, maxEntries)
        self.clock = clock
    }

    public var count: Int { entries.count }
    /// Every entry, sorted by VLAN, then MAC.
    public var allEntries: [LearnedMAC] {
        entries.values.sorted { ($0.vlan, $0.mac) < ($1.vlan, $1.mac) }
    }
    public func entry(vlan: VLANID, mac: MACAddress) -> LearnedMAC? { entries[Key(vlan: vlan, mac: mac)] }
    /// The entry for `mac` in `vlan` as the FDB should hold it.
    public func fdbEntry(vlan: VLANID, mac: MACAddress) -> FDBEntry? { entries[Key(vlan: vlan, mac: mac)].map(fdbEntry) }
    /// Dynamic entries held by `port`.
    public func dynamicCount(port: InterfaceIndex) -> Int { dynamicPerPort[port]?.count ?? 0 }
    public var staticCount: Int { entries.values.filter(\.isStatic).count }

    private func fdbKey(_ k: Key) -> FDBKey { FDBKey(bridge: bridge, vlan: k.vlan, mac: k.mac) }
    private func fdbEntry(_ e: LearnedMAC) -> FDBEntry {
        FDBEntry(key: FDBKey(bridge: bridge, vlan: e.vlan, mac: e.mac), ifindex: e.port, isStatic: e.isStatic,
                 lastSeenNanoseconds: e.lastSeen)
    }

    private func insert(_ e: LearnedMAC) {
        let k = Key(vlan: e.vlan, mac: e.mac)
        drop(k)
        entries[k] = e
        if !e.isStatic { dynamicPerPort[e.port, default: []].insert(k) }
        noteAge(e)
    }

    @discardableResult
    private func drop(_ k: Key) -> LearnedMAC? {
        guard let old = entries.removeValue(forKey: k) else { return nil }
        if !old.isStatic {
            dynamicPerPort[old.port]?.remove(k)
            if dynamicPerPort[old.port]?.isEmpty == true { dynamicPerPort[old.port] = nil; ages[old.port] = nil }
        }
        return old
    }

    /// Removes one dynamic entry fairly: from the port holding the most dynamic entries
    /// (ties: the port whose least recently seen entry is oldest, then the lower ifindex), its
    /// least recently seen entry. Returns the removed key, nil when every entry is static.
    private func evictOne() -> Key? {
        guard let most = dynamicPerPort.values.map(\.count).max(), most > 0 else { return nil }
        var best: (port: InterfaceIndex, oldest: Key, seen: UInt64)?
        for (port, keys) in dynamicPerPort where keys.count == most {
            guard let (seen, oldest) = oldestEntry(port) else { continue }
            if let b = best, !(seen < b.seen || (seen == b.seen && port < b.port)) { continue }
            best = (port, oldest, seen)
        }
        guard let b = best else { return nil }
        drop(b.oldest)
        counters.evicted += 1
        return b.oldest
    }

    /// The least recently seen dynamic entry of `port`, skipping stale heap pairs.
    private func oldestEntry(_ port: InterfaceIndex) -> (UInt64, Key)? {
        while let top = ages[port]?.top {
            if let e = entries[top.key], !e.isStatic, e.port == port, e.lastSeen == top.time { return (top.time, top.key) }
            ages[port]!.pop()
        }
        return nil
    }

    /// Records an entry's (new) last-seen time for eviction order.
    private func noteAge(_ e: LearnedMAC) {
        guard !e.isStatic else { return }
        let k = Key(vlan: e.vlan, mac: e.mac)
        ages[e.port, default: AgeHeap()].push(e.lastSeen, k)
        // Keep the heap near the live entry count.
        let live = dynamicPerPort[e.port]?.count ?? 0
        if ages[e.port]!.count > 2 * live + 64 {
            let keys = dynamicPerPort[e.port] ?? []
            ages[e.port]!.rebuild(keys.compactMap { k in entries[k].map { ($0.lastSeen, k) } })
        }
    }

    /// Makes room for `extra` new entries. Returns the keys removed.
    private func makeRoom(for extra: Int) -> [Key] {
        var removed: [Key] = []
        while entries.count + extra > maxEntries, let k = evictOne() { removed.append(k) }
        return removed
    }

    /// A frame from `mac` in `vlan` arrived on `port` (a learn event).
    ///
    /// Unknown MACs are learned (evicting fairly when the table is full); a dynamic entry on
    /// another port moves (counted); a static entry never changes; a known MAC on the same
    /// port is refreshed.
    /// - Parameter time: when the frame was seen (ns); nil for now.
    /// - Returns: the FDB changes to apply.
    @discardableResult
    public func learn(mac: MACAddress, vlan: VLANID, port: InterfaceIndex, time: UInt64? = nil) -> FDBChanges {
        let now = time ?? clock()
        let k = Key(vlan: vlan, mac: mac)
        if mac.isMulticast { return FDBChanges() }
        if let old = entries[k] {
            if old.isStatic { return FDBChanges() }
            var e = old
            e.lastSeen = max(old.lastSeen, now)
            if old.port == port {
                entries[k] = e
                if e.lastSeen != old.lastSeen { noteAge(e) }
                return FDBChanges()  // the datapath refreshes its own copy
            }
            e.port = port
            insert(e)
            counters.moved += 1
            return FDBChanges(install: [fdbEntry(e)])
        }
        let evicted = makeRoom(for: 1)
        guard entries.count < maxEntries else { return FDBChanges(remove: evicted.map(fdbKey)) }
        let e = LearnedMAC(vlan: vlan, mac: mac, port: port, isStatic: false, lastSeen: now)
        insert(e)
        counters.learned += 1
        return FDBChanges(install: [fdbEntry(e)], remove: evicted.map(fdbKey))
    }

    /// Adds or replaces a static entry (replacing a dynamic one for the same MAC and VLAN).
    /// - Throws: `LearningTableError.full` when the table is full of static entries.
    public func addStatic(mac: MACAddress, vlan: VLANID, port: InterfaceIndex) throws -> FDBChanges {
        let k = Key(vlan: vlan, mac: mac)
        var removed: [Key] = []
        if entries[k] == nil {
            removed = makeRoom(for: 1)
            guard entries.count < maxEntries else { throw LearningTableError.full(maxEntries) }
        }
        let e = LearnedMAC(vlan: vlan, mac: mac, port: port, isStatic: true, lastSeen: clock())
        insert(e)
        return FDBChanges(install: [fdbEntry(e)], remove: removed.map(fdbKey))
    }

    /// Removes the entry for `mac` in `vlan`, static or dynamic. Empty changes when absent.
    public func remove(mac: MACAddress, vlan: VLANID) -> FDBChanges {
        let k = Key(vlan: vlan, mac: mac)
        guard drop(k) != nil else { return FDBChanges() }
        return FDBChanges(remove: [fdbKey(k)])
    }

    /// Removes dynamic entries (of `port` only, when given); static entries stay.
    public func flush(port: InterfaceIndex? = nil) -> FDBChanges {
        let keys = entries.filter { !$0.value.isStatic && (port == nil || $0.value.port == port) }.map(\.key)
        keys.forEach { drop($0) }
        return FDBChanges(remove: keys.map(fdbKey))
    }

    /// Removes every entry, static ones included, pointing at `port` (the port left the bridge).
    public func removePort(_ port: InterfaceIndex) -> FDBChanges {
        let keys = entries.filter { $0.value.port == port }.map(\.key)
        keys.forEach { drop($0) }
        return FDBChanges(remove: keys.map(fdbKey))
    }

    /// Takes the datapath's last-seen times (refreshed at most once a second per entry) into
    /// account; later times win. Entries the table does not hold are ignored.
    public func noteLastSeen(_ fdb: [FDBEntry]) {
        for f in fdb where f.key.bridge == bridge && f.lastSeenNanoseconds != 0 {
            let k = Key(vlan: f.key.vlan, mac: f.key.mac)
            if var e = entries[k], !e.isStatic, f.lastSeenNanoseconds > e.lastSeen {
                e.lastSeen = f.lastSeenNanoseconds
                entries[k] = e
                noteAge(e)
            }
        }
    }

    /// Removes dynamic entries not seen for `agingTime` seconds (counted as expired).
    /// - Parameter now: clock time (ns); nil for the clock's now.
    public func age(now: UInt64? = nil) -> FDBChanges {
        let t = now ?? clock()
        let limit = agingTime * 1_000_000_000
        let keys = entries.filter { !$0.value.isStatic && t >= $0.value.lastSeen && t - $0.value.lastSeen >= limit }.map(\.key)
        keys.forEach { drop($0) }
        counters.expired += UInt64(keys.count)
        return FDBChanges(remove: keys.map(fdbKey))
    }

    /// Sets the ageing time, seconds (at least 1). Takes effect at the next `age`.
    public func setAgingTime(_ seconds: UInt64) { agingTime = max(1, seconds) }

    /// Sets the table size; a smaller size evicts fairly at once.
    public func setMaxEntries(_ n: Int) -> FDBChanges {
        maxEntries = max(1, n)
        return FDBChanges(remove: makeRoom(for: 0).map(fdbKey))
    }

    /// Rebuilds the table from what the datapath's FDB holds (a restarted daemon), without
    /// producing changes: the entries are already installed. Entries of other bridges are ignored.
    /// Entries that never were refreshed count as seen now.
    public func adopt(_ fdb: [FDBEntry]) {
        let now = clock()
        for f in fdb where f.key.bridge == bridge {
            insert(LearnedMAC(vlan: f.key.vlan, mac: f.key.mac, port: f.ifindex, isStatic: f.isStatic,
                              lastSeen: f.lastSeenNanoseconds == 0 ? now : f.lastSeenNanoseconds))
        }
    }

    /// The whole table as FDB entries (to reinstall it).
    public func projection() -> [FDBEntry] { allEntries.map(fdbEntry) }
}

public enum LearningTableError: Error, Equatable, CustomStringConvertible {
    case full(Int)
    public var description: String {
        switch self {
        case .full(let n): return "the MAC table is full of static entries (mac-table-size=\(n))"
        }
    }
}
