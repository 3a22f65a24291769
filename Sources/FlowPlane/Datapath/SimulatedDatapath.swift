import Foundation

/// The datapath's forwarding rules in memory: VLAN classification and egress (spec/vlan.md,
/// via `VLANRules`), the STP gate, learning events, FDB lookup, flooding inside the bridge and
/// VLAN without the ingress port, reserved group addresses never flooded. Control-plane tests
/// and the daemon with `FLOWPLANE_DATAPATH=simulated` use it; no root needed.
///
/// Frames are injected with `inject(_:ifindex:)`, which returns the copies that leave, in
/// the order of the egress ifindex. Not thread-safe.
public final class SimulatedDatapath: Datapath {
    /// Entries the FDB holds at most (like the BPF map's size).
    public let fdbCapacity: Int
    private let clock: () -> UInt64
    private var portTable: [InterfaceIndex: DatapathPort] = [:]
    private var fdb: [FDBKey: FDBEntry] = [:]
    private var stats: [InterfaceIndex: PortCounters] = [:]
    private var pending: [LearnEvent] = []
    /// Frames handed to the host stack (BPDUs with STP on), oldest first.
    public private(set) var toHost: [(ifindex: InterfaceIndex, bytes: [UInt8])] = []
    /// Frames the control plane sent out of ports (BPDUs through `BPDUTransport.send`), oldest first.
    public var transmitted: [(ifindex: InterfaceIndex, bytes: [UInt8])] = []
    /// Number of `installFDB`/`removeFDB` calls (batches), for tests.
    public private(set) var fdbBatches = 0

    /// - Parameters:
    ///   - fdbCapacity: FDB entries the datapath holds.
    ///   - clock: monotonic time in ns (the FDB's last-seen and learn event times).
    public init(fdbCapacity: Int = 131072, clock: @escaping () -> UInt64 = SimulatedDatapath.monotonicNow) {
        self.fdbCapacity = fdbCapacity
        self.clock = clock
    }

    /// CLOCK_MONOTONIC, ns.
    public static func monotonicNow() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    // MARK: Datapath

    /// Test hook: `setPort` fails for these interfaces (like an attach the kernel refuses).
    public var failingSetPort: Set<InterfaceIndex> = []

    public func setPort(_ port: DatapathPort) throws {
        if failingSetPort.contains(port.ifindex) {
            throw DatapathError(operation: "setPort", message: "cannot attach to ifindex \(port.ifindex)")
        }
        portTable[port.ifindex] = port
        if stats[port.ifindex] == nil { stats[port.ifindex] = PortCounters() }
    }

    public func removePort(_ ifindex: InterfaceIndex) throws {
        portTable[ifindex] = nil
        stats[ifindex] = nil
    }

    public func ports() throws -> [DatapathPort] { portTable.values.sorted { $0.ifindex < $1.ifindex } }

    public func installFDB(_ entries: [FDBEntry]) throws {
        fdbBatches += 1
        let new = Set(entries.map(\.key)).subtracting(fdb.keys).count
        if fdb.count + new > fdbCapacity {
            throw DatapathError(operation: "installFDB", message: "the FDB is full (\(fdbCapacity) entries)")
        }
        for e in entries { fdb[e.key] = e }
    }

    public func removeFDB(_ keys: [FDBKey]) throws {
        fdbBatches += 1
        for k in keys { fdb[k] = nil }
    }

    public func fdbEntries() throws -> [FDBEntry] { Array(fdb.values) }

    public func counters(_ ifindex: InterfaceIndex) throws -> PortCounters { stats[ifindex] ?? PortCounters() }

    public func pollLearnEvents(timeoutMilliseconds: Int32, limit: Int, _ handler: (LearnEvent) -> Void) throws -> Int {
        let events = pending.prefix(max(0, limit))
        pending.removeFirst(events.count)
        events.forEach(handler)
        return events.count
    }

    // MARK: Forwarding

    private func drop(_ port: InterfaceIndex, _ reason: DropReason) -> [(InterfaceIndex, [UInt8])] {
        stats[port]?.drops[reason, default: 0] += 1
        return []
    }

