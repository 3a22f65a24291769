/// The VLAN rules of spec/vlan.md (OVS `vlan_mode` semantics) as pure functions. The eBPF
/// datapath implements the same rules in `bpf/include/fp_vlan.h`; `SimulatedDatapath` and
/// the tests use these.
public enum VLANRules {
    /// What leaving a port does to a frame of a VLAN.
    public enum EgressAction: Equatable, Sendable {
        /// Sent with an 802.1Q tag carrying the VLAN (and the frame's PCP).
        case tagged
        /// Sent without a tag.
        case untagged
    }

    private static func trunked(_ c: PortVLANConfig, _ vid: UInt16) -> Bool {
        c.trunks.isEmpty || c.trunks.contains(VLANID(rawValue: vid)!)
    }

    /// The VLAN a frame arriving on a port belongs to, or nil when the port does not admit it.
    /// - Parameters:
    ///   - config: the ingress port's settings.
    ///   - taggedVID: the VID of the frame's 802.1Q tag, nil for an untagged frame. VID 0
    ///     (priority-tagged) counts as untagged.
    public static func classify(_ config: PortVLANConfig, taggedVID: UInt16?) -> VLANID? {
        let mode = config.effectiveMode
        let tag = config.tag?.rawValue ?? 0
        guard let vid = taggedVID, vid != 0 else {
            if mode == .trunk { return trunked(config, 0) ? .untagged : nil }
            return tag == 4095 ? nil : VLANID(rawValue: tag)
        }
        if vid >= 4095 { return nil }
        switch mode {
        case .trunk: return trunked(config, vid) ? VLANID(rawValue: vid) : nil
        case .nativeTagged, .nativeUntagged: return (vid == tag || trunked(config, vid)) ? VLANID(rawValue: vid) : nil
        case .access: return nil
        }
    }

    /// How a frame of `vlan` leaves a port, or nil when the port does not send that VLAN.
    /// A frame of VLAN 0 always leaves untagged.
    public static func egress(_ config: PortVLANConfig, vlan: VLANID) -> EgressAction? {
        let v = vlan.rawValue
        let tag = config.tag?.rawValue ?? 0
        let native = v == tag
        if v == 4095 { return nil }
        let keep: EgressAction = v == 0 ? .untagged : .tagged
        switch config.effectiveMode {
        case .trunk: return trunked(config, v) ? keep : nil
        case .access: return native ? .untagged : nil
        case .nativeTagged: return (native || trunked(config, v)) ? keep : nil
        case .nativeUntagged:
            if native { return .untagged }
            return trunked(config, v) ? keep : nil
        }
    }
}
