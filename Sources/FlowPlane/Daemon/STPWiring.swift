import Foundation
import Logging

/// Runs one `RSTPBridge` per bridge with `stp_enable=true` around the controller: keeps the
/// machines in line with the configuration (bridges, ports, settings, interfaces coming and
/// going), feeds them received BPDUs and ticks, and carries out their outbox: BPDUs out of
/// ports (sourced from the port's MAC), port states into the datapath, FDB flushes of a port
/// on topology changes, BPDU guard.
///
/// Not thread-safe: runs on the controller's executor (`FlowPlaneDaemon` wires it up).
public final class STPWiring {
    let controller: SwitchController
    let transport: BPDUTransport?
    let clock: () -> Double
    let logger: Logger
    private var bridges: [String: RSTPBridge] = [:]
    /// Per bridge: port number → port name.
    private var numbers: [String: [UInt16: String]] = [:]
    /// ifindex → (bridge, port number), for received BPDUs.
    private var byIfindex: [InterfaceIndex: (bridge: String, number: UInt16)] = [:]
    /// Last carrier state seen per port name.
    private var linkUp: [String: Bool] = [:]

    /// - Parameters:
    ///   - clock: monotonic seconds.
    public init(controller: SwitchController, transport: BPDUTransport?, clock: @escaping () -> Double = STPWiring.monotonicSeconds,
                logger: Logger = Logger(label: "flowplane.stp")) {
        self.controller = controller
        self.transport = transport
        self.clock = clock
        self.logger = logger
    }

    public static func monotonicSeconds() -> Double { Double(SimulatedDatapath.monotonicNow()) / 1e9 }

    /// Hooks into the controller (`configObserver`, `stpShowProvider`) and syncs once.
    public func install() {
        controller.configObserver = { [weak self] _ in self?.sync() }
        controller.stpShowProvider = { [weak self] b in self?.info(b) }
        sync()
    }

    /// The bridge address: the lowest MAC among the bridge's present ports (as Open vSwitch
    /// picks one), or, without any, a locally administered address derived from the machine
    /// id and the bridge name.
    func bridgeMAC(_ name: String) -> MACAddress {
        let macs = controller.bridgePorts(name).filter { $0.ifindex != nil }.compactMap { controller.portMAC($0.name) }
            .filter { !$0.isMulticast && $0 != .zero }
        if let lowest = macs.min() { return lowest }
        let machine = (try? String(contentsOfFile: "/etc/machine-id", encoding: .utf8)) ?? ""
        var h: UInt32 = 2166136261
        for b in (machine + name).utf8 { h = (h ^ UInt32(b)) &* 16777619 }
        return MACAddress(0x02, 0x46, UInt8(h >> 24), UInt8((h >> 16) & 0xff), UInt8((h >> 8) & 0xff), UInt8(h & 0xff))
    }

    static func settings(_ c: BridgeSTPConfig) -> RSTPBridgeSettings {
        var s = RSTPBridgeSettings()
        s.priority = UInt16(c.priority); s.helloTime = c.helloTime; s.maxAge = c.maxAge; s.forwardDelay = c.forwardDelay
        return s
    }

    static func settings(_ c: PortSTPConfig) -> RSTPPortSettings {
        var s = RSTPPortSettings()
        s.priority = UInt8(c.priority); s.pathCost = c.pathCost.map(UInt32.init); s.adminEdge = c.adminEdge; s.bpduGuard = c.bpduGuard
        return s
    }

    /// Brings the machines in line with the controller's configuration.
    public func sync() {
        let now = clock()
        let cfg = controller.config
        for name in bridges.keys where cfg.bridges[name]?.stp.enabled != true {
            bridges[name] = nil; numbers[name] = nil
        }
        for (name, b) in cfg.bridges where b.stp.enabled {
            let wanted = Self.settings(b.stp)
            let bridge: RSTPBridge
            if let existing = bridges[name], !(existing.portNumbers.isEmpty && existing.mac != bridgeMAC(name)) {
                bridge = existing
                if bridge.settings.priority != wanted.priority || bridge.settings.helloTime != wanted.helloTime
                    || bridge.settings.maxAge != wanted.maxAge || bridge.settings.forwardDelay != wanted.forwardDelay {
                    var s = bridge.settings
                    s.priority = wanted.priority; s.helloTime = wanted.helloTime; s.maxAge = wanted.maxAge; s.forwardDelay = wanted.forwardDelay
                    bridge.setSettings(s, now: now)
                }
            } else if let data = try? controller.store.loadSTPSnapshot(bridge: name),
                      let snap = try? JSONDecoder().decode(RSTPSnapshot.self, from: data), bridges[name] == nil {
                // A restarted daemon: ports restart discarding with what they knew, so no loop opens.
                bridge = RSTPBridge(restoring: snap, now: now)
                bridges[name] = bridge
                if bridge.settings != wanted {
                    var s = bridge.settings
                    s.priority = wanted.priority; s.helloTime = wanted.helloTime; s.maxAge = wanted.maxAge; s.forwardDelay = wanted.forwardDelay
                    bridge.setSettings(s, now: now)
                }
            } else {
                bridge = RSTPBridge(mac: bridgeMAC(name), settings: wanted, now: now)
                bridges[name] = bridge
            }
            var present: [UInt16: String] = [:]
            for p in controller.bridgePorts(name) where p.ifindex != nil {
                guard let n = controller.portNumber(p.name) else { continue }
                present[UInt16(n)] = p.name
                let ps = Self.settings(p.config.stp)
                if let old = bridge.portSettings(UInt16(n)) {
                    var merged = old
                    merged.priority = ps.priority; merged.pathCost = ps.pathCost; merged.adminEdge = ps.adminEdge; merged.bpduGuard = ps.bpduGuard
                    if merged != old { bridge.setPortSettings(UInt16(n), merged, now: now) }
                } else {
                    let up = controller.portCarrier(p.name) ?? true
                    bridge.addPort(UInt16(n), settings: ps, linkUp: up, now: now)
                    linkUp[p.name] = up
                }
            }
            for n in bridge.portNumbers where present[n] == nil { bridge.removePort(n, now: now) }
            numbers[name] = present
        }
        byIfindex = [:]
        for (br, ports) in numbers {
            for (n, pn) in ports { if let idx = controller.ifindexes[pn] { byIfindex[idx] = (br, n) } }
        }
        drain()
    }

