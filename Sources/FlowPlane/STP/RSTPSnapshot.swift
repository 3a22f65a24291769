/// What `stp-show` prints and what the daemon persists across restarts: one bridge's
/// spanning tree status and configuration. Codable (JSON: field names as below).
public struct RSTPSnapshot: Codable, Equatable, Sendable {
    /// One port's status.
    public struct Port: Codable, Equatable, Sendable {
        /// The port number (1...4095) the owner gave the port.
        public var number: UInt16
        /// The port identifier, priority << 8 | number [17.19.21].
        public var portID: PortID
        public var role: STPPortRole
        public var state: STPPortState
        /// The path cost in effect (Table 17-3 default or administrative).
        public var pathCost: UInt32
        /// The designated bridge and port for the segment this port is on [17.19.21 portPriority].
        public var designatedBridge: BridgeID
        public var designatedPort: PortID
        /// The root and root path cost announced by the designated port of the segment.
        public var designatedRoot: BridgeID
        public var designatedCost: UInt32
        /// operEdge [17.19.17].
        public var edge: Bool
        /// "rstp", or "stp" while the port talks 802.1D-1998 to its neighbour [17.24].
        public var protocolVersion: String
        /// The link is up and BPDU guard has not disabled the port.
        public var enabled: Bool
        public var linkUp: Bool
        public var bpduGuardTripped: Bool
        public var settings: RSTPPortSettings
    }

    public var mac: MACAddress
    public var bridgeID: BridgeID
    public var rootID: BridgeID
    /// Root path cost of this bridge (0 when it is root).
    public var rootPathCost: UInt32
    /// The root port's number, nil when this bridge is root.
    public var rootPort: UInt16?
    /// Whether this bridge is the root bridge.
    public var isRoot: Bool { rootPort == nil }
    public var settings: RSTPBridgeSettings
    /// Ports ascending by number.
    public var ports: [Port]

    /// The port with this number, if any.
    public func port(_ number: UInt16) -> Port? { ports.first { $0.number == number } }
}

extension RSTPBridge {
    /// The current status, for `stp-show` and for persisting (see `init(restoring:now:)`).
    public func snapshot() -> RSTPSnapshot {
        let ps = ports.keys.sorted().map { n -> RSTPSnapshot.Port in
            let p = ports[n]!
            let v = p.infoIs == .received ? p.portPriority : p.designatedPriority
            return RSTPSnapshot.Port(
                number: n, portID: p.id, role: p.role, state: p.state, pathCost: p.pathCost,
                designatedBridge: v.designatedBridgeID, designatedPort: v.designatedPortID,
                designatedRoot: v.rootID, designatedCost: v.rootPathCost, edge: p.operEdge,
                protocolVersion: p.sendRSTP ? "rstp" : "stp", enabled: p.portEnabled, linkUp: p.linkUp,
                bpduGuardTripped: p.guardTripped, settings: p.settings)
        }
        let rp = rootPortID.raw == 0 ? nil : ports.values.first { $0.id == rootPortID }?.number
        return RSTPSnapshot(mac: mac, bridgeID: bridgeID, rootID: rootPriority.rootID,
                            rootPathCost: rootPriority.rootPathCost, rootPort: rp, settings: settings, ports: ps)
    }

    /// Recreates a bridge after a daemon restart from a persisted snapshot: same address,
    /// parameters, ports and port parameters; BPDU-guard-disabled ports stay disabled.
    ///
    /// Every port restarts from BEGIN [17.18.1], i.e. discarding: a port that was discarding
    /// stays discarding until the protocol makes it forward, so a restart never opens a loop.
    /// (Admin edge ports forward at once; ports towards RSTP neighbours re-agree within a
    /// round trip; ports that were forwarding towards an 802.1D neighbour wait the usual
    /// forward delays.) The outbox starts with one `.portState` per port.
    /// - Parameters:
    ///   - snapshot: from `snapshot()`, possibly decoded from JSON.
    ///   - now: the current time in seconds.
    public convenience init(restoring snapshot: RSTPSnapshot, now: Double) {
        self.init(mac: snapshot.mac, settings: snapshot.settings, now: now)
        for sp in snapshot.ports {
            addPort(sp.number, settings: sp.settings, linkUp: sp.linkUp, now: now)
            if sp.bpduGuardTripped, let p = ports[sp.number] { p.guardTripped = true }
        }
        run()
    }
}
