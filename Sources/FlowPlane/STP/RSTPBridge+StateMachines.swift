// The clause 17 state machines, run to completion after every input.
extension RSTPBridge {
    /// BEGIN for one port: every per-port machine enters its initial state.
    func begin(_ p: RSTPPort) {
        // Port Information: DISABLED [17.27]
        p.pim = .disabled; pimDisabled(p)
        // Port Role Transitions: INIT_PORT [17.29]
        p.prt = .initPort
        p.role = .disabled; p.selectedRole = .disabled
        p.learn = false; p.forward = false; p.synced = false
        p.sync = true; p.reRoot = true
        p.rrWhile = p.designatedTimes.forwardDelay; p.fdWhile = p.designatedTimes.maxAge; p.rbWhile = 0
        // Port State Transition: DISCARDING [17.30]
        p.learning = false; p.forwarding = false
        // Topology Change: INACTIVE [17.31]. No flush at BEGIN: a new port has learned nothing,
        // and a restored port keeps its entries (the FDB survives daemon restarts).
        p.tcm = .inactive; p.fdbFlush = false; p.tcWhile = 0; p.tcAck = false
        p.rcvdTc = false; p.rcvdTcn = false; p.rcvdTcAck = false; p.tcProp = false
        // Port Protocol Migration: CHECKING_RSTP [17.24]
        p.ppm = .checkingRSTP; p.mcheck = false; p.sendRSTP = rstpVersion; p.mdelayWhile = settings.migrateTime
        p.rcvdRSTP = false; p.rcvdSTP = false
        // Bridge Detection [17.25]
        p.operEdge = p.settings.adminEdge
        p.edgeDelayWhile = settings.migrateTime
        // Port Transmit: TRANSMIT_INIT [17.26]
        p.ptx = .transmitInit; p.newInfo = true; p.txCount = 0
    }

    /// Runs all machines until none changes state (bounded).
    func run() {
        if reselectAll {
            reselectAll = false
            for p in ports.values { p.reselect = true; p.selected = false }
        }
        let sorted = ports.keys.sorted().map { ports[$0]! }
        var rounds = 0
        while rounds < 1000 {
            rounds += 1
            var changed = false
            for p in sorted {
                if stepPPM(p) { changed = true }
                if stepBDM(p) { changed = true }
                if stepPIM(p) { changed = true }
            }
            if stepPRS() { changed = true }
            for p in sorted {
                if stepPRT(p) { changed = true }
                if stepPST(p) { changed = true }
                if stepTCM(p) { changed = true }
                if stepPTX(p) { changed = true }
            }
            if !changed { break }
        }
        for p in sorted where p.reportedState != p.state {
            p.reportedState = p.state
            outbox.append(.portState(port: p.number, state: p.state))
        }
    }

    // MARK: Port Protocol Migration [17.24]

    func stepPPM(_ p: RSTPPort) -> Bool {
        switch p.ppm {
        case .checkingRSTP:
            if p.mdelayWhile != settings.migrateTime && !p.portEnabled {
                p.mcheck = false; p.sendRSTP = rstpVersion; p.mdelayWhile = settings.migrateTime; return true
            }
            if p.mdelayWhile == 0 { enterSensing(p); return true }
        case .selectingSTP:
            if p.mdelayWhile == 0 || !p.portEnabled || p.mcheck { enterSensing(p); return true }
        case .sensing:
            if !p.portEnabled || p.mcheck || (rstpVersion && !p.sendRSTP && p.rcvdRSTP) {
                p.ppm = .checkingRSTP; p.mcheck = false; p.sendRSTP = rstpVersion
                p.mdelayWhile = settings.migrateTime; return true
            }
            if p.sendRSTP && p.rcvdSTP {
                p.ppm = .selectingSTP; p.sendRSTP = false; p.mdelayWhile = settings.migrateTime; return true
            }
        }
        return false
    }

    func enterSensing(_ p: RSTPPort) { p.ppm = .sensing; p.rcvdRSTP = false; p.rcvdSTP = false }

    // MARK: Bridge Detection [17.25]

    func stepBDM(_ p: RSTPPort) -> Bool {
        if p.operEdge {
            if (!p.portEnabled && !p.settings.adminEdge) { p.operEdge = false; return true }
        } else {
            if (!p.portEnabled && p.settings.adminEdge)
                || (p.edgeDelayWhile == 0 && p.settings.autoEdge && p.sendRSTP && p.proposing) {
                p.operEdge = true; return true
            }
        }
        return false
    }

