import Foundation
import Testing
@testable import FlowPlane

@Suite struct FormattingTests {
    let rows = [FDBRow(port: "p1", vlan: 0, mac: "02:00:00:00:00:01", age: 3, isStatic: false),
                FDBRow(port: "tap0", vlan: 10, mac: "02:00:00:00:00:02", age: nil, isStatic: true)]

    @Test func fdbTableLikeOVS() {
        #expect(Formatting.fdbTable(rows) == """
             port  VLAN  MAC                Age
               p1     0  02:00:00:00:00:01    3
             tap0    10  02:00:00:00:00:02  static

            """)
    }

    @Test func fdbTableWidensForLongPortNames() {
        let long = rows + [FDBRow(port: "vnet-guest42", vlan: 4094, mac: "02:00:00:00:00:03", age: 120, isStatic: false)]
        #expect(Formatting.fdbTable(long) == """
                    port  VLAN  MAC                Age
                      p1     0  02:00:00:00:00:01    3
                    tap0    10  02:00:00:00:00:02  static
            vnet-guest42  4094  02:00:00:00:00:03  120

            """)
    }

    @Test func fdbJSON() throws {
        let data = Formatting.fdbJSON(rows).data(using: .utf8)!
        let arr = try JSONSerialization.jsonObject(with: data) as! [[String: Any]]
        #expect(arr.count == 2)
        #expect(arr[0]["port"] as? String == "p1" && arr[0]["vlan"] as? Int == 0 && arr[0]["age"] as? Int == 3 && arr[0]["static"] == nil)
        #expect(arr[1]["static"] as? Bool == true && arr[1]["age"] == nil && arr[1]["mac"] as? String == "02:00:00:00:00:02")
    }

    @Test func showLikeOVSVsctl() {
        let b = BridgeInfo(name: "br0", number: 1, macAgingTime: 300, macTableSize: 8192, stpEnabled: false, ports: [
            PortInfo(name: "nu", ifindex: 5, vlanMode: "native-untagged", vlanModeSet: true, tag: 20, trunks: [10, 20], xdpMode: "auto", stpState: nil),
            PortInfo(name: "t", ifindex: nil, vlanMode: "trunk", tag: nil, trunks: [], xdpMode: "generic", stpState: nil),
            PortInfo(name: "a", ifindex: 7, vlanMode: "access", tag: 10, trunks: [], xdpMode: "auto", stpState: nil)])
        // vlan_mode only where it was set, as ovs-vsctl prints its columns.
        #expect(Formatting.show([b]) == """
                Bridge br0
                    Port nu
                        tag: 20
                        trunks: [10, 20]
                        vlan_mode: native-untagged
                        Interface nu
                    Port t
                        Interface t
                            error: "no such interface"
                            xdp_mode: generic
                    Port a
                        tag: 10
                        Interface a

            """)
    }

    @Test func listPorts() {
        let p = [PortInfo(name: "a", ifindex: 1, vlanMode: "access", tag: 10, trunks: [], xdpMode: "auto", stpState: nil),
                 PortInfo(name: "b", ifindex: 2, vlanMode: "trunk", tag: nil, trunks: [], xdpMode: "auto", stpState: nil),
                 PortInfo(name: "c", ifindex: 3, vlanMode: "trunk", tag: nil, trunks: [10, 20], xdpMode: "native", stpState: nil)]
        #expect(Formatting.ports(p, long: false) == "a\nb\nc\n")
        let long = Formatting.ports(p, long: true).split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(long[0] == ["PORT", "MODE", "TAG", "TRUNKS", "XDP"])
        #expect(long[1] == ["a", "access", "10", "-", "auto"])
        #expect(long[2] == ["b", "trunk", "-", "all", "auto"])
        #expect(long[3] == ["c", "trunk", "-", "10,20", "native"])
    }

    @Test func portStatsShowVLANDrops() throws {
        var c = PortCounters()
        c.rxPackets = 5; c.drops[.vlanIngress] = 2
        let s = [PortStats(port: "p1", ifindex: 3, counters: c)]
        let text = Formatting.portStats(s)
        #expect(text.contains("rx pkts=5") && text.contains("vlan-ingress=2") && text.contains("drop=2"))
        let arr = try JSONSerialization.jsonObject(with: Formatting.portStatsJSON(s).data(using: .utf8)!) as! [[String: Any]]
        #expect((arr[0]["drops"] as! [String: Int])["vlan-ingress"] == 2)
        #expect(arr[0]["rx_packets"] as? Int == 5)
    }

    @Test func statsAndSTP() {
        let s = FDBStats(bridge: "br0", entries: 2, staticEntries: 1, maxEntries: 10, agingTime: 300, learned: 4, expired: 1, evicted: 1, moved: 2)
        #expect(Formatting.fdbStats(s).contains("Current/maximum MAC entries in the table: 2/10"))
        #expect(Formatting.stp(STPInfo(bridge: "br0", enabled: false)).contains("STP disabled"))
        let on = Formatting.stp(STPInfo(bridge: "br0", enabled: true, ports: [.init(name: "p1", role: "designated", state: "forwarding", pathCost: 20000, portID: "8001")]))
        #expect(on.contains("designated") && on.contains("8001"))
    }

    @Test func requestsRoundTrip() throws {
        let reqs: [ControlRequest] = [.addPort(bridge: "br0", port: "p1", settings: ["tag=1"], mayExist: true), .flushFDB(bridge: nil), .show]
        for r in reqs {
            #expect(try JSONDecoder().decode(ControlRequest.self, from: JSONEncoder().encode(r)) == r)
        }
        let resp = ControlResponse.ok(.fdb(rows), warnings: ["w"])
        #expect(try JSONDecoder().decode(ControlResponse.self, from: JSONEncoder().encode(resp)) == resp)
    }
}
