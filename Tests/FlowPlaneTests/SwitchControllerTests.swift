import Foundation
import Testing
@testable import FlowPlane

/// A controller over a SimulatedDatapath and a temporary store.
final class ControllerFixture {
    let dir: String
    let clock = ManualClock()
    let dp: SimulatedDatapath
    let ifs = StaticInterfaces(names: ["p1", "p2", "p3", "p4", "p5", "p6", "p7"])
    var ctl: SwitchController!
    static var counter = 0

    init(fdbCapacity: Int = 1000) throws {
        Self.counter += 1
        dir = NSTemporaryDirectory() + "fp-ctl-\(getpid())-\(Self.counter)-\(UInt32.random(in: 0...UInt32.max))"
        dp = SimulatedDatapath(fdbCapacity: fdbCapacity, clock: clock.read)
        try reopen()
    }
    /// A new controller over the same store and datapath (a restarted daemon).
    func reopen() throws {
        ctl = try SwitchController(datapath: dp, store: try ConfigStore(path: dir + "/db/flowplane.db"), interfaces: ifs,
                                   fdbCapacity: dp.fdbCapacity, clock: clock.read)
        try ctl.reconcile()
    }
    func idx(_ n: String) -> InterfaceIndex { ifs.table[n]! }
    deinit { try? FileManager.default.removeItem(atPath: dir) }

    func frame(_ src: MACAddress, to dst: MACAddress = .broadcast, on p: String, vid: UInt16? = nil) -> [UInt32] {
        let out = dp.inject(TestFrame.make(dst: dst, src: src, vid: vid), ifindex: idx(p)).map(\.ifindex.rawValue)
        try! ctl.pollLearnEvents()
        return out
    }
    func refused(_ r: ControlRequest, _ needle: String) -> Bool {
        let before = ctl.config
        let fdbBefore = (try? dp.fdbEntries().count) ?? -1
        let portsBefore = (try? dp.ports()) ?? []
        let resp = ctl.handle(r)
        let ok = resp.status == .refused && (resp.message ?? "").contains(needle)
        if !ok { Issue.record("\(r) → \(resp)") }
        let same = ctl.config == before && ((try? dp.fdbEntries().count) ?? -2) == fdbBefore && ((try? dp.ports()) ?? []) == portsBefore
        if !same { Issue.record("\(r) changed state") }
        return ok && same
    }
}

@Suite struct SwitchControllerTests {
    @Test func learnEventsInBatchesNoneDropped() throws {
        let f = try ControllerFixture()
        #expect(f.ctl.handle(.addBridge(name: "br0", mayExist: false)).status == .ok)
        #expect(f.ctl.handle(.addPort(bridge: "br0", port: "p1", settings: [], mayExist: false)).status == .ok)
        for i in 1...10 { _ = f.dp.inject(TestFrame.make(dst: .broadcast, src: mac(i)), ifindex: f.idx("p1")) }
        // At most maxEvents per call, in batches; the rest stays queued for the next call.
        #expect(try f.ctl.pollLearnEvents(batchSize: 3, maxEvents: 7) == 7)
        #expect(try f.dp.fdbEntries().count == 7)
        #expect(try f.ctl.pollLearnEvents(batchSize: 3) == 3)
        #expect(try f.dp.fdbEntries().count == 10)
        #expect(try f.ctl.pollLearnEvents() == 0)
    }

