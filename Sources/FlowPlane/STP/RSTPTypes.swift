/// A port role [802.1D-2004 17.7].
public enum STPPortRole: String, Sendable, Codable, CustomStringConvertible {
    case disabled, root, designated, alternate, backup
    public var description: String { rawValue }
}

/// Bridge-wide spanning tree parameters [802.1D-2004 17.13, Table 17-1]. Times in seconds.
public struct RSTPBridgeSettings: Sendable, Codable, Equatable {
    /// Bridge priority, a multiple of 4096 in 0...61440 (default 32768).
    public var priority: UInt16 = 32768
    /// Bridge Hello Time, 1...10 s (default 2).
    public var helloTime: Int = 2
    /// Bridge Max Age, 6...40 s (default 20).
    public var maxAge: Int = 20
    /// Bridge Forward Delay, 4...30 s (default 15).
    public var forwardDelay: Int = 15
    /// Force Protocol Version [17.13.4]: 2 = RSTP (default), 0 = behave as 802.1D-1998 STP.
    public var forceProtocolVersion: Int = 2
    /// Transmit Hold Count [17.13.12]: BPDUs per second per port at most (default 6).
    public var txHoldCount: Int = 6
    /// Migrate Time [17.13.9] in seconds (fixed at 3 by the standard).
    public var migrateTime: Int = 3
    public init() {}

    /// Checks the ranges of 17.13 / Table 17-1 and 2 × (Forward Delay − 1) ≥ Max Age ≥
    /// 2 × (Hello Time + 1) [17.14]. - Returns: a sentence naming the bad value, or nil.
    public func validationError() -> String? {
        if priority % 4096 != 0 { return "stp-priority \(priority) is not a multiple of 4096" }
        if !(1...10).contains(helloTime) { return "stp-hello-time \(helloTime) is outside 1...10" }
        if !(6...40).contains(maxAge) { return "stp-max-age \(maxAge) is outside 6...40" }
        if !(4...30).contains(forwardDelay) { return "stp-forward-delay \(forwardDelay) is outside 4...30" }
        if 2 * (forwardDelay - 1) < maxAge { return "stp-max-age \(maxAge) exceeds 2 x (forward delay - 1)" }
        if maxAge < 2 * (helloTime + 1) { return "stp-max-age \(maxAge) is below 2 x (hello time + 1)" }
        return nil
    }
}

/// Per-port spanning tree parameters [802.1D-2004 17.13, 17.14].
public struct RSTPPortSettings: Sendable, Codable, Equatable {
    /// Port priority, 0...240 in steps of 16 (default 128).
    public var priority: UInt8 = 128
    /// Administrative path cost (1...200000000); nil = derived from `linkSpeedMbps` (Table 17-3).
    public var pathCost: UInt32? = nil
    /// Link speed in Mb/s, used when `pathCost` is nil (default 1000 → 20000).
    public var linkSpeedMbps: UInt64 = 1000
    /// AdminEdgePort [17.13.1]: the port starts as an edge port and forwards at once.
    public var adminEdge: Bool = false
    /// AutoEdgePort [802.1Q-2005 17.13.3]: a designated port that hears no BPDU becomes edge.
    public var autoEdge: Bool = true
    /// BPDU guard: an edge port that receives a BPDU is disabled (until its link goes down and up).
    public var bpduGuard: Bool = false
    /// operPointToPointMAC [6.4.3]: full-duplex links are point-to-point; a shared segment is not.
    public var pointToPoint: Bool = true
    public init() {}

    /// The path cost in effect.
    public var effectivePathCost: UInt32 { pathCost ?? RSTPPortSettings.defaultPathCost(speedMbps: linkSpeedMbps) }

    /// Table 17-3: 20,000,000,000,000 / (link speed in b/s), clamped to 1...200,000,000;
    /// 20000 at 1 Gb/s, 200000 at 100 Mb/s.
    public static func defaultPathCost(speedMbps: UInt64) -> UInt32 {
        guard speedMbps > 0 else { return 200_000_000 }
        let c = 20_000_000 / speedMbps
        return UInt32(min(200_000_000, max(1, c)))
    }
}

/// What the caller of `RSTPBridge` must do; drained with `RSTPBridge.drainOutbox()`.
public enum RSTPEvent: Equatable, Sendable {
    /// Send this BPDU on the port (build the frame with `BPDUFrame.build`).
    case transmit(port: UInt16, bpdu: BPDU)
    /// Push this state into the datapath for the port [17.30].
    case portState(port: UInt16, state: STPPortState)
    /// Remove the dynamically learned FDB entries of this port [17.19.7 fdbFlush].
    case flush(port: UInt16)
    /// BPDU guard disabled this port: it received a BPDU while being an edge port.
    case bpduGuardTripped(port: UInt16)
}

/// A spanning tree priority vector [802.1D-2004 17.5, 17.6]: the first four components
/// decide; the fifth (the receiving port's ID) breaks the last tie.
struct PriorityVector: Equatable, Codable {
    var rootID: BridgeID
    var rootPathCost: UInt32
    var designatedBridgeID: BridgeID
    var designatedPortID: PortID
    var bridgePortID: PortID

    var key4: (UInt64, UInt32, UInt64, UInt16) { (rootID.raw, rootPathCost, designatedBridgeID.raw, designatedPortID.raw) }
    var key5: (UInt64, UInt32, UInt64, UInt16, UInt16) { (rootID.raw, rootPathCost, designatedBridgeID.raw, designatedPortID.raw, bridgePortID.raw) }
    func same4(_ o: PriorityVector) -> Bool { key4 == o.key4 }
    func better4(than o: PriorityVector) -> Bool { key4 < o.key4 }
    /// 17.6: better, or sent by the same designated bridge and port (addresses, numbers).
    func superior(to o: PriorityVector) -> Bool {
        better4(than: o) || (designatedBridgeID.mac == o.designatedBridgeID.mac
            && designatedPortID.number == o.designatedPortID.number)
    }
}

/// Timer values carried with a priority vector [17.19.22], seconds.
struct RSTPTimes: Equatable, Codable {
    var messageAge = 0, maxAge = 20, forwardDelay = 15, helloTime = 2
}
