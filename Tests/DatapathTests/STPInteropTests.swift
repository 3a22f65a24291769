import Foundation
import Testing
@testable import FlowPlane

/// Spanning tree on real links (issue 4, field cases 7 and 8): the real daemon on the BPF
/// datapath, veth cables, and a Linux kernel bridge running 802.1D STP in a namespace.
@Suite(.serialized, .enabled(if: Privileged.shouldRun))
struct STPInteropTests {
    /// Copies of frames carrying `marker` received on `socket` within `milliseconds`.
    static func copies(_ socket: PacketSocket, marker: [UInt8], milliseconds: Int = 1500) -> Int {
        var n = 0
        let deadline = Date().addingTimeInterval(Double(milliseconds) / 1000)
        while Date() < deadline {
            let left = max(1, Int(deadline.timeIntervalSinceNow * 1000))
            guard let f = socket.receive(timeoutMilliseconds: left, where: { f in
                f.count >= 14 + marker.count && Array(f[14..<(14 + marker.count)]) == marker
            }) else { break }
            _ = f
            n += 1
        }
        return n
    }

    static func marker(_ n: UInt8) -> [UInt8] { [0x46, 0x50, 0x53, 0x54, 0x50, n] + Array(repeating: 0xab, count: 40) }

    /// Field case 8 and spec scenario 5: FlowPlane ports A and B cabled to one Linux bridge
    /// with STP (a loop), host h1 behind FlowPlane's port C (edge), host h2 behind the Linux
    /// bridge. `linuxRoot`: the Linux bridge has priority 0 and must become everyone's root;
    /// otherwise FlowPlane has priority 4096 and the Linux bridge blocks one of its ports.
    @Test(.serialized, arguments: [true, false])
    func loopWithLinuxBridgeBlocksOneLink(linuxRoot: Bool) throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let lab = try STPLab()
        defer { lab.tearDown() }
        let lbns = try lab.namespace("fpl"), h1ns = try lab.namespace("fph"), h2ns = try lab.namespace("fph")
        let a = try lab.cable(to: lbns, peer: "la"), b = try lab.cable(to: lbns, peer: "lb")
        let c = try lab.cable(to: h1ns, peer: "h1")
        try lab.innerCable(in: lbns, "lh", to: h2ns, "h2")
        try lab.linuxBridge("lbr", in: lbns, priority: linuxRoot ? 0 : 61440, ports: ["la", "lb", "lh"])
        let h1 = try PacketSocket(namespace: h1ns, interface: "h1")
        let h2 = try PacketSocket(namespace: h2ns, interface: "h2")

        try lab.stpBridge("br0", priority: linuxRoot ? nil : 4096)
        try lab.daemon.check(["add-port", "br0", a.name])
        try lab.daemon.check(["add-port", "br0", b.name])
        try lab.daemon.check(["add-port", "br0", c.name])
        try lab.daemon.check(["set", "port", c.name, "other_config:stp-admin-edge=true"])

        // Before convergence the new looped ports forward nothing.
        let early = try lab.stpShow("br0")
        for p in early.ports where p.name == a.name || p.name == b.name {
            #expect(p.state != "forwarding", "\(p.name) forwards before convergence: \(early.text ?? "")")
        }
        try h1.send(Frames.ethernet(dst: .broadcast, src: Frames.mac(0x80), payload: Self.marker(0)))
        #expect(Self.copies(h2, marker: Self.marker(0), milliseconds: 500) == 0, "a frame crossed before convergence")

        let linuxBridgeID = try #require(lab.linuxBridgeID("lbr", in: lbns))
        var lastShow = early
        // Converged: FlowPlane forwards on one of A/B (root port or designated), the Linux
        // bridge forwards towards h2, exactly one of the two links blocks somewhere.
        func blockingLinks() -> Int? {
            guard let show = try? lab.stpShow("br0") else { return nil }
            lastShow = show
            var blocking = 0
            for (fp, lx) in [(a.name, "la"), (b.name, "lb")] {
                guard let st = show.ports.first(where: { $0.name == fp })?.state,
                      let lst = lab.linuxPortState(lx, in: lbns) else { return nil }
                if st == "forwarding" && lst == 3 { continue }
                if st == "discarding" || lst == 4 { blocking += 1 } else { return nil }  // still moving
            }
            return lab.linuxPortState("lh", in: lbns) == 3 ? blocking : nil
        }
        func converged() -> Bool { blockingLinks() == 1 }
        let ok = lab.wait(seconds: 30, converged)
        try #require(ok, "no convergence in 30 s: \(lastShow.text ?? "")\nLinux: la \(lab.linuxPortState("la", in: lbns) ?? -1) lb \(lab.linuxPortState("lb", in: lbns) ?? -1)\ndaemon log: \(lab.daemon.log.suffix(2000))")
        // It stays that way (no flapping) a few hellos later.
        usleep(2_500_000)
        #expect(blockingLinks() == 1, "the tree changed after convergence: \(lastShow.text ?? "")")

