import Foundation
import Logging

/// The control plane's core: owns the configuration (written to the `ConfigStore` before it
/// is applied), one `MACLearningTable` per bridge (the source of truth; the datapath's FDB is
/// its projection) and the `Datapath`.
///
/// Not thread-safe: the daemon calls every method from one serial executor.
public final class SwitchController {
    public let datapath: Datapath
    public let store: ConfigStore
    public let interfaces: InterfaceResolver
    /// Entries the datapath's FDB holds; the most any `mac-table-size` may be.
    public let fdbCapacity: Int
    public private(set) var config: SwitchConfig
    private var tables: [String: MACLearningTable] = [:]
    /// Resolved ifindex of each configured port; absent while the interface is missing.
    public private(set) var ifindexes: [String: InterfaceIndex] = [:]
    /// Configured ports whose interface exists but could not be set up in the datapath (retried).
    public private(set) var setupFailures: [String: String] = [:]
    private var slots: [String: UInt32] = [:]
    /// STP port states as the STP machines set them (`setSTPState`).
    private var stpStates: [String: STPPortState] = [:]
    private let clock: () -> UInt64
    private let logger: Logger

    /// Called after every configuration change that was applied (and after `reconcile`), on
    /// the controller's executor: the STP wiring creates, updates and drops its state machines
    /// from it (bridges' `stp` settings, ports' `stp` settings and ifindexes).
    public var configObserver: ((SwitchController) -> Void)?
    /// Supplies `stp-show` for a bridge with STP on; nil answers fall back to the stored view.
    public var stpShowProvider: ((BridgeConfig) -> STPInfo?)?

    public static let maxBridges = 255
    public static let maxPorts = 1024

    /// - Parameters:
    ///   - clock: monotonic ns, the datapath's clock (last-seen times, learn events).
    public init(datapath: Datapath, store: ConfigStore, interfaces: InterfaceResolver, fdbCapacity: Int,
                clock: @escaping () -> UInt64 = SimulatedDatapath.monotonicNow, logger: Logger = Logger(label: "flowplane.controller")) throws {
        self.datapath = datapath
        self.store = store
        self.interfaces = interfaces
        self.fdbCapacity = fdbCapacity
        self.clock = clock
        self.logger = logger
        self.config = try store.load()
    }

    // MARK: - Start-up

    /// Brings the datapath in line with the stored configuration without flushing: ports
    /// already in the datapath keep their slot and FDB entries; the learning tables are rebuilt
    /// from the FDB; ports and entries nobody configured are removed; missing static entries are
    /// installed.
    public func reconcile() throws {
        let existing = Dictionary(try datapath.ports().map { ($0.ifindex, $0) }, uniquingKeysWith: { a, _ in a })
        let fdb = try datapath.fdbEntries()
        for (name, b) in config.bridges {
            tables[name] = MACLearningTable(bridge: b.number, agingTime: UInt64(b.macAgingTime), maxEntries: b.macTableSize, clock: clock)
        }
        var keep = Set<InterfaceIndex>()
        for (name, p) in config.ports.sorted(by: { $0.key < $1.key }) {
            guard let idx = interfaces.index(of: name) else {
                logger.warning("configured interface is missing", metadata: ["port": "\(name)"])
                continue
            }
            ifindexes[name] = idx
            if let old = existing[idx], old.bridge == config.bridges[p.bridge]?.number, !slots.values.contains(old.slot) {
                slots[name] = old.slot
                stpStates[name] = old.stpState  // a discarding port stays discarding across restarts
            }
            keep.insert(idx)
        }
        for (idx, _) in existing where !keep.contains(idx) {
            try datapath.removePort(idx)
        }
        for name in config.ports.keys.sorted() where ifindexes[name] != nil {
            if slots[name] == nil { slots[name] = freeSlot() }
            let dp = try datapathPort(name)
            guard existing[dp.ifindex] != dp else { continue }
            // One port the kernel refuses must not keep the daemon (and every other port) down:
            // it stays configured and the interface check retries it.
            do { try datapath.setPort(dp) } catch {
                logger.error("cannot set up port; retrying", metadata: ["port": "\(name)", "error": "\(error)"])
                setupFailures[name] = "cannot set up the port: \(error)"
                ifindexes[name] = nil
            }
        }
        // Rebuild the tables from the FDB; drop entries that point at no port of their bridge.
        var stale: [FDBKey] = []
        let byNumber = Dictionary(uniqueKeysWithValues: config.bridges.values.map { ($0.number, $0.name) })
        for e in fdb {
            guard let br = byNumber[e.key.bridge], let portName = portName(e.ifindex), config.ports[portName]?.bridge == br else {
                stale.append(e.key); continue
            }
            let isConfiguredStatic = config.staticFDB.contains { $0.bridge == br && $0.vlan == e.key.vlan && $0.mac == e.key.mac && $0.port == portName }
            if e.isStatic && !isConfiguredStatic { stale.append(e.key); continue }
            tables[br]!.adopt([e])
        }
        if !stale.isEmpty { try datapath.removeFDB(stale) }
        var changes: [String: FDBChanges] = [:]
        for s in config.staticFDB {
            guard let idx = ifindexes[s.port], let t = tables[s.bridge] else { continue }
            if t.entry(vlan: s.vlan, mac: s.mac)?.isStatic == true { continue }
            if let c = try? t.addStatic(mac: s.mac, vlan: s.vlan, port: idx) { changes[s.bridge, default: FDBChanges()].merge(c) }
        }
        for (_, c) in changes { try apply(c) }
        configObserver?(self)
        logger.info("reconciled", metadata: ["bridges": "\(config.bridges.count)", "ports": "\(ifindexes.count)", "fdb": "\(fdb.count - stale.count)"])
    }