    // MARK: Port Information [17.27]

    func pimDisabled(_ p: RSTPPort) {
        p.rcvdMsg = false
        p.proposing = false; p.proposed = false; p.agree = false; p.agreed = false
        p.rcvdInfoWhile = 0; p.infoIs = .disabled; p.reselect = true; p.selected = false
    }

    func stepPIM(_ p: RSTPPort) -> Bool {
        if !p.portEnabled && p.infoIs != .disabled {
            p.pim = .disabled; pimDisabled(p); return true
        }
        switch p.pim {
        case .disabled:
            if p.rcvdMsg { pimDisabled(p); return true }
            if p.portEnabled { enterAged(p); return true }
        case .aged:
            if p.selected && p.updtInfo { update(p); return true }
        case .update:
            p.pim = .current; return true
        case .current:
            if p.selected && p.updtInfo { update(p); return true }
            if p.infoIs == .received && p.rcvdInfoWhile == 0 && !p.updtInfo && !p.rcvdMsg { enterAged(p); return true }
            if p.rcvdMsg && !p.updtInfo { receiveInfo(p); return true }
        }
        return false
    }

    func enterAged(_ p: RSTPPort) { p.pim = .aged; p.infoIs = .aged; p.reselect = true; p.selected = false }

    func update(_ p: RSTPPort) {
        p.pim = .current
        p.proposing = false; p.proposed = false
        p.agreed = p.agreed && betterOrSameInfo(p, mine: true)
        p.synced = p.synced && p.agreed
        p.portPriority = p.designatedPriority; p.portTimes = p.designatedTimes
        p.updtInfo = false; p.infoIs = .mine; p.newInfo = true
    }

    func betterOrSameInfo(_ p: RSTPPort, mine: Bool, msg: PriorityVector? = nil) -> Bool {
        if mine { return p.infoIs == .mine && !p.portPriority.better4(than: p.designatedPriority) }
        guard let msg else { return false }
        return p.infoIs == .received && !p.portPriority.better4(than: msg)
    }

    /// RECEIVE and the states it leads to [17.27, 17.21.8 rcvInfo].
    func receiveInfo(_ p: RSTPPort) {
        p.pim = .current
        guard let bpdu = p.rcvdBPDU else { p.rcvdMsg = false; return }
        let msg = PriorityVector(rootID: bpdu.rootID, rootPathCost: bpdu.rootPathCost, designatedBridgeID: bpdu.bridgeID,
                                 designatedPortID: bpdu.portID, bridgePortID: p.id)
        let times = RSTPTimes(messageAge: bpdu.messageAge, maxAge: bpdu.maxAge,
                              forwardDelay: bpdu.forwardDelay, helloTime: max(1, bpdu.helloTime))
        let role: BPDU.EncodedRole = bpdu.kind == .config ? .designated : bpdu.role
        let info: RSTPPort.RcvdInfo
        switch (bpdu.kind, role) {
        case (.tcn, _), (_, .unknown):
            info = .other
        case (_, .designated):
            if msg.same4(p.portPriority) {
                info = times != p.portTimes || p.infoIs != .received ? .superiorDesignated : .repeatedDesignated
            } else if msg.superior(to: p.portPriority) {
                info = .superiorDesignated
            } else {
                info = .inferiorDesignated
            }
        default:
            info = msg.better4(than: p.portPriority) ? .other : .inferiorRootAlternate
        }
        let proposal = bpdu.kind == .rst && role == .designated && bpdu.flags.contains(.proposal)
        func setTcFlags() {
            if bpdu.flags.contains(.topologyChange) { p.rcvdTc = true }
            if bpdu.kind == .config && bpdu.flags.contains(.topologyChangeAck) { p.rcvdTcAck = true }
        }
        func updtRcvdInfoWhile() {
            p.rcvdInfoWhile = p.portTimes.messageAge + 1 <= p.portTimes.maxAge ? 3 * p.portTimes.helloTime : 0
        }
        switch info {
        case .superiorDesignated:
            p.agreed = false; p.proposing = false
            if proposal { p.proposed = true }
            setTcFlags()
            p.agree = p.agree && betterOrSameInfo(p, mine: false, msg: msg)
            p.portPriority = msg; p.portTimes = times
            updtRcvdInfoWhile()
            p.infoIs = .received; p.reselect = true; p.selected = false
        case .repeatedDesignated:
            if proposal { p.proposed = true }
            setTcFlags()
            updtRcvdInfoWhile()
        case .inferiorDesignated:
            // recordDispute [17.21.10]
            if bpdu.kind == .rst && bpdu.flags.contains(.learning) { p.agreed = true; p.proposing = false }
        case .inferiorRootAlternate:
            // recordAgreement [17.21.9]
            if rstpVersion && p.settings.pointToPoint && bpdu.kind == .rst && bpdu.flags.contains(.agreement) {
                p.agreed = true; p.proposing = false
            } else {
                p.agreed = false
            }
            setTcFlags()
        case .other:
            break
        }
        p.rcvdMsg = false
    }

