import Foundation
import Testing
@testable import FlowPlane

/// Edge ports, BPDU guard, topology change flushes, restart from a snapshot, convergence.
@Suite struct RSTPBehaviourTests {
    static var edge: RSTPPortSettings { var s = RSTPPortSettings(); s.adminEdge = true; return s }

    @Test func adminEdgePortForwardsAtOnce() {
        let b = RSTPBridge(mac: MACAddress(2, 0, 0, 0, 0, 1), now: 0)
        b.addPort(1, settings: Self.edge, now: 0)
        let events = b.drainOutbox()
        #expect(events.contains(.portState(port: 1, state: .forwarding)))
        #expect(!events.contains(.portState(port: 1, state: .discarding)))
        #expect(b.snapshot().port(1)?.edge == true)
        #expect(b.snapshot().port(1)?.role == .designated)
    }

    @Test func nonEdgePortWithoutNeighbourBecomesEdgeAfterMigrateTime() {
        let b = RSTPBridge(mac: MACAddress(2, 0, 0, 0, 0, 1), now: 0)
        b.addPort(1, now: 0)
        #expect(b.snapshot().port(1)?.state == .discarding)
        for t in stride(from: 0.5, through: 5, by: 0.5) { b.tick(now: t) }
        #expect(b.snapshot().port(1)?.edge == true)
        #expect(b.snapshot().port(1)?.state == .forwarding)
    }

    @Test func bpduGuardDisablesEdgePortThatHearsABPDU() {
        let b = RSTPBridge(mac: MACAddress(2, 0, 0, 0, 0, 1), now: 0)
        var s = Self.edge; s.bpduGuard = true
        b.addPort(1, settings: s, now: 0)
        b.addPort(2, settings: Self.edge, now: 0)
        _ = b.drainOutbox()
        let foreign = BPDU(kind: .rst, role: .designated, rootID: BridgeID(raw: 1), bridgeID: BridgeID(raw: 1), portID: PortID(raw: 0x8001))
        b.receive(bpdu: foreign, port: 1, now: 1)
        let events = b.drainOutbox()
        #expect(events.contains(.bpduGuardTripped(port: 1)))
        #expect(events.contains(.portState(port: 1, state: .discarding)))
        let p1 = b.snapshot().port(1)!
        #expect(p1.bpduGuardTripped && !p1.enabled && p1.role == .disabled)
        // Without guard, an edge port hearing a BPDU just stops being edge (17.23).
        b.receive(bpdu: foreign, port: 2, now: 1.5)
        #expect(b.snapshot().port(2)?.edge == false)
        #expect(b.snapshot().port(2)?.bpduGuardTripped == false)
        // Link down and up re-enables the guarded port.
        b.setLink(1, up: false, now: 2); b.setLink(1, up: true, now: 2)
        #expect(b.snapshot().port(1)?.enabled == true)
    }

    @Test func topologyChangeRequestsFlushOfTheOtherPorts() {
        // Triangle of scenario 1 plus an edge port on B1; then B2 loses its root port.
        let lan = SimulatedLAN()
        lan.addBridge("B0", id: 0x111); lan.addBridge("B1", id: 0x222); lan.addBridge("B2", id: 0x333)
        lan.attach("B0", port: 1, to: "a"); lan.attach("B0", port: 2, to: "b")
        lan.attach("B1", port: 1, to: "a"); lan.attach("B1", port: 2, to: "c")
        lan.attach("B2", port: 1, to: "b"); lan.attach("B2", port: 2, to: "c")
        lan.attach("B1", port: 3, to: "vm", settings: Self.edge)
        lan.run(10)
        let t0 = lan.now
        lan.setSegment("b", up: false)
        lan.run(3)
        let flushes = lan.log.filter { $0.time >= t0 }.compactMap { e -> String? in
            if case let .flush(port) = e.event { return "\(e.bridge):\(port)" } else { return nil }
        }
        // B2's new root port forwarding is a topology change: B2 tells B1 (TC on c), B1
        // flushes its other non-edge ports (a) and propagates; edge ports and the port the
        // TC came in on are not flushed [17.31 PROPAGATING].
        #expect(flushes.contains("B1:1"))
        #expect(!flushes.contains("B1:2"))
        #expect(!flushes.contains("B1:3"))
        let tcSeen = lan.log.contains { e in
            if case let .transmit(_, bpdu) = e.event { return e.time >= t0 && bpdu.flags.contains(.topologyChange) } else { return false }
        }
        #expect(tcSeen)
    }

