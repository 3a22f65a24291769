import Testing
@testable import FlowPlane

@Suite struct MACLearningTableTests {
    @Test func learnsAndProjectsInstall() {
        let clock = ManualClock()
        let t = MACLearningTable(bridge: 1, clock: clock.read)
        let c = t.learn(mac: mac(1), vlan: v0, port: port(1))
        #expect(c.install.count == 1 && c.remove.isEmpty)
        #expect(c.install[0].key == FDBKey(bridge: 1, vlan: v0, mac: mac(1)))
        #expect(c.install[0].ifindex == port(1))
        #expect(t.counters.learned == 1)
        // Same port again: nothing to install.
        #expect(t.learn(mac: mac(1), vlan: v0, port: port(1)).isEmpty)
        #expect(t.counters.learned == 1)
        // Multicast sources are never learned.
        #expect(t.learn(mac: .broadcast, vlan: v0, port: port(1)).isEmpty)
    }

    @Test func agesOnManualClock() {
        let clock = ManualClock()
        let t = MACLearningTable(bridge: 1, agingTime: 300, clock: clock.read)
        t.learn(mac: mac(1), vlan: v0, port: port(1))
        clock.advance(seconds: 200)
        t.learn(mac: mac(2), vlan: v0, port: port(2))
        clock.advance(seconds: 99)
        #expect(t.age().isEmpty)
        clock.advance(seconds: 1)
        let c = t.age()
        #expect(c.remove == [FDBKey(bridge: 1, vlan: v0, mac: mac(1))])
        #expect(t.counters.expired == 1)
        #expect(t.count == 1)
        clock.advance(seconds: 200)
        #expect(t.age().remove.count == 1)
        #expect(t.count == 0)
    }

    @Test func datapathLastSeenKeepsEntryAlive() {
        let clock = ManualClock()
        let t = MACLearningTable(bridge: 1, agingTime: 10, clock: clock.read)
        t.learn(mac: mac(1), vlan: v0, port: port(1))
        clock.advance(seconds: 8)
        t.noteLastSeen([FDBEntry(key: FDBKey(bridge: 1, vlan: v0, mac: mac(1)), ifindex: port(1), lastSeenNanoseconds: clock.now)])
        clock.advance(seconds: 8)
        #expect(t.age().isEmpty)
        clock.advance(seconds: 2)
        #expect(t.age().remove.count == 1)
    }

    @Test func agingTimeChange() {
        let clock = ManualClock()
        let t = MACLearningTable(bridge: 1, clock: clock.read)
        t.learn(mac: mac(1), vlan: v0, port: port(1))
        clock.advance(seconds: 20)
        #expect(t.age().isEmpty)
        t.setAgingTime(15)
        #expect(t.age().remove.count == 1)
    }

    @Test func movesAreCountedAndInstalled() {
        let clock = ManualClock()
        let t = MACLearningTable(bridge: 1, clock: clock.read)
        t.learn(mac: mac(1), vlan: v0, port: port(1))
        let c = t.learn(mac: mac(1), vlan: v0, port: port(2))
        #expect(c.install.map(\.ifindex) == [port(2)])
        #expect(t.counters.moved == 1)
        #expect(t.entry(vlan: v0, mac: mac(1))?.port == port(2))
        #expect(t.dynamicCount(port: port(1)) == 0)
        #expect(t.dynamicCount(port: port(2)) == 1)
    }

    @Test func perVLAN() {
        let t = MACLearningTable(bridge: 1, clock: ManualClock().read)
        t.learn(mac: mac(1), vlan: VLANID(rawValue: 10)!, port: port(1))
        t.learn(mac: mac(1), vlan: VLANID(rawValue: 20)!, port: port(2))
        #expect(t.count == 2)
        #expect(t.counters.moved == 0)
    }

    /// Field case 4 at the logic level: one MAC flapping between p1 and p2, 1000/s for 5 s.
    @Test func fieldCase4Flapping() {
        let clock = ManualClock()
        let t = MACLearningTable(bridge: 1, clock: clock.read)
        var last = port(0)
        for i in 0..<5000 {
            clock.advance(seconds: 0.001)
            last = port(i % 2 == 0 ? 1 : 2)
            t.learn(mac: mac(7), vlan: v0, port: last)
        }
        #expect(t.entry(vlan: v0, mac: mac(7))?.port == last)
        #expect(t.counters.moved == 4999)
        #expect(t.counters.learned == 1)
        #expect(t.count == 1)
    }