    // MARK: Port Role Selection [17.28, 17.21.25 updtRolesTree]

    func stepPRS() -> Bool {
        guard ports.values.contains(where: { $0.reselect }) else { return false }
        for p in ports.values { p.reselect = false }
        updtRolesTree()
        for p in ports.values { p.selected = true }
        return true
    }

    func updtRolesTree() {
        let me = bridgeID
        var best = PriorityVector(rootID: me, rootPathCost: 0, designatedBridgeID: me,
                                  designatedPortID: PortID(raw: 0), bridgePortID: PortID(raw: 0))
        var bestPort: RSTPPort?
        for p in ports.values where p.infoIs == .received && p.portPriority.designatedBridgeID.mac != mac {
            var v = p.portPriority
            v.rootPathCost = v.rootPathCost &+ p.pathCost
            v.bridgePortID = p.id
            if v.key5 < best.key5 { best = v; bestPort = p }
        }
        rootPriority = best
        rootPortID = bestPort?.id ?? PortID(raw: 0)
        if let rp = bestPort {
            var t = rp.portTimes
            t.messageAge += 1
            rootTimes = t
        } else {
            rootTimes = bridgeTimes
        }
        for p in ports.values {
            p.designatedPriority = PriorityVector(rootID: best.rootID, rootPathCost: best.rootPathCost,
                                                  designatedBridgeID: me, designatedPortID: p.id, bridgePortID: p.id)
            var t = rootTimes
            t.helloTime = settings.helloTime
            p.designatedTimes = t
            switch p.infoIs {
            case .disabled:
                p.selectedRole = .disabled
            case .aged:
                p.selectedRole = .designated; p.updtInfo = true
            case .mine:
                p.selectedRole = .designated
                p.updtInfo = p.portPriority != p.designatedPriority || p.portTimes != p.designatedTimes
            case .received:
                if p === bestPort {
                    p.selectedRole = .root; p.updtInfo = false
                } else if !p.designatedPriority.better4(than: p.portPriority) {
                    p.selectedRole = p.portPriority.designatedBridgeID.mac == mac ? .backup : .alternate
                    p.updtInfo = false
                } else {
                    p.selectedRole = .designated; p.updtInfo = true
                }
            }
        }
    }

    // MARK: Port Role Transitions [17.29]

    var allSynced: Bool {
        ports.values.allSatisfy { $0.selected && $0.role == $0.selectedRole && ($0.role == .root || $0.synced) }
    }

    func reRooted(_ p: RSTPPort) -> Bool { ports.values.allSatisfy { $0 === p || $0.rrWhile == 0 } }

    /// forwardDelay [17.20.6]: HelloTime when talking RSTP, FwdDelay otherwise.
    func forwardDelay(_ p: RSTPPort) -> Int { p.sendRSTP ? p.designatedTimes.helloTime : p.designatedTimes.forwardDelay }
    /// EdgeDelay [17.20.4].
    func edgeDelay(_ p: RSTPPort) -> Int { p.settings.pointToPoint ? settings.migrateTime : p.designatedTimes.maxAge }