    @Test func bridgesPortsAndLearning() throws {
        let f = try ControllerFixture()
        #expect(f.ctl.handle(.addBridge(name: "br0", mayExist: false)).status == .ok)
        for p in ["p1", "p2", "p3"] { #expect(f.ctl.handle(.addPort(bridge: "br0", port: p, settings: [], mayExist: false)).status == .ok) }
        #expect(f.ctl.handle(.listBridges).payload == .names(["br0"]))
        // First frame floods, is learned; the reply is unicast.
        #expect(f.frame(mac(1), on: "p1") == [101, 102])
        #expect(f.frame(mac(2), to: mac(1), on: "p2") == [100])
        let rows = try f.ctl.dumpFDB("br0")
        #expect(rows.map(\.port) == ["p1", "p2"] && rows.allSatisfy { $0.age == 0 && !$0.isStatic })
        #expect(try f.dp.fdbEntries().count == 2)
        // del-port removes the port's entries (field case 6): traffic to them floods again.
        #expect(f.ctl.handle(.deletePort(bridge: "br0", port: "p1", ifExists: false)).status == .ok)
        #expect(try f.dp.fdbEntries().count == 1)
        #expect(f.frame(mac(2), to: mac(1), on: "p2") == [102])
        #expect(f.ctl.handle(.addBridge(name: "br0", mayExist: true)).status == .ok)
        #expect(f.ctl.handle(.deletePort(bridge: nil, port: "p1", ifExists: true)).status == .ok)
    }

    @Test func fieldCase5VMMovedThroughController() throws {
        let f = try ControllerFixture()
        try f.ctl.addBridge("br0")
        for p in ["p1", "p2", "p3"] { _ = try f.ctl.addPort(bridge: "br0", port: p) }
        _ = f.frame(mac(9), on: "p1")
        _ = f.frame(mac(9), on: "p2")  // gratuitous ARP from H on p2
        #expect(f.frame(mac(3), to: mac(9), on: "p3") == [101])
        #expect(try f.ctl.fdbStats("br0").moved == 1)
    }

    @Test func fieldCase4FlappingThroughController() throws {
        let f = try ControllerFixture()
        try f.ctl.addBridge("br0")
        for p in ["p1", "p2", "p3"] { _ = try f.ctl.addPort(bridge: "br0", port: p) }
        for i in 0..<1000 { _ = f.frame(mac(7), on: i % 2 == 0 ? "p1" : "p2"); f.clock.advance(seconds: 0.001) }
        #expect(try f.ctl.dumpFDB("br0").first?.port == "p2")
        #expect(f.frame(mac(3), to: mac(7), on: "p3") == [101])
        #expect(try f.ctl.fdbStats("br0").moved == 999)
    }

    @Test func fieldCase9StaticWins() throws {
        let f = try ControllerFixture()
        try f.ctl.addBridge("br0")
        for p in ["p1", "p2", "p3"] { _ = try f.ctl.addPort(bridge: "br0", port: p) }
        #expect(f.ctl.handle(.addFDB(bridge: "br0", port: "p1", vlan: "0", mac: mac(5).description)).status == .ok)
        // From M on p2: forwarded (flooded) but the entry stays on p1.
        #expect(f.frame(mac(5), on: "p2") == [100, 102])
        #expect(try f.ctl.dumpFDB("br0") == [FDBRow(port: "p1", vlan: 0, mac: mac(5).description, age: nil, isStatic: true)])
        _ = f.frame(mac(6), on: "p3")
        try f.ctl.flushFDB(nil)
        #expect(try f.ctl.dumpFDB("br0").map(\.mac) == [mac(5).description])
        #expect(try f.dp.fdbEntries().count == 1)
        #expect(f.ctl.handle(.deleteFDB(bridge: "br0", vlan: "0", mac: mac(5).description)).status == .ok)
        #expect(try f.dp.fdbEntries().isEmpty && f.ctl.config.staticFDB.isEmpty)
    }

    @Test func fieldCase10TableFull() throws {
        let f = try ControllerFixture()
        try f.ctl.addBridge("br0")
        for p in ["p1", "p2", "p3", "p4", "p5", "p6"] { _ = try f.ctl.addPort(bridge: "br0", port: p) }
        #expect(f.ctl.handle(.setBridge(bridge: "br0", settings: ["mac-table-size=10"])).status == .ok)
        var n = 0
        for p in 1...5 { for _ in 0..<2 { n += 1; f.clock.advance(seconds: 1); _ = f.frame(mac(n), on: "p\(p)") } }
        for _ in 0..<16 { n += 1; f.clock.advance(seconds: 1); _ = f.frame(mac(n), on: "p6") }
        let rows = try f.ctl.dumpFDB("br0")
        #expect(rows.count == 10)
        for p in 1...5 { #expect(rows.contains { $0.port == "p\(p)" }, "p\(p) lost every MAC") }
        #expect(try f.dp.fdbEntries().count == 10)
        #expect(try f.ctl.fdbStats("br0").evicted == 16)
    }

    @Test func ageingSweepUsesDatapathLastSeen() throws {
        let f = try ControllerFixture()
        try f.ctl.addBridge("br0")
        for p in ["p1", "p2"] { _ = try f.ctl.addPort(bridge: "br0", port: p) }
        try f.ctl.setBridge("br0", settings: ["mac-aging-time=10"])
        _ = f.frame(mac(1), on: "p1")
        _ = f.frame(mac(2), on: "p2")
        f.clock.advance(seconds: 8)
        _ = f.frame(mac(1), on: "p1")  // the datapath refreshes last-seen; no learn event
        f.clock.advance(seconds: 3)
        try f.ctl.ageSweep()
        #expect(try f.ctl.dumpFDB("br0").map(\.mac) == [mac(1).description])
        #expect(try f.dp.fdbEntries().count == 1)
        #expect(try f.ctl.fdbStats("br0").expired == 1)
    }

    @Test func vlanSettingsApplyLiveWithWarning() throws {
        let f = try ControllerFixture()
        try f.ctl.addBridge("br0")
        let w = try f.ctl.addPort(bridge: "br0", port: "p1", settings: ["tag=10", "trunks=10,20"])
        #expect(w.count == 1 && w[0].contains("10"))
        _ = try f.ctl.addPort(bridge: "br0", port: "p2", settings: ["trunks=10,20"])
        #expect(try f.dp.ports().first { $0.ifindex == f.idx("p1") }?.vlan.tag?.rawValue == 10)
        #expect(f.frame(mac(1), on: "p1") == [101])
        try f.ctl.clearPort("p1", keys: ["tag"])
        #expect(try f.dp.ports().first { $0.ifindex == f.idx("p1") }?.vlan.tag == nil)
        _ = try f.ctl.setPort("p1", settings: ["tag=20", "vlan_mode=native-untagged"])
        let info = try f.ctl.listPorts("br0")
        #expect(info[0].vlanMode == "native-untagged" && info[0].tag == 20 && info[0].trunks == [10, 20])
        #expect(info[0].vlanModeSet && !info[1].vlanModeSet && info[1].vlanMode == "trunk")
    }

    @Test func badInputIsRefusedAndChangesNothing() throws {
        let f = try ControllerFixture(fdbCapacity: 500)
        try f.ctl.addBridge("br0")
        try f.ctl.addBridge("br1")
        _ = try f.ctl.addPort(bridge: "br0", port: "p1", settings: ["tag=5"])
        #expect(f.refused(.addPort(bridge: "nobr", port: "p2", settings: [], mayExist: false), "'nobr'"))
        #expect(f.refused(.addPort(bridge: "br0", port: "nosuch0", settings: [], mayExist: false), "'nosuch0'"))
        #expect(f.refused(.addPort(bridge: "br1", port: "p1", settings: [], mayExist: false), "'p1'"))
        #expect(f.refused(.addPort(bridge: "br1", port: "p1", settings: [], mayExist: true), "'p1'"))
        #expect(f.refused(.addPort(bridge: "br0", port: "lo", settings: [], mayExist: false), "'lo'"))
        #expect(f.refused(.addPort(bridge: "br0", port: "p2", settings: ["tag=4096"], mayExist: false), "4096"))
        #expect(f.refused(.addPort(bridge: "br0", port: "p2", settings: ["trunks=abc"], mayExist: false), "abc"))
        #expect(f.refused(.addPort(bridge: "br0", port: "p2", settings: ["vlan_mode=foo"], mayExist: false), "foo"))
        #expect(f.refused(.addPort(bridge: "br0", port: "p2", settings: ["tag=7", "trunks=abc"], mayExist: false), "abc"))
        #expect(f.refused(.setPort(port: "p1", settings: ["tag=8", "tag=4096"]), "4096"))
        #expect(f.refused(.setPort(port: "p9", settings: ["tag=8"]), "'p9'"))
        #expect(f.refused(.setPort(port: "p1", settings: ["color=red"]), "color"))
        #expect(f.refused(.addBridge(name: "br0", mayExist: false), "br0"))
        #expect(f.refused(.deleteBridge(name: "brX", ifExists: false), "brX"))
        #expect(f.refused(.deletePort(bridge: "br1", port: "p1", ifExists: false), "p1"))
        #expect(f.refused(.addFDB(bridge: "br0", port: "p1", vlan: "0", mac: "zz:00:00:00:00:01"), "zz:00:00:00:00:01"))
        #expect(f.refused(.addFDB(bridge: "br0", port: "p1", vlan: "4096", mac: "02:00:00:00:00:01"), "4096"))
        #expect(f.refused(.addFDB(bridge: "br0", port: "p1", vlan: "0", mac: "00:00:00:00:00:00"), "00:00:00:00:00:00"))
        #expect(f.refused(.addFDB(bridge: "br0", port: "p1", vlan: "+5", mac: "02:00:00:00:00:01"), "+5"))
        #expect(f.refused(.setPort(port: "p1", settings: ["tag=+5"]), "+5"))
        #expect(f.refused(.addFDB(bridge: "br0", port: "p2", vlan: "0", mac: "02:00:00:00:00:01"), "p2"))
        #expect(f.refused(.deleteFDB(bridge: "br0", vlan: "0", mac: "02:00:00:00:00:01"), "02:00:00:00:00:01"))
        #expect(f.refused(.setBridge(bridge: "br0", settings: ["mac-table-size=0"]), "'0'"))
        #expect(f.refused(.setBridge(bridge: "br0", settings: ["mac-table-size=-5"]), "-5"))
        #expect(f.refused(.setBridge(bridge: "br0", settings: ["mac-aging-time=0"]), "'0'"))
        #expect(f.refused(.setBridge(bridge: "br0", settings: ["mac-table-size=501"]), "501"))
        #expect(f.refused(.setBridge(bridge: "br0", settings: ["mac-aging-time=30", "mac-table-size=501"]), "501"))
        #expect(f.refused(.setBridge(bridge: "br0", settings: ["other_config:stp-priority=100"]), "100"))
        #expect(f.refused(.setBridge(bridge: "br0", settings: ["other_config:stp-hello-time=11"]), "11"))
        #expect(f.refused(.setBridge(bridge: "br0", settings: ["other_config:stp-max-age=41"]), "41"))
        #expect(f.refused(.setBridge(bridge: "br0", settings: ["other_config:stp-forward-delay=3"]), "3"))
        #expect(f.refused(.setBridge(bridge: "br0", settings: ["stp_enable=maybe"]), "maybe"))
        #expect(f.refused(.setPort(port: "p1", settings: ["other_config:stp-path-cost=0"]), "'0'"))
        #expect(f.refused(.setPort(port: "p1", settings: ["other_config:stp-port-priority=17"]), "17"))
        #expect(f.refused(.setPort(port: "p1", settings: ["xdp_mode=turbo"]), "turbo"))
        #expect(f.refused(.clearPort(port: "p1", keys: ["colour"]), "colour"))
        #expect(f.refused(.dumpFDB(bridge: "nobr"), "nobr"))
        f.ifs.masters["p3"] = "linuxbr0"
        #expect(f.refused(.addPort(bridge: "br0", port: "p3", settings: [], mayExist: false), "linuxbr0"))
    }

    @Test func stpSettingsAndStateHooks() throws {
        let f = try ControllerFixture()
        try f.ctl.addBridge("br0")
        for p in ["p1", "p2"] { _ = try f.ctl.addPort(bridge: "br0", port: p) }
        #expect(try f.ctl.stpShow("br0").enabled == false)
        try f.ctl.setBridge("br0", settings: ["stp_enable=true", "other_config:stp-priority=4096", "other_config:forward-bpdu=true"])
        _ = try f.ctl.setPort("p2", settings: ["other_config:stp-admin-edge=true", "other_config:stp-path-cost=2000", "other_config:stp-port-priority=32"])
        let dpPorts = try f.dp.ports()
        #expect(dpPorts.allSatisfy { $0.stpEnabled && $0.forwardBPDU })
        #expect(dpPorts.first { $0.ifindex == f.idx("p1") }?.stpState == .discarding)
        #expect(dpPorts.first { $0.ifindex == f.idx("p2") }?.stpState == .forwarding)
        try f.ctl.setSTPState(port: "p1", .forwarding)
        #expect(try f.dp.ports().first { $0.ifindex == f.idx("p1") }?.stpState == .forwarding)
        _ = f.frame(mac(1), on: "p1")
        try f.ctl.flushLearned(port: "p1")
        #expect(try f.dp.fdbEntries().isEmpty)
        let s = try f.ctl.stpShow("br0")
        #expect(s.enabled && s.ports.map(\.state) == ["forwarding", "forwarding"])
        #expect(f.ctl.config.bridges["br0"]!.stp.priority == 4096)
        #expect(f.ctl.config.ports["p2"]!.stp.pathCost == 2000)
    }

    @Test func restartAdoptsWithoutFlushing() throws {
        let f = try ControllerFixture()
        try f.ctl.addBridge("br0")
        for p in ["p1", "p2", "p3"] { _ = try f.ctl.addPort(bridge: "br0", port: p, settings: p == "p3" ? ["tag=10"] : []) }
        _ = f.frame(mac(1), on: "p1")
        _ = f.frame(mac(2), on: "p2")
        try f.ctl.addFDB(bridge: "br0", port: "p3", vlan: "10", mac: mac(3).description)
        let portsBefore = try f.dp.ports()
        let batches = f.dp.fdbBatches
        try f.reopen()
        #expect(f.dp.fdbBatches == batches, "restart touched the FDB")
        #expect(try f.dp.ports() == portsBefore)
        #expect(try f.ctl.dumpFDB("br0").count == 3)
        #expect(f.ctl.config.ports["p3"]!.vlan.tag?.rawValue == 10)
        // Known MACs still unicast.
        #expect(f.frame(mac(2), to: mac(1), on: "p2") == [100])
    }

    @Test func interfaceVanishesAndReappears() throws {
        let f = try ControllerFixture()
        try f.ctl.addBridge("br0")
        for p in ["p1", "p2"] { _ = try f.ctl.addPort(bridge: "br0", port: p) }
        try f.ctl.addFDB(bridge: "br0", port: "p2", vlan: "0", mac: mac(3).description)
        _ = f.frame(mac(1), on: "p1")
        f.ifs.table["p2"] = nil
        try f.ctl.checkInterfaces()
        #expect(try f.dp.ports().count == 1 && f.dp.fdbEntries().count == 1)
        f.ifs.table["p2"] = InterfaceIndex(200)
        try f.ctl.checkInterfaces()
        #expect(try f.dp.ports().count == 2)
        #expect(try f.dp.fdbEntries().contains { $0.ifindex == InterfaceIndex(200) && $0.isStatic })
    }

    @Test func storeIsDurableAndPrivate() throws {
        let f = try ControllerFixture()
        try f.ctl.addBridge("br0")
        _ = try f.ctl.addPort(bridge: "br0", port: "p1", settings: ["tag=10"])
        let path = f.dir + "/db/flowplane.db"
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attrs[.posixPermissions] as? Int) == 0o600)
        let d = try f.ctl.store.durability()
        #expect(d.journalMode == "wal" && d.synchronous == 2)
        let c = try ConfigStore(path: path).load()
        #expect(c.ports["p1"]?.vlan.tag?.rawValue == 10 && c.bridges["br0"]?.number == 1)
        try f.ctl.deleteBridge("br0")
        #expect(try ConfigStore(path: path).load() == SwitchConfig())
    }
}

