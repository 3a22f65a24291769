/// A bridge's STP settings (OVS `stp_enable` and `other_config:stp-*`), spec/stp.md.
public struct BridgeSTPConfig: Codable, Equatable, Sendable {
    public var enabled = false
    /// Bridge priority, a multiple of 4096 in 0 ... 61440 (default 32768).
    public var priority = 32768
    /// Seconds, 1 ... 10 (default 2).
    public var helloTime = 2
    /// Seconds, 6 ... 40 (default 20).
    public var maxAge = 20
    /// Seconds, 4 ... 30 (default 15).
    public var forwardDelay = 15
    public init() {}
}

/// A port's STP settings (OVS `other_config:stp-*`, `bpdu-guard`).
public struct PortSTPConfig: Codable, Equatable, Sendable {
    /// 1 ... 200000000; nil: from the link speed (20000 for 1 Gb/s).
    public var pathCost: Int?
    /// A multiple of 16 in 0 ... 240 (default 128).
    public var priority = 128
    public var adminEdge = false
    public var bpduGuard = false
    public init() {}
}

/// One bridge as configured.
public struct BridgeConfig: Codable, Equatable, Sendable {
    public var name: String
    /// The datapath's number of the bridge, 1 ... FP_MAX_BRIDGES - 1.
    public var number: BridgeNumber
    /// Seconds (OVS `other_config:mac-aging-time`), default 300.
    public var macAgingTime = 300
    /// Entries (OVS `other_config:mac-table-size`), default 8192.
    public var macTableSize = 8192
    public var stp = BridgeSTPConfig()
    /// OVS `other_config:forward-bpdu`: forward BPDUs while STP is off.
    public var forwardBPDU = false
    public init(name: String, number: BridgeNumber) { self.name = name; self.number = number }
}

/// One port as configured.
public struct PortConfig: Codable, Equatable, Sendable {
    public var name: String
    public var bridge: String
    public var vlan = PortVLANConfig()
    public var xdpMode = XDPAttachMode.auto
    public var stp = PortSTPConfig()
    public init(name: String, bridge: String) { self.name = name; self.bridge = bridge }
}

/// A static FDB entry as configured (`flowctl fdb-add`).
public struct StaticFDBConfig: Codable, Equatable, Hashable, Sendable {
    public var bridge: String
    public var vlan: VLANID
    public var mac: MACAddress
    public var port: String
    public init(bridge: String, vlan: VLANID, mac: MACAddress, port: String) {
        self.bridge = bridge; self.vlan = vlan; self.mac = mac; self.port = port
    }
}

/// The whole configuration.
public struct SwitchConfig: Codable, Equatable, Sendable {
    public var bridges: [String: BridgeConfig] = [:]
    public var ports: [String: PortConfig] = [:]
    public var staticFDB: [StaticFDBConfig] = []
    public init() {}
}
