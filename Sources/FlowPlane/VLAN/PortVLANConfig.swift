/// A port's VLAN settings in Open vSwitch's words (`tag`, `trunks`, `vlan_mode`), spec/vlan.md.
public struct PortVLANConfig: Equatable, Hashable, Sendable, Codable {
    /// `tag`: the port's PVID, nil when unset.
    public var tag: VLANID?
    /// `trunks`: trunked VIDs; empty means every VLAN.
    public var trunks: Set<VLANID>
    /// `vlan_mode` as configured; nil when unset (then access if `tag` is set, else trunk).
    public var mode: VLANMode?

    public init(tag: VLANID? = nil, trunks: Set<VLANID> = [], mode: VLANMode? = nil) {
        self.tag = tag; self.trunks = trunks; self.mode = mode
    }

    /// The mode in force: `mode`, or access when `tag` is set, else trunk (OVS defaults).
    public var effectiveMode: VLANMode { mode ?? (tag == nil ? .trunk : .access) }
}