@Suite struct STPHookTests {
    @Test func bpduTransportObserverAndShowProvider() throws {
        let f = try ControllerFixture()
        var observed = 0
        f.ctl.configObserver = { _ in observed += 1 }
        try f.ctl.addBridge("br0")
        for p in ["p1", "p2"] { _ = try f.ctl.addPort(bridge: "br0", port: p) }
        try f.ctl.setBridge("br0", settings: ["stp_enable=true"])
        #expect(observed == 4)
        // A BPDU arriving with STP on goes to the control plane, not to other ports.
        let bpdu = MACAddress(0x01, 0x80, 0xC2, 0, 0, 0).bytes + mac(1).bytes + [0x00, 0x26, 0x42, 0x42, 0x03] + [UInt8](repeating: 0, count: 35)
        #expect(f.dp.inject(bpdu, ifindex: f.idx("p1")).isEmpty)
        var got: [(InterfaceIndex, [UInt8])] = []
        #expect(try f.dp.receive { got.append(($0, $1)) } == 1)
        #expect(got.first?.0 == f.idx("p1") && got.first?.1 == bpdu)
        try f.dp.send(bpdu, ifindex: f.idx("p2"))
        #expect(f.dp.transmitted.count == 1)
        f.ctl.stpShowProvider = { b in STPInfo(bridge: b.name, enabled: true, bridgeID: "8000.020000000001") }
        #expect(try f.ctl.stpShow("br0").bridgeID == "8000.020000000001")
        // Ports of a bridge for the STP wiring.
        #expect(f.ctl.bridgePorts("br0").map(\.name) == ["p1", "p2"])
    }
}

