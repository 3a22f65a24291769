import CBPF

/// Conversions between the model types and the ABI structs of flowplane_abi.h.
extension BPFDatapath {
    static func encode(_ port: DatapathPort) -> fp_port {
        var p = fp_port()
        p.bridge = port.bridge
        p.slot = port.slot
        var flags: UInt32 = 0
        if port.stpEnabled { flags |= UInt32(FP_PORT_F_STP.rawValue) }
        if port.forwardBPDU { flags |= UInt32(FP_PORT_F_FORWARD_BPDU.rawValue) }
        if port.vlan.tag != nil { flags |= UInt32(FP_PORT_F_TAG_SET.rawValue) }
        if port.vlan.mode != nil { flags |= UInt32(FP_PORT_F_MODE_SET.rawValue) }
        if !port.vlan.trunks.isEmpty { flags |= UInt32(FP_PORT_F_TRUNKS_SET.rawValue) }
        if port.attachMode == .native { flags |= UInt32(FP_PORT_F_XDP_NATIVE.rawValue) }
        if port.attachMode == .generic { flags |= UInt32(FP_PORT_F_XDP_GENERIC.rawValue) }
        p.flags = flags
        p.tag = port.vlan.tag?.rawValue ?? 0
        p.vlan_mode = port.vlan.effectiveMode.rawValue
        p.stp_state = port.stpState.rawValue
        withUnsafeMutableBytes(of: &p.trunks) { bits in
            if port.vlan.trunks.isEmpty {
                for i in 0..<bits.count { bits[i] = 0xff }
            } else {
                for vid in port.vlan.trunks {
                    let v = Int(vid.rawValue)
                    bits[v >> 3] |= UInt8(1 << (v & 7))
                }
            }
        }
        return p
    }

    static func decode(ifindex: UInt32, _ p: fp_port) -> DatapathPort {
        let has = { (f: UInt32) in p.flags & f != 0 }
        var trunks = Set<VLANID>()
        if has(UInt32(FP_PORT_F_TRUNKS_SET.rawValue)) {
            withUnsafeBytes(of: p.trunks) { bits in
                for v in 0..<4096 where bits[v >> 3] & UInt8(1 << (v & 7)) != 0 {
                    trunks.insert(VLANID(rawValue: UInt16(v))!)
                }
            }
        }
        let vlan = PortVLANConfig(
            tag: has(UInt32(FP_PORT_F_TAG_SET.rawValue)) ? VLANID(rawValue: p.tag & 0x0fff) : nil,
            trunks: trunks,
            mode: has(UInt32(FP_PORT_F_MODE_SET.rawValue)) ? VLANMode(rawValue: p.vlan_mode) : nil)
        let mode: XDPAttachMode = has(UInt32(FP_PORT_F_XDP_NATIVE.rawValue)) ? .native
            : has(UInt32(FP_PORT_F_XDP_GENERIC.rawValue)) ? .generic : .auto
        return DatapathPort(ifindex: InterfaceIndex(ifindex), bridge: p.bridge, slot: p.slot, vlan: vlan,
                            stpState: STPPortState(rawValue: p.stp_state) ?? .discarding,
                            stpEnabled: has(UInt32(FP_PORT_F_STP.rawValue)),
                            forwardBPDU: has(UInt32(FP_PORT_F_FORWARD_BPDU.rawValue)),
                            attachMode: mode)
    }

    static func encode(_ key: FDBKey) -> fp_fdb_key {
        var k = fp_fdb_key()
        k.bridge = key.bridge
        k.vlan = key.vlan.rawValue
        let b = key.mac.bytes
        k.mac = (b[0], b[1], b[2], b[3], b[4], b[5])
        return k
    }

    static func decode(_ k: fp_fdb_key, _ v: fp_fdb_value) -> FDBEntry {
        let mac = MACAddress(k.mac.0, k.mac.1, k.mac.2, k.mac.3, k.mac.4, k.mac.5)
        return FDBEntry(key: FDBKey(bridge: k.bridge, vlan: VLANID(rawValue: k.vlan & 0x0fff)!, mac: mac),
                        ifindex: InterfaceIndex(v.ifindex),
                        isStatic: v.flags & UInt32(FP_FDB_F_STATIC.rawValue) != 0,
                        lastSeenNanoseconds: v.last_seen_ns)
    }
}
