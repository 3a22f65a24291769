import CBPF
import Foundation
import Testing
@testable import FlowPlane

/// installFDB / removeFDB / fdbEntries on the real map, in bulk.
@Suite(.serialized, .enabled(if: Privileged.shouldRun))
struct FDBMapTests {
    @Test func bulkRoundTrip() throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let lab = try SwitchLab(fdbCapacity: 16384)
        defer { lab.tearDown() }
        #expect(lab.datapath.fdbCapacity == 16384)
        var entries: [FDBEntry] = []
        for i in 0..<10000 {
            let mac = MACAddress(0x02, 0, 0, UInt8((i >> 16) & 0xff), UInt8((i >> 8) & 0xff), UInt8(i & 0xff))
            let key = FDBKey(bridge: 1 + UInt32(i % 3), vlan: VLANID(rawValue: UInt16(i % 4095))!, mac: mac)
            entries.append(FDBEntry(key: key, ifindex: InterfaceIndex(UInt32(100 + i % 7)), isStatic: i % 5 == 0,
                                    lastSeenNanoseconds: UInt64(i)))
        }
        try lab.datapath.installFDB(entries)
        let batched = try lab.datapath.fdbEntriesBatched()
        #expect(batched.count == entries.count)
        let read = try lab.datapath.fdbEntries()
        #expect(Dictionary(uniqueKeysWithValues: read.map { ($0.key, $0) }) == Dictionary(uniqueKeysWithValues: entries.map { ($0.key, $0) }))
        // Replacing keeps nothing of the old entry.
        var moved = entries[1]
        moved.ifindex = InterfaceIndex(999)
        moved.lastSeenNanoseconds = 0
        try lab.datapath.installFDB([moved])
        #expect(try lab.datapath.fdbEntries().first { $0.key == moved.key } == moved)
        // Removal in bulk; absent keys are ignored.
        var gone: [FDBKey] = entries.prefix(6000).map { (e: FDBEntry) in e.key }
        gone.append(FDBKey(bridge: 9, vlan: .untagged, mac: .broadcast))
        try lab.datapath.removeFDB(gone)
        #expect(try lab.datapath.fdbEntries().count == 4000)
    }
}