    @Test func classicPeerTCNIsAcknowledgedAndPropagated() {
        let lan = SimulatedLAN()
        lan.addBridge("F", id: 0x111)
        var ls = RSTPBridgeSettings(); ls.forceProtocolVersion = 0
        lan.addBridge("L", id: 0x222, settings: ls)
        lan.legacy = ["L"]
        lan.attach("F", port: 1, to: "x"); lan.attach("L", port: 1, to: "x")
        var noAutoEdge = RSTPPortSettings(); noAutoEdge.autoEdge = false
        lan.attach("F", port: 2, to: "y", settings: noAutoEdge)
        lan.run(60)
        let t0 = lan.now
        // A new link on L makes L's side notice a topology change once it forwards.
        lan.attach("L", port: 2, to: "w")
        lan.run(60)
        let after = lan.log.filter { $0.time >= t0 }
        let tcnSent = after.contains { if case let .transmit(_, b) = $0.event { return $0.bridge == "L" && b.kind == .tcn } else { return false } }
        let acked = after.contains { if case let .transmit(_, b) = $0.event { return $0.bridge == "F" && b.flags.contains(.topologyChangeAck) } else { return false } }
        let flushed = after.contains { $0.bridge == "F" && $0.event == .flush(port: 2) }
        #expect(tcnSent && acked && flushed)
    }

    @Test func restartFromSnapshotKeepsDiscardingPortsDiscarding() throws {
        let lan = SimulatedLAN()
        lan.addBridge("B0", id: 0x111); lan.addBridge("B1", id: 0x222); lan.addBridge("B2", id: 0x333)
        lan.attach("B0", port: 1, to: "a"); lan.attach("B0", port: 2, to: "b")
        lan.attach("B1", port: 1, to: "a"); lan.attach("B1", port: 2, to: "c")
        lan.attach("B2", port: 1, to: "b"); lan.attach("B2", port: 2, to: "c")
        lan.attach("B2", port: 3, to: "vm", settings: Self.edge)
        lan.run(10)
        #expect(lan.state("B2", 2) == .discarding)
        var s = lan.bridges["B2"]!.portSettings(1)!; s.pathCost = 30000
        lan.bridges["B2"]!.setPortSettings(1, s, now: lan.now)
        lan.run(2)
        let json = try JSONEncoder().encode(lan.bridges["B2"]!.snapshot())
        let snap = try JSONDecoder().decode(RSTPSnapshot.self, from: json)
        #expect(snap.port(2)?.state == .discarding && snap.port(2)?.role == .alternate)

        let t0 = lan.now
        let restored = RSTPBridge(restoring: snap, now: lan.now)
        #expect(restored.bridgeID == lan.bridges["B2"]!.bridgeID)
        #expect(restored.portSettings(1)?.pathCost == 30000)
        lan.replace("B2", with: restored)
        #expect(lan.runWithoutLoops(10, from: "vm"))
        let port2Events = lan.log.filter { $0.time >= t0 && $0.bridge == "B2" }.compactMap { e -> STPPortState? in
            if case let .portState(2, st) = e.event { return st } else { return nil }
        }
        #expect(port2Events == [.discarding])
        let port1Forwarding = lan.log.first { e in
            e.time >= t0 && e.bridge == "B2" && e.event == .portState(port: 1, state: .forwarding)
        }?.time
        #expect(port1Forwarding.map { $0 - t0 < 0.1 } == true)
        let restartFlushes = lan.log.filter { e in
            if case .flush = e.event { return e.time == t0 && e.bridge == "B2" } else { return false }
        }
        #expect(restartFlushes.isEmpty)
        #expect(lan.role("B2", 2) == .alternate && lan.state("B2", 2) == .discarding)
        #expect(lan.rootPort("B2") == 1 && lan.rootCost("B2") == 30000)
        #expect(lan.state("B2", 3) == .forwarding)
    }