/// A port the datapath refuses (at start or when its interface returns) does not keep the
/// daemon or the other ports down; it is retried, shown with its error, and can be deleted.
@Suite struct PortSetupFailureTests {
    @Test func refusedPortAtStartIsRetried() throws {
        let f = try ControllerFixture()
        try f.ctl.addBridge("br0")
        for p in ["p1", "p2"] { _ = try f.ctl.addPort(bridge: "br0", port: p) }
        f.dp.failingSetPort = [f.idx("p2")]
        try f.dp.removePort(f.idx("p2"))
        try f.reopen()  // must not throw
        #expect(try f.dp.ports().map(\.ifindex) == [f.idx("p1")])
        let shown = f.ctl.show().flatMap(\.ports).first { $0.name == "p2" }
        #expect(shown?.ifindex == nil && (shown?.error ?? "").contains("cannot set up"))
        #expect(Formatting.show(f.ctl.show()).contains("cannot set up"))
        try f.ctl.checkInterfaces()  // still refused: nothing changes, nothing thrown
        #expect(try f.dp.ports().count == 1)
        f.dp.failingSetPort = []
        try f.ctl.checkInterfaces()
        #expect(try Set(f.dp.ports().map(\.ifindex)) == [f.idx("p1"), f.idx("p2")])
        #expect(f.ctl.setupFailures.isEmpty)
    }

