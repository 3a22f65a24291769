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
        /// The times received with the designated vector above when it came from a neighbour
        /// (infoIs == Received), [message age, max age, forward delay, hello time] in seconds;
        /// nil when the port holds its own information. Used by `init(restoring:now:)`.
        public var receivedTimes: [Int]?
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
                bpduGuardTripped: p.guardTripped, settings: p.settings,
                receivedTimes: p.infoIs == .received
                    ? [p.portTimes.messageAge, p.portTimes.maxAge, p.portTimes.forwardDelay, p.portTimes.helloTime] : nil)
        }
        let rp = rootPortID.raw == 0 ? nil : ports.values.first { $0.id == rootPortID }?.number
        return RSTPSnapshot(mac: mac, bridgeID: bridgeID, rootID: rootPriority.rootID,
                            rootPathCost: rootPriority.rootPathCost, rootPort: rp, settings: settings, ports: ps)
    }

    /// Recreates a bridge after a daemon restart from a persisted snapshot: same address,
    /// parameters, ports and port parameters; BPDU-guard-disabled ports stay disabled.
    ///
    /// Every port restarts from BEGIN [17.18.1], i.e. discarding, so a port that was
    /// discarding stays discarding until the protocol makes it forward and a restart never
    /// opens a loop. The information each port had received from its neighbour is preloaded
    /// (as if just received, aged after 3 × hello time [17.21.23] or replaced by the
    /// neighbour's next BPDU), so roles are known at once: the root port forwards again
    /// immediately, alternate and backup ports stay discarding, designated ports re-run the
    /// proposal/agreement handshake (admin edge ports forward at once). Begin does not flush
    /// the FDB. The outbox starts with one `.portState` per port.
    /// - Parameters:
    ///   - snapshot: from `snapshot()`, possibly decoded from JSON.
    ///   - now: the current time in seconds.
    public convenience init(restoring snapshot: RSTPSnapshot, now: Double) {
        self.init(mac: snapshot.mac, settings: snapshot.settings, now: now)
        for sp in snapshot.ports where (1...4095).contains(sp.number) {
            let p = RSTPPort(number: sp.number, settings: sp.settings, linkUp: sp.linkUp, bridgeID: bridgeID)
            ports[sp.number] = p
            begin(p)
            p.guardTripped = sp.bpduGuardTripped
            if let t = sp.receivedTimes, t.count == 4, p.portEnabled, sp.designatedBridge.mac != mac || sp.role == .backup {
                p.pim = .current
                p.infoIs = .received
                p.portPriority = PriorityVector(rootID: sp.designatedRoot, rootPathCost: sp.designatedCost,
                                                designatedBridgeID: sp.designatedBridge, designatedPortID: sp.designatedPort,
                                                bridgePortID: p.id)
                p.portTimes = RSTPTimes(messageAge: t[0], maxAge: t[1], forwardDelay: t[2], helloTime: max(1, t[3]))
                p.rcvdInfoWhile = 3 * p.portTimes.helloTime
            }
        }
        reselectAll = true
        run()
    }
}

extension RSTPSnapshot.Port {
    private enum CodingKeys: String, CodingKey {
        case number, portID, role, state, pathCost, designatedBridge, designatedPort, designatedRoot, designatedCost
        case edge, protocolVersion, enabled, linkUp, bpduGuardTripped, settings, receivedTimes
    }

    /// JSON with `state` as "discarding" / "learning" / "forwarding" and identifiers as
    /// their 16-bit (port) and 64-bit (bridge) numbers.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(number, forKey: .number); try c.encode(portID, forKey: .portID)
        try c.encode(role, forKey: .role); try c.encode(state.description, forKey: .state)
        try c.encode(pathCost, forKey: .pathCost)
        try c.encode(designatedBridge, forKey: .designatedBridge); try c.encode(designatedPort, forKey: .designatedPort)
        try c.encode(designatedRoot, forKey: .designatedRoot); try c.encode(designatedCost, forKey: .designatedCost)
        try c.encode(edge, forKey: .edge); try c.encode(protocolVersion, forKey: .protocolVersion)
        try c.encode(enabled, forKey: .enabled); try c.encode(linkUp, forKey: .linkUp)
        try c.encode(bpduGuardTripped, forKey: .bpduGuardTripped); try c.encode(settings, forKey: .settings)
        try c.encodeIfPresent(receivedTimes, forKey: .receivedTimes)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        number = try c.decode(UInt16.self, forKey: .number); portID = try c.decode(PortID.self, forKey: .portID)
        role = try c.decode(STPPortRole.self, forKey: .role)
        let name = try c.decode(String.self, forKey: .state)
        guard let st = [STPPortState.discarding, .learning, .forwarding].first(where: { $0.description == name }) else {
            throw DecodingError.dataCorruptedError(forKey: .state, in: c, debugDescription: "unknown port state '\(name)'")
        }
        state = st
        pathCost = try c.decode(UInt32.self, forKey: .pathCost)
        designatedBridge = try c.decode(BridgeID.self, forKey: .designatedBridge)
        designatedPort = try c.decode(PortID.self, forKey: .designatedPort)
        designatedRoot = try c.decode(BridgeID.self, forKey: .designatedRoot)
        designatedCost = try c.decode(UInt32.self, forKey: .designatedCost)
        edge = try c.decode(Bool.self, forKey: .edge); protocolVersion = try c.decode(String.self, forKey: .protocolVersion)
        enabled = try c.decode(Bool.self, forKey: .enabled); linkUp = try c.decode(Bool.self, forKey: .linkUp)
        bpduGuardTripped = try c.decode(Bool.self, forKey: .bpduGuardTripped)
        settings = try c.decode(RSTPPortSettings.self, forKey: .settings)
        receivedTimes = try c.decodeIfPresent([Int].self, forKey: .receivedTimes)
    }
}