    @Test func pointToPointRSTPConvergesSubSecond() {
        let lan = SimulatedLAN()
        lan.addBridge("B0", id: 0x111); lan.addBridge("B1", id: 0x222)
        lan.attach("B0", port: 1, to: "p", settings: .init()); lan.attach("B1", port: 1, to: "p")
        lan.setSegment("p", up: false)
        lan.run(5)
        let t0 = lan.now
        lan.latency = 0.001
        lan.setSegment("p", up: true)
        lan.run(5, step: 0.001)
        let done = lan.log.filter { $0.time >= t0 }.compactMap { e -> Double? in
            if case .portState(_, .forwarding) = e.event { return e.time } else { return nil }
        }
        let t = (done.max() ?? 99) - t0
        print("RSTP point-to-point convergence: both ports forwarding \(t) s (simulated) after link up, 1 ms one-way latency")
        #expect(done.count == 2)
        #expect(t < 1)
    }

    @Test func triangleNeverLoopsWhileConvergingOrFailingOver() {
        let lan = SimulatedLAN()
        lan.addBridge("B0", id: 0x111); lan.addBridge("B1", id: 0x222); lan.addBridge("B2", id: 0x333)
        lan.attach("B0", port: 1, to: "a"); lan.attach("B0", port: 2, to: "b")
        lan.attach("B1", port: 1, to: "a"); lan.attach("B1", port: 2, to: "c")
        lan.attach("B2", port: 1, to: "b"); lan.attach("B2", port: 2, to: "c")
        #expect(lan.runWithoutLoops(10, from: "a"))
        lan.setSegment("b", up: false)
        #expect(lan.runWithoutLoops(5, from: "a"))
        lan.setSegment("b", up: true)
        #expect(lan.runWithoutLoops(10, from: "a"))
        #expect(lan.role("B2", 1) == .root && lan.role("B2", 2) == .alternate)
    }

    @Test func bridgePriorityChangeMovesTheRoot() {
        let lan = SimulatedLAN()
        lan.addBridge("B0", id: 0x111); lan.addBridge("B1", id: 0x222)
        lan.attach("B0", port: 1, to: "a"); lan.attach("B1", port: 1, to: "a")
        lan.run(5)
        var s = lan.bridges["B1"]!.settings; s.priority = 4096
        lan.bridges["B1"]!.setSettings(s, now: lan.now)
        lan.run(5)
        #expect(lan.rootPort("B1") == nil)
        #expect(lan.rootPort("B0") == 1)
        #expect(lan.rootID("B0").priority == 4096)
        #expect(lan.state("B0", 1) == .forwarding && lan.state("B1", 1) == .forwarding)
    }

    @Test func removingTheRootPortFailsOverToTheAlternate() {
        let lan = SimulatedLAN()
        lan.addBridge("B0", id: 0x111); lan.addBridge("B1", id: 0x222)
        for n: UInt16 in 1...2 { lan.attach("B0", port: n, to: "s\(n)"); lan.attach("B1", port: n, to: "s\(n)") }
        lan.run(5)
        #expect(lan.rootPort("B1") == 1 && lan.role("B1", 2) == .alternate)
        lan.bridges["B1"]!.removePort(1, now: lan.now)
        lan.run(0.5)
        #expect(lan.rootPort("B1") == 2 && lan.state("B1", 2) == .forwarding)
        #expect(lan.bridges["B1"]!.portNumbers == [2])
    }