    /// Field case 5: VM moved; a gratuitous ARP on p2 moves H.
    @Test func fieldCase5VMMoved() {
        let t = MACLearningTable(bridge: 1, clock: ManualClock().read)
        t.learn(mac: mac(9), vlan: v0, port: port(1))
        let c = t.learn(mac: mac(9), vlan: v0, port: port(2))
        #expect(c.install == [FDBEntry(key: FDBKey(bridge: 1, vlan: v0, mac: mac(9)), ifindex: port(2),
                                       lastSeenNanoseconds: c.install[0].lastSeenNanoseconds)])
    }

    /// Field case 9: a static entry never moves; flush removes dynamic only.
    @Test func fieldCase9StaticWins() throws {
        let clock = ManualClock()
        let t = MACLearningTable(bridge: 1, agingTime: 10, clock: clock.read)
        let c = try t.addStatic(mac: mac(1), vlan: v0, port: port(1))
        #expect(c.install.first?.isStatic == true)
        #expect(t.learn(mac: mac(1), vlan: v0, port: port(2)).isEmpty)
        #expect(t.entry(vlan: v0, mac: mac(1))?.port == port(1))
        #expect(t.counters.moved == 0)
        t.learn(mac: mac(2), vlan: v0, port: port(2))
        clock.advance(seconds: 100)
        #expect(t.age().remove == [FDBKey(bridge: 1, vlan: v0, mac: mac(2))])
        t.learn(mac: mac(3), vlan: v0, port: port(2))
        let f = t.flush()
        #expect(f.remove == [FDBKey(bridge: 1, vlan: v0, mac: mac(3))])
        #expect(t.count == 1 && t.entry(vlan: v0, mac: mac(1))?.isStatic == true)
        // Static replaces dynamic.
        t.learn(mac: mac(4), vlan: v0, port: port(2))
        _ = try t.addStatic(mac: mac(4), vlan: v0, port: port(3))
        #expect(t.entry(vlan: v0, mac: mac(4))?.port == port(3))
        #expect(t.dynamicCount(port: port(2)) == 0)
        // Removing a port removes statics too.
        #expect(t.removePort(port(1)).remove.count == 1)
    }

    /// Field case 10: size 10, p1…p5 learn two MACs each, then 16 new MACs on p6.
    @Test func fieldCase10FairEviction() {
        let clock = ManualClock()
        let t = MACLearningTable(bridge: 1, maxEntries: 10, clock: clock.read)
        var n = 0
        for p in 1...5 {
            for _ in 0..<2 { n += 1; clock.advance(seconds: 1); t.learn(mac: mac(n), vlan: v0, port: port(UInt32(p))) }
        }
        #expect(t.count == 10)
        var removed = 0
        for _ in 0..<16 {
            n += 1; clock.advance(seconds: 1)
            let c = t.learn(mac: mac(n), vlan: v0, port: port(6))
            #expect(c.install.count == 1)
            #expect(c.remove.count == 1)
            removed += c.remove.count
            #expect(t.count == 10)
        }
        // p6 grows while others hold more than it; from then on it evicts its own oldest.
        #expect((1...6).map { t.dynamicCount(port: port(UInt32($0))) } == [1, 1, 1, 2, 2, 3])
        #expect(t.counters.evicted == 16)
        // p6 kept its newest MACs.
        #expect(t.entry(vlan: v0, mac: mac(n)) != nil)
        #expect(t.entry(vlan: v0, mac: mac(11)) == nil)
        // The first round took each port's older MAC.
        #expect(t.entry(vlan: v0, mac: mac(1)) == nil && t.entry(vlan: v0, mac: mac(2)) != nil)
    }

    @Test func shrinkingEvictsAndStaticsCount() throws {
        let t = MACLearningTable(bridge: 1, maxEntries: 4, clock: ManualClock().read)
        for i in 1...4 { t.learn(mac: mac(i), vlan: v0, port: port(UInt32(i % 2 + 1))) }
        #expect(t.setMaxEntries(2).remove.count == 2)
        #expect(t.count == 2)
        _ = try t.addStatic(mac: mac(10), vlan: v0, port: port(1))
        _ = try t.addStatic(mac: mac(11), vlan: v0, port: port(1))
        #expect(t.count == 2 && t.staticCount == 2)
        #expect(throws: LearningTableError.full(2)) { try t.addStatic(mac: mac(12), vlan: v0, port: port(1)) }
        // A full table of statics learns nothing new.
        #expect(t.learn(mac: mac(13), vlan: v0, port: port(2)).install.isEmpty)
    }

    @Test func adoptRebuildsWithoutChanges() {
        let clock = ManualClock()
        let t = MACLearningTable(bridge: 2, agingTime: 5, clock: clock.read)
        t.adopt([FDBEntry(key: FDBKey(bridge: 2, vlan: v0, mac: mac(1)), ifindex: port(3), lastSeenNanoseconds: clock.now),
                 FDBEntry(key: FDBKey(bridge: 2, vlan: v0, mac: mac(2)), ifindex: port(3), isStatic: true),
                 FDBEntry(key: FDBKey(bridge: 9, vlan: v0, mac: mac(3)), ifindex: port(3))])
        #expect(t.count == 2)
        clock.advance(seconds: 6)
        #expect(t.age().remove.count == 1)
        #expect(t.count == 1)
    }

    @Test func changesMerge() {
        var a = FDBChanges(install: [FDBEntry(key: FDBKey(bridge: 1, vlan: v0, mac: mac(1)), ifindex: port(1))])
        a.merge(FDBChanges(remove: [FDBKey(bridge: 1, vlan: v0, mac: mac(1))]))
        #expect(a.install.isEmpty && a.remove.count == 1)
        a.merge(FDBChanges(install: [FDBEntry(key: FDBKey(bridge: 1, vlan: v0, mac: mac(1)), ifindex: port(2))]))
        #expect(a.remove.isEmpty && a.install.count == 1)
    }

    @Test func macFloodOnFullLargeTable() {
        let clock = ManualClock()
        let t = MACLearningTable(bridge: 1, maxEntries: 8192, clock: clock.read)
        for i in 0..<8192 { clock.advance(seconds: 0.001); t.learn(mac: mac(i), vlan: v0, port: port(UInt32(i % 4 + 1))) }
        for i in 0..<5000 { clock.advance(seconds: 0.001); t.learn(mac: MACAddress(0x02, 0, 1, 0, UInt8(i >> 8), UInt8(i & 0xff)), vlan: v0, port: port(9)) }
        #expect(t.count == 8192)
        #expect((1...4).allSatisfy { t.dynamicCount(port: port(UInt32($0))) >= 1600 })
        #expect(t.dynamicCount(port: port(9)) <= 1640)
    }
}
