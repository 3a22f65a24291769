import CBPF
import Foundation
import Testing
@testable import FlowPlane

/// fp_ingress through BPF_PROG_TEST_RUN on crafted frames: verdicts, counters per reason,
/// learn events and their dedup, FDB refresh, static entries, bytes after normalisation.
@Suite(.serialized, .enabled(if: Privileged.shouldRun))
struct IngressTestRunTests {
    static let xdpDrop = UInt32(XDP_DROP.rawValue)
    static let xdpPass = UInt32(XDP_PASS.rawValue)
    static let xdpRedirect = UInt32(XDP_REDIRECT.rawValue)

    /// Learn events one MAC on one port may produce in a burst that started at `start`: one,
    /// plus one per FP_LEARN_DEDUP_NS that passed (the machine may be slow under load).
    static func eventsAllowed(since start: Date) -> Int {
        1 + Int(Date().timeIntervalSince(start) * 1e9 / Double(FP_LEARN_DEDUP_NS))
    }

    let A = Frames.mac(1), B = Frames.mac(2), C = Frames.mac(3), D = Frames.mac(4), E = Frames.mac(5)

    /// p1, p2 trunks of every VLAN; p3 access 10.
    func makeLab() throws -> SwitchLab {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let lab = try SwitchLab()
        do {
            try lab.addPort("p1")
            try lab.addPort("p2")
            try lab.addPort("p3", vlan: PortVLANConfig(tag: VLANID(rawValue: 10)))
        } catch {
            lab.tearDown()
            throw error
        }
        return lab
    }

    func counters(_ lab: SwitchLab, _ label: String) throws -> PortCounters {
        try lab.datapath.counters(InterfaceIndex(lab.ifindex(label)))
    }

    @Test func nonPortFramesPassUncounted() throws {
        let lab = try makeLab()
        defer { lab.tearDown() }
        let r = try lab.testRun(Frames.ethernet(dst: B, src: A), ifindex: 1) // lo is not a port
        #expect(r.action == Self.xdpPass)
        #expect(try counters(lab, "p1").rxPackets == 0)
    }

    @Test func malformedAndReservedAreCountedDrops() throws {
        let lab = try makeLab()
        defer { lab.tearDown() }
        // A VLAN TPID with the tag cut off.
        let truncated = Array(Frames.ethernet(dst: B, src: A, etherType: 0x8100, payload: [])) + [0x00]
        #expect(try lab.testRun(truncated, on: "p1").action == Self.xdpDrop)
        // A group address as source.
        #expect(try lab.testRun(Frames.ethernet(dst: B, src: Frames.multicast), on: "p1").action == Self.xdpDrop)
        // BPDU with STP off, no forward-bpdu; LLDP (…:0e) always.
        let bpdu = MACAddress(0x01, 0x80, 0xc2, 0, 0, 0)
        let lldp = MACAddress(0x01, 0x80, 0xc2, 0, 0, 0x0e)
        #expect(try lab.testRun(Frames.ethernet(dst: bpdu, src: A), on: "p1").action == Self.xdpDrop)
        #expect(try lab.testRun(Frames.ethernet(dst: lldp, src: A), on: "p1").action == Self.xdpDrop)
        let c = try counters(lab, "p1")
        #expect(c.rxPackets == 4)
        #expect(c.drops[.malformed] == 2)
        #expect(c.drops[.reserved] == 2)
        #expect(c.flood == 0 && c.learnEvents == 0)

        // With STP on, BPDUs go to the host; other reserved groups still drop.
        var p1 = try #require(try lab.datapath.ports().first { $0.ifindex.rawValue == lab.ifindex("p1") })
        p1.stpEnabled = true
        try lab.datapath.setPort(p1)
        #expect(try lab.testRun(Frames.ethernet(dst: bpdu, src: A), on: "p1").action == Self.xdpPass)
        #expect(try lab.testRun(Frames.ethernet(dst: lldp, src: A), on: "p1").action == Self.xdpDrop)
        // A discarding port still hands BPDUs up.
        p1.stpState = .discarding
        try lab.datapath.setPort(p1)
        #expect(try lab.testRun(Frames.ethernet(dst: bpdu, src: A), on: "p1").action == Self.xdpPass)
        let c2 = try counters(lab, "p1")
        #expect(c2.toHost == 2)
        #expect(c2.drops[.reserved] == 3)
    }

