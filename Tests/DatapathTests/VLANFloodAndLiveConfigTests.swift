import Foundation
import Testing
import FlowPlane

/// Field case 3 (flood is exact) and live VLAN reconfiguration through `flowctl set port` /
/// `clear port` on real veth ports and the real daemon: changes reach the datapath at once,
/// bad values change nothing, and the result survives a daemon restart.
@Suite(.serialized, .enabled(if: Privileged.shouldRun))
struct VLANFloodAndLiveConfigTests {
    /// Field case 3: four ports in VLAN 10 and one in VLAN 20; a broadcast from port 1 gives
    /// exactly one copy on ports 2–4, none back on port 1, none on the VLAN-20 port.
    @Test func fieldCase3FloodIsExact() throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let lab = try VLANLab(senderOffload: false)
        defer { lab.tearDown() }
        for label in ["p1", "p2", "p3", "p4"] { try lab.addPort(label, ["tag=10"]) }
        try lab.addPort("p5", ["tag=20"])
        for n in 0..<5 {
            let src = Frames.mac(0x30 + UInt8(n))
            let frame = Frames.ethernet(dst: .broadcast, src: src)
            try lab.send(frame, on: "p1")
            let got = lab.captured(from: src, expecting: ["p2", "p3", "p4"])
            let want = Dictionary(uniqueKeysWithValues: ["p2", "p3", "p4"].map { ($0, [Frames.hex(frame)]) })
            #expect(got.mapValues { $0.map(Frames.hex) } == want, "broadcast \(n) from p1")
        }
    }

    /// `set port` / `clear port` apply live without disturbing other ports, refuse bad values
    /// whole, warn about a tag listed in an access port's trunks, isolate with tag=4095, and
    /// persist across a daemon restart.
    @Test func liveSetClearRefuseAndPersist() throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let lab = try VLANLab(senderOffload: false)
        defer { lab.tearDown() }
        try lab.addPort("a", ["tag=10"])
        try lab.addPort("b", ["tag=10"])
        try lab.addPort("c", ["tag=20"])
        let c = lab.name("c")
        var n: UInt8 = 0
        /// Sends a broadcast from `port`; returns each receiving port's frames as hex.
        func flood(from port: String, expecting: Set<String>) throws -> (frame: [UInt8], got: [String: [String]]) {
            n += 1
            let src = Frames.mac(0x40 + n)
            let frame = Frames.ethernet(dst: .broadcast, src: src)
            try lab.send(frame, on: port)
            return (frame, lab.captured(from: src, expecting: expecting).mapValues { $0.map(Frames.hex) })
        }

        var r = try flood(from: "a", expecting: ["b"])
        #expect(r.got == ["b": [Frames.hex(r.frame)]], "before: VLAN 10 reaches b only")

        // Live: c joins VLAN 10; a's traffic to b keeps flowing.
        try lab.daemon.check(["set", "port", c, "tag=10"])
        r = try flood(from: "a", expecting: ["b", "c"])
        #expect(r.got == ["b": [Frames.hex(r.frame)], "c": [Frames.hex(r.frame)]], "after set port tag=10")

        // Refused whole: the good half (tag=30) is not applied either.
        let before = try lab.daemon.check(["list-ports", "br0", "--long"])
        let bad = try lab.daemon.run(["set", "port", c, "tag=30", "trunks=abc"])
        #expect(bad.status == 1 && bad.err.contains("abc"), "\(bad)")
        #expect(try lab.daemon.check(["list-ports", "br0", "--long"]) == before)
        r = try flood(from: "a", expecting: ["b", "c"])
        #expect(r.got.keys.sorted() == ["b", "c"], "a refused set changed the datapath")

        // A tag also listed in an access port's trunks is accepted with a warning.
        let warned = try lab.daemon.run(["set", "port", lab.name("b"), "trunks=10"])
        #expect(warned.status == 0 && warned.err.contains("warning"), "\(warned)")

        // tag=4095 isolates: nothing in, nothing out.
        try lab.daemon.check(["set", "port", c, "tag=4095"])
        r = try flood(from: "a", expecting: ["b"])
        #expect(r.got == ["b": [Frames.hex(r.frame)]], "tag=4095: c must get nothing")
        r = try flood(from: "c", expecting: [])
        #expect(r.got.isEmpty, "tag=4095: nothing from c may leave")

        // clear port c tag: c becomes a trunk of all VLANs, VLAN 10 leaves it tagged.
        try lab.daemon.check(["clear", "port", c, "tag"])
        let showLong = try lab.daemon.check(["list-ports", "br0", "--long"])
        #expect(showLong.contains(c) && showLong.contains("trunk"), "\(showLong)")
        r = try flood(from: "a", expecting: ["b", "c"])
        #expect(r.got == ["b": [Frames.hex(r.frame)], "c": [Frames.hex(Frames.retagged(r.frame, (10, 0)))]], "after clear tag")

        // The result persists: the same config and behaviour after a restart.
        #expect(lab.daemon.stop() == 0)
        try lab.daemon.start()
        #expect(try lab.daemon.check(["list-ports", "br0", "--long"]) == showLong)
        r = try flood(from: "a", expecting: ["b", "c"])
        #expect(r.got == ["b": [Frames.hex(r.frame)], "c": [Frames.hex(Frames.retagged(r.frame, (10, 0)))]], "after restart")

        // dump-ports counts the VLAN drops (a's VLAN-10 frames refused on a VLAN-20 access port).
        try lab.daemon.check(["set", "port", c, "tag=20"])
        let tagged = Frames.ethernet(dst: .broadcast, src: Frames.mac(0x7f), vlan: (10, 0))
        try lab.send(tagged, on: "c")
        var drops: UInt64 = 0
        var ports = ""
        for _ in 0..<40 where drops == 0 {  // bounded: 40 × 50 ms
            ports = try lab.daemon.check(["dump-ports", "br0", "--format", "json"])
            drops = Self.counter("vlan-ingress", port: c, in: ports)
            if drops == 0 { usleep(50_000) }
        }
        #expect(drops >= 1, "no vlan-ingress drop counted on \(c): \(ports)")
    }

    /// The counter `key` (anywhere in the port's object) of port `port` in dump-ports JSON.
    static func counter(_ key: String, port: String, in json: String) -> UInt64 {
        guard let rows = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]] else { return 0 }
        func find(_ v: Any) -> UInt64? {
            if let d = v as? [String: Any] {
                if let n = d[key] as? NSNumber { return n.uint64Value }
                for x in d.values { if let r = find(x) { return r } }
            }
            return nil
        }
        for row in rows where row.values.contains(where: { ($0 as? String) == port }) { return find(row) ?? 0 }
        return 0
    }
}