    func stepPRT(_ p: RSTPPort) -> Bool {
        if p.prt == .initPort { enterDisablePort(p); return true }
        guard p.selected && !p.updtInfo else { return false }
        if p.role != p.selectedRole {
            switch p.selectedRole {
            case .disabled: enterDisablePort(p)
            case .root: enterRootPort(p)
            case .designated: p.prt = .designatedPort; p.role = .designated
            case .alternate, .backup: p.prt = .blockPort; p.role = p.selectedRole; p.learn = false; p.forward = false
            }
            return true
        }
        switch p.prt {
        case .initPort:
            return false
        case .disablePort:
            if !p.learning && !p.forwarding { enterDisabledPort(p); return true }
        case .disabledPort:
            if p.fdWhile != p.designatedTimes.maxAge || p.sync || p.reRoot || !p.synced { enterDisabledPort(p); return true }
        case .rootPort:
            if p.proposed && !p.agree {
                setSyncTree(); p.proposed = false; enterRootPort(p); return true
            }
            if (allSynced && !p.agree) || (p.proposed && p.agree) {
                p.proposed = false; p.sync = false; p.agree = true; p.newInfo = true; enterRootPort(p); return true
            }
            if !p.forward && !p.reRoot { for q in ports.values { q.reRoot = true }; enterRootPort(p); return true }
            let fast = p.fdWhile == 0 || (reRooted(p) && p.rbWhile == 0 && rstpVersion)
            if fast && p.learn && !p.forward { p.fdWhile = 0; p.forward = true; enterRootPort(p); return true }
            if fast && !p.learn { p.fdWhile = forwardDelay(p); p.learn = true; enterRootPort(p); return true }
            if p.reRoot && p.forward { p.reRoot = false; enterRootPort(p); return true }
            if p.rrWhile != p.designatedTimes.forwardDelay { enterRootPort(p); return true }
        case .designatedPort:
            if !p.forward && !p.agreed && !p.proposing && !p.operEdge {
                p.proposing = true; p.edgeDelayWhile = edgeDelay(p); p.newInfo = true; return true
            }
            if (!p.learning && !p.forwarding && !p.synced) || (p.agreed && !p.synced) || (p.operEdge && !p.synced) || (p.sync && p.synced) {
                p.rrWhile = 0; p.synced = true; p.sync = false; return true
            }
            if p.rrWhile == 0 && p.reRoot { p.reRoot = false; return true }
            if ((p.sync && !p.synced) || (p.reRoot && p.rrWhile != 0)) && !p.operEdge && (p.learn || p.forward) {
                p.learn = false; p.forward = false; p.fdWhile = forwardDelay(p); return true
            }
            let may = (p.fdWhile == 0 || p.agreed || p.operEdge) && (p.rrWhile == 0 || !p.reRoot) && !p.sync
            if may && !p.learn { p.learn = true; p.fdWhile = forwardDelay(p); return true }
            if may && p.learn && !p.forward { p.forward = true; p.fdWhile = 0; p.agreed = p.sendRSTP; return true }
        case .blockPort:
            if !p.learning && !p.forwarding { enterAlternatePort(p); return true }
        case .alternatePort:
            if p.proposed && !p.agree { setSyncTree(); p.proposed = false; enterAlternatePort(p); return true }
            if (allSynced && !p.agree) || (p.proposed && p.agree) {
                p.proposed = false; p.agree = true; p.newInfo = true; enterAlternatePort(p); return true
            }
            if p.rbWhile != 2 * p.designatedTimes.helloTime && p.role == .backup {
                p.rbWhile = 2 * p.designatedTimes.helloTime; enterAlternatePort(p); return true
            }
            if p.fdWhile != forwardDelay(p) || p.sync || p.reRoot || !p.synced { enterAlternatePort(p); return true }
        }
        return false
    }

    func setSyncTree() { for q in ports.values { q.sync = true } }

    func enterDisablePort(_ p: RSTPPort) { p.prt = .disablePort; p.role = .disabled; p.learn = false; p.forward = false }
    func enterDisabledPort(_ p: RSTPPort) {
        p.prt = .disabledPort; p.fdWhile = p.designatedTimes.maxAge; p.synced = true; p.rrWhile = 0
        p.sync = false; p.reRoot = false
    }
    func enterRootPort(_ p: RSTPPort) { p.prt = .rootPort; p.role = .root; p.rrWhile = p.designatedTimes.forwardDelay }
    func enterAlternatePort(_ p: RSTPPort) {
        p.prt = .alternatePort; p.fdWhile = forwardDelay(p); p.synced = true; p.rrWhile = 0; p.sync = false; p.reRoot = false
    }

    // MARK: Port State Transition [17.30]

    func stepPST(_ p: RSTPPort) -> Bool {
        if p.forwarding && !p.forward { p.forwarding = false; p.learning = false; return true }
        if p.learning && !p.learn { p.learning = false; p.forwarding = false; return true }
        if !p.learning && p.learn { p.learning = true; return true }
        if p.learning && !p.forwarding && p.forward { p.forwarding = true; return true }
        return false
    }

    // MARK: Topology Change [17.31]