    /// Advances every machine's timers (call at least once a second).
    public func tick() {
        let now = clock()
        // Link changes [17.19.17 portEnabled]: a port without carrier is disabled.
        for (br, ports) in numbers {
            guard let bridge = bridges[br] else { continue }
            for (n, pn) in ports {
                let up = controller.portCarrier(pn) ?? true
                if linkUp[pn] != up {
                    linkUp[pn] = up
                    bridge.setLink(n, up: up, now: now)
                }
            }
        }
        for b in bridges.values { b.tick(now: now) }
        drain()
    }

    /// Reads received BPDUs from the transport and feeds them to their bridges.
    public func receiveBPDUs() {
        guard let transport else { return }
        let now = clock()
        do {
            try transport.receive { ifindex, frame in
                guard let (br, n) = byIfindex[ifindex], let bridge = bridges[br] else { return }
                do { try bridge.receive(frame: frame, port: n, now: now) } catch {
                    logger.debug("ignored a malformed BPDU", metadata: ["port": "\(numbers[br]?[n] ?? "?")", "error": "\(error)"])
                }
            }
        } catch {
            logger.error("BPDU receive failed", metadata: ["error": "\(error)"])
        }
        drain()
    }

    /// Carries out every bridge's outbox.
    private func drain() {
        for (br, bridge) in bridges {
            let events = bridge.drainOutbox()
            if events.contains(where: { if case .transmit = $0 { return false }; return true }) {
                saveSnapshot(br, bridge)
            }
            for event in events {
                switch event {
                case .transmit(let n, let bpdu):
                    guard let pn = numbers[br]?[n], let idx = controller.ifindexes[pn], let transport else { continue }
                    let frame = BPDUFrame.build(bpdu, source: controller.portMAC(pn) ?? bridge.mac)
                    do { try transport.send(frame, ifindex: idx) } catch {
                        logger.warning("could not send a BPDU", metadata: ["port": "\(pn)", "error": "\(error)"])
                    }
                case .portState(let n, let state):
                    guard let pn = numbers[br]?[n] else { continue }
                    do { try controller.setSTPState(port: pn, state) } catch {
                        logger.error("could not set the STP state", metadata: ["port": "\(pn)", "error": "\(error)"])
                    }
                case .flush(let n):
                    guard let pn = numbers[br]?[n] else { continue }
                    try? controller.flushLearned(port: pn)
                case .bpduGuardTripped(let n):
                    guard let pn = numbers[br]?[n] else { continue }
                    logger.warning("BPDU guard disabled the port: it received a BPDU", metadata: ["port": "\(pn)"])
                    try? controller.setSTPState(port: pn, .discarding)
                }
            }
        }
    }

    /// Persists the bridge's status (on state changes only: each save is a durable write).
    private func saveSnapshot(_ name: String, _ bridge: RSTPBridge) {
        guard controller.config.bridges[name] != nil, let data = try? JSONEncoder().encode(bridge.snapshot()) else { return }
        do { try controller.store.saveSTPSnapshot(bridge: name, data) } catch {
            logger.warning("could not store the STP status", metadata: ["bridge": "\(name)", "error": "\(error)"])
        }
    }

    /// `stp-show` for a bridge with STP on.
    public func info(_ b: BridgeConfig) -> STPInfo? {
        guard let bridge = bridges[b.name] else { return nil }
        let snap = bridge.snapshot()
        let names = numbers[b.name] ?? [:]
        let ports = snap.ports.map { p in
            STPInfo.Port(name: names[p.number] ?? String(p.number), role: p.role.rawValue, state: p.state.description,
                         pathCost: Int(p.pathCost), portID: String(format: "%04x", p.portID.raw))
        }
        return STPInfo(bridge: b.name, enabled: true, bridgeID: snap.bridgeID.description, rootID: snap.rootID.description,
                       rootPathCost: Int(snap.rootPathCost), ports: ports, snapshot: snap,
                       text: snap.formatted(bridgeName: b.name, portNames: names))
    }
}