    @Test func timerSettingsAreCarriedInBPDUs() {
        let lan = SimulatedLAN()
        lan.addBridge("B0", id: 0x111); lan.addBridge("B1", id: 0x222)
        lan.attach("B0", port: 1, to: "a"); lan.attach("B1", port: 1, to: "a")
        lan.run(5)
        var s = lan.bridges["B0"]!.settings
        s.helloTime = 1; s.maxAge = 10; s.forwardDelay = 7
        #expect(s.validationError() == nil)
        let t0 = lan.now
        lan.bridges["B0"]!.setSettings(s, now: lan.now)
        lan.run(3)
        let sent = lan.log.filter { $0.time > t0 + 1 }.compactMap { e -> BPDU? in
            if case let .transmit(_, b) = e.event { return b } else { return nil }
        }
        let fromB0 = sent.filter { $0.bridgeID == lan.bridges["B0"]!.bridgeID }
        #expect(fromB0.count >= 2)
        #expect(fromB0.allSatisfy { $0.helloTime == 1 && $0.maxAge == 10 && $0.forwardDelay == 7 })
        // The root's times propagate: B1 relays max age and forward delay, message age + 1.
        let fromB1 = sent.filter { $0.bridgeID == lan.bridges["B1"]!.bridgeID }
        #expect(fromB1.allSatisfy { $0.maxAge == 10 && $0.forwardDelay == 7 && $0.messageAge == 1 })
        #expect(lan.state("B1", 1) == .forwarding)
    }

    @Test func framesRoundTripBetweenTwoBridges() throws {
        let a = RSTPBridge(mac: MACAddress(2, 0, 0, 0, 0, 1), now: 0)
        let b = RSTPBridge(mac: MACAddress(2, 0, 0, 0, 0, 2), now: 0)
        a.addPort(1, now: 0); b.addPort(1, now: 0)
        for step in 1...300 {
            let now = Double(step) * 0.01
            for (from, to) in [(a, b), (b, a)] {
                for case let .transmit(port, bpdu) in from.drainOutbox() {
                    let frame = BPDUFrame.build(bpdu, source: from.mac)
                    try to.receive(frame: frame, port: port, now: now)
                }
            }
            a.tick(now: now); b.tick(now: now)
        }
        #expect(b.snapshot().rootPort == 1 && b.snapshot().port(1)?.state == .forwarding)
        #expect(a.snapshot().port(1)?.state == .forwarding)
        #expect(throws: BPDUError.self) { try a.receive(frame: [UInt8](repeating: 0, count: 60), port: 1, now: 3) }
    }

    @Test func snapshotIsCodableForStpShow() throws {
        let b = RSTPBridge(mac: MACAddress(2, 0, 0, 0, 0, 1), now: 0)
        b.addPort(1, now: 0)
        let json = String(decoding: try JSONEncoder().encode(b.snapshot()), as: UTF8.self)
        #expect(json.contains("\"rootPathCost\":0"))
        #expect(json.contains("\"role\":\"designated\""))
        #expect(json.contains("\"state\":\"discarding\""))
        #expect(try JSONDecoder().decode(RSTPSnapshot.self, from: Data(json.utf8)) == b.snapshot())
    }
}

@Suite struct RSTPShowFormatTests {
    @Test func stpShowTextLooksLikeOVS() {
        let lan = SimulatedLAN()
        lan.addBridge("B0", id: 0x111); lan.addBridge("B1", id: 0x222)
        lan.attach("B0", port: 1, to: "a"); lan.attach("B1", port: 1, to: "a")
        lan.attach("B1", port: 2, to: "a2")
        lan.run(10)
        let text = lan.bridges["B1"]!.snapshot().formatted(bridgeName: "br1", portNames: [1: "eth0"])
        print(text)
        #expect(text.hasPrefix("---- br1 ----\nRoot ID:\n  stp-priority    32768\n  stp-system-id   00:00:00:00:01:11\n"))
        #expect(text.contains("  root-path-cost  20000\n  root-port       eth0\n"))
        #expect(text.contains("  eth0       Root       Forwarding 20000     128.1   8000.000000000111 8001\n"))
        #expect(text.contains("  2          Designated Forwarding 20000     128.2   8000.000000000222 8002 edge\n"))
        let root = lan.bridges["B0"]!.snapshot().formatted(bridgeName: "br0")
        #expect(root.contains("This bridge is the root"))
    }
}
