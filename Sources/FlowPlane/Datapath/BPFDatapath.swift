import CBPF
import Foundation
import Logging
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A devmap value (`struct bpf_devmap_val`): the output ifindex and the egress program run
/// on each copy (an fd when written; the kernel reports the program id when read).
struct DevmapValue: Equatable {
    var ifindex: UInt32
    var programFD: Int32
}

/// The XDP datapath: loads `bpf/fp_xdp.bpf.c` (or adopts what an earlier daemon pinned),
/// attaches `fp_ingress` to ports and keeps the maps that drive it.
///
/// Maps and programs are pinned by name under `pinRoot`; a daemon that restarts reuses the
/// pinned maps (the FDB, ports and counters survive) and swaps its freshly loaded programs in
/// atomically, so forwarding never stops. See `bpf/include/fp_maps.h` for how the maps fit.
public final class BPFDatapath: Datapath {
    /// Where maps and programs are pinned.
    public let pinRoot: String
    /// Entries the FDB map holds (the pinned map's size when one was adopted).
    public let fdbCapacity: Int
    /// Ports found configured in pinned maps when this instance started.
    public private(set) var adoptedPorts: [InterfaceIndex] = []

    let logger: Logger
    var handles = cbpf_datapath()
    let portsMap: BPFMap<UInt32, fp_port>
    let fdbMap: BPFMap<fp_fdb_key, fp_fdb_value>
    let txMap: BPFMap<UInt32, DevmapValue>
    let floodMap: BPFMap<UInt32, UInt32>
    let statsMap: BPFMap<UInt32, fp_port_stats>
    let abiMap: BPFMap<UInt32, UInt32>
    /// Each bridge's flood devmap (inner map of fp_flood), opened or created on demand.
    var floodSets: [BridgeNumber: BPFMap<UInt32, DevmapValue>] = [:]
    var ring: OpaquePointer?
    var learnHandler: ((LearnEvent) -> Void)?
    /// Records the current poll may still take, and records it took.
    var learnRemaining = 0
    var learnDelivered = 0
    var closed = false

    /// Names of everything pinned under the pin root.
    static let pinnedNames = ["fp_ports", "fp_fdb", "fp_tx", "fp_flood", "fp_stats", "fp_learn_ev",
                              "fp_learn_pend", "fp_abi", "fp_ingress", "fp_egress_flood"]