    // MARK: - Helpers

    private func freeSlot() -> UInt32 {
        let used = Set(slots.values)
        return (0..<UInt32(Self.maxPorts)).first { !used.contains($0) } ?? 0
    }

    private func portName(_ idx: InterfaceIndex) -> String? { ifindexes.first { $0.value == idx }?.key }

    private func bridge(_ name: String) throws -> BridgeConfig {
        guard let b = config.bridges[name] else { throw ControlError.refused("no bridge named '\(name)'") }
        return b
    }

    private func port(_ name: String) throws -> PortConfig {
        guard let p = config.ports[name] else { throw ControlError.refused("no port named '\(name)'") }
        return p
    }

    /// What the datapath should hold for a configured, present port.
    private func datapathPort(_ name: String) throws -> DatapathPort {
        let p = config.ports[name]!
        let b = config.bridges[p.bridge]!
        let state: STPPortState
        if b.stp.enabled {
            state = stpStates[name] ?? (p.stp.adminEdge ? .forwarding : .discarding)
        } else {
            state = .forwarding
        }
        return DatapathPort(ifindex: ifindexes[name]!, bridge: b.number, slot: slots[name]!, vlan: p.vlan,
                            stpState: state, stpEnabled: b.stp.enabled, forwardBPDU: b.forwardBPDU, attachMode: p.xdpMode)
    }

    /// Projects FDB changes into the datapath: removals, then installs, each one batch.
    private func apply(_ c: FDBChanges) throws {
        if !c.remove.isEmpty { try datapath.removeFDB(c.remove) }
        if !c.install.isEmpty { try datapath.installFDB(c.install) }
    }

    /// Writes `new` durably, then runs `body` to apply it; when applying fails, the old
    /// configuration is written back and the error reported as failed.
    private func commit(_ new: SwitchConfig, _ body: () throws -> Void) throws {
        let old = config
        do { try store.save(new, replacing: old) } catch {
            throw ControlError.failed("could not store the configuration: \(error)")
        }
        config = new
        do { try body() } catch {
            try? store.save(old, replacing: new)
            config = old
            if let e = error as? ControlError { throw e }
            throw ControlError.failed("\(error)")
        }
        configObserver?(self)
    }

    // MARK: - Requests

