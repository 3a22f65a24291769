import CBPF
import Foundation
import Testing
import Logging
@testable import FlowPlane

/// Field cases of spec/field-cases.md that the datapath alone must get right.
@Suite(.serialized, .enabled(if: Privileged.shouldRun))
struct FieldCaseTests {
    /// Field case 1: ports p1, p2 are veths whose other ends sit in plain namespaces nobody
    /// prepared. A broadcast ARP from behind p1 arrives behind p2, and ping works both ways:
    /// the switch turned GRO on at the peers itself.
    @Test(arguments: [XDPAttachMode.auto, .generic])
    func redirectIntoUnpreparedVethDelivers(mode: XDPAttachMode) throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let lab = try SwitchLab()
        defer { lab.tearDown() }
        let trace = try XDPErrorTrace()
        defer { trace.close() }
        let p1 = try lab.addPort("h1", ownNamespace: true, attachMode: mode)
        let p2 = try lab.addPort("h2", ownNamespace: true, attachMode: mode)

        // Real traffic: sent by the host behind p1, through fp_ingress attached to p1.
        let src = Frames.mac(0x41)
        let arp = Frames.arpRequest(src: src, sender: [10, 77, 0, 1], target: [10, 77, 0, 2], vlan: nil)
        try lab.socket("h1").send(arp)
        let got = lab.socket("h2").receive(timeoutMilliseconds: 2000) { Frames.source($0) == src }
        #expect(got.map(Frames.hex) == Frames.hex(arp), "the ARP broadcast did not arrive behind p2")
        #expect(try lab.datapath.counters(InterfaceIndex(p1.ifindex)).flood >= 1)
        #expect(try lab.datapath.counters(InterfaceIndex(p2.ifindex)).txPackets >= 1)

        // Known unicast (redirect through fp_tx, where a refused target would be an
        // xdp_redirect_err) arrives too.
        let known = Frames.mac(0x42)
        try lab.datapath.installFDB([FDBEntry(key: FDBKey(bridge: 1, vlan: .untagged, mac: known), ifindex: InterfaceIndex(p2.ifindex))])
        let unicast = Frames.ethernet(dst: known, src: src)
        try lab.socket("h1").send(unicast)
        #expect(lab.socket("h2").receive(timeoutMilliseconds: 2000) { $0 == unicast } != nil, "known unicast did not arrive")
        #expect(try lab.datapath.counters(InterfaceIndex(p1.ifindex)).unicast >= 1)

        // GRO is on at the peer now.
        let k = try p2.namespace.exec(["ethtool", "-k", "h2"])
        #expect(k.output.contains("generic-receive-offload: on"))
        #expect(k.output.contains("tx-vlan-offload: off") || k.output.contains("tx-vlan-hw-insert: off"))

        // The port itself keeps received tags inline.
        #expect(try Command.run(["ethtool", "-k", p2.name]).output.contains("rx-vlan-offload: off"))

        // And the stack on both sides talks through the switch.
        try Command.check(["ip", "-n", p1.namespace.name, "addr", "add", "10.77.0.1/24", "dev", "h1"])
        try Command.check(["ip", "-n", p2.namespace.name, "addr", "add", "10.77.0.2/24", "dev", "h2"])
        let ping = try p1.namespace.exec(["ping", "-c", "3", "-i", "0.2", "-W", "1", "10.77.0.2"], seconds: 10)
        #expect(ping.status == 0, "ping through the switch failed: \(ping.output)")
        #expect(trace.failures(involving: [p1.ifindex, p2.ifindex]) == [], "XDP redirect failures")
    }

    /// Real tagged traffic between a trunk and an access port, in native and generic XDP: the
    /// access side gets the frame untagged, the trunk side tagged, PCP kept.
    @Test(arguments: [XDPAttachMode.auto, .generic])
    func taggedTrafficBetweenTrunkAndAccess(mode: XDPAttachMode) throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let lab = try SwitchLab()
        defer { lab.tearDown() }
        try lab.addPort("t", attachMode: mode)
        try lab.addPort("a10", vlan: PortVLANConfig(tag: VLANID(rawValue: 10)), attachMode: mode)
        try lab.addPort("a20", vlan: PortVLANConfig(tag: VLANID(rawValue: 20)), attachMode: mode)

        let fromTrunk = Frames.ethernet(dst: .broadcast, src: Frames.mac(0x61), vlan: (10, 6))
        try lab.socket("t").send(fromTrunk)
        var got = lab.captured(from: Frames.mac(0x61), expecting: ["a10"])
        #expect(got.mapValues { $0.map(Frames.hex) } == ["a10": [Frames.hex(Frames.retagged(fromTrunk, nil))]])

        let fromAccess = Frames.ethernet(dst: .broadcast, src: Frames.mac(0x62))
        try lab.socket("a10").send(fromAccess)
        got = lab.captured(from: Frames.mac(0x62), expecting: ["t"])
        #expect(got.mapValues { $0.map(Frames.hex) } == ["t": [Frames.hex(Frames.retagged(fromAccess, (10, 0)))]])
    }

    /// A restarted datapath reuses the pinned maps: the FDB, ports and counters survive,
    /// frames keep flowing during and after, and the new program is attached in place.
    @Test func restartAdoptsPinnedStateWithoutFlushing() throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let lab = try SwitchLab()
        defer { lab.tearDown() }
        let p1 = try lab.addPort("h1", ownNamespace: true)
        let p2 = try lab.addPort("h2", ownNamespace: true)
        let key = FDBKey(bridge: 1, vlan: .untagged, mac: Frames.mac(0x51))
        try lab.datapath.installFDB([FDBEntry(key: key, ifindex: InterfaceIndex(p2.ifindex))])
        try lab.socket("h1").send(Frames.ethernet(dst: key.mac, src: Frames.mac(0x52)))
        #expect(lab.socket("h2").receive(timeoutMilliseconds: 2000) { Frames.source($0) == Frames.mac(0x52) } != nil)
        let portsBefore = try lab.datapath.ports()
        let rxBefore = try lab.datapath.counters(InterfaceIndex(p1.ifindex)).rxPackets

        // The daemon goes away: nothing is detached or flushed; frames still switch.
        lab.datapath.close()
        try lab.socket("h1").send(Frames.ethernet(dst: key.mac, src: Frames.mac(0x53)))
        #expect(lab.socket("h2").receive(timeoutMilliseconds: 2000) { Frames.source($0) == Frames.mac(0x53) } != nil,
                "forwarding stopped while no daemon ran")

        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let again = try BPFDatapath(pinRoot: lab.pinRoot, logger: logger)
        defer { again.close() }
        #expect(try again.fdbEntries().map(\.key) == [key])
        #expect(try again.ports() == portsBefore)
        #expect(Set(again.adoptedPorts) == [InterfaceIndex(p1.ifindex), InterfaceIndex(p2.ifindex)])
        #expect(try again.counters(InterfaceIndex(p1.ifindex)).rxPackets >= rxBefore + 1)
        var id: UInt32 = 0, mode: Int32 = 0
        #expect(cbpf_xdp_query(Int32(p1.ifindex), &id, &mode) == 0 && id == again.handles.ingress_id)
        try lab.socket("h1").send(Frames.ethernet(dst: key.mac, src: Frames.mac(0x54)))
        #expect(lab.socket("h2").receive(timeoutMilliseconds: 2000) { Frames.source($0) == Frames.mac(0x54) } != nil,
                "forwarding stopped after the restart")
        try again.destroy()
    }
}
