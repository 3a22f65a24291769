/// One bridge's Rapid Spanning Tree Protocol entity [802.1D-2004 clause 17], with per-port
/// fallback to 802.1D-1998 STP behaviour (Port Protocol Migration, 17.24).
///
/// Pure state machines: no sockets, no timers. The owner calls `tick(now:)` regularly
/// (at least once a second; sub-second calls are fine), `receive(bpdu:port:now:)` for every
/// BPDU read from a port, and the port/settings methods on configuration or link changes,
/// then drains `drainOutbox()` and acts on each `RSTPEvent` in order. `now` is any
/// monotonic clock in seconds; the standard's timers advance one step per whole second [17.22].
public final class RSTPBridge {
    /// The bridge's MAC address (the address part of its Bridge Identifier).
    public let mac: MACAddress
    /// Bridge parameters; change them with `setSettings(_:now:)`.
    public private(set) var settings: RSTPBridgeSettings

    var ports: [UInt16: RSTPPort] = [:]
    var rootPriority: PriorityVector
    var rootPortID = PortID(raw: 0)
    var rootTimes = RSTPTimes()
    var outbox: [RSTPEvent] = []
    var lastSecond: Double?
    var reselectAll = true

    /// Creates a bridge with no ports.
    /// - Parameters:
    ///   - mac: the bridge address.
    ///   - settings: bridge parameters (validate with `RSTPBridgeSettings.validationError()`).
    ///   - now: the current time in seconds.
    public init(mac: MACAddress, settings: RSTPBridgeSettings = .init(), now: Double) {
        self.mac = mac; self.settings = settings
        let id = BridgeID(priority: settings.priority, mac: mac)
        rootPriority = PriorityVector(rootID: id, rootPathCost: 0, designatedBridgeID: id,
                                      designatedPortID: PortID(raw: 0), bridgePortID: PortID(raw: 0))
        rootTimes = bridgeTimes
        lastSecond = now
    }

    /// This bridge's identifier [17.18.2].
    public var bridgeID: BridgeID { BridgeID(priority: settings.priority, mac: mac) }
    var rstpVersion: Bool { settings.forceProtocolVersion >= 2 }
    var bridgeTimes: RSTPTimes {
        RSTPTimes(messageAge: 0, maxAge: settings.maxAge, forwardDelay: settings.forwardDelay, helloTime: settings.helloTime)
    }

    /// The port numbers, ascending.
    public var portNumbers: [UInt16] { ports.keys.sorted() }

    // MARK: Driving

    /// Advances the clock: runs the Port Timers machine once per elapsed whole second [17.22]
    /// and then every state machine until nothing changes.
    /// - Parameter now: the current time in seconds (monotonic).
    public func tick(now: Double) {
        advance(to: now)
        run()
    }

    /// Processes a BPDU received on a port (Port Receive machine, 17.23).
    /// BPDUs on unknown or disabled ports, and BPDUs this very port sent (looped back,
    /// 9.3.4), are ignored. On an edge port with BPDU guard the port is disabled instead.
    /// - Parameters:
    ///   - bpdu: the decoded BPDU (see `BPDUFrame.parse`).
    ///   - port: the receiving port's number.
    ///   - now: the current time in seconds.
    public func receive(bpdu: BPDU, port number: UInt16, now: Double) {
        advance(to: now)
        guard let p = ports[number], p.portEnabled else { run(); return }
        if p.settings.bpduGuard && (p.settings.adminEdge || p.operEdge) {
            p.guardTripped = true
            outbox.append(.bpduGuardTripped(port: number))
            run(); return
        }
        if bpdu.kind != .tcn && bpdu.bridgeID == bridgeID && bpdu.portID == p.id { run(); return }
        if bpdu.kind == .config && bpdu.messageAge >= bpdu.maxAge { run(); return }  // 9.3.4 a
        // RECEIVE [17.23]: updtBPDUVersion(); operEdge = FALSE; rcvdMsg = TRUE.
        if bpdu.kind == .rst { p.rcvdRSTP = true } else { p.rcvdSTP = true }
        if bpdu.kind == .tcn { p.rcvdTcn = true }
        p.operEdge = false
        p.rcvdBPDU = bpdu
        p.rcvdMsg = true
        p.edgeDelayWhile = settings.migrateTime
        run()
    }