    /// Serves one request; never throws.
    public func handle(_ request: ControlRequest) -> ControlResponse {
        do {
            switch request {
            case .addBridge(let name, let mayExist): try addBridge(name, mayExist: mayExist); return .ok()
            case .deleteBridge(let name, let ifExists): try deleteBridge(name, ifExists: ifExists); return .ok()
            case .listBridges: return .ok(.names(config.bridges.keys.sorted()))
            case .addPort(let br, let p, let settings, let mayExist):
                return .ok(warnings: try addPort(bridge: br, port: p, settings: settings, mayExist: mayExist))
            case .deletePort(let br, let p, let ifExists): try deletePort(bridge: br, port: p, ifExists: ifExists); return .ok()
            case .listPorts(let br): return .ok(.ports(try listPorts(br)))
            case .show: return .ok(.bridges(show()))
            case .setBridge(let br, let s): try setBridge(br, settings: s); return .ok()
            case .setPort(let p, let s): return .ok(warnings: try setPort(p, settings: s))
            case .clearPort(let p, let keys): try clearPort(p, keys: keys); return .ok()
            case .dumpFDB(let br): return .ok(.fdb(try dumpFDB(br)))
            case .addFDB(let br, let p, let vlan, let mac): return .ok(warnings: try addFDB(bridge: br, port: p, vlan: vlan, mac: mac))
            case .deleteFDB(let br, let vlan, let mac): try deleteFDB(bridge: br, vlan: vlan, mac: mac); return .ok()
            case .flushFDB(let br): try flushFDB(br); return .ok()
            case .fdbStats(let br): return .ok(.fdbStats(try fdbStats(br)))
            case .dumpPorts(let br): return .ok(.portStats(try dumpPorts(br)))
            case .stpShow(let br): return .ok(.stp(try stpShow(br)))
            }
        } catch let e as ControlError {
            switch e {
            case .refused(let s): return ControlResponse(status: .refused, message: s)
            case .failed(let s): return ControlResponse(status: .failed, message: s)
            }
        } catch {
            return ControlResponse(status: .failed, message: "\(error)")
        }
    }

    static func validName(_ name: String, what: String) throws {
        guard !name.isEmpty, name.count <= 64, !name.contains(where: { $0 == "/" || $0 == " " || $0 == "=" || !$0.isASCII }) else {
            throw ControlError.refused("invalid \(what) name '\(name)'")
        }
    }

    public func addBridge(_ name: String, mayExist: Bool = false) throws {
        try Self.validName(name, what: "bridge")
        if config.bridges[name] != nil {
            if mayExist { return }
            throw ControlError.refused("bridge '\(name)' already exists")
        }
        if config.ports[name] != nil { throw ControlError.refused("'\(name)' is already a port") }
        let used = Set(config.bridges.values.map(\.number))
        guard let number = (1...UInt32(Self.maxBridges)).first(where: { !used.contains($0) }) else {
            throw ControlError.refused("cannot add bridge '\(name)': \(Self.maxBridges) bridges exist already")
        }
        var new = config
        let b = BridgeConfig(name: name, number: number)
        new.bridges[name] = b
        try commit(new) {
            tables[name] = MACLearningTable(bridge: number, agingTime: UInt64(b.macAgingTime), maxEntries: b.macTableSize, clock: clock)
        }
    }

    public func deleteBridge(_ name: String, ifExists: Bool = false) throws {
        guard config.bridges[name] != nil else {
            if ifExists { return }
            throw ControlError.refused("no bridge named '\(name)'")
        }
        var new = config
        new.bridges[name] = nil
        let ports = config.ports.values.filter { $0.bridge == name }.map(\.name)
        for p in ports { new.ports[p] = nil }
        new.staticFDB.removeAll { $0.bridge == name }
        try commit(new) {
            if let t = tables[name] { try apply(FDBChanges(remove: t.allEntries.map { FDBKey(bridge: t.bridge, vlan: $0.vlan, mac: $0.mac) })) }
            for p in ports {
                if let idx = ifindexes[p] ?? (setupFailures[p] != nil ? interfaces.index(of: p) : nil) { try datapath.removePort(idx) }
                ifindexes[p] = nil; slots[p] = nil; stpStates[p] = nil; setupFailures[p] = nil
            }
            tables[name] = nil
        }
    }

