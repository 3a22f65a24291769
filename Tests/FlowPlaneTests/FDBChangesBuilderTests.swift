import Testing
@testable import FlowPlane

/// FDBChangesBuilder ends the FDB where merging the same changes one by one ends it.
@Suite struct FDBChangesBuilderTests {
    /// The FDB after applying `c` (removals, then installs) to `fdb`.
    func applied(_ c: FDBChanges, to fdb: [FDBKey: FDBEntry]) -> [FDBKey: FDBEntry] {
        var out = fdb
        for k in c.remove { out[k] = nil }
        for e in c.install { out[e.key] = e }
        return out
    }

    func key(_ i: Int) -> FDBKey { FDBKey(bridge: 1, vlan: v0, mac: mac(i)) }

    @Test func sameResultAsMerge() {
        var rng = SplitMix(seed: 7)
        let start = Dictionary(uniqueKeysWithValues: (0..<8).map { (key($0), FDBEntry(key: key($0), ifindex: port(9))) })
        for _ in 0..<200 {
            var merged = FDBChanges()
            var builder = FDBChangesBuilder()
            for _ in 0..<Int(rng.next() % 12) {
                var c = FDBChanges()
                for _ in 0..<Int(rng.next() % 3) {
                    let k = key(Int(rng.next() % 10))
                    c.install.append(FDBEntry(key: k, ifindex: port(UInt32(rng.next() % 4 + 1))))
                }
                for _ in 0..<Int(rng.next() % 3) { c.remove.append(key(Int(rng.next() % 10))) }
                merged.merge(c)
                builder.add(c)
            }
            let built = builder.changes
            #expect(applied(built, to: start) == applied(merged, to: start))
            #expect(Set(built.install.map(\.key)).isDisjoint(with: built.remove))
            #expect(Set(built.install.map(\.key)).count == built.install.count)
        }
    }

    @Test func lastChangeWins() {
        var b = FDBChangesBuilder()
        #expect(b.isEmpty)
        b.add(FDBChanges(install: [FDBEntry(key: key(1), ifindex: port(1))]))
        b.add(FDBChanges(install: [FDBEntry(key: key(2), ifindex: port(1))], remove: [key(1)]))
        b.add(FDBChanges(install: [FDBEntry(key: key(2), ifindex: port(3))]))
        #expect(b.changes == FDBChanges(install: [FDBEntry(key: key(2), ifindex: port(3))], remove: [key(1)]))
    }
}

/// A small deterministic generator for the property test above.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