    @Test func unknownUnicastFloodsAndLearnsOncePerBurst() throws {
        let lab = try makeLab()
        defer { lab.tearDown() }
        _ = try lab.learnEvents()
        let start = Date()
        for _ in 0..<50 {
            let r = try lab.testRun(Frames.ethernet(dst: B, src: A), on: "p1")
            #expect(r.action == Self.xdpRedirect)
        }
        let allowed = Self.eventsAllowed(since: start)
        let events = try lab.learnEvents()
        #expect(events.count >= 1 && events.count <= allowed, "\(events.count) events for one burst")
        #expect(events.first == LearnEvent(bridge: 1, vlan: .untagged, mac: A, ifindex: InterfaceIndex(lab.ifindex("p1")),
                                           previousIfindex: nil, timeNanoseconds: events.first?.timeNanoseconds ?? 0))
        let c = try counters(lab, "p1")
        #expect(c.rxPackets == 50 && c.flood == 50 && c.learnEvents == UInt64(events.count) && c.totalDrops == 0)
        // The same MAC in another VLAN is another FDB key: a new event.
        _ = try lab.testRun(Frames.ethernet(dst: B, src: A, vlan: (20, 0)), on: "p1")
        #expect(try lab.learnEvents().map(\.vlan) == [VLANID(rawValue: 20)!])
    }

    @Test func knownUnicastRedirectsAndRefreshesAtMostOncePerSecond() throws {
        let lab = try makeLab()
        defer { lab.tearDown() }
        let p1 = InterfaceIndex(lab.ifindex("p1")), p2 = InterfaceIndex(lab.ifindex("p2"))
        try lab.datapath.installFDB([
            FDBEntry(key: FDBKey(bridge: 1, vlan: .untagged, mac: A), ifindex: p1),
            FDBEntry(key: FDBKey(bridge: 1, vlan: .untagged, mac: B), ifindex: p2),
        ])
        let frame = Frames.ethernet(dst: B, src: A)
        let r = try lab.testRun(frame, on: "p1")
        #expect(r.action == Self.xdpRedirect)
        #expect(r.output == frame)
        #expect(try lab.learnEvents().isEmpty)
        let c = try counters(lab, "p1")
        #expect(c.unicast == 1 && c.flood == 0)

        let seen = try #require(try lab.datapath.fdbEntries().first { $0.key.mac == A })
        #expect(seen.lastSeenNanoseconds > 0)
        for _ in 0..<20 { _ = try lab.testRun(frame, on: "p1") }
        let again = try #require(try lab.datapath.fdbEntries().first { $0.key.mac == A })
        #expect(again.lastSeenNanoseconds == seen.lastSeenNanoseconds, "refreshed more than once a second")
        Thread.sleep(forTimeInterval: 1.1)
        _ = try lab.testRun(frame, on: "p1")
        let later = try #require(try lab.datapath.fdbEntries().first { $0.key.mac == A })
        #expect(later.lastSeenNanoseconds > seen.lastSeenNanoseconds)
    }

    @Test func unicastBackToIngressPortIsDropped() throws {
        let lab = try makeLab()
        defer { lab.tearDown() }
        try lab.datapath.installFDB([FDBEntry(key: FDBKey(bridge: 1, vlan: .untagged, mac: B),
                                              ifindex: InterfaceIndex(lab.ifindex("p1")))])
        #expect(try lab.testRun(Frames.ethernet(dst: B, src: A), on: "p1").action == Self.xdpDrop)
        #expect(try counters(lab, "p1").drops[.samePort] == 1)
    }

    @Test func moveEventsButNeverForStaticEntries() throws {
        let lab = try makeLab()
        defer { lab.tearDown() }
        let p1 = InterfaceIndex(lab.ifindex("p1")), p2 = InterfaceIndex(lab.ifindex("p2"))
        try lab.datapath.installFDB([
            FDBEntry(key: FDBKey(bridge: 1, vlan: .untagged, mac: C), ifindex: p2, isStatic: true),
            FDBEntry(key: FDBKey(bridge: 1, vlan: .untagged, mac: D), ifindex: p2),
        ])
        _ = try lab.learnEvents()
        // Static C on p2, frames from C on p1: forwarded, no event, entry untouched.
        #expect(try lab.testRun(Frames.ethernet(dst: B, src: C), on: "p1").action == Self.xdpRedirect)
        #expect(try lab.learnEvents().isEmpty)
        let c = try #require(try lab.datapath.fdbEntries().first { $0.key.mac == C })
        #expect(c.ifindex == p2 && c.isStatic && c.lastSeenNanoseconds == 0)
        // Dynamic D on p2 seen on p1: a move event naming p2.
        let start = Date()
        _ = try lab.testRun(Frames.ethernet(dst: B, src: D), on: "p1")
        let moves = try lab.learnEvents()
        #expect(moves.count == 1)
        #expect(moves.first?.mac == D && moves.first?.ifindex == p1 && moves.first?.previousIfindex == p2)
        // More frames on p1 before the control plane reacts: deduplicated.
        for _ in 0..<10 { _ = try lab.testRun(Frames.ethernet(dst: B, src: D), on: "p1") }
        #expect(try lab.learnEvents().count <= Self.eventsAllowed(since: start) - 1)
        // Back on p2, where the (not yet updated) FDB still has it: reported at once, so the
        // FDB ends on the port of the last frame.
        _ = try lab.testRun(Frames.ethernet(dst: B, src: D), on: "p2")
        let back = try lab.learnEvents()
        #expect(back.count == 1)
        #expect(back.first?.ifindex == p2 && back.first?.previousIfindex == p1)
        // The control plane installs D on p2 again: frames from p2 are quiet again.
        try lab.datapath.installFDB([FDBEntry(key: FDBKey(bridge: 1, vlan: .untagged, mac: D), ifindex: p2)])
        for _ in 0..<10 { _ = try lab.testRun(Frames.ethernet(dst: B, src: D), on: "p2") }
        #expect(try lab.learnEvents().isEmpty)
        #expect(try lab.datapath.fdbEntries().first { $0.key.mac == D }?.isStatic == false)
    }

    @Test func stpGate() throws {
        let lab = try makeLab()
        defer { lab.tearDown() }
        var p1 = try #require(try lab.datapath.ports().first { $0.ifindex.rawValue == lab.ifindex("p1") })
        p1.stpEnabled = true
        p1.stpState = .discarding
        try lab.datapath.setPort(p1)
        _ = try lab.learnEvents()
        #expect(try lab.testRun(Frames.ethernet(dst: B, src: E), on: "p1").action == Self.xdpDrop)
        #expect(try lab.learnEvents().isEmpty, "a discarding port learned")
        p1.stpState = .learning
        try lab.datapath.setPort(p1)
        #expect(try lab.testRun(Frames.ethernet(dst: B, src: E), on: "p1").action == Self.xdpDrop)
        #expect(try lab.learnEvents().map(\.mac) == [E])
        p1.stpState = .forwarding
        try lab.datapath.setPort(p1)
        #expect(try lab.testRun(Frames.ethernet(dst: B, src: E), on: "p1").action == Self.xdpRedirect)
        #expect(try counters(lab, "p1").drops[.stp] == 2)
    }

    /// Known unicast leaves in the output port's form, decided in fp_ingress (fp_tx entries
    /// carry no egress program): VID 10 from trunk p1 to access-10 p3 comes out untagged,
    /// from p3 to trunk p1 tagged 10; an output port that does not carry the VLAN, or is
    /// discarding, gets no copy. Every copy is counted on the output port: TX packets and the
    /// bytes as sent, or the reason it was refused.
    @Test func knownUnicastTakesTheOutputPortsForm() throws {
        let lab = try makeLab()
        defer { lab.tearDown() }
        let payload = Array(0..<46).map { UInt8($0) }
        let vlan10 = try #require(VLANID(rawValue: 10)), vlan20 = try #require(VLANID(rawValue: 20))
        let p1 = InterfaceIndex(lab.ifindex("p1")), p3 = InterfaceIndex(lab.ifindex("p3"))
        try lab.datapath.installFDB([
            FDBEntry(key: FDBKey(bridge: 1, vlan: vlan10, mac: C), ifindex: p3),
            FDBEntry(key: FDBKey(bridge: 1, vlan: vlan10, mac: D), ifindex: p1),
            FDBEntry(key: FDBKey(bridge: 1, vlan: vlan20, mac: E), ifindex: p3),
        ])
        // Trunk to access: the tag (PCP 5) comes off.
        let tagged = Frames.ethernet(dst: C, src: A, vlan: (10, 5), payload: payload)
        var r = try lab.testRun(tagged, on: "p1")
        #expect(r.action == Self.xdpRedirect)
        #expect(Frames.hex(r.output) == Frames.hex(Frames.retagged(tagged, nil)))
        #expect(try counters(lab, "p1").unicast == 1)
        #expect(try counters(lab, "p3").txPackets == 1)
        #expect(try counters(lab, "p3").txBytes == UInt64(tagged.count - 4))
        // Access to trunk: tagged with the access port's VLAN.
        let untagged = Frames.ethernet(dst: D, src: B, payload: payload)
        r = try lab.testRun(untagged, on: "p3")
        #expect(r.action == Self.xdpRedirect)
        #expect(Frames.hex(r.output) == Frames.hex(Frames.retagged(untagged, (10, 0))))
        #expect(try counters(lab, "p1").txBytes == UInt64(untagged.count + 4))
        // An entry in VLAN 20 pointing at access-10 p3: refused at the output port.
        r = try lab.testRun(Frames.ethernet(dst: E, src: Frames.mac(0x61), vlan: (20, 0)), on: "p2")
        #expect(r.action == Self.xdpDrop)
        #expect(try counters(lab, "p2").unicast == 1)
        #expect(try counters(lab, "p3").drops[.vlanEgress] == 1)
        // A discarding output port gets nothing.
        var port3 = try #require(try lab.datapath.ports().first { $0.ifindex == p3 })
        port3.stpEnabled = true
        port3.stpState = .discarding
        try lab.datapath.setPort(port3)
        r = try lab.testRun(tagged, on: "p1")
        #expect(r.action == Self.xdpDrop)
        #expect(try counters(lab, "p3").drops[.stpEgress] == 1)
        #expect(try counters(lab, "p3").txPackets == 1)
    }

    /// A learn record the full ring could not take is counted lost and not remembered as
    /// sent: the MAC's next frame, well within FP_LEARN_DEDUP_NS, is reported.
    @Test func lostLearnRecordIsRetriedByTheNextFrame() throws {
        let lab = try makeLab()
        defer { lab.tearDown() }
        // Fill the ring (FP_LEARN_RING_BYTES) with one record per new source MAC.
        let capacity = Int(FP_LEARN_RING_BYTES) / (MemoryLayout<fp_learn_event>.size + 8)
        var n = 0
        while try counters(lab, "p1").learnLost == 0 && n < capacity + 2000 {
            for _ in 0..<1000 {
                n += 1
                let src = MACAddress(0x02, 0x4c, 0, UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff))
                _ = try lab.testRun(Frames.ethernet(dst: B, src: src), on: "p1")
            }
        }
        try #require(try counters(lab, "p1").learnLost > 0, "the ring never filled after \(n) new MACs")
        let lost = try counters(lab, "p1").learnLost
        let start = Date()
        _ = try lab.testRun(Frames.ethernet(dst: B, src: E), on: "p1")
        #expect(try counters(lab, "p1").learnLost == lost + 1)
        // Drain the ring, then E again at once: it is reported, not taken for a duplicate.
        _ = try lab.learnEvents()
        _ = try lab.testRun(Frames.ethernet(dst: B, src: E), on: "p1")
        let events = try lab.learnEvents()
        try #require(Date().timeIntervalSince(start) * 1e9 < Double(FP_LEARN_DEDUP_NS), "too slow to tell retry from dedup")
        #expect(events.map(\.mac) == [E])
    }

    @Test func normalisedBytes() throws {
        let lab = try makeLab()
        defer { lab.tearDown() }
        let payload = Array(0..<46).map { UInt8($0) }
        // Access 10: untagged in → one tag VID 10, PCP 0.
        let untagged = Frames.ethernet(dst: B, src: A, payload: payload)
        var r = try lab.testRun(untagged, on: "p3")
        #expect(r.action == Self.xdpRedirect)
        #expect(Frames.hex(r.output) == Frames.hex(Frames.retagged(untagged, (10, 0))))
        // Access 10: VID 0 with PCP 5 → VID 10 keeping PCP 5.
        let prio = Frames.ethernet(dst: B, src: A, vlan: (0, 5), payload: payload)
        r = try lab.testRun(prio, on: "p3")
        #expect(Frames.hex(r.output) == Frames.hex(Frames.retagged(untagged, (10, 5))))
        // Access: tagged refused, even with VID = tag.
        r = try lab.testRun(Frames.ethernet(dst: B, src: A, vlan: (10, 0)), on: "p3")
        #expect(r.action == Self.xdpDrop)
        #expect(try counters(lab, "p3").drops[.vlanIngress] == 1)
        // Trunk: a tagged frame stays as it is.
        let tagged = Frames.ethernet(dst: B, src: A, vlan: (20, 3), payload: payload)
        r = try lab.testRun(tagged, on: "p1")
        #expect(r.output == tagged)
        // Trunk with VLAN 0: the priority tag goes.
        r = try lab.testRun(Frames.ethernet(dst: B, src: A, vlan: (0, 3), payload: payload), on: "p1")
        #expect(r.output == untagged)
        // VID 4095 is refused everywhere.
        r = try lab.testRun(Frames.ethernet(dst: B, src: A, vlan: (4095, 0)), on: "p1")
        #expect(r.action == Self.xdpDrop)
    }
}
