import Foundation
import Testing
import FlowPlane

/// Bad input through flowctl on the real daemon (issue 2): exit 1, one sentence on stderr
/// naming the bad value, and `show` and `dump-fdb` unchanged.
@Suite(.serialized, .enabled(if: Privileged.shouldRun))
struct FlowctlBadInputDaemonTests {
    @Test func badInputIsRefusedAndChangesNothing() throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let t = try DaemonTopology()
        defer { t.tearDown() }
        try t.addHost("h1")
        try t.addHost("h2", addPort: false)
        try t.daemon.check(["add-br", "br1"])
        try t.daemon.check(["set", "port", t.port("h1"), "tag=10"])
        let mac = Frames.mac(0xb1).description
        try t.daemon.check(["fdb-add", t.bridge, t.port("h1"), "10", mac])
        let p1 = t.port("h1"), free = t.port("h2")
        let missing = UniqueName.make("fpnone")

        func snapshot() throws -> [String] {
            [try t.daemon.check(["show"]), try t.daemon.check(["dump-fdb", t.bridge]),
             try t.daemon.check(["dump-fdb", "br1"]), try t.daemon.check(["list-ports", t.bridge, "--long"])]
        }
        let before = try snapshot()
        #expect(before[1].contains(mac))

        let cases: [(args: [String], names: String)] = [
            (["add-port", t.bridge, missing], missing),                      // no such interface
            (["add-port", "br1", p1], p1),                                  // already in br0
            (["add-port", t.bridge, p1], p1),                               // already in br0 (same bridge)
            (["fdb-add", t.bridge, p1, "10", "02:46:50:zz:00:01"], "02:46:50:zz:00:01"),  // malformed MAC
            (["fdb-add", t.bridge, p1, "10", "02:46:50:00:01"], "02:46:50:00:01"),
            (["fdb-del", t.bridge, "10", "nonsense"], "nonsense"),
            (["set", "port", p1, "tag=4096"], "4096"),
            (["add-port", t.bridge, free, "tag=4096"], "4096"),
            (["set", "port", p1, "trunks=10,4096"], "4096"),
            (["add-port", "nobr", free], "nobr"),                           // unknown bridge
            (["dump-fdb", "nobr"], "nobr"),
            (["fdb-add", "nobr", p1, "10", mac], "nobr"),
            (["set", "bridge", "nobr", "mac-table-size=10"], "nobr"),
            (["del-br", "nobr"], "nobr"),
            (["del-port", t.bridge, missing], missing),                     // unknown port
            (["del-port", t.bridge, free], free),                           // exists, but no port
            (["set", "port", missing, "tag=5"], missing),
            (["fdb-add", t.bridge, free, "10", Frames.mac(0xb2).description], free),
            (["fdb-add", t.bridge, p1, "4096", Frames.mac(0xb3).description], "4096"),
        ]
        for c in cases {
            let r = try t.daemon.run(c.args)
            let what = "flowctl \(c.args.joined(separator: " ")): \(r)"
            #expect(r.status == 1, "\(what)")
            let err = r.err.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!err.isEmpty && !err.contains("\n"), "not one sentence: \(what)")
            #expect(err.contains(c.names), "does not name \(c.names): \(what)")
            #expect(r.out.isEmpty, "\(what)")
            #expect(try snapshot() == before, "changed something: \(what)")
        }
        // The daemon is still healthy and the port still switches.
        #expect(t.daemon.isRunning)
        #expect(try t.daemon.check(["list-br"]) == "br0\nbr1\n")
    }
}
