import CBPF
#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// A BPF map seen through its file descriptor, with typed keys and values (C structs or
/// integers laid out as the map's key and value). The map is not owned: closing it is the
/// loader's business.
public struct BPFMap<Key: BitwiseCopyable, Value: BitwiseCopyable> {
    /// The map's file descriptor.
    public let fd: Int32
    /// The map's name, for error messages.
    public let name: String

    public init(fd: Int32, name: String) {
        self.fd = fd; self.name = name
    }

    /// The value at `key`, or nil when there is none.
    /// - Throws: `BPFError` for any failure but a missing key.
    public func lookup(_ key: Key) throws -> Value? {
        var k = key
        var v = zeroed(Value.self)
        let rc = bpf_map_lookup_elem(fd, &k, &v)
        if rc == -ENOENT { return nil }
        try checkBPF(rc, "bpf_map_lookup_elem(\(name))")
        return v
    }

    /// Stores `value` at `key` (`BPF_ANY` unless `flags` says otherwise).
    public func update(_ key: Key, _ value: Value, flags: UInt64 = UInt64(BPF_ANY)) throws {
        var k = key
        var v = value
        try checkBPF(bpf_map_update_elem(fd, &k, &v, flags), "bpf_map_update_elem(\(name))")
    }

    /// Removes `key`. Returns false when it was not there.
    @discardableResult
    public func delete(_ key: Key) throws -> Bool {
        var k = key
        let rc = bpf_map_delete_elem(fd, &k)
        if rc == -ENOENT { return false }
        try checkBPF(rc, "bpf_map_delete_elem(\(name))")
        return true
    }

    /// Every key, by `bpf_map_get_next_key`.
    public func keys() throws -> [Key] {
        var out: [Key] = []
        var cur = zeroed(Key.self)
        var next = zeroed(Key.self)
        var rc = bpf_map_get_next_key(fd, nil, &next)
        while rc == 0 {
            out.append(next)
            cur = next
            rc = bpf_map_get_next_key(fd, &cur, &next)
        }
        if rc != -ENOENT { try checkBPF(rc, "bpf_map_get_next_key(\(name))") }
        return out
    }

    /// Every (key, value) pair; pairs removed meanwhile are skipped.
    public func entries() throws -> [(Key, Value)] {
        try keys().compactMap { k in try lookup(k).map { (k, $0) } }
    }

    /// The per-CPU values at `key` of a per-CPU map, one per possible CPU.
    public func lookupPerCPU(_ key: Key) throws -> [Value] {
        let cpus = Int(libbpf_num_possible_cpus())
        guard cpus > 0 else { throw BPFError(operation: "libbpf_num_possible_cpus", code: Int32(cpus)) }
        // Per-CPU values are laid out at 8-byte strides.
        let stride = (MemoryLayout<Value>.size + 7) & ~7
        var buf = [UInt8](repeating: 0, count: stride * cpus)
        var k = key
        let rc = buf.withUnsafeMutableBytes { bpf_map_lookup_elem(fd, &k, $0.baseAddress) }
        try checkBPF(rc, "bpf_map_lookup_elem(\(name))")
        return (0..<cpus).map { cpu in
            buf.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: cpu * stride, as: Value.self) }
        }
    }

    /// Sets `key` to `value` on every CPU of a per-CPU map.
    public func updatePerCPU(_ key: Key, _ value: Value) throws {
        let cpus = Int(libbpf_num_possible_cpus())
        guard cpus > 0 else { throw BPFError(operation: "libbpf_num_possible_cpus", code: Int32(cpus)) }
        let stride = (MemoryLayout<Value>.size + 7) & ~7
        var buf = [UInt8](repeating: 0, count: stride * cpus)
        buf.withUnsafeMutableBytes { raw in
            for cpu in 0..<cpus { raw.storeBytes(of: value, toByteOffset: cpu * stride, as: Value.self) }
        }
        var k = key
        let rc = buf.withUnsafeMutableBytes { bpf_map_update_elem(fd, &k, $0.baseAddress, UInt64(BPF_ANY)) }
        try checkBPF(rc, "bpf_map_update_elem(\(name))")
    }
}

/// A value of `T` with every byte zero (C structs and integers).
@inline(__always)
func zeroed<T: BitwiseCopyable>(_: T.Type) -> T {
    let p = UnsafeMutableRawPointer.allocate(byteCount: max(MemoryLayout<T>.size, 1), alignment: MemoryLayout<T>.alignment)
    defer { p.deallocate() }
    p.initializeMemory(as: UInt8.self, repeating: 0, count: max(MemoryLayout<T>.size, 1))
    return p.load(as: T.self)
}