    func newTcWhile(_ p: RSTPPort) {
        guard p.tcWhile == 0 else { return }
        if p.sendRSTP { p.tcWhile = p.designatedTimes.helloTime + 1; p.newInfo = true }
        else { p.tcWhile = rootTimes.maxAge + rootTimes.forwardDelay }
    }

    func setTcPropTree(except p: RSTPPort) { for q in ports.values where q !== p { q.tcProp = true } }

    func flush(_ p: RSTPPort) {
        p.fdbFlush = false
        outbox.append(.flush(port: p.number))
    }

    func stepTCM(_ p: RSTPPort) -> Bool {
        if p.fdbFlush { flush(p); return true }
        let rootOrDesignated = p.role == .root || p.role == .designated
        let anyRcvd = p.rcvdTc || p.rcvdTcn || p.rcvdTcAck || p.tcProp
        switch p.tcm {
        case .inactive:
            if p.learn && !p.fdbFlush { enterTCLearning(p); return true }
        case .learning:
            if rootOrDesignated && p.forward && !p.operEdge {
                newTcWhile(p); setTcPropTree(except: p); p.newInfo = true; p.tcm = .active; return true
            }
            if anyRcvd { enterTCLearning(p); return true }
            if !rootOrDesignated && !(p.learn || p.learning) {
                p.tcm = .inactive; p.fdbFlush = true; p.tcWhile = 0; p.tcAck = false; return true
            }
        case .active:
            if !rootOrDesignated || p.operEdge { enterTCLearning(p); return true }
            if p.rcvdTcn { newTcWhile(p) }
            if p.rcvdTcn || p.rcvdTc {
                p.rcvdTcn = false; p.rcvdTc = false
                if p.role == .designated { p.tcAck = true }
                setTcPropTree(except: p); return true
            }
            if p.tcProp && !p.operEdge { newTcWhile(p); p.tcProp = false; flush(p); return true }
            if p.rcvdTcAck { p.tcWhile = 0; p.rcvdTcAck = false; return true }
        }
        return false
    }

    func enterTCLearning(_ p: RSTPPort) {
        p.tcm = .learning; p.rcvdTc = false; p.rcvdTcn = false; p.rcvdTcAck = false; p.tcProp = false
    }

    // MARK: Port Transmit [17.26, 17.21.19-21]

    func stepPTX(_ p: RSTPPort) -> Bool {
        switch p.ptx {
        case .transmitInit:
            p.ptx = .idle; p.helloWhen = p.designatedTimes.helloTime; return true
        case .idle:
            guard p.portEnabled && p.selected && !p.updtInfo else { return false }
            if p.helloWhen == 0 {
                p.newInfo = p.newInfo || p.role == .designated || (p.role == .root && p.tcWhile != 0)
                p.helloWhen = p.designatedTimes.helloTime; return true
            }
            guard p.newInfo && p.txCount < settings.txHoldCount else { return false }
            if p.sendRSTP {
                transmit(p, kind: .rst)
            } else if p.role == .root {
                outbox.append(.transmit(port: p.number, bpdu: .tcn))
            } else if p.role == .designated {
                transmit(p, kind: .config)
            } else {
                return false
            }
            p.newInfo = false; p.txCount += 1; p.helloWhen = p.designatedTimes.helloTime
            return true
        }
    }

    func transmit(_ p: RSTPPort, kind: BPDU.Kind) {
        var flags: BPDU.Flags = []
        if p.tcWhile != 0 { flags.insert(.topologyChange) }
        var role = BPDU.EncodedRole.unknown
        if kind == .rst {
            if p.proposing { flags.insert(.proposal) }
            if p.learning { flags.insert(.learning) }
            if p.forwarding { flags.insert(.forwarding) }
            if p.agree { flags.insert(.agreement) }
            switch p.role {
            case .root: role = .root
            case .designated: role = .designated
            case .alternate, .backup: role = .alternateOrBackup
            case .disabled: role = .unknown
            }
        } else if p.tcAck {
            flags.insert(.topologyChangeAck)
        }
        p.tcAck = false
        let v = p.designatedPriority, t = p.designatedTimes
        let bpdu = BPDU(kind: kind, flags: flags, role: role, rootID: v.rootID, rootPathCost: v.rootPathCost,
                        bridgeID: v.designatedBridgeID, portID: v.designatedPortID, messageAge: t.messageAge,
                        maxAge: t.maxAge, helloTime: t.helloTime, forwardDelay: t.forwardDelay)
        outbox.append(.transmit(port: p.number, bpdu: bpdu))
    }
}
