import CBPF

/// A bridge's number in the datapath: 1 ... FP_MAX_BRIDGES - 1, assigned by the control plane.
public typealias BridgeNumber = UInt32

/// OVS `vlan_mode` of a port (spec/vlan.md); raw values are `enum fp_vlan_mode`.
public enum VLANMode: UInt8, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case trunk = 0
    case access = 1
    case nativeTagged = 2
    case nativeUntagged = 3

    /// The ovs-vsctl spelling: `trunk`, `access`, `native-tagged`, `native-untagged`.
    public var description: String {
        switch self {
        case .trunk: return "trunk"
        case .access: return "access"
        case .nativeTagged: return "native-tagged"
        case .nativeUntagged: return "native-untagged"
        }
    }

    public init?(_ text: String) {
        guard let m = VLANMode.allCases.first(where: { $0.description == text }) else { return nil }
        self = m
    }
}

/// A port state as the datapath enforces it [802.1D-2004 17.4]; raw values are `enum fp_stp_state`.
public enum STPPortState: UInt8, Sendable, Codable, CustomStringConvertible {
    /// Learns and forwards.
    case forwarding = 0
    /// Learns source MACs, forwards nothing.
    case learning = 1
    /// Neither learns nor forwards (blocking, listening, disabled).
    case discarding = 2

    public var description: String {
        switch self {
        case .forwarding: return "forwarding"
        case .learning: return "learning"
        case .discarding: return "discarding"
        }
    }
}

/// How an XDP program is attached to a port.
public enum XDPAttachMode: String, Sendable, Codable, CaseIterable {
    /// Native (driver) XDP, falling back to generic when the driver refuses.
    case auto
    /// Native (driver) XDP only (`XDP_FLAGS_DRV_MODE`).
    case native
    /// Generic (skb) XDP (`XDP_FLAGS_SKB_MODE`).
    case generic
}

/// Everything the datapath needs to know about one port (`struct fp_port` plus attach details).
public struct DatapathPort: Equatable, Sendable {
    public var ifindex: InterfaceIndex
    public var bridge: BridgeNumber
    /// Counter slot, unique over all ports, 0 ... FP_MAX_PORTS - 1.
    public var slot: UInt32
    public var vlan: PortVLANConfig
    public var stpState: STPPortState
    /// The bridge runs STP: BPDUs go to the control plane.
    public var stpEnabled: Bool
    /// The bridge forwards BPDUs (OVS `other_config:forward-bpdu`), meaningful without STP.
    public var forwardBPDU: Bool
    public var attachMode: XDPAttachMode

    public init(ifindex: InterfaceIndex, bridge: BridgeNumber, slot: UInt32, vlan: PortVLANConfig = .init(),
                stpState: STPPortState = .forwarding, stpEnabled: Bool = false, forwardBPDU: Bool = false,
                attachMode: XDPAttachMode = .auto) {
        self.ifindex = ifindex; self.bridge = bridge; self.slot = slot; self.vlan = vlan
        self.stpState = stpState; self.stpEnabled = stpEnabled; self.forwardBPDU = forwardBPDU
        self.attachMode = attachMode
    }
}

/// The key of one FDB entry: a MAC in a VLAN of a bridge (`struct fp_fdb_key`).
public struct FDBKey: Hashable, Sendable {
    public var bridge: BridgeNumber
    public var vlan: VLANID
    public var mac: MACAddress
    public init(bridge: BridgeNumber, vlan: VLANID, mac: MACAddress) {
        self.bridge = bridge; self.vlan = vlan; self.mac = mac
    }
}

/// One FDB entry as installed in the datapath (`struct fp_fdb_value`).
public struct FDBEntry: Equatable, Sendable {
    public var key: FDBKey
    public var ifindex: InterfaceIndex
    public var isStatic: Bool
    /// CLOCK_MONOTONIC time of the last frame from this MAC, ns, as the datapath refreshed it
    /// (at most once a second); 0 when never refreshed.
    public var lastSeenNanoseconds: UInt64
    public init(key: FDBKey, ifindex: InterfaceIndex, isStatic: Bool = false, lastSeenNanoseconds: UInt64 = 0) {
        self.key = key; self.ifindex = ifindex; self.isStatic = isStatic; self.lastSeenNanoseconds = lastSeenNanoseconds
    }
}

/// A source MAC the datapath saw that is unknown, or known on another port (`struct fp_learn_event`).
public struct LearnEvent: Equatable, Sendable {
    public var bridge: BridgeNumber
    public var vlan: VLANID
    public var mac: MACAddress
    public var ifindex: InterfaceIndex
    /// The port the FDB had for this MAC, nil when it was unknown.
    public var previousIfindex: InterfaceIndex?
    /// CLOCK_MONOTONIC, ns.
    public var timeNanoseconds: UInt64
    public init(bridge: BridgeNumber, vlan: VLANID, mac: MACAddress, ifindex: InterfaceIndex,
                previousIfindex: InterfaceIndex? = nil, timeNanoseconds: UInt64 = 0) {
        self.bridge = bridge; self.vlan = vlan; self.mac = mac; self.ifindex = ifindex
        self.previousIfindex = previousIfindex; self.timeNanoseconds = timeNanoseconds
    }
}

/// Per-port counters summed over CPUs (`struct fp_port_stats`), in packets unless named bytes.
public struct PortCounters: Equatable, Sendable, Codable {
    public var rxPackets: UInt64 = 0
    public var rxBytes: UInt64 = 0
    public var unicast: UInt64 = 0
    public var flood: UInt64 = 0
    public var toHost: UInt64 = 0
    public var txPackets: UInt64 = 0
    public var txBytes: UInt64 = 0
    public var learnEvents: UInt64 = 0
    public var learnLost: UInt64 = 0
    /// Drops by reason; the keys are `DropReason` names.
    public var drops: [DropReason: UInt64] = [:]
    public init() {}
    /// All drops, every reason, packets.
    public var totalDrops: UInt64 { drops.values.reduce(0, +) }
}

/// Why the datapath dropped a frame (`FP_DROP_*` in flowplane_abi.h).
public enum DropReason: String, Sendable, Codable, CaseIterable, CodingKeyRepresentable {
    case malformed, vlanIngress = "vlan-ingress", vlanEgress = "vlan-egress", stp, stpEgress = "stp-egress"
    case samePort = "same-port", reserved, redirect

    /// The `enum fp_stat` index of this reason.
    public var statIndex: Int {
        switch self {
        case .malformed: return Int(FP_DROP_MALFORMED.rawValue)
        case .vlanIngress: return Int(FP_DROP_VLAN_INGRESS.rawValue)
        case .vlanEgress: return Int(FP_DROP_VLAN_EGRESS.rawValue)
        case .stp: return Int(FP_DROP_STP.rawValue)
        case .stpEgress: return Int(FP_DROP_STP_EGRESS.rawValue)
        case .samePort: return Int(FP_DROP_SAME_PORT.rawValue)
        case .reserved: return Int(FP_DROP_RESERVED.rawValue)
        case .redirect: return Int(FP_DROP_REDIRECT.rawValue)
        }
    }
}
