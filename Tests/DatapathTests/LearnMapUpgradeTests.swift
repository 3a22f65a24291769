import CBPF
import Foundation
import Logging
import Testing
@testable import FlowPlane

/// An upgraded datapath over maps pinned by an older build (root, real BPF): the learn maps,
/// transient state only, are recreated when their parameters changed; the FDB and the ports
/// are kept; learning works through the new ring; and a bounded poll leaves the rest queued.
@Suite(.serialized, .enabled(if: Privileged.shouldRun))
struct LearnMapUpgradeTests {
    var logger: Logger {
        var l = Logger(label: "flowplane.test")
        l.logLevel = .error
        return l
    }

    /// max_entries of the map pinned at `path`.
    func maxEntries(_ path: String) throws -> UInt32 {
        let fd = bpf_obj_get(path)
        try #require(fd >= 0, "bpf_obj_get \(path)")
        defer { close(fd) }
        var info = bpf_map_info()
        var len = UInt32(MemoryLayout<bpf_map_info>.size)
        try #require(bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
        return info.max_entries
    }

    /// Replaces the pin `name` with a new map of the given shape (what an older build made).
    func pinOlder(_ pinRoot: String, _ name: String, _ type: bpf_map_type, key: UInt32, value: UInt32, entries: UInt32) throws {
        unlink(pinRoot + "/" + name)
        let fd = bpf_map_create(type, name, key, value, entries, nil)
        try #require(fd >= 0, "bpf_map_create \(name): \(fd)")
        defer { close(fd) }
        try #require(bpf_obj_pin(fd, pinRoot + "/" + name) == 0)
    }

    @Test func olderLearnMapsAreRecreatedAndTheRestKept() throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let lab = try SwitchLab()
        defer { lab.tearDown() }
        try lab.addPort("p1")
        let kept = FDBEntry(key: FDBKey(bridge: 1, vlan: .untagged, mac: Frames.mac(9)), ifindex: InterfaceIndex(lab.ifindex("p1")),
                            isStatic: true)
        try lab.datapath.installFDB([kept])
        try pinOlder(lab.pinRoot, "fp_learn_ev", BPF_MAP_TYPE_RINGBUF, key: 0, value: 0, entries: 256 * 1024)
        try pinOlder(lab.pinRoot, "fp_learn_pend", BPF_MAP_TYPE_LRU_HASH, key: UInt32(MemoryLayout<fp_fdb_key>.size),
                     value: UInt32(MemoryLayout<fp_learn_pend>.size), entries: 1024)

        let upgraded = try BPFDatapath(pinRoot: lab.pinRoot, fdbCapacity: 4096, logger: logger)
        defer { upgraded.close() }
        #expect(upgraded.handles.recreated_maps == UInt32(CBPF_RECREATED_LEARN_EV.rawValue | CBPF_RECREATED_LEARN_PEND.rawValue))
        #expect(try maxEntries(lab.pinRoot + "/fp_learn_ev") == UInt32(FP_LEARN_RING_BYTES))
        #expect(try maxEntries(lab.pinRoot + "/fp_learn_pend") == UInt32(FP_LEARN_PEND_MAX))
        #expect(try upgraded.fdbEntries() == [kept])
        #expect(upgraded.adoptedPorts == [InterfaceIndex(lab.ifindex("p1"))])

        // The upgraded program reports new MACs on the new ring; a bounded poll takes only some.
        for n in 1...5 {
            var retval: UInt32 = 0
            let f = Frames.ethernet(dst: .broadcast, src: Frames.mac(UInt8(n)))
            let rc = f.withUnsafeBytes {
                cbpf_xdp_test_run(upgraded.handles.ingress_fd, $0.baseAddress, UInt32($0.count), nil, nil, lab.ifindex("p1"), 0, 1, &retval)
            }
            try #require(rc == 0)
        }
        var macs: [MACAddress] = []
        #expect(try upgraded.pollLearnEvents(timeoutMilliseconds: 100, limit: 2) { macs.append($0.mac) } == 2)
        #expect(try upgraded.pollLearnEvents(timeoutMilliseconds: 0) { macs.append($0.mac) } == 3)
        #expect(macs == (1...5).map { Frames.mac(UInt8($0)) })

        // A map that holds state is never replaced: the next load reuses everything as is.
        let again = try BPFDatapath(pinRoot: lab.pinRoot, fdbCapacity: 4096, logger: logger)
        defer { again.close() }
        #expect(again.handles.recreated_maps == 0)
        #expect(try again.fdbEntries() == [kept])
    }

    @Test func otherMismatchesStillFail() throws {
        try #require(Privileged.isRoot, "privileged test: run as root")
        let lab = try SwitchLab()
        defer { lab.tearDown() }
        try pinOlder(lab.pinRoot, "fp_abi", BPF_MAP_TYPE_ARRAY, key: 4, value: 4, entries: 2)
        #expect(throws: BPFError.self) { _ = try BPFDatapath(pinRoot: lab.pinRoot, logger: logger) }
    }
}
