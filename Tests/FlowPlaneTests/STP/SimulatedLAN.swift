@testable import FlowPlane

/// A simulated LAN for spanning tree tests: bridges, segments joining bridge ports (a segment
/// with three or more members delivers to all of them, like a hub), links that go down,
/// and a manual clock. BPDUs take `latency` seconds to arrive.
final class SimulatedLAN {
    struct Member: Hashable { var bridge: String; var port: UInt16 }

    private(set) var now: Double = 0
    var latency: Double = 0.001
    var bridges: [String: RSTPBridge] = [:]
    /// Bridges that drop RST BPDUs as an 802.1D-1998 bridge (the Linux kernel bridge) does.
    var legacy: Set<String> = []
    var segments: [String: [Member]] = [:]
    var segmentOf: [Member: String] = [:]
    /// Every event seen, with its time.
    var log: [(time: Double, bridge: String, event: RSTPEvent)] = []
    private var inFlight: [(at: Double, to: Member, bpdu: BPDU)] = []

    /// Adds a bridge whose MAC is the low 48 bits of `id` (so 0x111 < 0x222 as in the spec);
    /// the priority comes from `settings` (default 32768).
    @discardableResult
    func addBridge(_ name: String, id: UInt64, settings: RSTPBridgeSettings = .init()) -> RSTPBridge {
        let b = RSTPBridge(mac: BridgeID(raw: id).mac, settings: settings, now: now)
        bridges[name] = b
        return b
    }

    /// Connects bridge ports to a segment; ports get numbers 1, 2, ... in the order given
    /// per bridge unless a number is passed.
    func attach(_ bridge: String, port: UInt16, to segment: String, settings: RSTPPortSettings = .init()) {
        let m = Member(bridge: bridge, port: port)
        segments[segment, default: []].append(m)
        segmentOf[m] = segment
        bridges[bridge]!.addPort(port, settings: settings, now: now)
        collect()
    }

    /// Marks every port of segments with 3+ members as shared (not point-to-point).
    func markSharedSegments() {
        for (_, members) in segments where members.count > 2 {
            for m in members {
                var s = bridges[m.bridge]!.portSettings(m.port)!
                s.pointToPoint = false
                bridges[m.bridge]!.setPortSettings(m.port, s, now: now)
            }
        }
        collect()
    }

    /// Takes a segment down or up (carrier on every member port).
    func setSegment(_ segment: String, up: Bool) {
        for m in segments[segment]! { bridges[m.bridge]!.setLink(m.port, up: up, now: now) }
        collect()
    }

    /// Replaces a bridge (e.g. by one restored from a snapshot), keeping its cabling.
    func replace(_ name: String, with bridge: RSTPBridge) {
        bridges[name] = bridge
        inFlight.removeAll { $0.to.bridge == name }
        collect()
    }

    private func collect() {
        for name in bridges.keys.sorted() {
            for e in bridges[name]!.drainOutbox() {
                log.append((now, name, e))
                guard case let .transmit(port, bpdu) = e else { continue }
                let from = Member(bridge: name, port: port)
                guard let seg = segmentOf[from], let members = segments[seg] else { continue }
                for m in members where m != from {
                    if legacy.contains(m.bridge) && bpdu.kind == .rst { continue }
                    inFlight.append((now + latency, m, bpdu))
                }
            }
        }
    }

    /// Advances the clock by `seconds` in steps of `step`, delivering BPDUs and ticking.
    func run(_ seconds: Double, step: Double = 0.01) {
        let end = now + seconds
        while now < end - 1e-9 {
            now = min(end, now + step)
            var rounds = 0
            while rounds < 100 {
                rounds += 1
                let due = inFlight.filter { $0.at <= now + 1e-9 }
                if due.isEmpty { break }
                inFlight.removeAll { $0.at <= now + 1e-9 }
                for d in due { bridges[d.to.bridge]!.receive(bpdu: d.bpdu, port: d.to.port, now: now) }
                collect()
            }
            for name in bridges.keys.sorted() { bridges[name]!.tick(now: now) }
            collect()
        }
    }

    func port(_ bridge: String, _ port: UInt16) -> RSTPSnapshot.Port { bridges[bridge]!.snapshot().port(port)! }
    func role(_ bridge: String, _ port: UInt16) -> STPPortRole { self.port(bridge, port).role }
    func state(_ bridge: String, _ port: UInt16) -> STPPortState { self.port(bridge, port).state }
    func rootCost(_ bridge: String) -> UInt32 { bridges[bridge]!.snapshot().rootPathCost }
    func rootPort(_ bridge: String) -> UInt16? { bridges[bridge]!.snapshot().rootPort }
    func rootID(_ bridge: String) -> BridgeID { bridges[bridge]!.snapshot().rootID }

    /// The port of `bridge` on `segment`.
    func portOn(_ bridge: String, _ segment: String) -> UInt16 {
        segments[segment]!.first { $0.bridge == bridge }!.port
    }

    /// Floods one broadcast from `segment` through forwarding ports; returns how many copies
    /// reached each segment (nil if it did not stop within `limit` hops: a loop).
    func floodCopies(from segment: String, limit: Int = 1000) -> [String: Int]? {
        var copies: [String: Int] = [segment: 1]
        var queue: [(seg: String, from: Member?)] = [(segment, nil)]
        var hops = 0
        while !queue.isEmpty {
            hops += 1
            if hops > limit { return nil }
            let (seg, from) = queue.removeFirst()
            for m in segments[seg]! where m != from && state(m.bridge, m.port) == .forwarding {
                for other in segments.values.flatMap({ $0 }) where other.bridge == m.bridge && other.port != m.port {
                    guard state(other.bridge, other.port) == .forwarding, let s = segmentOf[other] else { continue }
                    copies[s, default: 0] += 1
                    queue.append((s, other))
                }
            }
        }
        return copies
    }

    /// Runs like `run(_:step:)` and checks after every step that a broadcast terminates
    /// (no forwarding loop at any instant). - Returns: false if a loop was seen.
    func runWithoutLoops(_ seconds: Double, from segment: String, step: Double = 0.01) -> Bool {
        let end = now + seconds
        var ok = true
        while now < end - 1e-9 {
            run(step, step: step)
            if floodCopies(from: segment) == nil { ok = false }
        }
        return ok
    }

    /// Time of the last `.portState` event, for convergence reports.
    func lastStateChange(after t: Double) -> Double? {
        log.filter { $0.time >= t }.compactMap { if case .portState = $0.event { return $0.time } else { return nil } }.max()
    }
}
