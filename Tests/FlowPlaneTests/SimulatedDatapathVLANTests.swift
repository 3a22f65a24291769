import Testing
@testable import FlowPlane

/// Frames for the simulation.
enum TestFrame {
    static let src = MACAddress(0x02, 0, 0, 0, 0, 0xaa)
    static func make(dst: MACAddress = .broadcast, src: MACAddress = src, vid: UInt16? = nil, pcp: UInt8 = 0) -> [UInt8] {
        var f = dst.bytes + src.bytes
        if let vid { let tci = UInt16(pcp) << 13 | vid; f += [0x81, 0x00, UInt8(tci >> 8), UInt8(tci & 0xff)] }
        f += [0x08, 0x06] + [UInt8](repeating: 0x5a, count: 28)
        return f
    }
    /// (VID, PCP) of a frame's tag, nil when untagged.
    static func tag(_ f: [UInt8]) -> (vid: UInt16, pcp: UInt8)? {
        guard f[12] == 0x81, f[13] == 0 else { return nil }
        let tci = UInt16(f[14]) << 8 | UInt16(f[15])
        return (tci & 0xfff, UInt8(tci >> 13))
    }
}

@Suite struct SimulatedDatapathVLANTests {
    // Ports of the worked example.
    static let t = port(1), a10 = port(2), a20 = port(3), nt = port(4), nu = port(5)
    static func vid(_ v: UInt16) -> VLANID { VLANID(rawValue: v)! }

    func workedExample() throws -> SimulatedDatapath {
        let dp = SimulatedDatapath()
        try dp.setPort(DatapathPort(ifindex: Self.t, bridge: 1, slot: 0, vlan: .init(trunks: [Self.vid(10), Self.vid(20)])))
        try dp.setPort(DatapathPort(ifindex: Self.a10, bridge: 1, slot: 1, vlan: .init(tag: Self.vid(10))))
        try dp.setPort(DatapathPort(ifindex: Self.a20, bridge: 1, slot: 2, vlan: .init(tag: Self.vid(20))))
        try dp.setPort(DatapathPort(ifindex: Self.nt, bridge: 1, slot: 3, vlan: .init(tag: Self.vid(10), mode: .nativeTagged)))
        try dp.setPort(DatapathPort(ifindex: Self.nu, bridge: 1, slot: 4,
                                    vlan: .init(tag: Self.vid(20), trunks: [Self.vid(10), Self.vid(20)], mode: .nativeUntagged)))
        return dp
    }

    /// Summarises the copies: port → VID (nil untagged) and PCP.
    func run(_ dp: SimulatedDatapath, _ frame: [UInt8], on p: InterfaceIndex) -> [UInt32: String] {
        var out: [UInt32: String] = [:]
        for (ifi, bytes) in dp.inject(frame, ifindex: p) {
            if let tag = TestFrame.tag(bytes) { out[ifi.rawValue] = "\(tag.vid)/\(tag.pcp)" } else { out[ifi.rawValue] = "untagged" }
        }
        return out
    }

