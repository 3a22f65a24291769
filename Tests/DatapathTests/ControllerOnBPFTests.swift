import Foundation
import Logging
import Testing
@testable import FlowPlane

/// The SwitchController over the real BPF datapath on veth ports (root): learning through the
/// ring buffer, unicast after learning, del-port, static entries, the table limit, and a
/// restarted controller that adopts the FDB without flushing.
@Suite(.serialized) struct ControllerOnBPFTests {
    final class Fixture {
        let lab: SwitchLab
        let dir = NSTemporaryDirectory() + UniqueName.make("fpctl")
        var ctl: SwitchController!
        var names: [String: String] = [:]  // label → root-side interface name

        init(ports: [String]) throws {
            lab = try SwitchLab()
            for p in ports { names[p] = try lab.addPort(p, configure: false).name }
            try reopen()
        }
        func reopen() throws {
            var logger = Logger(label: "flowplane.test")
            logger.logLevel = .warning
            ctl = try SwitchController(datapath: lab.datapath, store: ConfigStore(path: dir + "/fp.db"),
                                       interfaces: SystemInterfaces(), fdbCapacity: lab.datapath.fdbCapacity, logger: logger)
            try ctl.reconcile()
        }
        /// Runs a frame into the switch from `label` and lets the controller learn.
        func send(_ src: MACAddress, to dst: MACAddress = .broadcast, on label: String) throws {
            _ = try lab.inject(Frames.ethernet(dst: dst, src: src), on: label)
            for _ in 0..<5 { if try ctl.pollLearnEvents(timeoutMilliseconds: 20) == 0 { break } }
        }
        func fdb() throws -> [MACAddress: String] {
            var out: [MACAddress: String] = [:]
            let byIndex = Dictionary(uniqueKeysWithValues: names.map { (InterfaceIndex(if_nametoindex($0.value)), $0.key) })
            for e in try lab.datapath.fdbEntries() { out[e.key.mac] = byIndex[e.ifindex] }
            return out
        }
        func tearDown() { lab.tearDown(); try? FileManager.default.removeItem(atPath: dir) }
    }

    @Test(.enabled(if: Privileged.shouldRun)) func learningUnicastDelPortAndRestart() throws {
        let f = try Fixture(ports: ["h1", "h2", "h3"])
        defer { f.tearDown() }
        try f.ctl.addBridge("br0")
        for p in ["h1", "h2", "h3"] { _ = try f.ctl.addPort(bridge: "br0", port: f.names[p]!) }
        let a = Frames.mac(1), b = Frames.mac(2), c = Frames.mac(3)
        try f.send(a, on: "h1")
        try f.send(b, to: a, on: "h2")
        try f.send(c, on: "h3")
        #expect(try f.fdb() == [a: "h1", b: "h2", c: "h3"])
        // Known unicast reaches only its port.
        _ = f.lab.captured(from: b, expecting: [])
        _ = try f.lab.inject(Frames.ethernet(dst: a, src: b), on: "h2")
        #expect(Set(f.lab.captured(from: b, expecting: ["h1"]).keys) == ["h1"])
        // Field case 5 through the ring: a moves to h3.
        try f.send(a, on: "h3")
        #expect(try f.fdb()[a] == "h3")
        #expect(try f.ctl.fdbStats("br0").moved == 1)
        // Field case 9: a static entry never moves.
        try f.ctl.addFDB(bridge: "br0", port: f.names["h1"]!, vlan: "0", mac: Frames.mac(9).description)
        try f.send(Frames.mac(9), on: "h2")
        #expect(try f.lab.datapath.fdbEntries().first { $0.key.mac == Frames.mac(9) }.map { $0.isStatic } == true)
        #expect(try f.fdb()[Frames.mac(9)] == "h1")
        // A restarted controller adopts everything without flushing.
        let before = try f.lab.datapath.fdbEntries().count
        try f.reopen()
        #expect(try f.lab.datapath.fdbEntries().count == before)
        #expect(try f.ctl.dumpFDB("br0").count == before)
        // Field case 6: del-port removes the port's entries, static ones included.
        try f.ctl.deletePort(bridge: "br0", port: f.names["h3"]!)
        #expect(try f.fdb() == [b: "h2", Frames.mac(9): "h1"])
        try f.ctl.flushFDB("br0")
        #expect(try f.fdb() == [Frames.mac(9): "h1"])
    }

    @Test(.enabled(if: Privileged.shouldRun)) func fieldCase10TableFull() throws {
        let labels = (1...6).map { "t\($0)" }
        let f = try Fixture(ports: labels)
        defer { f.tearDown() }
        try f.ctl.addBridge("br0")
        for p in labels { _ = try f.ctl.addPort(bridge: "br0", port: f.names[p]!) }
        try f.ctl.setBridge("br0", settings: ["mac-table-size=10"])
        var n: UInt8 = 0
        for p in 1...5 { for _ in 0..<2 { n += 1; try f.send(Frames.mac(n), on: "t\(p)") } }
        for _ in 0..<16 { n += 1; try f.send(Frames.mac(n), on: "t6") }
        let fdb = try f.fdb()
        #expect(fdb.count == 10)
        for p in 1...5 { #expect(fdb.values.contains("t\(p)"), "t\(p) lost every MAC") }
        #expect(try f.ctl.fdbStats("br0").evicted == 16)
    }

    /// An interface deleted while no daemon ran: the next datapath and controller start anyway,
    /// drop it from the maps, keep the other ports forwarding, and pick it up when it returns.
    @Test(.enabled(if: Privileged.shouldRun)) func interfaceGoneWhileDaemonDown() throws {
        let f = try Fixture(ports: ["g1", "g2", "g3"])
        defer { f.tearDown() }
        try f.ctl.addBridge("br0")
        for p in ["g1", "g2", "g3"] { _ = try f.ctl.addPort(bridge: "br0", port: f.names[p]!) }
        try f.send(Frames.mac(0x61), on: "g1")
        try f.send(Frames.mac(0x63), on: "g3")
        let gone = InterfaceIndex(f.lab.ifindex("g3"))
        f.lab.datapath.close()
        f.lab.ports["g3"]!.delete()
        var logger = Logger(label: "flowplane.test")
        logger.logLevel = .error
        let again = try BPFDatapath(pinRoot: f.lab.pinRoot, logger: logger)
        defer { again.close() }
        #expect(!again.adoptedPorts.contains(gone))
        let ctl = try SwitchController(datapath: again, store: ConfigStore(path: f.dir + "/fp.db"),
                                       interfaces: SystemInterfaces(), fdbCapacity: again.fdbCapacity, logger: logger)
        try ctl.reconcile()
        #expect(try !again.ports().contains { $0.ifindex == gone })
        #expect(try again.fdbEntries().map(\.key.mac) == [Frames.mac(0x61)])
        #expect(try ctl.listPorts("br0").count == 3)  // still configured, waiting for the interface
        // Forwarding between the remaining ports goes on.
        try f.lab.socket("g2").send(Frames.ethernet(dst: Frames.mac(0x61), src: Frames.mac(0x62)))
        #expect(f.lab.socket("g1").receive(timeoutMilliseconds: 2000) { Frames.source($0) == Frames.mac(0x62) } != nil)
    }
}
