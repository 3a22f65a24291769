import Testing
@testable import FlowPlane

/// The scenarios of spec/stp.md on the simulated LAN (all path costs 200000 as in the spec).
@Suite struct RSTPScenarioTests {
    static let cost200k: RSTPPortSettings = { var s = RSTPPortSettings(); s.pathCost = 200_000; return s }()

    func build(_ bridges: [(String, UInt64, [String])]) -> SimulatedLAN {
        let lan = SimulatedLAN()
        for (name, id, _) in bridges { lan.addBridge(name, id: id) }
        for (name, _, segs) in bridges {
            for (i, seg) in segs.enumerated() { lan.attach(name, port: UInt16(i + 1), to: seg, settings: Self.cost200k) }
        }
        return lan
    }

    @Test func scenario1TriangleThenLinkFailure() {
        let lan = build([("B0", 0x111, ["a", "b"]), ("B1", 0x222, ["a", "c"]), ("B2", 0x333, ["b", "c"])])
        lan.run(10)
        #expect(lan.rootPort("B0") == nil)
        #expect(lan.rootID("B1") == lan.bridges["B0"]!.bridgeID)
        #expect(lan.role("B0", 1) == .designated && lan.state("B0", 1) == .forwarding)
        #expect(lan.role("B0", 2) == .designated && lan.state("B0", 2) == .forwarding)
        #expect(lan.rootPort("B1") == 1 && lan.rootCost("B1") == 200_000 && lan.state("B1", 1) == .forwarding)
        #expect(lan.role("B1", 2) == .designated && lan.state("B1", 2) == .forwarding)
        #expect(lan.rootPort("B2") == 1 && lan.rootCost("B2") == 200_000 && lan.state("B2", 1) == .forwarding)
        #expect(lan.role("B2", 2) == .alternate && lan.state("B2", 2) == .discarding)
        #expect(lan.floodCopies(from: "a") == ["a": 1, "b": 1, "c": 1])

        lan.setSegment("b", up: false)
        lan.run(5)
        #expect(lan.role("B2", 1) == .disabled)
        #expect(lan.rootPort("B2") == 2 && lan.rootCost("B2") == 400_000)
        #expect(lan.role("B2", 2) == .root && lan.state("B2", 2) == .forwarding)
        #expect(lan.role("B1", 2) == .designated && lan.state("B1", 2) == .forwarding)
    }

    @Test func scenario2RingOfSixBlocksOnlyB3PortOnH() {
        let lan = build([("B0", 0x111, ["a", "b", "l"]), ("B1", 0x222, ["b", "c", "d"]),
                         ("B2", 0x333, ["d", "e", "f"]), ("B3", 0x444, ["f", "g", "h"]),
                         ("B4", 0x555, ["j", "h", "i"]), ("B5", 0x666, ["l", "j", "k"])])
        #expect(lan.runWithoutLoops(30, from: "a", step: 0.05))
        var blocked: [String] = []
        for name in lan.bridges.keys.sorted() {
            for p in lan.bridges[name]!.snapshot().ports where p.state != .forwarding { blocked.append("\(name):\(p.number)") }
        }
        #expect(blocked == ["B3:3"])
        #expect(lan.role("B3", 3) == .alternate)
        #expect(lan.rootPort("B3") == 1 && lan.rootCost("B3") == 600_000)
        #expect(lan.rootCost("B1") == 200_000 && lan.rootCost("B5") == 200_000)
        #expect(lan.rootCost("B2") == 400_000 && lan.rootCost("B4") == 400_000)
        #expect(lan.role("B4", 2) == .designated)
        #expect(lan.floodCopies(from: "a")?.values.allSatisfy { $0 == 1 } == true)
    }

    @Test func scenario3ParallelLinksFailOver() {
        let lan = build([("B0", 0x111, ["a", "b", "c"]), ("B1", 0x222, ["a", "b", "c"])])
        lan.run(10)
        #expect(lan.rootPort("B1") == 1)
        #expect(lan.role("B1", 2) == .alternate && lan.role("B1", 3) == .alternate)
        #expect(lan.state("B1", 2) == .discarding && lan.state("B1", 3) == .discarding)
        #expect(lan.state("B1", 1) == .forwarding)
        let t0 = lan.now
        lan.setSegment("a", up: false)
        #expect(lan.runWithoutLoops(1, from: "b"))
        #expect(lan.rootPort("B1") == 2 && lan.state("B1", 2) == .forwarding)
        #expect(lan.role("B1", 3) == .alternate && lan.state("B1", 3) == .discarding)
        #expect((lan.lastStateChange(after: t0) ?? 99) - t0 < 1)
        lan.setSegment("b", up: false)
        lan.run(1)
        #expect(lan.rootPort("B1") == 3 && lan.state("B1", 3) == .forwarding)
        #expect(lan.rootCost("B1") == 200_000)
    }

    @Test func scenario4RepeatedNetworkBackupAndPortPriority() {
        let lan = build([("B0", 0x111, ["a", "a"]), ("B1", 0x222, ["a", "a"])])
        lan.markSharedSegments()
        #expect(lan.runWithoutLoops(60, from: "a", step: 0.05))
        #expect(lan.role("B0", 1) == .designated && lan.state("B0", 1) == .forwarding)
        #expect(lan.role("B0", 2) == .backup && lan.state("B0", 2) == .discarding)
        #expect(lan.role("B1", 1) == .root && lan.state("B1", 1) == .forwarding)
        #expect(lan.role("B1", 2) == .alternate && lan.state("B1", 2) == .discarding)
        #expect(lan.rootCost("B1") == 200_000)

        var s = lan.bridges["B1"]!.portSettings(1)!
        s.priority = 0x90
        lan.bridges["B1"]!.setPortSettings(1, s, now: lan.now)
        #expect(lan.runWithoutLoops(60, from: "a", step: 0.05))
        #expect(lan.port("B1", 1).portID.raw == 0x9001)
        #expect(lan.role("B1", 2) == .root && lan.state("B1", 2) == .forwarding)
        #expect(lan.role("B1", 1) == .alternate && lan.state("B1", 1) == .discarding)
        #expect(lan.role("B0", 2) == .backup)
    }
}
