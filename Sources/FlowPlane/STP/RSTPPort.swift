/// Per-port variables of the RSTP state machines [802.1D-2004 17.19], timers in seconds [17.17].
final class RSTPPort {
    enum InfoIs { case disabled, mine, aged, received }
    enum RcvdInfo { case superiorDesignated, repeatedDesignated, inferiorDesignated, inferiorRootAlternate, other }
    enum PIM { case disabled, aged, update, current }
    enum PRT { case initPort, disablePort, disabledPort, rootPort, designatedPort, blockPort, alternatePort }
    enum TCM { case inactive, learning, active }
    enum PPM { case checkingRSTP, selectingSTP, sensing }
    enum PTX { case transmitInit, idle }

    let number: UInt16
    var settings: RSTPPortSettings
    var linkUp: Bool
    var guardTripped = false
    var portEnabled: Bool { linkUp && !guardTripped }
    var id: PortID { PortID(priority: settings.priority, number: number) }
    var pathCost: UInt32 { settings.effectivePathCost }

    var pim = PIM.disabled, prt = PRT.initPort, tcm = TCM.inactive, ppm = PPM.checkingRSTP, ptx = PTX.transmitInit

    var infoIs = InfoIs.disabled
    var portPriority: PriorityVector
    var portTimes = RSTPTimes()
    var designatedPriority: PriorityVector
    var designatedTimes = RSTPTimes()
    var rcvdBPDU: BPDU?
    var rcvdMsg = false

    var role = STPPortRole.disabled, selectedRole = STPPortRole.disabled
    var selected = false, reselect = false, updtInfo = false
    var proposing = false, proposed = false, agree = false, agreed = false
    var synced = false, sync = false, reRoot = false
    var learn = false, forward = false, learning = false, forwarding = false
    var tcProp = false, rcvdTc = false, rcvdTcn = false, rcvdTcAck = false, tcAck = false
    var newInfo = false, fdbFlush = false
    var rcvdRSTP = false, rcvdSTP = false, sendRSTP = true, mcheck = false, operEdge = false

    var fdWhile = 0, rrWhile = 0, rbWhile = 0, tcWhile = 0, helloWhen = 0
    var mdelayWhile = 0, edgeDelayWhile = 0, rcvdInfoWhile = 0, txCount = 0

    /// The state last reported in the outbox (nil: never reported).
    var reportedState: STPPortState?

    init(number: UInt16, settings: RSTPPortSettings, linkUp: Bool, bridgeID: BridgeID) {
        self.number = number; self.settings = settings; self.linkUp = linkUp
        let v = PriorityVector(rootID: bridgeID, rootPathCost: 0, designatedBridgeID: bridgeID,
                               designatedPortID: PortID(raw: 0), bridgePortID: PortID(raw: 0))
        portPriority = v; designatedPriority = v
    }

    var state: STPPortState { forwarding ? .forwarding : learning ? .learning : .discarding }

    /// One second of the Port Timers state machine [17.22].
    func tickOneSecond() {
        func dec(_ v: inout Int) { if v > 0 { v -= 1 } }
        dec(&helloWhen); dec(&tcWhile); dec(&fdWhile); dec(&rcvdInfoWhile); dec(&rrWhile)
        dec(&rbWhile); dec(&mdelayWhile); dec(&edgeDelayWhile); dec(&txCount)
    }
}
