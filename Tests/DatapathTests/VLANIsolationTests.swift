import CBPF
import Foundation
import Testing
@testable import FlowPlane

/// No frame crosses from one VLAN into another: for VIDs 0, 1, 2, 100, 1000, 4094 and
/// unknown unicast, known unicast (learned in another VLAN), multicast and broadcast, with
/// real delivery to veth peers.
@Suite(.serialized, .enabled(if: Privileged.shouldRun))
struct VLANIsolationTests {
    static let vids: [UInt16] = [0, 1, 2, 100, 1000, 4094]

    /// The port that carries only VLAN v, untagged: access v, or for VLAN 0 a trunk of {0}.
    static func member(_ v: UInt16) -> String { "m\(v)" }

    @Test func nothingCrossesVLANs() throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let lab = try SwitchLab()
        defer { lab.tearDown() }
        try lab.addPort("t1")
        try lab.addPort("t2")
        for v in Self.vids {
            let vlan = v == 0 ? PortVLANConfig(trunks: [.untagged]) : PortVLANConfig(tag: VLANID(rawValue: v))
            try lab.addPort(Self.member(v), vlan: vlan)
        }
        // K1 is known in every VLAN w on w's member port; K3 in every VLAN on t2; K2 in
        // every VLAN v on the member port of *another* VLAN (a bad entry: egress must refuse).
        let K1 = Frames.mac(0xe1), K2 = Frames.mac(0xe2), K3 = Frames.mac(0xe3)
        var entries: [FDBEntry] = []
        for (i, v) in Self.vids.enumerated() {
            let vlan = VLANID(rawValue: v)!
            let other = Self.member(Self.vids[(i + 1) % Self.vids.count])
            entries.append(FDBEntry(key: FDBKey(bridge: 1, vlan: vlan, mac: K1), ifindex: InterfaceIndex(lab.ifindex(Self.member(v)))))
            entries.append(FDBEntry(key: FDBKey(bridge: 1, vlan: vlan, mac: K2), ifindex: InterfaceIndex(lab.ifindex(other))))
            entries.append(FDBEntry(key: FDBKey(bridge: 1, vlan: vlan, mac: K3), ifindex: InterfaceIndex(lab.ifindex("t2"))))
        }
        try lab.datapath.installFDB(entries)

        var n: UInt8 = 0
        for v in Self.vids {
            let tag: (vid: UInt16, pcp: UInt8)? = v == 0 ? nil : (v, 0)
            let m = Self.member(v)
            // (what, destination, outputs from t1 in VLAN v, outputs from m untagged)
            let kinds: [(String, MACAddress, Set<String>, Set<String>)] = [
                ("unknown unicast", Frames.mac(0xdd), ["t2", m], ["t1", "t2"]),
                ("unicast known on the member port", K1, [m], []),
                ("unicast known on t2", K3, ["t2"], ["t2"]),
                ("unicast known on another VLAN's port", K2, [], []),
                ("multicast", Frames.multicast, ["t2", m], ["t1", "t2"]),
                ("broadcast", MACAddress.broadcast, ["t2", m], ["t1", "t2"]),
            ]
            for (kind, dst, fromTrunk, fromMember) in kinds {
                // From trunk t1 in VLAN v.
                n += 1
                var src = Frames.mac(n)
                var frame = Frames.ethernet(dst: dst, src: src, vlan: tag)
                try lab.inject(frame, on: "t1")
                var got = lab.captured(from: src, expecting: fromTrunk)
                #expect(Set(got.keys) == fromTrunk, "VLAN \(v) \(kind) from t1")
                for port in fromTrunk {
                    let expected = port == m ? Frames.retagged(frame, nil) : frame
                    #expect(got[port]?.map(Frames.hex) == [Frames.hex(expected)], "VLAN \(v) \(kind) from t1 on \(port)")
                }
                // From the member port of v, untagged.
                n += 1
                src = Frames.mac(n)
                frame = Frames.ethernet(dst: dst, src: src)
                try lab.inject(frame, on: m)
                got = lab.captured(from: src, expecting: fromMember)
                #expect(Set(got.keys) == fromMember, "VLAN \(v) \(kind) from \(m)")
                let expected = Frames.hex(Frames.retagged(frame, tag))
                for port in fromMember {
                    #expect(got[port]?.map(Frames.hex) == [expected], "VLAN \(v) \(kind) from \(m) on \(port)")
                }
            }
        }
        // The bad entries were caught at egress and counted there; flood copies filtered
        // by VLAN are not drops and are not counted.
        var refused: UInt64 = 0
        for v in Self.vids {
            refused += try lab.datapath.counters(InterfaceIndex(lab.ifindex(Self.member(v)))).drops[.vlanEgress] ?? 0
        }
        #expect(refused == UInt64(2 * Self.vids.count))
    }
}