    @Test func refusedPortCanBeDeleted() throws {
        let f = try ControllerFixture()
        try f.ctl.addBridge("br0")
        for p in ["p1", "p2"] { _ = try f.ctl.addPort(bridge: "br0", port: p) }
        // What an earlier daemon left differs from the config, and the datapath refuses the update.
        var stale = try #require(try f.dp.ports().first { $0.ifindex == f.idx("p2") })
        stale.vlan = PortVLANConfig(tag: VLANID(rawValue: 7), mode: .access)
        try f.dp.setPort(stale)
        f.dp.failingSetPort = [f.idx("p2")]
        try f.reopen()
        #expect(f.ctl.setupFailures["p2"] != nil)
        try f.ctl.deletePort(bridge: "br0", port: "p2")
        #expect(try f.dp.ports().map(\.ifindex) == [f.idx("p1")])
        #expect(f.ctl.setupFailures.isEmpty)
    }
}

@Suite struct NonEthernetPortTests {
    @Test func nonEthernetInterfaceIsRefused() throws {
        let f = try ControllerFixture()
        try f.ctl.addBridge("br0")
        f.ifs.linkTypes["p3"] = 65534  // a tun device (ARPHRD_NONE)
        #expect(f.refused(.addPort(bridge: "br0", port: "p3", settings: [], mayExist: false), "'p3' is not an Ethernet interface"))
        #expect(try f.dp.ports().isEmpty)
        _ = try f.ctl.addPort(bridge: "br0", port: "p1")
    }
}

@Suite struct StaticEntryWarningTests {
    @Test func staticEntryOutsideThePortsVLANsWarns() throws {
        let f = try ControllerFixture()
        try f.ctl.addBridge("br0")
        _ = try f.ctl.addPort(bridge: "br0", port: "p1", settings: ["tag=10"])
        let ok = f.ctl.handle(.addFDB(bridge: "br0", port: "p1", vlan: "10", mac: "02:00:00:00:00:01"))
        #expect(ok.status == .ok && ok.warnings.isEmpty)
        let warned = f.ctl.handle(.addFDB(bridge: "br0", port: "p1", vlan: "20", mac: "02:00:00:00:00:02"))
        #expect(warned.status == .ok && warned.warnings.count == 1 && warned.warnings[0].contains("VLAN 20"))
    }
}