    /// Parses an Ethernet frame read from a port (see `BPDUFrame.parse`) and processes its BPDU.
    /// - Parameters:
    ///   - frame: the whole frame, destination MAC first, without FCS or 802.1Q tag.
    ///   - port: the receiving port's number.
    ///   - now: the current time in seconds.
    /// - Throws: `BPDUError` for a malformed frame; nothing changes then.
    public func receive<C: Collection>(frame: C, port number: UInt16, now: Double) throws where C.Element == UInt8 {
        let (bpdu, _) = try BPDUFrame.parse(frame)
        receive(bpdu: bpdu, port: number, now: now)
    }

    /// Returns and clears the pending events, oldest first.
    public func drainOutbox() -> [RSTPEvent] {
        defer { outbox.removeAll() }
        return outbox
    }

    // MARK: Ports

    /// Adds a port; it starts discarding (or forwarding at once if it is an admin edge port)
    /// and a `.portState` event reports its initial state.
    /// - Parameters:
    ///   - number: the port number, 1...4095 (unique in this bridge).
    ///   - settings: the port's parameters.
    ///   - linkUp: whether the link is up (MAC_Operational).
    ///   - now: the current time in seconds.
    public func addPort(_ number: UInt16, settings: RSTPPortSettings = .init(), linkUp: Bool = true, now: Double) {
        precondition((1...4095).contains(number), "RSTP port numbers are 1...4095")
        advance(to: now)
        let p = RSTPPort(number: number, settings: settings, linkUp: linkUp, bridgeID: bridgeID)
        ports[number] = p
        begin(p)
        reselectAll = true
        run()
    }

    /// Removes a port; the other ports recompute their roles.
    public func removePort(_ number: UInt16, now: Double) {
        advance(to: now)
        guard ports.removeValue(forKey: number) != nil else { return }
        if rootPortID.number == number { rootPortID = PortID(raw: 0) }
        reselectAll = true
        run()
    }

    /// Reports the port's link going up or down. Down makes it Disabled at once [17.27];
    /// down-then-up also re-enables a port that BPDU guard disabled.
    public func setLink(_ number: UInt16, up: Bool, now: Double) {
        advance(to: now)
        guard let p = ports[number] else { return }
        if !up { p.guardTripped = false }
        p.linkUp = up
        run()
    }

    /// Changes a port's parameters (path cost, priority, edge, BPDU guard, point-to-point);
    /// roles are recomputed [17.13].
    public func setPortSettings(_ number: UInt16, _ settings: RSTPPortSettings, now: Double) {
        advance(to: now)
        guard let p = ports[number] else { return }
        let wasAdminEdge = p.settings.adminEdge
        p.settings = settings
        if settings.adminEdge != wasAdminEdge && !p.portEnabled { p.operEdge = settings.adminEdge }
        if settings.adminEdge && !wasAdminEdge && p.rcvdBPDU == nil { p.operEdge = true }
        if !settings.adminEdge && wasAdminEdge { p.operEdge = false }
        reselectAll = true
        run()
    }

    /// The parameters of a port, nil if unknown.
    public func portSettings(_ number: UInt16) -> RSTPPortSettings? { ports[number]?.settings }

    /// Forces a port to retry RSTP (mcheck, 17.19.13): after an 802.1D-only neighbour is gone.
    public func mcheck(_ number: UInt16, now: Double) {
        advance(to: now)
        guard rstpVersion, let p = ports[number] else { return }
        p.mcheck = true
        run()
    }

    /// Changes the bridge parameters. A changed Force Protocol Version restarts every port
    /// (BEGIN); other changes recompute roles and transmit new information [17.13].
    public func setSettings(_ new: RSTPBridgeSettings, now: Double) {
        advance(to: now)
        let versionChanged = new.forceProtocolVersion != settings.forceProtocolVersion
        settings = new
        if versionChanged { for p in ports.values { begin(p) } }
        reselectAll = true
        run()
    }

    // MARK: Clock

    func advance(to now: Double) {
        guard let last = lastSecond else { lastSecond = now; return }
        guard now >= last + 1 else { return }
        let seconds = Int((now - last).rounded(.down))
        for _ in 0..<min(seconds, 3600) {
            for p in ports.values { p.tickOneSecond() }
            run()
        }
        lastSecond = last + Double(seconds)
    }
}
