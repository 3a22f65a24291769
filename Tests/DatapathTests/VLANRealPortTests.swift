import Foundation
import Testing
import FlowPlane

/// spec/vlan.md's worked example and field case 2 on real veth ports, through the real daemon
/// and `flowctl add-port ... tag=/trunks=/vlan_mode=`: senders in a namespace write raw frames
/// (AF_PACKET, no 8021q module), receivers capture with packet sockets, and every frame out is
/// checked byte for byte. Each case runs with the senders' tx-vlan-offload on and off; with it
/// on, tags are pushed by tc into skb metadata, as a VM's or a VLAN device's would be.
@Suite(.serialized, .enabled(if: Privileged.shouldRun))
struct VLANRealPortTests {
    typealias Tag = (vid: UInt16, pcp: UInt8)

    /// One row of the worked example: a broadcast with `tag` enters on `port`; `out` maps each
    /// receiving port to the tag it must leave with (nil: untagged); every other port gets nothing.
    struct Row: CustomStringConvertible {
        var port: String
        var tag: Tag?
        var out: [String: Tag?]
        var description: String {
            "\(port) \(tag.map { "VID \($0.vid) PCP \($0.pcp)" } ?? "untagged")"
        }
    }

    static let rows: [Row] = [
        Row(port: "a10", tag: nil, out: ["t": (10, 0), "nt": (10, 0), "nu": (10, 0)]),
        Row(port: "a10", tag: (10, 0), out: [:]),
        Row(port: "t", tag: (20, 3), out: ["a20": nil, "nt": (20, 3), "nu": nil]),
        Row(port: "t", tag: (30, 0), out: [:]),
        Row(port: "t", tag: nil, out: [:]),
        Row(port: "nu", tag: nil, out: ["t": (20, 0), "a20": nil, "nt": (20, 0)]),
        Row(port: "nt", tag: (0, 5), out: ["t": (10, 5), "a10": nil, "nu": (10, 5)]),
    ]

    /// The worked example of spec/vlan.md, every row, with the senders' tx-vlan-offload on and
    /// off, in native and generic XDP.
    @Test(arguments: [true, false], ["native", "generic"])
    func workedExample(senderOffload: Bool, xdpMode: String) throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let lab = try VLANLab(senderOffload: senderOffload)
        defer { lab.tearDown() }
        let mode = "xdp_mode=\(xdpMode)"
        try lab.addPort("t", ["trunks=10,20", mode])
        try lab.addPort("a10", ["tag=10", mode])
        try lab.addPort("a20", ["tag=20", mode])
        try lab.addPort("nt", ["tag=10", "vlan_mode=native-tagged", mode])
        try lab.addPort("nu", ["tag=20", "vlan_mode=native-untagged", "trunks=10,20", mode])
        let show = try lab.daemon.check(["list-ports", "br0", "--long"])

        // FlowPlane keeps tags inline from senders it can reach: their offload is off now.
        for label in ["t", "a10", "a20", "nt", "nu"] {
            #expect(try lab.senderOffloadIsOn(label) == false, "\(label): tx-vlan-offload still on after add-port")
        }

