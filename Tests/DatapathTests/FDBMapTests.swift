import CBPF
import Foundation
import Logging
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

    static func mapInfo(_ fd: Int32) -> bpf_map_info {
        var info = bpf_map_info()
        var len = UInt32(MemoryLayout<bpf_map_info>.size)
        _ = bpf_obj_get_info_by_fd(fd, &info, &len)
        return info
    }

    /// A new FDB of capacity C is a hash map of FP_FDB_HEADROOM × C entries, unpreallocated
    /// (the kernel sizes its buckets from that, so a full FDB keeps short chains); a
    /// restarted datapath keeps it as it is; an FDB pinned by an older build (preallocated,
    /// exactly its capacity) is adopted with its own size and flags.
    @Test func fdbMapHeadroomAndAdoption() throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        var logger = Logger(label: "flowplane.test")
        logger.logLevel = .warning
        let lab = try SwitchLab(fdbCapacity: 16384)
        defer { lab.tearDown() }
        var info = Self.mapInfo(lab.datapath.handles.fdb_fd)
        #expect(info.max_entries == 16384 * UInt32(FP_FDB_HEADROOM))
        #expect(info.map_flags & UInt32(BPF_F_NO_PREALLOC) != 0)
        let again = try BPFDatapath(pinRoot: lab.pinRoot, fdbCapacity: 999, logger: logger)
        #expect(again.fdbCapacity == 16384)
        again.close()

        let oldRoot = "/sys/fs/bpf/" + UniqueName.make("fptest_")
        try FileManager.default.createDirectory(atPath: oldRoot, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: oldRoot) }
        let fd = bpf_map_create(BPF_MAP_TYPE_HASH, "fp_fdb", UInt32(MemoryLayout<fp_fdb_key>.size),
                                UInt32(MemoryLayout<fp_fdb_value>.size), 5000, nil)
        try #require(fd >= 0)
        #expect(bpf_obj_pin(fd, oldRoot + "/fp_fdb") == 0)
        Glibc.close(fd)
        let adopted = try BPFDatapath(pinRoot: oldRoot, fdbCapacity: 16384, logger: logger)
        defer { try? adopted.destroy() }
        #expect(adopted.fdbCapacity == 5000)
        info = Self.mapInfo(adopted.handles.fdb_fd)
        #expect(info.max_entries == 5000 && info.map_flags & UInt32(BPF_F_NO_PREALLOC) == 0)
    }

    /// A pin root that is not on a bpffs is refused with an error naming it, and nothing is
    /// mounted over it or its parent (a mount would hide what that directory holds).
    @Test func pinRootOffBPFFSIsRefusedWithoutMounting() throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let dir = NSTemporaryDirectory() + UniqueName.make("fptest_nobpffs")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        FileManager.default.createFile(atPath: dir + "/keep", contents: Data("x".utf8))
        var logger = Logger(label: "flowplane.test")
        logger.logLevel = .critical
        #expect {
            _ = try BPFDatapath(pinRoot: dir + "/pins", logger: logger)
        } throws: { error in
            "\(error)".contains(dir + "/pins") && "\(error)".contains("not on a bpffs")
        }
        let mounts = try String(contentsOfFile: "/proc/mounts", encoding: .utf8)
        #expect(!mounts.contains(dir), "something was mounted under \(dir)")
        #expect(FileManager.default.fileExists(atPath: dir + "/keep"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/pins"))
    }
}
