import Foundation
import Testing
@testable import FlowPlane

/// Two simulated FlowPlane switches cabled into a loop, with STP wired around each controller.
@Suite struct STPWiringTests {
    final class Switch {
        let f: ControllerFixture
        let stp: STPWiring
        init(seconds: @escaping () -> Double, macBase: UInt8) throws {
            f = try ControllerFixture()
            for (i, n) in ["p1", "p2", "p3"].enumerated() { f.ifs.macs[n] = MACAddress(0x02, 0, 0, 0, macBase, UInt8(i + 1)) }
            stp = STPWiring(controller: f.ctl, transport: f.dp, clock: seconds)
            stp.install()
        }
    }

    /// Cables: (switch A port, switch B port). Moves every transmitted frame to the other end.
    static func shuttle(_ a: Switch, _ b: Switch, cables: [(String, String)]) {
        for (from, to, map) in [(a, b, Dictionary(uniqueKeysWithValues: cables.map { (a.f.idx($0.0), b.f.idx($0.1)) })),
                                (b, a, Dictionary(uniqueKeysWithValues: cables.map { (b.f.idx($0.1), a.f.idx($0.0)) }))] {
            let frames = from.f.dp.transmitted
            from.f.dp.transmitted = []
            for (idx, bytes) in frames { if let peer = map[idx] { to.f.dp.inject(bytes, ifindex: peer) } }
        }
        a.stp.receiveBPDUs()
        b.stp.receiveBPDUs()
    }

    @Test func loopOfTwoLinksBlocksExactlyOne() throws {
        var now = 100.0
        let a = try Switch(seconds: { now }, macBase: 0xa0), b = try Switch(seconds: { now }, macBase: 0xb0)
        for s in [a, b] {
            try s.f.ctl.addBridge("br0")
            for p in ["p1", "p2", "p3"] { _ = try s.f.ctl.addPort(bridge: "br0", port: p) }
        }
        try a.f.ctl.setBridge("br0", settings: ["stp_enable=true", "other_config:stp-priority=4096"])
        try b.f.ctl.setBridge("br0", settings: ["stp_enable=true"])
        // Before convergence, new ports do not forward.
        #expect(try a.f.dp.ports().allSatisfy { $0.stpState == .discarding })
        let cables = [("p1", "p1"), ("p2", "p2")]
        for _ in 0..<200 {
            now += 0.25
            a.stp.tick(); b.stp.tick()
            Self.shuttle(a, b, cables: cables)
        }
        let statesA = try a.f.dp.ports().map(\.stpState), statesB = try b.f.dp.ports().map(\.stpState)
        let cabled = try (a.f.dp.ports() + b.f.dp.ports()).filter { [100, 101].contains($0.ifindex.rawValue) }
        #expect(cabled.filter { $0.stpState == .discarding }.count == 1, "A \(statesA) B \(statesB)")
        // A is root (priority 4096): all its ports forward; B blocks its second link.
        #expect(statesA.allSatisfy { $0 == .forwarding })
        let show = try b.f.ctl.stpShow("br0")
        let rootA = try a.f.ctl.stpShow("br0").bridgeID
        #expect(show.rootID == rootA)
        #expect(show.ports.map(\.role).contains("alternate"))
        #expect(Formatting.stp(show).contains("Alternate"))
        // B's root link loses carrier: the alternate link takes over.
        let rootPort = try b.f.ctl.stpShow("br0").ports.first { $0.role == "root" }!.name
        let otherPort = rootPort == "p1" ? "p2" : "p1"
        b.f.ifs.down.insert(rootPort)
        for _ in 0..<8 { now += 0.25; a.stp.tick(); b.stp.tick(); Self.shuttle(a, b, cables: cables) }
        let afterFailure = try b.f.ctl.stpShow("br0").ports
        #expect(afterFailure.first { $0.name == otherPort }?.role == "root")
        #expect(afterFailure.first { $0.name == otherPort }?.state == "forwarding")
        b.f.ifs.down.remove(rootPort)
        for _ in 0..<40 { now += 0.25; a.stp.tick(); b.stp.tick(); Self.shuttle(a, b, cables: cables) }
        #expect(try b.f.ctl.stpShow("br0").ports.filter { $0.state == "discarding" }.count == 1)
        // A restarted daemon (same store and datapath): the blocked port stays blocked, the
        // root port forwards at once.
        let before = try b.f.dp.ports().filter { [100, 101].contains($0.ifindex.rawValue) }.map(\.stpState)
        try b.f.reopen()
        let b2 = STPWiring(controller: b.f.ctl, transport: b.f.dp, clock: { now })
        b2.install()
        let after = try b.f.dp.ports().filter { [100, 101].contains($0.ifindex.rawValue) }.map(\.stpState)
        #expect(after == before, "before \(before) after \(after)")
        #expect(try b.f.ctl.stpShow("br0").ports.map(\.role).contains("alternate"))
        // Disabling STP lets every port forward again.
        try b.f.ctl.setBridge("br0", settings: ["stp_enable=false"])
        #expect(try b.f.dp.ports().allSatisfy { $0.stpState == .forwarding && !$0.stpEnabled })
        #expect(try b.f.ctl.stpShow("br0").enabled == false)
    }
}