        for (i, row) in Self.rows.enumerated() {
            let src = Frames.mac(UInt8(0x70 + i) | (senderOffload ? 0x80 : 0) | (xdpMode == "generic" ? 0x08 : 0))
            let frame = Frames.ethernet(dst: .broadcast, src: src, vlan: row.tag)
            try lab.send(frame, on: row.port)
            let got = lab.captured(from: src, expecting: Set(row.out.keys))
            let want = row.out.mapValues { [Frames.hex(Frames.retagged(frame, $0))] }
            #expect(got.mapValues { $0.map(Frames.hex) } == want,
                    "offload \(senderOffload ? "on" : "off"), \(xdpMode) XDP, in \(row): wrong output\n\(show)\n\(lab.daemon.log.suffix(2000))")
        }
    }

    /// The worked example's ports with known unicast (static FDB entries via `flowctl fdb-add`):
    /// a hit leaves only its port, tagged per that port's mode; the FDB is per VLAN, so a MAC
    /// known only in another VLAN floods in the frame's own VLAN and never crosses over.
    @Test(arguments: [true, false])
    func knownUnicastFollowsTheSameRules(senderOffload: Bool) throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let lab = try VLANLab(senderOffload: senderOffload)
        defer { lab.tearDown() }
        try lab.addPort("t", ["trunks=10,20"])
        try lab.addPort("a10", ["tag=10"])
        try lab.addPort("a20", ["tag=20"])
        try lab.addPort("nt", ["tag=10", "vlan_mode=native-tagged"])
        try lab.addPort("nu", ["tag=20", "vlan_mode=native-untagged", "trunks=10,20"])
        let onT = Frames.mac(0x31), onNT = Frames.mac(0x32), onA20 = Frames.mac(0x33), onA10 = Frames.mac(0x34)
        try lab.daemon.check(["fdb-add", "br0", lab.name("t"), "20", onT.description])
        try lab.daemon.check(["fdb-add", "br0", lab.name("nt"), "10", onNT.description])
        try lab.daemon.check(["fdb-add", "br0", lab.name("a20"), "20", onA20.description])
        try lab.daemon.check(["fdb-add", "br0", lab.name("a10"), "10", onA10.description])
        let fdb = try lab.daemon.check(["dump-fdb", "br0"])

        let cases: [(port: String, dst: MACAddress, tag: Tag?, out: [String: Tag?])] = [
            ("a10", onNT, nil, ["nt": (10, 0)]),
            ("t", onA20, (20, 3), ["a20": nil]),
            ("nt", onA10, (0, 5), ["a10": nil]),
            ("nu", onT, nil, ["t": (20, 0)]),
            // Known only in VLAN 10: a VLAN-20 frame floods in VLAN 20.
            ("t", onNT, (20, 0), ["a20": nil, "nt": (20, 0), "nu": nil]),
            ("a20", onA10, nil, ["t": (20, 0), "nt": (20, 0), "nu": nil]),
        ]
        for (i, c) in cases.enumerated() {
            let src = Frames.mac(UInt8(0x40 + i) | (senderOffload ? 0x80 : 0))
            let frame = Frames.ethernet(dst: c.dst, src: src, vlan: c.tag)
            try lab.send(frame, on: c.port)
            let got = lab.captured(from: src, expecting: Set(c.out.keys))
            let want = c.out.mapValues { [Frames.hex(Frames.retagged(frame, $0))] }
            #expect(got.mapValues { $0.map(Frames.hex) } == want,
                    "offload \(senderOffload ? "on" : "off"), case \(i) from \(c.port) to \(c.dst)\n\(fdb)")
        }
    }

    /// Field case 2: a frame tagged VID 10 leaves a sender veth with tx-vlan-offload on (the tag
    /// is skb metadata) or off (inline); it leaves a trunk port still tagged 10 (PCP kept) and an
    /// access-10 port untagged, in native and generic XDP. With offload on, the test first shows
    /// the tag really travels as metadata: with the sender's offload turned back on behind
    /// FlowPlane's back, native XDP gets the frame untagged (the VLAN is lost), which is why the
    /// switch turns tx-vlan-offload off on the veth peers it adds.
    @Test(arguments: [(true, "native"), (false, "native"), (true, "generic"), (false, "generic")])
    func tagCarriedAsMetadata(senderOffload: Bool, xdpMode: String) throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let lab = try VLANLab(senderOffload: senderOffload)
        defer { lab.tearDown() }
        let mode = "xdp_mode=\(xdpMode)"
        try lab.addPort("s", [mode])
        try lab.addPort("t", [mode])
        try lab.addPort("a10", ["tag=10", mode])
        try lab.addPort("a20", ["tag=20", mode])
        #expect(try lab.senderOffloadIsOn("s") == false, "FlowPlane did not turn the sender's tx-vlan-offload off")

        var n: UInt8 = senderOffload ? 0x90 : 0xa0
        if xdpMode == "generic" { n += 0x08 }
        if senderOffload {
            // The control: offload on again, no fix, tag as metadata. XDP sees the frame
            // without its tag, so the switch classifies it as VLAN 0: it leaves the all-VLAN
            // trunk t as an untagged frame and no access-10 port gets it. The VLAN is lost.
            // The daemon is stopped meanwhile (the ports keep forwarding), so it cannot undo it.
            lab.daemon.stop()
            try lab.setSenderOffload("s", on: true)
            let src = Frames.mac(n)
            let frame = Frames.ethernet(dst: .broadcast, src: src, vlan: (10, 4))
            try lab.send(frame, on: "s", tagAsMetadata: true)
            let got = lab.captured(from: src, expecting: ["t"])
            #expect(Set(got.keys) == ["t"] && got["t"]?.count == 1,
                    "tx-vlan-offload on, no fix, \(xdpMode) XDP: the tag should be invisible to XDP")
            withKnownIssue("generic XDP: the stale skb->vlan_tci of the sender rides along the redirect, so the copy the switch sent untagged arrives tagged 10", isIntermittent: true) {
                #expect(got["t"]?.map(Frames.hex) == [Frames.hex(Frames.retagged(frame, nil))])
            }
            try lab.setSenderOffload("s", on: false)
            try lab.daemon.start()
            n += 1
        }

        for pcp: UInt8 in [0, 6] {
            let src = Frames.mac(n)
            n += 1
            let frame = Frames.ethernet(dst: .broadcast, src: src, vlan: (10, pcp))
            try lab.send(frame, on: "s")
            let got = lab.captured(from: src, expecting: ["t", "a10"])
            #expect(got.mapValues { $0.map(Frames.hex) } == [
                "t": [Frames.hex(frame)],
                "a10": [Frames.hex(Frames.retagged(frame, nil))],
            ], "offload \(senderOffload ? "on" : "off"), \(xdpMode) XDP, PCP \(pcp)\n\(lab.daemon.log.suffix(2000))")

            // And back: untagged from the access port leaves the trunks tagged 10.
            let back = Frames.ethernet(dst: .broadcast, src: Frames.mac(n))
            n += 1
            try lab.send(back, on: "a10")
            let gotBack = lab.captured(from: Frames.mac(n - 1), expecting: ["s", "t"])
            let tagged = Frames.hex(Frames.retagged(back, (10, 0)))
            #expect(gotBack.mapValues { $0.map(Frames.hex) } == ["s": [tagged], "t": [tagged]])
        }
    }

    /// A host behind an access port whose veth's tx-vlan-offload is turned back on after
    /// add-port sends a frame with VID 10 as skb metadata. Generic XDP would see it untagged,
    /// put it in VLAN 20, and keep the stale metadata tag on the redirected skb: it left the
    /// trunk as VID 10 outside, VID 20 inside, a hop into VLAN 10. So the daemon re-prepares
    /// veth peers every housekeeping period (2 s); this test waits for that and checks, in
    /// both XDP modes, that the tagged frame is then refused by the access port.
    @Test(arguments: ["native", "generic"])
    func accessPortCannotHopWithMetadataTag(xdpMode: String) throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let lab = try VLANLab(senderOffload: true)
        defer { lab.tearDown() }
        let mode = "xdp_mode=\(xdpMode)"
        try lab.addPort("a20", ["tag=20", mode])
        try lab.addPort("t", [mode])
        try lab.addPort("a10", ["tag=10", mode])

        // Behind FlowPlane's back: offload on again. Wait (at most 8 s) for the daemon to undo it.
        try lab.setSenderOffload("a20", on: true)
        var fixed = false
        for _ in 0..<80 where !fixed {
            usleep(100_000)
            fixed = try !lab.senderOffloadIsOn("a20")
        }
        #expect(fixed, "the daemon did not turn the peer's tx-vlan-offload off again\n\(lab.daemon.log.suffix(1500))")
        #expect(lab.daemon.log.contains("prepared it again"))

        let src = Frames.mac(xdpMode == "native" ? 0xc0 : 0xc1)
        let frame = Frames.ethernet(dst: .broadcast, src: src, vlan: (10, 0))
        try lab.send(frame, on: "a20", tagAsMetadata: true)
        // With the tag inline again the access port refuses the tagged frame (spec/vlan.md):
        // nothing leaves, above all nothing in VLAN 10.
        let got = lab.captured(from: src, expecting: [])
        #expect(got.mapValues { $0.map(Frames.hex) } == [:],
                "\(xdpMode) XDP: a tagged frame from a VLAN-20 access host left the switch")
    }
}