    /// Loads (or adopts pinned) programs and maps under `pinRoot`; mounts bpffs if needed.
    ///
    /// The object is `EmbeddedBPFObjects.all["fp_xdp"]`, or the file named by the environment
    /// variable `FLOWPLANE_BPF_OBJECT`.
    /// - Parameters:
    ///   - pinRoot: a directory on bpffs (created if missing), e.g. `/sys/fs/bpf/flowplane`.
    ///   - fdbCapacity: FDB entries when the FDB map is created; a pinned FDB keeps its size.
    /// - Throws: `BPFError` naming the failing call.
    public init(pinRoot: String, fdbCapacity: Int = Int(FP_FDB_MAX), logger: Logger) throws {
        self.pinRoot = pinRoot
        self.logger = logger
        var op: UnsafePointer<CChar>? = nil
        // The pin root must be on a bpffs. Under /sys/fs/bpf one is mounted there when missing;
        // anywhere else FlowPlane never mounts (a mount would hide what the directory holds).
        if pinRoot == "/sys/fs/bpf" || pinRoot.hasPrefix("/sys/fs/bpf/") {
            if cbpf_ensure_bpffs("/sys/fs/bpf", &op) < 0 {
                logger.warning("could not mount bpffs", metadata: ["path": "/sys/fs/bpf"])
            }
        } else {
            var probe = pinRoot
            while !FileManager.default.fileExists(atPath: probe) {
                let parent = (probe as NSString).deletingLastPathComponent
                if parent.isEmpty || parent == probe { break }
                probe = parent
            }
            guard cbpf_is_bpffs(probe) == 1 else {
                throw BPFError(operation: "pin root", errno: .invalidArgument,
                               detail: "using \(pinRoot): it is not on a bpffs; use a directory under /sys/fs/bpf, or mount one first (mount -t bpf bpf DIR)")
            }
        }
        let createdPinRoot = !FileManager.default.fileExists(atPath: pinRoot)
        do {
            try FileManager.default.createDirectory(atPath: pinRoot, withIntermediateDirectories: true)
        } catch {
            throw BPFError(operation: "mkdir", errno: .noSuchFileOrDirectory, detail: "creating \(pinRoot)")
        }

        var dp = cbpf_datapath()
        let capacity = UInt32(clamping: fdbCapacity)
        let rc: Int32
        if let path = ProcessInfo.processInfo.environment["FLOWPLANE_BPF_OBJECT"], !path.isEmpty {
            rc = cbpf_datapath_load(nil, 0, path, pinRoot, capacity, &dp, &op)
        } else {
            guard let b64 = EmbeddedBPFObjects.all["fp_xdp"],
                  let object = Data(base64Encoded: b64.description) else {
                throw BPFError(operation: "EmbeddedBPFObjects", errno: .noSuchFileOrDirectory, detail: "decoding fp_xdp")
            }
            rc = object.withUnsafeBytes { cbpf_datapath_load($0.baseAddress, $0.count, nil, pinRoot, capacity, &dp, &op) }
        }
        if rc < 0 {
            if createdPinRoot { rmdir(pinRoot) } // only if nothing was left in it
            throw BPFError(operation: op.map { String(cString: $0) } ?? "cbpf_datapath_load", code: rc, detail: "loading fp_xdp under \(pinRoot)")
        }
        handles = dp
        self.fdbCapacity = Int(dp.fdb_max_entries)
        if dp.recreated_maps != 0 {
            var names: [String] = []
            if dp.recreated_maps & UInt32(CBPF_RECREATED_LEARN_EV.rawValue) != 0 { names.append("fp_learn_ev") }
            if dp.recreated_maps & UInt32(CBPF_RECREATED_LEARN_PEND.rawValue) != 0 { names.append("fp_learn_pend") }
            logger.notice("pinned learn maps had other parameters (an older build's); recreated them, dropping learn events in flight",
                          metadata: ["maps": "\(names.joined(separator: ", "))", "pin-root": "\(pinRoot)"])
        }
        portsMap = BPFMap(fd: dp.ports_fd, name: "fp_ports")
        fdbMap = BPFMap(fd: dp.fdb_fd, name: "fp_fdb")
        txMap = BPFMap(fd: dp.tx_fd, name: "fp_tx")
        floodMap = BPFMap(fd: dp.flood_fd, name: "fp_flood")
        statsMap = BPFMap(fd: dp.stats_fd, name: "fp_stats")
        abiMap = BPFMap(fd: dp.abi_fd, name: "fp_abi")

        do {
            let abi = try abiMap.lookup(0) ?? 0
            if abi == 0 {
                try abiMap.update(0, UInt32(FP_ABI_VERSION))
            } else if abi != UInt32(FP_ABI_VERSION) {
                throw BPFError(operation: "fp_abi", errno: .protocolNotSupported,
                               detail: "maps under \(pinRoot) have ABI \(abi), this build speaks \(FP_ABI_VERSION)")
            }
            try adopt(reusedMaps: Int(dp.reused_maps))
            let ctx = Unmanaged.passUnretained(self).toOpaque()
            guard let rb = ring_buffer__new(dp.learn_ev_fd, { ctx, data, size in
                guard let ctx, let data else { return 0 }
                return Unmanaged<BPFDatapath>.fromOpaque(ctx).takeUnretainedValue().deliver(data, Int(size))
            }, ctx, nil) else {
                throw BPFError(operation: "ring_buffer__new", errno: Errno(rawValue: Glibc.errno))
            }
            ring = rb
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// Stops polling and releases file descriptors; leaves everything pinned and attached, so
    /// the ports keep forwarding.
    public func close() {
        guard !closed else { return }
        closed = true
        if let ring { ring_buffer__free(ring) }
        ring = nil
        for set in floodSets.values { Glibc.close(set.fd) }
        floodSets = [:]
        cbpf_datapath_close(&handles)
    }

    /// Detaches the ingress program from every port and removes every pin and the pin root.
    /// - Throws: `BPFError` when a detach fails (pins are removed regardless).
    public func destroy() throws {
        var firstError: Error?
        for key in (try? portsMap.keys()) ?? [] {
            var op: UnsafePointer<CChar>? = nil
            let rc = cbpf_xdp_detach(Int32(bitPattern: key), "fp_ingress", &op)
            if rc < 0 && rc != -ENODEV && firstError == nil {
                firstError = BPFError(operation: op.map { String(cString: $0) } ?? "bpf_xdp_detach", code: rc)
            }
        }
        close()
        for name in Self.pinnedNames { unlink(pinRoot + "/" + name) }
        rmdir(pinRoot)
        logger.info("datapath destroyed", metadata: ["pin-root": "\(pinRoot)"])
        if let firstError { throw firstError }
    }

    // MARK: - Adoption

    /// Points what an earlier daemon left (attached ingress programs, devmap entries) at the
    /// programs this instance loaded, each swap atomic.
    func adopt(reusedMaps: Int) throws {
        let ports = try portsMap.entries()
        guard !ports.isEmpty else { return }
        for (ifindex, port) in ports {
            let index = InterfaceIndex(ifindex)
            var id: UInt32 = 0, mode: Int32 = 0
            // An interface deleted while no daemon ran: bpf_xdp_query may still answer (nothing
            // attached), so ask the kernel for its name first. The controller's reconcile removes it.
            var name = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
            if if_indextoname(ifindex, &name) == nil || cbpf_xdp_query(Int32(bitPattern: ifindex), &id, &mode) < 0 {
                logger.warning("adopted port is gone", metadata: ["ifindex": "\(ifindex)"])
                continue
            }
            if id != handles.ingress_id {
                try attach(index, mode: mode == 0 ? attachMode(port) : (mode == 1 ? .native : .generic))
            }
            try txMap.update(ifindex, devmapValue(ifindex))
            try floodSet(port.bridge).update(ifindex, floodValue(ifindex))
            adoptedPorts.append(index)
        }
        logger.info("adopted pinned datapath", metadata: ["ports": "\(adoptedPorts.count)", "pin-root": "\(pinRoot)"])
    }

    // MARK: - Ports

    public func setPort(_ port: DatapathPort) throws {
        guard port.bridge > 0, port.bridge < FP_MAX_BRIDGES else {
            throw BPFError(operation: "setPort", errno: .invalidArgument, detail: "bridge \(port.bridge) out of range")
        }
        guard port.slot < FP_MAX_PORTS else {
            throw BPFError(operation: "setPort", errno: .invalidArgument, detail: "slot \(port.slot) out of range")
        }
        let ifindex = port.ifindex.rawValue
        let previous = try portsMap.lookup(ifindex)
        let value = Self.encode(port)
        try portsMap.update(ifindex, value)
        do {
            if previous == nil { try statsMap.updatePerCPU(port.slot, fp_port_stats()) }
            try txMap.update(ifindex, devmapValue(ifindex))
            try floodSet(port.bridge).update(ifindex, floodValue(ifindex))
            if let previous, previous.bridge != port.bridge {
                try floodSet(previous.bridge).delete(ifindex)
            }
            var id: UInt32 = 0, mode: Int32 = 0
            try checkBPF(cbpf_xdp_query(Int32(bitPattern: ifindex), &id, &mode), "bpf_xdp_query")
            let wanted: Int32 = port.attachMode == .native ? 1 : port.attachMode == .generic ? 2 : mode
            if id != handles.ingress_id || (wanted != 0 && wanted != mode) {
                try attach(port.ifindex, mode: port.attachMode)
            }
        } catch {
            // Leave the datapath as it was.
            if let previous {
                _ = try? portsMap.update(ifindex, previous)
                if previous.bridge != port.bridge {
                    _ = try? floodSet(port.bridge).delete(ifindex)
                    _ = try? floodSet(previous.bridge).update(ifindex, floodValue(ifindex))
                }
            } else {
                _ = try? floodSet(port.bridge).delete(ifindex)
                _ = try? txMap.delete(ifindex)
                _ = try? portsMap.delete(ifindex)
            }
            throw error
        }
        if previous == nil { prepareDelivery(port.ifindex) }
    }

    public func removePort(_ ifindex: InterfaceIndex) throws {
        let key = ifindex.rawValue
        var op: UnsafePointer<CChar>? = nil
        let rc = cbpf_xdp_detach(Int32(bitPattern: key), "fp_ingress", &op)
        if rc < 0 && rc != -ENODEV {
            throw BPFError(operation: op.map { String(cString: $0) } ?? "bpf_xdp_detach", code: rc, detail: "detaching port \(ifindex)")
        }
        guard let port = try portsMap.lookup(key) else { return }
        try txMap.delete(key)
        try floodSet(port.bridge).delete(key)
        try portsMap.delete(key)
        try statsMap.updatePerCPU(port.slot, fp_port_stats())
        logger.info("port removed", metadata: ["ifindex": "\(ifindex)"])
    }

    public func ports() throws -> [DatapathPort] {
        try portsMap.entries().map { Self.decode(ifindex: $0.0, $0.1) }.sorted { $0.ifindex < $1.ifindex }
    }

    /// Attaches `fp_ingress` to `ifindex` (an attached program in the same mode is replaced
    /// atomically) and logs the mode used.
    func attach(_ ifindex: InterfaceIndex, mode: XDPAttachMode) throws {
        var op: UnsafePointer<CChar>? = nil
        var used: Int32 = 0
        let m: Int32 = mode == .native ? 1 : mode == .generic ? 2 : 0
        let rc = cbpf_xdp_attach(Int32(bitPattern: ifindex.rawValue), handles.ingress_fd, m, &used, &op)
        if rc < 0 {
            throw BPFError(operation: op.map { String(cString: $0) } ?? "bpf_xdp_attach", code: rc, detail: "attaching to ifindex \(ifindex)")
        }
        logger.info("attached fp_ingress", metadata: ["ifindex": "\(ifindex)", "mode": "\(used == 1 ? "native" : "generic")"])
    }

    func attachMode(_ p: fp_port) -> XDPAttachMode {
        if p.flags & UInt32(FP_PORT_F_XDP_NATIVE.rawValue) != 0 { return .native }
        if p.flags & UInt32(FP_PORT_F_XDP_GENERIC.rawValue) != 0 { return .generic }
        return .auto
    }

    /// A unicast (fp_tx) entry: the port alone, no egress program (program fd 0); fp_ingress
    /// has applied the output port's STP state and VLAN rule already. Replaces the entries
    /// older daemons wrote with a unicast egress program.
    func devmapValue(_ ifindex: UInt32) -> DevmapValue {
        DevmapValue(ifindex: ifindex, programFD: 0)
    }

    /// A flood-set entry: the port with fp_egress_flood.
    func floodValue(_ ifindex: UInt32) -> DevmapValue {
        DevmapValue(ifindex: ifindex, programFD: handles.egress_flood_fd)
    }

    /// The flood devmap of `bridge`: found through fp_flood's inner map id, or created.
    func floodSet(_ bridge: BridgeNumber) throws -> BPFMap<UInt32, DevmapValue> {
        if let set = floodSets[bridge] { return set }
        let name = "fp_flood_\(bridge)"
        if let id = try floodMap.lookup(bridge) {
            let fd = bpf_map_get_fd_by_id(id)
            if fd < 0 { throw BPFError(operation: "bpf_map_get_fd_by_id", errno: Errno(rawValue: Glibc.errno), detail: "opening \(name)") }
            let set = BPFMap<UInt32, DevmapValue>(fd: fd, name: name)
            floodSets[bridge] = set
            return set
        }
        let fd = bpf_map_create(BPF_MAP_TYPE_DEVMAP_HASH, name, 4, UInt32(MemoryLayout<DevmapValue>.size), UInt32(FP_MAX_PORTS), nil)
        try checkBPF(fd, "bpf_map_create(\(name))")
        var key = bridge
        var inner = UInt32(bitPattern: fd)
        let rc = bpf_map_update_elem(floodMap.fd, &key, &inner, UInt64(BPF_ANY))
        if rc < 0 {
            Glibc.close(fd)
            throw BPFError(operation: "bpf_map_update_elem(fp_flood)", code: rc)
        }
        let set = BPFMap<UInt32, DevmapValue>(fd: fd, name: name)
        floodSets[bridge] = set
        return set
    }

    // MARK: - FDB

    public func installFDB(_ entries: [FDBEntry]) throws {
        guard !entries.isEmpty else { return }
        var keys = entries.map { Self.encode($0.key) }
        var values = entries.map { e -> fp_fdb_value in
            var v = fp_fdb_value()
            v.ifindex = e.ifindex.rawValue
            v.flags = e.isStatic ? UInt32(FP_FDB_F_STATIC.rawValue) : 0
            v.last_seen_ns = e.lastSeenNanoseconds
            return v
        }
        var count = UInt32(entries.count)
        let rc = bpf_map_update_batch(fdbMap.fd, &keys, &values, &count, nil)
        if rc == 0 { return }
        // Batch updates unsupported or partial: finish one by one.
        for i in Int(count)..<entries.count { try fdbMap.update(keys[i], values[i]) }
    }

    public func removeFDB(_ keys: [FDBKey]) throws {
        for key in keys { try fdbMap.delete(Self.encode(key)) }
    }

    public func fdbEntries() throws -> [FDBEntry] {
        if let batch = try? fdbEntriesBatched() { return batch }
        return try fdbMap.entries().map(Self.decode)
    }

    /// All FDB entries through `bpf_map_lookup_batch`, 4096 at a time.
    func fdbEntriesBatched() throws -> [FDBEntry] {
        let chunk = 4096
        var out: [FDBEntry] = []
        var keys = [fp_fdb_key](repeating: fp_fdb_key(), count: chunk)
        var values = [fp_fdb_value](repeating: fp_fdb_value(), count: chunk)
        var inToken = [UInt8](repeating: 0, count: 64)
        var outToken = [UInt8](repeating: 0, count: 64)
        var first = true
        while true {
            var count = UInt32(chunk)
            let rc = inToken.withUnsafeMutableBytes { inp in
                outToken.withUnsafeMutableBytes { outp in
                    bpf_map_lookup_batch(fdbMap.fd, first ? nil : inp.baseAddress, outp.baseAddress, &keys, &values, &count, nil)
                }
            }
            if rc < 0 && rc != -ENOENT { throw BPFError(operation: "bpf_map_lookup_batch(fp_fdb)", code: rc) }
            for i in 0..<Int(count) { out.append(Self.decode(keys[i], values[i])) }
            if rc == -ENOENT { return out }
            inToken = outToken
            first = false
        }
    }

    // MARK: - Counters

    public func counters(_ ifindex: InterfaceIndex) throws -> PortCounters {
        guard let port = try portsMap.lookup(ifindex.rawValue) else { return PortCounters() }
        return try counters(slot: port.slot)
    }

    /// Counters of a counter slot, summed over CPUs.
    public func counters(slot: UInt32) throws -> PortCounters {
        Self.counters(perCPU: try statsMap.lookupPerCPU(slot))
    }

    /// One slot's `fp_stats` values, one per CPU, summed into counters (packets, bytes).
    public static func counters(perCPU: [fp_port_stats]) -> PortCounters {
        var sum = [UInt64](repeating: 0, count: Int(FP_STAT_MAX.rawValue))
        for cpu in perCPU {
            withUnsafeBytes(of: cpu.count) { raw in
                for i in 0..<sum.count { sum[i] &+= raw.load(fromByteOffset: i * 8, as: UInt64.self) }
            }
        }
        var c = PortCounters()
        c.rxPackets = sum[Int(FP_STAT_RX_PACKETS.rawValue)]
        c.rxBytes = sum[Int(FP_STAT_RX_BYTES.rawValue)]
        c.unicast = sum[Int(FP_STAT_UNICAST.rawValue)]
        c.flood = sum[Int(FP_STAT_FLOOD.rawValue)]
        c.toHost = sum[Int(FP_STAT_TO_HOST.rawValue)]
        c.txPackets = sum[Int(FP_STAT_TX_PACKETS.rawValue)]
        c.txBytes = sum[Int(FP_STAT_TX_BYTES.rawValue)]
        c.learnEvents = sum[Int(FP_STAT_LEARN_EVENTS.rawValue)]
        c.learnLost = sum[Int(FP_STAT_LEARN_LOST.rawValue)]
        for reason in DropReason.allCases where sum[reason.statIndex] > 0 {
            c.drops[reason] = sum[reason.statIndex]
        }
        return c
    }

    // MARK: - Learn events

    public func pollLearnEvents(timeoutMilliseconds: Int32, limit: Int, _ handler: (LearnEvent) -> Void) throws -> Int {
        guard let ring, limit > 0 else { return 0 }
        return try withoutActuallyEscaping(handler) { h in
            learnHandler = h
            learnRemaining = limit
            learnDelivered = 0
            defer { learnHandler = nil }
            // deliver() stops the ring buffer's loop with -ECANCELED once `limit` records were
            // taken; the records after them stay queued.
            let rc = ring_buffer__poll(ring, timeoutMilliseconds)
            if rc == -EINTR || rc == -ECANCELED { return learnDelivered }
            try checkBPF(rc, "ring_buffer__poll")
            return Int(rc)
        }
    }

    /// A descriptor that becomes readable (level-triggered) when learn events are queued:
    /// the ring buffer's epoll fd (`ring_buffer__epoll_fd`). Watch it and call
    /// `pollLearnEvents(timeoutMilliseconds: 0)` when it is readable, instead of polling on a
    /// timer. Nil once closed. Owned by the datapath: do not close it.
    public var learnEventDescriptor: Int32? {
        guard let ring else { return nil }
        let fd = ring_buffer__epoll_fd(ring)
        return fd >= 0 ? fd : nil
    }

    /// Called by the ring buffer for each record (consumed whatever this returns).
    /// - Returns: 0 to go on, -ECANCELED once the poll's limit is reached.
    func deliver(_ data: UnsafeMutableRawPointer, _ size: Int) -> Int32 {
        guard size >= MemoryLayout<fp_learn_event>.size else { return 0 }
        let e = data.loadUnaligned(as: fp_learn_event.self)
        let m = e.mac
        let event = LearnEvent(bridge: e.bridge, vlan: VLANID(rawValue: e.vlan & 0x0fff)!,
                               mac: MACAddress(m.0, m.1, m.2, m.3, m.4, m.5),
                               ifindex: InterfaceIndex(e.ifindex),
                               previousIfindex: e.old_ifindex == 0 ? nil : InterfaceIndex(e.old_ifindex),
                               timeNanoseconds: e.time_ns)
        learnHandler?(event)
        learnDelivered += 1
        learnRemaining -= 1
        return learnRemaining > 0 ? 0 : -ECANCELED
    }

    // MARK: - Delivery into veths

    /// Prepares every port again (see `prepareDelivery`); the daemon calls it periodically.
    /// A veth peer whose owner turned tx-vlan-offload back on after the port was added hands
    /// XDP frames whose tag is skb metadata: native XDP loses the VLAN, and generic XDP keeps
    /// the stale tag on the redirected skb, so a frame an access port put in VLAN 20 would
    /// leave a trunk with an outer tag from another VLAN. Ports adopted after a restart are
    /// prepared here too.
    public func reassertDelivery() {
        guard let ports = try? ports() else { return }
        for port in ports { prepareDelivery(port.ifindex, again: true) }
    }

    /// Makes XDP redirects into `ifindex` deliver and keeps VLAN tags inline: turns the port's
    /// rx-vlan-hw-parse off where the driver allows, and, for a veth, turns GRO on on its peer (the
    /// kernel drops redirected frames at a veth whose peer has neither XDP nor GRO), and turns
    /// the peer's tx-vlan-hw-insert and TX checksumming off, so frames it sends carry their
    /// VLAN tag inline and no CHECKSUM_PARTIAL/TSO frames reach XDP. TAP ports need nothing.
    /// Failures are logged, not thrown: the port still switches what it can.
    func prepareDelivery(_ ifindex: InterfaceIndex, again: Bool = false) {
        var op: UnsafePointer<CChar>? = nil
        // The port itself: VLAN tags stay inline on receive.
        let own = cbpf_prepare_port(Int32(bitPattern: ifindex.rawValue), &op)
        if own < 0 {
            logger.debug("could not turn rx-vlan-hw-parse off", metadata: ["ifindex": "\(ifindex)", "errno": "\(-own)"])
        } else if own & Int32(CBPF_PORT_RX_VLAN_OFF.rawValue) != 0 {
            logger.info("prepared port for XDP", metadata: ["port": "\(ifindex)", "changes": "rx-vlan-hw-parse off"])
        }
        var info = cbpf_link_info()
        guard cbpf_link_info(Int32(bitPattern: ifindex.rawValue), &info, &op) == 0 else { return }
        let kind = withUnsafeBytes(of: info.kind) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard kind == "veth", info.link > 0 else { return }
        var nsfd: Int32 = -1
        if info.link_netnsid >= 0 {
            nsfd = cbpf_netns_fd_for_id(info.link_netnsid, &op)
            if nsfd < 0 {
                // Said once when the port is added, not every housekeeping period.
                guard !again else { return }
                logger.warning("cannot find the netns of a veth peer; redirects into it may be dropped",
                               metadata: ["ifindex": "\(ifindex)", "nsid": "\(info.link_netnsid)"])
                return
            }
        }
        defer { if nsfd >= 0 { Glibc.close(nsfd) } }
        let rc = cbpf_prepare_veth_peer(nsfd, info.link, &op)
        if rc < 0 {
            guard !again else { return }
            logger.warning("could not prepare veth peer", metadata: [
                "ifindex": "\(ifindex)", "peer": "\(info.link)",
                "error": "\(BPFError(operation: op.map { String(cString: $0) } ?? "ethtool", code: rc))"])
            return
        }
        var changes: [String] = []
        if rc & Int32(CBPF_PEER_GRO_ON.rawValue) != 0 { changes.append("gro on") }
        if rc & Int32(CBPF_PEER_TX_CSUM_OFF.rawValue) != 0 { changes.append("tx-checksumming off") }
        if rc & Int32(CBPF_PEER_TX_VLAN_OFF.rawValue) != 0 { changes.append("tx-vlan-hw-insert off") }
        if again && !changes.isEmpty {
            logger.warning("a veth peer's settings had changed back; prepared it again", metadata: [
                "port": "\(ifindex)", "peer-ifindex": "\(info.link)", "peer-nsid": "\(info.link_netnsid)",
                "changes": "\(changes.joined(separator: ", "))"])
        } else if !changes.isEmpty {
            logger.info("prepared veth peer for XDP redirects", metadata: [
                "port": "\(ifindex)", "peer-ifindex": "\(info.link)", "peer-nsid": "\(info.link_netnsid)",
                "changes": "\(changes.joined(separator: ", "))"])
        }
    }
}
