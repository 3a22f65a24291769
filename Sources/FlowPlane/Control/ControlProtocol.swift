/// One request to the daemon over the control socket (one JSON object per line).
public enum ControlRequest: Codable, Equatable, Sendable {
    case addBridge(name: String, mayExist: Bool)
    case deleteBridge(name: String, ifExists: Bool)
    case listBridges
    /// `settings`: `key=value` words as on the ovs-vsctl command line.
    case addPort(bridge: String, port: String, settings: [String], mayExist: Bool)
    case deletePort(bridge: String?, port: String, ifExists: Bool)
    case listPorts(bridge: String)
    case show
    case setBridge(bridge: String, settings: [String])
    case setPort(port: String, settings: [String])
    case clearPort(port: String, keys: [String])
    case dumpFDB(bridge: String)
    case addFDB(bridge: String, port: String, vlan: String, mac: String)
    case deleteFDB(bridge: String, vlan: String, mac: String)
    case flushFDB(bridge: String?)
    case fdbStats(bridge: String)
    case dumpPorts(bridge: String)
    case stpShow(bridge: String)
}

/// The outcome class of a request; the CLI maps it to its exit code.
public enum ControlStatus: String, Codable, Sendable {
    /// Done (exit 0).
    case ok
    /// Refused: bad input, nothing changed (exit 1).
    case refused
    /// The daemon failed (exit 4).
    case failed
}

/// One FDB row as `dump-fdb` shows it.
public struct FDBRow: Codable, Equatable, Sendable {
    public var port: String
    public var vlan: UInt16
    public var mac: String
    /// Seconds since last seen; nil for static entries.
    public var age: Int?
    public var isStatic: Bool
    public init(port: String, vlan: UInt16, mac: String, age: Int?, isStatic: Bool) {
        self.port = port; self.vlan = vlan; self.mac = mac; self.age = age; self.isStatic = isStatic
    }
}

/// A port as `show` and `list-ports --long` describe it.
public struct PortInfo: Codable, Equatable, Sendable {
    public var name: String
    public var ifindex: UInt32?
    /// The effective mode (an unset `vlan_mode` is access with a tag, trunk without).
    public var vlanMode: String
    /// Whether `vlan_mode` was set explicitly (`show` prints it only then, as ovs-vsctl does).
    public var vlanModeSet: Bool
    public var tag: UInt16?
    public var trunks: [UInt16]
    public var xdpMode: String
    public var stpState: String?
    /// Why a configured port is not in the datapath (nil when it is).
    public var error: String?
    public init(name: String, ifindex: UInt32?, vlanMode: String, vlanModeSet: Bool = false, tag: UInt16?, trunks: [UInt16],
                xdpMode: String, stpState: String?, error: String? = nil) {
        self.name = name; self.ifindex = ifindex; self.vlanMode = vlanMode; self.vlanModeSet = vlanModeSet
        self.tag = tag; self.trunks = trunks
        self.xdpMode = xdpMode; self.stpState = stpState; self.error = error
    }
}

/// A bridge as `show` describes it.
public struct BridgeInfo: Codable, Equatable, Sendable {
    public var name: String
    public var number: UInt32
    public var macAgingTime: Int
    public var macTableSize: Int
    public var stpEnabled: Bool
    public var ports: [PortInfo]
}

/// `fdb-stats` of one bridge.
public struct FDBStats: Codable, Equatable, Sendable {
    public var bridge: String
    public var entries: Int
    public var staticEntries: Int
    public var maxEntries: Int
    public var agingTime: Int
    public var learned: UInt64
    public var expired: UInt64
    public var evicted: UInt64
    public var moved: UInt64
}

/// One port's counters for `dump-ports`.
public struct PortStats: Codable, Equatable, Sendable {
    public var port: String
    public var ifindex: UInt32?
    public var counters: PortCounters
}

/// `stp-show` of one bridge.
public struct STPInfo: Codable, Equatable, Sendable {
    public struct Port: Codable, Equatable, Sendable {
        public var name: String
        public var role: String
        public var state: String
        public var pathCost: Int
        public var portID: String
        public init(name: String, role: String, state: String, pathCost: Int, portID: String) {
            self.name = name; self.role = role; self.state = state; self.pathCost = pathCost; self.portID = portID
        }
    }
    public var bridge: String
    public var enabled: Bool
    public var bridgeID: String?
    public var rootID: String?
    public var rootPathCost: Int?
    public var ports: [Port]
    /// The protocol's full status when STP runs (`--format json` prints it).
    public var snapshot: RSTPSnapshot?
    /// The `ovs-appctl rstp/show` style text when STP runs.
    public var text: String?
    public init(bridge: String, enabled: Bool, bridgeID: String? = nil, rootID: String? = nil, rootPathCost: Int? = nil, ports: [Port] = [],
                snapshot: RSTPSnapshot? = nil, text: String? = nil) {
        self.bridge = bridge; self.enabled = enabled; self.bridgeID = bridgeID; self.rootID = rootID
        self.rootPathCost = rootPathCost; self.ports = ports; self.snapshot = snapshot; self.text = text
    }
}

/// What a successful request returns.
public enum ControlPayload: Codable, Equatable, Sendable {
    case names([String])
    case ports([PortInfo])
    case bridges([BridgeInfo])
    case fdb([FDBRow])
    case fdbStats(FDBStats)
    case portStats([PortStats])
    case stp(STPInfo)
}

/// The daemon's reply.
public struct ControlResponse: Codable, Equatable, Sendable {
    public var status: ControlStatus
    /// For refused/failed: one sentence naming the bad value.
    public var message: String?
    /// Warnings about an accepted change, one sentence each.
    public var warnings: [String]
    public var payload: ControlPayload?
    public init(status: ControlStatus, message: String? = nil, warnings: [String] = [], payload: ControlPayload? = nil) {
        self.status = status; self.message = message; self.warnings = warnings; self.payload = payload
    }
    public static func ok(_ payload: ControlPayload? = nil, warnings: [String] = []) -> ControlResponse {
        ControlResponse(status: .ok, warnings: warnings, payload: payload)
    }
}

/// Why the controller refused or failed a request.
public enum ControlError: Error, Equatable, CustomStringConvertible {
    /// Bad input; nothing changed. The text is one sentence naming the bad value.
    case refused(String)
    /// The change could not be carried out.
    case failed(String)
    public var description: String {
        switch self {
        case .refused(let s), .failed(let s): return s
        }
    }
}
