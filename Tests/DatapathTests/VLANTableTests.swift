import CBPF
import Foundation
import Testing
@testable import FlowPlane

/// Every VLAN mode × {untagged, VID 0 with PCP, admitted VID, refused VID}, on the ports of
/// spec/vlan.md's worked example, with real delivery: live frames through fp_ingress
/// (BPF_F_TEST_XDP_LIVE_FRAMES), captured at the veth peers. Checks verdict, output ports
/// and the exact bytes each port sends.
@Suite(.serialized, .enabled(if: Privileged.shouldRun))
struct VLANTableTests {
    typealias Tag = (vid: UInt16, pcp: UInt8)

    struct Row: CustomStringConvertible {
        var port: String
        var tag: Tag?
        /// Output port → the tag it sends with (nil: untagged). Empty: dropped.
        var out: [String: Tag?]
        var description: String { "\(port) \(tag.map { "VID \($0.vid) PCP \($0.pcp)" } ?? "untagged")" }
    }

    static func vid(_ v: UInt16) -> VLANID { VLANID(rawValue: v)! }

    /// t trunk {10, 20}; a10 access 10; a20 access 20; nt native-tagged 10 (all);
    /// nu native-untagged 20, trunks {10, 20}.
    static let ports: [(String, PortVLANConfig)] = [
        ("t", PortVLANConfig(trunks: [vid(10), vid(20)])),
        ("a10", PortVLANConfig(tag: vid(10))),
        ("a20", PortVLANConfig(tag: vid(20))),
        ("nt", PortVLANConfig(tag: vid(10), mode: .nativeTagged)),
        ("nu", PortVLANConfig(tag: vid(20), trunks: [vid(10), vid(20)], mode: .nativeUntagged)),
    ]

    static let rows: [Row] = [
        // trunk
        Row(port: "t", tag: nil, out: [:]),
        Row(port: "t", tag: (0, 5), out: [:]),
        Row(port: "t", tag: (20, 3), out: ["a20": nil, "nt": (20, 3), "nu": nil]),
        Row(port: "t", tag: (30, 0), out: [:]),
        // access
        Row(port: "a10", tag: nil, out: ["t": (10, 0), "nt": (10, 0), "nu": (10, 0)]),
        Row(port: "a10", tag: (0, 5), out: ["t": (10, 5), "nt": (10, 5), "nu": (10, 5)]),
        Row(port: "a10", tag: (10, 0), out: [:]),
        Row(port: "a10", tag: (20, 0), out: [:]),
        // native-tagged
        Row(port: "nt", tag: nil, out: ["t": (10, 0), "a10": nil, "nu": (10, 0)]),
        Row(port: "nt", tag: (0, 5), out: ["t": (10, 5), "a10": nil, "nu": (10, 5)]),
        Row(port: "nt", tag: (20, 1), out: ["t": (20, 1), "a20": nil, "nu": nil]),
        Row(port: "nt", tag: (4095, 0), out: [:]),
        // native-untagged
        Row(port: "nu", tag: nil, out: ["t": (20, 0), "a20": nil, "nt": (20, 0)]),
        Row(port: "nu", tag: (0, 5), out: ["t": (20, 5), "a20": nil, "nt": (20, 5)]),
        Row(port: "nu", tag: (10, 2), out: ["t": (10, 2), "a10": nil, "nt": (10, 2)]),
        Row(port: "nu", tag: (30, 0), out: [:]),
    ]

    @Test func everyModeAndFrameKind() throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let lab = try SwitchLab()
        defer { lab.tearDown() }
        for (label, vlan) in Self.ports { try lab.addPort(label, vlan: vlan) }

        let payload = (0..<50).map { UInt8($0) }
        for (i, row) in Self.rows.enumerated() {
            let src = Frames.mac(UInt8(0x10 + i))
            let frame = Frames.ethernet(dst: .broadcast, src: src, vlan: row.tag, payload: payload)
            let before = try lab.datapath.counters(InterfaceIndex(lab.ifindex(row.port)))
            // Live frames report no verdict: take it from a plain run of the same frame.
            let action = try lab.testRun(frame, on: row.port).action
            try lab.inject(frame, on: row.port)
            let got = lab.captured(from: src, expecting: Set(row.out.keys))
            if row.out.isEmpty {
                #expect(action == UInt32(XDP_DROP.rawValue), "\(row): verdict")
                let after = try lab.datapath.counters(InterfaceIndex(lab.ifindex(row.port)))
                #expect((after.drops[.vlanIngress] ?? 0) == (before.drops[.vlanIngress] ?? 0) + 2, "\(row): vlan-ingress counter")
            } else {
                #expect(action == UInt32(XDP_REDIRECT.rawValue), "\(row): verdict")
            }
            #expect(Set(got.keys) == Set(row.out.keys), "\(row): output ports")
            for (port, tag) in row.out {
                let expected = Frames.retagged(frame, tag)
                #expect(got[port]?.count == 1, "\(row): copies on \(port)")
                #expect(got[port].flatMap { $0.first.map(Frames.hex) } == Frames.hex(expected), "\(row): bytes on \(port)")
            }
        }
    }
}