    /// Runs one frame through the switch as if it arrived on `ifindex`.
    /// - Parameters:
    ///   - frame: the Ethernet frame, from the destination MAC on (no FCS).
    ///   - ifindex: the ingress port.
    /// - Returns: each copy that leaves: the egress port and the frame's bytes there, sorted
    ///   by egress ifindex. Empty when the frame was dropped, handed to the host, or the
    ///   interface is not a port.
    @discardableResult
    public func inject(_ frame: [UInt8], ifindex: InterfaceIndex) -> [(ifindex: InterfaceIndex, bytes: [UInt8])] {
        guard let port = portTable[ifindex] else { return [] }
        stats[ifindex, default: PortCounters()].rxPackets += 1
        stats[ifindex, default: PortCounters()].rxBytes += UInt64(frame.count)
        guard frame.count >= 14 else { return drop(ifindex, .malformed) }
        let dst = MACAddress(bytes: frame[0..<6])!
        let src = MACAddress(bytes: frame[6..<12])!
        let etherType = UInt16(frame[12]) << 8 | UInt16(frame[13])
        var vid: UInt16?
        var pcp: UInt8 = 0
        var payload = Array(frame[14...])  // from the inner EtherType on when tagged
        if etherType == 0x8100 || etherType == 0x88a8 {
            guard frame.count >= 18 else { return drop(ifindex, .malformed) }
            let tci = UInt16(frame[14]) << 8 | UInt16(frame[15])
            vid = tci & 0x0fff
            pcp = UInt8(tci >> 13)
            payload = Array(frame[16...])
        } else {
            payload = Array(frame[12...])
        }
        // payload now starts with the EtherType of the (inner) frame.

        if dst.isReservedGroup {
            let isBPDU = dst == MACAddress(0x01, 0x80, 0xC2, 0, 0, 0)
            if isBPDU && port.stpEnabled {
                stats[ifindex]?.toHost += 1
                toHost.append((ifindex, frame))
                return []
            }
            if !(isBPDU && port.forwardBPDU) { return drop(ifindex, .reserved) }
        }

        guard let vlan = VLANRules.classify(port.vlan, taggedVID: vid) else { return drop(ifindex, .vlanIngress) }
        if port.stpState == .discarding { return drop(ifindex, .stp) }

        if !src.isMulticast {
            let key = FDBKey(bridge: port.bridge, vlan: vlan, mac: src)
            if var hit = fdb[key], hit.ifindex == ifindex {
                hit.lastSeenNanoseconds = clock()
                fdb[key] = hit
            } else if fdb[key]?.isStatic != true {
                pending.append(LearnEvent(bridge: port.bridge, vlan: vlan, mac: src, ifindex: ifindex,
                                          previousIfindex: fdb[key]?.ifindex, timeNanoseconds: clock()))
                stats[ifindex]?.learnEvents += 1
            }
        }
        if port.stpState == .learning { return drop(ifindex, .stp) }

        var targets: [DatapathPort]
        if !dst.isMulticast, let hit = fdb[FDBKey(bridge: port.bridge, vlan: vlan, mac: dst)],
           let out = portTable[hit.ifindex] {
            if hit.ifindex == ifindex { return drop(ifindex, .samePort) }
            stats[ifindex]?.unicast += 1
            targets = [out]
        } else {
            stats[ifindex]?.flood += 1
            targets = portTable.values.filter { $0.bridge == port.bridge && $0.ifindex != ifindex }
                .sorted { $0.ifindex < $1.ifindex }
        }
        var out: [(ifindex: InterfaceIndex, bytes: [UInt8])] = []
        let unicast = targets.count == 1 && !dst.isMulticast && fdb[FDBKey(bridge: port.bridge, vlan: vlan, mac: dst)] != nil
        for t in targets {
            guard let action = VLANRules.egress(t.vlan, vlan: vlan) else {
                // Flood copies filtered by VLAN are not drops (as in the BPF datapath).
                if unicast { stats[t.ifindex]?.drops[.vlanEgress, default: 0] += 1 }
                continue
            }
            if t.stpState != .forwarding {
                if unicast { stats[t.ifindex]?.drops[.stpEgress, default: 0] += 1 }
                continue
            }
            var bytes = Array(frame[0..<12])
            if action == .tagged {
                let tci = UInt16(pcp) << 13 | vlan.rawValue
                bytes += [0x81, 0x00, UInt8(tci >> 8), UInt8(tci & 0xff)]
            }
            bytes += payload
            stats[t.ifindex]?.txPackets += 1
            stats[t.ifindex]?.txBytes += UInt64(bytes.count)
            out.append((t.ifindex, bytes))
        }
        return out
    }

    /// Clears the frames handed to the host.
    public func clearToHost() { toHost.removeAll() }
}

/// An error of a non-BPF datapath operation.
public struct DatapathError: Error, CustomStringConvertible {
    public var operation: String
    public var message: String
    public init(operation: String, message: String) { self.operation = operation; self.message = message }
    public var description: String { "\(operation): \(message)" }
}
