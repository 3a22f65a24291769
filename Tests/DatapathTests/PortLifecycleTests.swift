import CBPF
import Foundation
import Testing
import Logging
@testable import FlowPlane

/// setPort / removePort against the kernel: attach, live reconfiguration, atomic program
/// replacement, removal from every map.
@Suite(.serialized, .enabled(if: Privileged.shouldRun))
struct PortLifecycleTests {
    func attached(_ ifindex: UInt32) -> (id: UInt32, mode: Int32) {
        var id: UInt32 = 0, mode: Int32 = 0
        _ = cbpf_xdp_query(Int32(ifindex), &id, &mode)
        return (id, mode)
    }

    @Test func setPortRoundTripsAndReconfiguresLive() throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let lab = try SwitchLab()
        defer { lab.tearDown() }
        let p = try lab.addPort("h1", configure: false)
        let port = DatapathPort(ifindex: InterfaceIndex(p.ifindex), bridge: 3, slot: 7,
                                vlan: PortVLANConfig(tag: VLANID(rawValue: 20), trunks: [VLANID(rawValue: 30)!], mode: .nativeUntagged),
                                stpState: .learning, stpEnabled: true, forwardBPDU: false, attachMode: .generic)
        try lab.datapath.setPort(port)
        #expect(try lab.datapath.ports() == [port])
        #expect(attached(p.ifindex) == (lab.datapath.handles.ingress_id, 2))

        // Changing the configuration keeps the same program attached (no reattach).
        var changed = port
        changed.stpState = .forwarding
        changed.vlan = PortVLANConfig()
        try lab.datapath.setPort(changed)
        #expect(try lab.datapath.ports() == [changed])
        #expect(attached(p.ifindex).id == lab.datapath.handles.ingress_id)

        // The port counts what it receives under its new configuration.
        _ = try lab.testRun(Frames.ethernet(dst: .broadcast, src: Frames.mac(1)), on: "h1")
        #expect(try lab.datapath.counters(InterfaceIndex(p.ifindex)).rxPackets == 1)
    }

    /// A program loaded by another instance (a newer daemon) takes over an attached port
    /// atomically (XDP_FLAGS_REPLACE), in the mode the port runs in.
    @Test func anotherInstanceReplacesTheProgramInPlace() throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let lab = try SwitchLab()
        defer { lab.tearDown() }
        let p = try lab.addPort("h1", attachMode: .generic)
        let before = attached(p.ifindex)
        #expect(before == (lab.datapath.handles.ingress_id, 2))
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let second = try BPFDatapath(pinRoot: lab.pinRoot, logger: logger)
        defer { second.close() }
        #expect(second.handles.ingress_id != before.id)
        #expect(attached(p.ifindex) == (second.handles.ingress_id, 2))
        // And setPort from the new instance keeps it.
        try second.setPort(try #require(try second.ports().first))
        #expect(attached(p.ifindex) == (second.handles.ingress_id, 2))
    }

    @Test func removePortDetachesAndForgets() throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let lab = try SwitchLab()
        defer { lab.tearDown() }
        let p1 = try lab.addPort("h1")
        try lab.addPort("h2")
        _ = try lab.testRun(Frames.ethernet(dst: .broadcast, src: Frames.mac(1)), on: "h1")
        #expect(try lab.datapath.counters(InterfaceIndex(p1.ifindex)).rxPackets == 1)
        let slot = try #require(try lab.datapath.ports().first { $0.ifindex.rawValue == p1.ifindex }).slot

        try lab.datapath.removePort(InterfaceIndex(p1.ifindex))
        #expect(attached(p1.ifindex).id == 0)
        #expect(try lab.datapath.ports().map(\.ifindex.rawValue) == [lab.ifindex("h2")])
        #expect(try lab.datapath.txMap.lookup(p1.ifindex) == nil)
        #expect(try lab.datapath.floodSet(1).lookup(p1.ifindex) == nil)
        #expect(try lab.datapath.counters(slot: slot) == PortCounters())
        // Not a port any more: frames pass to the stack, uncounted.
        #expect(try lab.testRun(Frames.ethernet(dst: .broadcast, src: Frames.mac(1)), on: "h1").action == UInt32(XDP_PASS.rawValue))
        // Removing twice is harmless.
        try lab.datapath.removePort(InterfaceIndex(p1.ifindex))
    }
}