    /// - Returns: warnings about the accepted settings.
    public func addPort(bridge br: String, port name: String, settings: [String] = [], mayExist: Bool = false) throws -> [String] {
        _ = try bridge(br)
        if let existing = config.ports[name] {
            if mayExist && existing.bridge == br { return [] }
            throw ControlError.refused("interface '\(name)' is already a port of bridge '\(existing.bridge)'")
        }
        if name == "lo" { throw ControlError.refused("the loopback interface 'lo' cannot be a port") }
        try Self.validName(name, what: "interface")
        guard let idx = interfaces.index(of: name) else { throw ControlError.refused("no interface named '\(name)'") }
        if let other = portName(idx) { throw ControlError.refused("interface '\(name)' is already a port ('\(other)')") }
        if let master = interfaces.master(of: name) {
            throw ControlError.refused("interface '\(name)' already belongs to bridge or bond '\(master)'")
        }
        if let type = interfaces.linkType(of: name), type != 1 {  // ARPHRD_ETHER
            throw ControlError.refused("interface '\(name)' is not an Ethernet interface (link type \(type)), so it cannot be a port")
        }
        guard config.ports.count < Self.maxPorts else { throw ControlError.refused("cannot add '\(name)': \(Self.maxPorts) ports exist already") }
        var p = PortConfig(name: name, bridge: br)
        try Settings.apply(settings, to: &p)
        var new = config
        new.ports[name] = p
        try commit(new) {
            ifindexes[name] = idx
            slots[name] = freeSlot()
            do { try datapath.setPort(datapathPort(name)) } catch {
                ifindexes[name] = nil; slots[name] = nil
                throw error
            }
        }
        return p.vlan.warnings
    }

    public func deletePort(bridge br: String?, port name: String, ifExists: Bool = false) throws {
        if let br { _ = try bridge(br) }
        guard let p = config.ports[name], br == nil || p.bridge == br else {
            if ifExists { return }
            if let br { throw ControlError.refused("bridge '\(br)' has no port named '\(name)'") }
            throw ControlError.refused("no port named '\(name)'")
        }
        var new = config
        new.ports[name] = nil
        new.staticFDB.removeAll { $0.port == name }
        try commit(new) {
            if let idx = ifindexes[name] {
                if let t = tables[p.bridge] { try apply(t.removePort(idx)) }
                try datapath.removePort(idx)
            } else if setupFailures[name] != nil, let idx = interfaces.index(of: name) {
                try datapath.removePort(idx)  // whatever an earlier daemon left there
            }
            ifindexes[name] = nil; slots[name] = nil; stpStates[name] = nil; setupFailures[name] = nil
        }
    }

    private func portInfo(_ p: PortConfig) -> PortInfo {
        PortInfo(name: p.name, ifindex: ifindexes[p.name]?.rawValue, vlanMode: p.vlan.effectiveMode.description,
                 vlanModeSet: p.vlan.mode != nil, tag: p.vlan.tag?.rawValue, trunks: p.vlan.trunks.sorted().map(\.rawValue), xdpMode: p.xdpMode.rawValue,
                 stpState: config.bridges[p.bridge]?.stp.enabled == true ? (ifindexes[p.name] == nil ? nil : (try? datapathPort(p.name))?.stpState.description) : nil,
                 error: ifindexes[p.name] == nil ? setupFailures[p.name] : nil)
    }

    public func listPorts(_ br: String) throws -> [PortInfo] {
        _ = try bridge(br)
        return config.ports.values.filter { $0.bridge == br }.sorted { $0.name < $1.name }.map(portInfo)
    }

    public func show() -> [BridgeInfo] {
        config.bridges.values.sorted { $0.name < $1.name }.map { b in
            BridgeInfo(name: b.name, number: b.number, macAgingTime: b.macAgingTime, macTableSize: b.macTableSize,
                       stpEnabled: b.stp.enabled,
                       ports: config.ports.values.filter { $0.bridge == b.name }.sorted { $0.name < $1.name }.map(portInfo))
        }
    }

    public func setBridge(_ br: String, settings: [String]) throws {
        var b = try bridge(br)
        guard !settings.isEmpty else { throw ControlError.refused("nothing to set on bridge '\(br)'") }
        try Settings.apply(settings, to: &b, fdbCapacity: fdbCapacity)
        let old = config.bridges[br]!
        var new = config
        new.bridges[br] = b
        try commit(new) {
            let t = tables[br]!
            t.setAgingTime(UInt64(b.macAgingTime))
            try apply(t.setMaxEntries(b.macTableSize))
            if old.stp != b.stp || old.forwardBPDU != b.forwardBPDU {
                if old.stp.enabled != b.stp.enabled {
                    for p in config.ports.values where p.bridge == br { stpStates[p.name] = nil }
                }
                for p in config.ports.values where p.bridge == br && ifindexes[p.name] != nil {
                    try datapath.setPort(datapathPort(p.name))
                }
            }
        }
    }