    @Test func accessUntagged() throws {
        let dp = try workedExample()
        #expect(run(dp, TestFrame.make(), on: Self.a10) == [1: "10/0", 4: "10/0", 5: "10/0"])
    }
    @Test func accessTaggedDropped() throws {
        let dp = try workedExample()
        #expect(run(dp, TestFrame.make(vid: 10), on: Self.a10).isEmpty)
        #expect(try dp.counters(Self.a10).drops[.vlanIngress] == 1)
    }
    @Test func trunkVID20() throws {
        let dp = try workedExample()
        #expect(run(dp, TestFrame.make(vid: 20), on: Self.t) == [3: "untagged", 4: "20/0", 5: "untagged"])
    }
    @Test func trunkVID30AndUntaggedDropped() throws {
        let dp = try workedExample()
        #expect(run(dp, TestFrame.make(vid: 30), on: Self.t).isEmpty)
        #expect(run(dp, TestFrame.make(), on: Self.t).isEmpty)
        #expect(try dp.counters(Self.t).drops[.vlanIngress] == 2)
    }
    @Test func nativeUntaggedIngress() throws {
        let dp = try workedExample()
        #expect(run(dp, TestFrame.make(), on: Self.nu) == [1: "20/0", 3: "untagged", 4: "20/0"])
    }
    @Test func priorityTaggedKeepsPCP() throws {
        let dp = try workedExample()
        #expect(run(dp, TestFrame.make(vid: 0, pcp: 5), on: Self.nt) == [1: "10/5", 2: "untagged", 5: "10/5"])
    }
    @Test func unicastAfterLearningAndEvents() throws {
        let dp = try workedExample()
        let b = MACAddress(0x02, 0, 0, 0, 0, 0xbb)
        run(dp, TestFrame.make(), on: Self.a10)
        var events: [LearnEvent] = []
        _ = try dp.pollLearnEvents(timeoutMilliseconds: 0) { events.append($0) }
        #expect(events == [LearnEvent(bridge: 1, vlan: Self.vid(10), mac: TestFrame.src, ifindex: Self.a10,
                                      timeNanoseconds: events.first?.timeNanoseconds ?? 0)])
        try dp.installFDB([FDBEntry(key: FDBKey(bridge: 1, vlan: Self.vid(10), mac: TestFrame.src), ifindex: Self.a10)])
        // Unicast from t in VLAN 10 goes to a10 only, untagged.
        #expect(run(dp, TestFrame.make(dst: TestFrame.src, src: b, vid: 10), on: Self.t) == [2: "untagged"])
        // The same MAC in VLAN 20 is unknown: flooded in VLAN 20.
        #expect(run(dp, TestFrame.make(dst: TestFrame.src, src: b, vid: 20), on: Self.t) == [3: "untagged", 4: "20/0", 5: "untagged"])
        // To the ingress port itself: dropped.
        #expect(run(dp, TestFrame.make(dst: TestFrame.src, src: b), on: Self.a10).isEmpty)
        #expect(try dp.counters(Self.a10).drops[.samePort] == 1)
    }
    @Test func isolatedTagAndReserved() throws {
        let dp = try workedExample()
        try dp.setPort(DatapathPort(ifindex: port(9), bridge: 1, slot: 9, vlan: .init(tag: Self.vid(4095))))
        #expect(run(dp, TestFrame.make(), on: port(9)).isEmpty)
        #expect(run(dp, TestFrame.make(vid: 4095), on: Self.t).isEmpty)
        let bpdu = MACAddress(0x01, 0x80, 0xC2, 0, 0, 0)
        #expect(run(dp, TestFrame.make(dst: bpdu, vid: 10), on: Self.t).isEmpty)
        #expect(try dp.counters(Self.t).drops[.reserved] == 1)
    }
    @Test func stpGateAndBPDUToHost() throws {
        let dp = SimulatedDatapath()
        for i in 1...3 { try dp.setPort(DatapathPort(ifindex: port(UInt32(i)), bridge: 1, slot: UInt32(i), stpEnabled: true)) }
        var p2 = try dp.ports()[1]; p2.stpState = .discarding; try dp.setPort(p2)
        #expect(run(dp, TestFrame.make(), on: port(1)) == [3: "untagged"])
        #expect(run(dp, TestFrame.make(src: mac(5)), on: port(2)).isEmpty)
        p2.stpState = .learning; try dp.setPort(p2)
        #expect(run(dp, TestFrame.make(src: mac(6)), on: port(2)).isEmpty)
        var events: [LearnEvent] = []
        _ = try dp.pollLearnEvents(timeoutMilliseconds: 0) { events.append($0) }
        #expect(events.map(\.mac) == [TestFrame.src, mac(6)])
        #expect(run(dp, TestFrame.make(dst: MACAddress(0x01, 0x80, 0xC2, 0, 0, 0)), on: port(1)).isEmpty)
        #expect(dp.toHost.count == 1)
    }
    @Test func noVLANConfigIsPlainBridgeAndBridgesSeparate() throws {
        let dp = SimulatedDatapath()
        for i in 1...3 { try dp.setPort(DatapathPort(ifindex: port(UInt32(i)), bridge: 1, slot: UInt32(i))) }
        try dp.setPort(DatapathPort(ifindex: port(4), bridge: 2, slot: 4))
        #expect(run(dp, TestFrame.make(), on: port(1)) == [2: "untagged", 3: "untagged"])
        #expect(run(dp, TestFrame.make(vid: 7, pcp: 3), on: port(1)) == [2: "7/3", 3: "7/3"])
    }
}

@Suite struct VLANParsingTests {
    @Test func tags() throws {
        #expect(try PortVLANConfig.parseTag("4095").rawValue == 4095)
        #expect(throws: VLANConfigError.self) { try PortVLANConfig.parseTag("4096") }
        do { _ = try PortVLANConfig.parseTag("4096") } catch { #expect("\(error)".contains("4096")) }
    }
    @Test func trunks() throws {
        #expect(try PortVLANConfig.parseTrunks("10,20").count == 2)
        #expect(try PortVLANConfig.parseTrunks("").isEmpty)
        #expect(try PortVLANConfig.parseTrunks("1-3,7").count == 4)
        do { _ = try PortVLANConfig.parseTrunks("abc"); Issue.record("accepted abc") } catch { #expect("\(error)".contains("'abc'")) }
        do { _ = try PortVLANConfig.parseTrunks("10,5000"); Issue.record("accepted 5000") } catch { #expect("\(error)".contains("'5000'")) }
    }
    @Test func modes() throws {
        #expect(try PortVLANConfig.parseMode("native-untagged") == .nativeUntagged)
        do { _ = try PortVLANConfig.parseMode("foo"); Issue.record("accepted foo") } catch { #expect("\(error)".contains("'foo'")) }
    }
    @Test func warning() {
        let c = PortVLANConfig(tag: VLANID(rawValue: 10), trunks: [VLANID(rawValue: 10)!])
        #expect(c.warnings.count == 1 && c.warnings[0].contains("10"))
        #expect(PortVLANConfig(tag: VLANID(rawValue: 10)).warnings.isEmpty)
    }
}