        // The root everybody agrees on.
        let show = try lab.stpShow("br0")
        if linuxRoot {
            #expect(show.rootID == linuxBridgeID, "FlowPlane's root \(show.rootID ?? "-") is not the Linux bridge \(linuxBridgeID)")
            #expect(lab.linuxBridgeID("lbr", in: lbns, root: true) == linuxBridgeID)
            // The block is on FlowPlane's side: one root port, one alternate.
            let roles = show.ports.filter { $0.name != c.name }.map(\.role).sorted()
            #expect(roles == ["alternate", "root"], "\(show.text ?? "")")
        } else {
            #expect(show.rootID == show.bridgeID, "FlowPlane should be root: \(show.text ?? "")")
            #expect(lab.linuxBridgeID("lbr", in: lbns, root: true) == show.bridgeID)
            let states = ["la", "lb"].compactMap { lab.linuxPortState($0, in: lbns) }.sorted()
            #expect(states == [3, 4], "the Linux bridge should block one port")
        }

        // One broadcast from h1 is seen exactly once behind the Linux bridge and never comes back.
        try h1.send(Frames.ethernet(dst: .broadcast, src: Frames.mac(0x81), payload: Self.marker(1)))
        #expect(Self.copies(h2, marker: Self.marker(1)) == 1, "broadcast copies behind the Linux bridge")
        #expect(Self.copies(h1, marker: Self.marker(1), milliseconds: 300) == 0, "the broadcast looped back")

        // SIGKILL: the datapath keeps the states; no loop opens while no daemon runs.
        lab.daemon.kill9()
        try h1.send(Frames.ethernet(dst: .broadcast, src: Frames.mac(0x82), payload: Self.marker(2)))
        #expect(Self.copies(h2, marker: Self.marker(2)) <= 1, "storm while the daemon was down")
        #expect(Self.copies(h1, marker: Self.marker(2), milliseconds: 300) == 0, "loop while the daemon was down")