    public func setPort(_ name: String, settings: [String]) throws -> [String] {
        var p = try port(name)
        guard !settings.isEmpty else { throw ControlError.refused("nothing to set on port '\(name)'") }
        try Settings.apply(settings, to: &p)
        try replacePort(p)
        return p.vlan.warnings
    }

    public func clearPort(_ name: String, keys: [String]) throws {
        var p = try port(name)
        try Settings.clear(keys, on: &p)
        try replacePort(p)
    }

    private func replacePort(_ p: PortConfig) throws {
        let old = config.ports[p.name]!
        var new = config
        new.ports[p.name] = p
        try commit(new) {
            guard ifindexes[p.name] != nil else { return }
            try datapath.setPort(datapathPort(p.name))
            // Entries learned in VLANs the port no longer admits are gone with the change.
            if old.vlan != p.vlan, let t = tables[p.bridge], let idx = ifindexes[p.name] {
                try apply(t.flush(port: idx))
            }
        }
    }

    public func dumpFDB(_ br: String) throws -> [FDBRow] {
        _ = try bridge(br)
        let t = tables[br]!
        t.noteLastSeen(try datapath.fdbEntries())  // it skips other bridges' entries
        let now = clock()
        let names = Dictionary(ifindexes.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
        return t.allEntries.map { e in  // sorted by VLAN, then MAC
            FDBRow(port: names[e.port] ?? e.port.description, vlan: e.vlan.rawValue, mac: e.mac.description,
                   age: e.isStatic ? nil : Int((now &- e.lastSeen) / 1_000_000_000), isStatic: e.isStatic)
        }
    }

    static func parseVLAN(_ text: String) throws -> VLANID {
        guard let v = VLANID(text) else { throw ControlError.refused("invalid VLAN '\(text)': expected a number from 0 to 4095") }
        return v
    }

    static func parseMAC(_ text: String) throws -> MACAddress {
        guard let m = MACAddress(text) else { throw ControlError.refused("invalid MAC address '\(text)': expected aa:bb:cc:dd:ee:ff") }
        return m
    }

    /// - Returns: warnings (the port does not carry the entry's VLAN, so it can never be used).
    @discardableResult
    public func addFDB(bridge br: String, port name: String, vlan: String, mac: String) throws -> [String] {
        _ = try bridge(br)
        let p = try port(name)
        guard p.bridge == br else { throw ControlError.refused("port '\(name)' is not in bridge '\(br)'") }
        let v = try Self.parseVLAN(vlan)
        let m = try Self.parseMAC(mac)
        guard !m.isMulticast else { throw ControlError.refused("MAC address '\(mac)' is a group address and cannot be a static entry") }
        guard m != .zero else { throw ControlError.refused("MAC address '\(mac)' is all zeros and cannot be a static entry") }
        var new = config
        new.staticFDB.removeAll { $0.bridge == br && $0.vlan == v && $0.mac == m }
        new.staticFDB.append(StaticFDBConfig(bridge: br, vlan: v, mac: m, port: name))
        let t = tables[br]!
        if t.entry(vlan: v, mac: m) == nil && t.count >= t.maxEntries && t.staticCount >= t.maxEntries {
            throw ControlError.refused("cannot add \(mac): bridge '\(br)' holds mac-table-size=\(t.maxEntries) static entries")
        }
        try commit(new) {
            guard let idx = ifindexes[name] else { return }
            try apply(try t.addStatic(mac: m, vlan: v, port: idx))
        }
        if VLANRules.egress(p.vlan, vlan: v) == nil {
            return ["port '\(name)' does not carry VLAN \(v.rawValue), so frames to \(m) in VLAN \(v.rawValue) are dropped"]
        }
        return []
    }

    public func deleteFDB(bridge br: String, vlan: String, mac: String) throws {
        _ = try bridge(br)
        let v = try Self.parseVLAN(vlan)
        let m = try Self.parseMAC(mac)
        let t = tables[br]!
        let configured = config.staticFDB.contains { $0.bridge == br && $0.vlan == v && $0.mac == m }
        guard t.entry(vlan: v, mac: m) != nil || configured else {
            throw ControlError.refused("bridge '\(br)' has no FDB entry for \(m) in VLAN \(v)")
        }
        var new = config
        new.staticFDB.removeAll { $0.bridge == br && $0.vlan == v && $0.mac == m }
        try commit(new) { try apply(t.remove(mac: m, vlan: v)) }
    }

    public func flushFDB(_ br: String?) throws {
        let names = try br.map { [try bridge($0).name] } ?? config.bridges.keys.sorted()
        for n in names { try apply(tables[n]!.flush()) }
    }

    public func fdbStats(_ br: String) throws -> FDBStats {
        let b = try bridge(br)
        let t = tables[br]!
        return FDBStats(bridge: br, entries: t.count, staticEntries: t.staticCount, maxEntries: t.maxEntries,
                        agingTime: b.macAgingTime, learned: t.counters.learned, expired: t.counters.expired,
                        evicted: t.counters.evicted, moved: t.counters.moved)
    }

    public func dumpPorts(_ br: String) throws -> [PortStats] {
        _ = try bridge(br)
        return try config.ports.values.filter { $0.bridge == br }.sorted { $0.name < $1.name }.map { p in
            PortStats(port: p.name, ifindex: ifindexes[p.name]?.rawValue,
                      counters: try ifindexes[p.name].map { try datapath.counters($0) } ?? PortCounters())
        }
    }

    /// STP state as configured and as set through `setSTPState`; the STP wiring replaces this
    /// with the protocol's view.
    public func stpShow(_ br: String) throws -> STPInfo {
        let b = try bridge(br)
        guard b.stp.enabled else { return STPInfo(bridge: br, enabled: false) }
        if let info = stpShowProvider?(b) { return info }
        let ports = config.ports.values.filter { $0.bridge == br }.sorted { $0.name < $1.name }.map { p in
            STPInfo.Port(name: p.name, role: "-", state: ifindexes[p.name] == nil ? "disabled" : ((try? datapathPort(p.name))?.stpState.description ?? "-"),
                         pathCost: p.stp.pathCost ?? 20000, portID: String(format: "%04x", (p.stp.priority << 8) | (portNumber(p.name) ?? 0) & 0xfff))
        }
        return STPInfo(bridge: br, enabled: true, bridgeID: nil, rootID: nil, rootPathCost: nil, ports: ports)
    }

    // MARK: - Learning, ageing, interfaces (driven by the daemon)

    /// Feeds a batch of learn events to the tables and projects the result in one batch.
    /// Events of unknown bridges or ports (stale) are ignored.
    public func handleLearnEvents(_ events: [LearnEvent]) throws {
        guard !events.isEmpty else { return }
        let byNumber = Dictionary(uniqueKeysWithValues: config.bridges.values.map { ($0.number, $0.name) })
        // Each event's port must belong to the event's bridge: one lookup per port, not per event.
        var portBridge: [InterfaceIndex: String] = [:]
        for (name, idx) in ifindexes { if let br = config.ports[name]?.bridge { portBridge[idx] = br } }
        var changes = FDBChangesBuilder(expectedChanges: events.count)
        for e in events {
            guard let br = byNumber[e.bridge], portBridge[e.ifindex] == br, let t = tables[br] else { continue }
            let c = t.learn(mac: e.mac, vlan: e.vlan, port: e.ifindex, time: e.timeNanoseconds == 0 ? nil : e.timeNanoseconds)
            if c.isEmpty, e.previousIfindex != nil, let entry = t.fdbEntry(vlan: e.vlan, mac: e.mac) {
                // The datapath reported a move the table already knows: reinstalling clears
                // the datapath's moving mark and points the entry where the table says.
                changes.add(FDBChanges(install: [entry]))
            } else {
                changes.add(c)
            }
        }
        try apply(changes.changes)
    }

    /// Drains the datapath's learn events and handles them in batches of at most `batchSize`
    /// events (each batch's FDB changes projected with one map update), until the queue is
    /// empty or `maxEvents` were handled; what is left stays queued for the next call.
    /// - Returns: the number of events read.
    @discardableResult
    public func pollLearnEvents(timeoutMilliseconds: Int32 = 0, batchSize: Int = 4096, maxEvents: Int = 65536) throws -> Int {
        let size = max(1, batchSize)
        var batch: [LearnEvent] = []
        batch.reserveCapacity(size)
        var total = 0
        var timeout = timeoutMilliseconds
        while total < maxEvents {
            batch.removeAll(keepingCapacity: true)
            let n = try datapath.pollLearnEvents(timeoutMilliseconds: timeout, limit: min(size, maxEvents - total)) { batch.append($0) }
            timeout = 0
            try handleLearnEvents(batch)
            total += batch.count
            if n == 0 || batch.count < size { break }
        }
        return total
    }

    /// Takes the datapath's last-seen times into account and removes expired dynamic entries.
    public func ageSweep() throws {
        let fdb = try datapath.fdbEntries()
        var changes = FDBChanges()
        for (_, t) in tables {
            t.noteLastSeen(fdb.filter { $0.key.bridge == t.bridge })
            changes.merge(t.age())
        }
        try apply(changes)
    }

    /// Notices interfaces that vanished (their port leaves the datapath; the configuration
    /// stays) and ones that came back or were recreated (the port is set up again, with its
    /// static entries).
    public func checkInterfaces() throws {
        for (name, p) in config.ports.sorted(by: { $0.key < $1.key }) {
            let now = interfaces.index(of: name)
            let was = ifindexes[name]
            if now == was { continue }
            if let was {
                logger.warning("interface vanished", metadata: ["port": "\(name)"])
                if let t = tables[p.bridge] { try apply(t.removePort(was)) }
                try? datapath.removePort(was)
                ifindexes[name] = nil
                stpStates[name] = nil  // a returning interface starts over (discarding under STP)
            }
            if let now, portName(now) == nil {
                ifindexes[name] = now
                if slots[name] == nil { slots[name] = freeSlot() }
                var setUp = true
                do { try datapath.setPort(datapathPort(name)) } catch {
                    // Retried at the next check; said once.
                    if setupFailures.updateValue("cannot set up the port: \(error)", forKey: name) == nil {
                        logger.error("cannot set up port; retrying", metadata: ["port": "\(name)", "error": "\(error)"])
                    }
                    ifindexes[name] = nil
                    setUp = false
                }
                if setUp { setupFailures[name] = nil; logger.info("interface appeared", metadata: ["port": "\(name)", "ifindex": "\(now)"]) }
                if setUp, let t = tables[p.bridge] {
                    var c = FDBChanges()
                    for s in config.staticFDB where s.port == name {
                        if let add = try? t.addStatic(mac: s.mac, vlan: s.vlan, port: now) { c.merge(add) }
                    }
                    try apply(c)
                }
            }
            configObserver?(self)
        }
    }

    // MARK: - STP hooks

    /// Sets a port's STP state in the datapath (the STP machines call this).
    /// - Throws: `ControlError.refused` for an unknown port.
    public func setSTPState(port name: String, _ state: STPPortState) throws {
        _ = try port(name)
        stpStates[name] = state
        guard ifindexes[name] != nil else { return }
        try datapath.setPort(datapathPort(name))
    }

    /// The STP state in force on a port (nil when unknown or absent).
    public func stpState(port name: String) -> STPPortState? {
        guard config.ports[name] != nil, ifindexes[name] != nil else { return nil }
        return try? datapathPort(name).stpState
    }

    /// Removes the dynamic entries learned on `port` (an STP topology change).
    public func flushLearned(port name: String) throws {
        let p = try port(name)
        guard let idx = ifindexes[name], let t = tables[p.bridge] else { return }
        try apply(t.flush(port: idx))
    }

    /// The ports of a bridge with their ifindex (nil when the interface is missing).
    public func bridgePorts(_ br: String) -> [(name: String, ifindex: InterfaceIndex?, config: PortConfig)] {
        config.ports.values.filter { $0.bridge == br }.sorted { $0.name < $1.name }.map { ($0.name, ifindexes[$0.name], $0) }
    }

    /// The port's number within the switch, 1 ... 1024 (its counter slot + 1): the STP port
    /// number of its port ID [802.1D-2004 9.2.7]. Nil for an unknown or absent port.
    public func portNumber(_ name: String) -> Int? { slots[name].map { Int($0) + 1 } }

    /// Whether the port's interface has carrier; nil when unknown.
    public func portCarrier(_ name: String) -> Bool? { interfaces.hasCarrier(name) }

    /// The port's own MAC address (the source of its BPDUs), nil when unknown.
    public func portMAC(_ name: String) -> MACAddress? { interfaces.macAddress(of: name) }

    /// The learning table of a bridge (tests, STP wiring).
    public func learningTable(_ br: String) -> MACLearningTable? { tables[br] }
}