        // Restart: what was discarding stays discarding; it converges to the same tree.
        let discardingBefore = Set(lastShow.ports.filter { $0.state == "discarding" }.map(\.name))
        try lab.daemon.start()
        let restarted = try lab.stpShow("br0")
        for p in restarted.ports where discardingBefore.contains(p.name) {
            #expect(p.state == "discarding", "\(p.name) reopened after the restart: \(restarted.text ?? "")")
        }
        for i: UInt8 in 3...5 {
            try h1.send(Frames.ethernet(dst: .broadcast, src: Frames.mac(0x80 + i), payload: Self.marker(i)))
            #expect(Self.copies(h2, marker: Self.marker(i), milliseconds: 400) <= 1, "storm after the restart")
            #expect(Self.copies(h1, marker: Self.marker(i), milliseconds: 100) == 0, "loop after the restart")
        }
        let again = lab.wait(seconds: 30, converged)
        #expect(again, "no convergence after the restart: \(lastShow.text ?? "")")
        let after = try lab.stpShow("br0")
        #expect(after.rootID == show.rootID)
        try h1.send(Frames.ethernet(dst: .broadcast, src: Frames.mac(0x86), payload: Self.marker(6)))
        #expect(Self.copies(h2, marker: Self.marker(6)) == 1, "broadcast copies after the restart")
        #expect(Self.copies(h1, marker: Self.marker(6), milliseconds: 300) == 0)
    }

    /// RSTP between two FlowPlane bridges (one daemon) on two point-to-point veth links: one
    /// root port and one alternate. Taking the root port administratively down (the kernel then
    /// refuses to report its carrier) disables it at once and the alternate takes over without
    /// waiting for timers.
    @Test func rstpFailoverWhenRootPortGoesAdminDown() throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let lab = try STPLab()
        defer { lab.tearDown() }
        var links: [(String, String)] = []
        defer { for (a, _) in links { _ = try? Command.run(["ip", "link", "del", a]) } }
        for _ in 0..<2 {
            let a = UniqueName.make("fpra"), b = UniqueName.make("fprb")
            try Command.check(["ip", "link", "add", a, "mtu", "1500", "type", "veth", "peer", "name", b, "mtu", "1500"])
            links.append((a, b))
            try Command.check(["ip", "link", "set", a, "up"]); try Command.check(["ip", "link", "set", b, "up"])
        }
        try lab.stpBridge("brA", priority: 4096)
        try lab.stpBridge("brB")
        for (a, b) in links { try lab.daemon.check(["add-port", "brA", a]); try lab.daemon.check(["add-port", "brB", b]) }
        var last: STPInfo?
        let converged = lab.wait(seconds: 15) {
            guard let s = try? lab.stpShow("brB") else { return false }
            last = s
            return s.ports.map { "\($0.role)/\($0.state)" }.sorted() == ["alternate/discarding", "root/forwarding"]
        }
        try #require(converged, "RSTP did not converge: \(last?.text ?? "")")
        let a = try lab.stpShow("brA")
        #expect(a.ports.allSatisfy { $0.role == "designated" && $0.state == "forwarding" }, "\(a.text ?? "")")
        #expect(last?.rootID == a.bridgeID)

        let rootPort = try #require(last?.ports.first { $0.role == "root" }?.name)
        let alternate = try #require(last?.ports.first { $0.role == "alternate" }?.name)
        try Command.check(["ip", "link", "set", rootPort, "down"])
        let failedOver = lab.wait(seconds: 1.5) {
            guard let s = try? lab.stpShow("brB") else { return false }
            last = s
            return s.ports.contains { $0.name == alternate && $0.role == "root" && $0.state == "forwarding" }
                && s.ports.contains { $0.name == rootPort && $0.role == "disabled" && $0.state == "discarding" }
        }
        #expect(failedOver, "no failover within 1.5 s of the root port going down: \(last?.text ?? "")")
    }

    /// Field case 7: STP on, a peer on p1 sends configuration BPDUs; nothing reaches p2 or p3
    /// except the switch's own BPDUs, sourced from the MAC of the port they leave.
    @Test func receivedBPDUsAreConsumedNotFlooded() throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let lab = try STPLab()
        defer { lab.tearDown() }
        let ns = try lab.namespace("fpc")
        let p1 = try lab.cable(to: ns, peer: "q1"), p2 = try lab.cable(to: ns, peer: "q2"), p3 = try lab.cable(to: ns, peer: "q3")
        try lab.stpBridge("br0")
        for p in [p1, p2, p3] { try lab.daemon.check(["add-port", "br0", p.name]) }
        let s1 = try PacketSocket(namespace: ns, interface: "q1")
        let s2 = try PacketSocket(namespace: ns, interface: "q2")
        let s3 = try PacketSocket(namespace: ns, interface: "q3")
        let peer = Frames.mac(0x70)
        let root = BridgeID(priority: 0, mac: peer)
        for _ in 0..<10 {
            try s1.send(STPLab.configBPDU(source: peer, root: root, bridge: root))
            usleep(150_000)
        }
        for (s, port) in [(s2, p2), (s3, p3)] {
            let got = s.drain(timeoutMilliseconds: 300)
            let own = try #require(STPLab.mac(of: port.name))
            #expect(!got.contains { Frames.source($0) == peer }, "the peer's BPDU reached \(port.peer)")
            let bpdus = got.filter(STPLab.isBPDU)
            #expect(!bpdus.isEmpty, "the switch sent no BPDU on \(port.peer)")
            for f in bpdus { #expect(Frames.source(f) == own, "a BPDU on \(port.peer) not from its port MAC") }
            #expect(got.allSatisfy(STPLab.isBPDU), "non-BPDU frames reached \(port.peer)")
        }
        // The switch did hear the peer: it is root now.
        let show = try lab.stpShow("br0")
        #expect(show.rootID == root.description, "\(show.text ?? "")")
        _ = s1
    }

    /// With STP off, BPDUs are dropped unless `forward-bpdu=true`, which floods them like data.
    @Test func forwardBPDUWithSTPOff() throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let lab = try STPLab()
        defer { lab.tearDown() }
        let ns = try lab.namespace("fpf")
        let p1 = try lab.cable(to: ns, peer: "f1"), p2 = try lab.cable(to: ns, peer: "f2"), p3 = try lab.cable(to: ns, peer: "f3")
        try lab.daemon.check(["add-br", "br0"])
        for p in [p1, p2, p3] { try lab.daemon.check(["add-port", "br0", p.name]) }
        let s1 = try PacketSocket(namespace: ns, interface: "f1")
        let s2 = try PacketSocket(namespace: ns, interface: "f2")
        let s3 = try PacketSocket(namespace: ns, interface: "f3")
        let peer = Frames.mac(0x71)
        let bpdu = STPLab.configBPDU(source: peer, root: BridgeID(priority: 0, mac: peer), bridge: BridgeID(priority: 0, mac: peer))
        func delivered() throws -> [Int] {
            try s1.send(bpdu)
            return [s2, s3].map { s in s.drain(timeoutMilliseconds: 400, where: { $0 == bpdu }).count }
        }
        // Sanity: data floods (the ports are up and forwarding).
        let data = Frames.ethernet(dst: .broadcast, src: Frames.mac(0x72))
        try s1.send(data)
        #expect(s2.receive(timeoutMilliseconds: 2000, where: { $0 == data }) != nil, "data did not flood")

        #expect(try delivered() == [0, 0], "BPDUs forwarded without forward-bpdu")
        try lab.daemon.check(["set", "bridge", "br0", "other_config:forward-bpdu=true"])
        #expect(try delivered() == [1, 1], "forward-bpdu=true did not forward the BPDU exactly once to each port")
        try lab.daemon.check(["set", "bridge", "br0", "other_config:forward-bpdu=false"])
        #expect(try delivered() == [0, 0], "BPDUs still forwarded after forward-bpdu=false")
    }
}
