/// Parsing of ovs-vsctl style `key=value` settings into bridge and port configurations.
/// Every error is a `ControlError.refused` whose text names the bad value.
public enum Settings {
    /// Splits `key=value`; `other_config:` prefixes are accepted and dropped.
    static func split(_ word: String) throws -> (key: String, value: String) {
        guard let eq = word.firstIndex(of: "=") else {
            throw ControlError.refused("setting '\(word)' is not of the form key=value")
        }
        var key = String(word[..<eq])
        if key.hasPrefix("other_config:") { key.removeFirst("other_config:".count) }
        return (key, String(word[word.index(after: eq)...]))
    }

    static func integer(_ key: String, _ value: String, _ range: ClosedRange<Int>, multipleOf m: Int = 1) throws -> Int {
        guard let n = Int(value), range.contains(n), n % m == 0 else {
            let mult = m > 1 ? " that is a multiple of \(m)" : ""
            throw ControlError.refused("invalid \(key) '\(value)': expected a number from \(range.lowerBound) to \(range.upperBound)\(mult)")
        }
        return n
    }

    static func bool(_ key: String, _ value: String) throws -> Bool {
        switch value.lowercased() {
        case "true": return true
        case "false": return false
        default: throw ControlError.refused("invalid \(key) '\(value)': expected true or false")
        }
    }

    /// Applies bridge settings (`mac-aging-time`, `mac-table-size`, `stp_enable`, `stp-*`,
    /// `forward-bpdu`).
    /// - Parameter fdbCapacity: the datapath's FDB size, the most `mac-table-size` may be.
    public static func apply(_ words: [String], to bridge: inout BridgeConfig, fdbCapacity: Int) throws {
        for w in words {
            let (key, value) = try split(w)
            switch key {
            case "mac-aging-time": bridge.macAgingTime = try integer(key, value, 1...1_000_000)
            case "mac-table-size":
                guard let n = Int(value), n >= 1 else {
                    throw ControlError.refused("invalid mac-table-size '\(value)': expected a positive number")
                }
                guard n <= fdbCapacity else {
                    throw ControlError.refused("mac-table-size \(value) is larger than the datapath's FDB capacity of \(fdbCapacity) entries")
                }
                bridge.macTableSize = n
            case "stp_enable", "stp-enable": bridge.stp.enabled = try bool(key, value)
            case "stp-priority": bridge.stp.priority = try integer(key, value, 0...61440, multipleOf: 4096)
            case "stp-hello-time": bridge.stp.helloTime = try integer(key, value, 1...10)
            case "stp-max-age": bridge.stp.maxAge = try integer(key, value, 6...40)
            case "stp-forward-delay": bridge.stp.forwardDelay = try integer(key, value, 4...30)
            case "forward-bpdu": bridge.forwardBPDU = try bool(key, value)
            default: throw ControlError.refused("unknown bridge setting '\(key)'")
            }
        }
        let s = bridge.stp
        // 802.1D-2004 17.14: 2 × (forward delay − 1) ≥ max age ≥ 2 × (hello time + 1).
        if s.enabled || words.contains(where: { $0.contains("stp-") }) {
            guard 2 * (s.forwardDelay - 1) >= s.maxAge, s.maxAge >= 2 * (s.helloTime + 1) else {
                throw ControlError.refused("STP timers hello-time=\(s.helloTime) max-age=\(s.maxAge) forward-delay=\(s.forwardDelay) break 2*(forward-delay-1) >= max-age >= 2*(hello-time+1)")
            }
        }
    }

    /// Applies port settings (`tag`, `trunks`, `vlan_mode`, `xdp_mode`, `stp-path-cost`,
    /// `stp-port-priority`, `stp-admin-edge`, `bpdu-guard`).
    public static func apply(_ words: [String], to port: inout PortConfig) throws {
        for w in words {
            let (key, value) = try split(w)
            do {
                switch key {
                case "tag": port.vlan.tag = try PortVLANConfig.parseTag(value)
                case "trunks": port.vlan.trunks = try PortVLANConfig.parseTrunks(value)
                case "vlan_mode": port.vlan.mode = try PortVLANConfig.parseMode(value)
                case "xdp_mode", "xdp-mode":
                    guard let m = XDPAttachMode(rawValue: value) else {
                        throw ControlError.refused("invalid xdp_mode '\(value)': use auto, native or generic")
                    }
                    port.xdpMode = m
                case "stp-path-cost": port.stp.pathCost = try integer(key, value, 1...200_000_000)
                case "stp-port-priority": port.stp.priority = try integer(key, value, 0...240, multipleOf: 16)
                case "stp-admin-edge": port.stp.adminEdge = try bool(key, value)
                case "bpdu-guard", "stp-bpdu-guard": port.stp.bpduGuard = try bool(key, value)
                default: throw ControlError.refused("unknown port setting '\(key)'")
                }
            } catch let e as VLANConfigError {
                throw ControlError.refused(e.description)
            }
        }
    }

    /// Clears port settings (`tag`, `trunks`, `vlan_mode`, or any `other_config:` STP key).
    public static func clear(_ keys: [String], on port: inout PortConfig) throws {
        for raw in keys {
            var key = raw
            if key.hasPrefix("other_config:") { key.removeFirst("other_config:".count) }
            switch key {
            case "tag": port.vlan.tag = nil
            case "trunks": port.vlan.trunks = []
            case "vlan_mode": port.vlan.mode = nil
            case "xdp_mode": port.xdpMode = .auto
            case "stp-path-cost": port.stp.pathCost = nil
            case "stp-port-priority": port.stp.priority = 128
            case "stp-admin-edge": port.stp.adminEdge = false
            case "bpdu-guard": port.stp.bpduGuard = false
            default: throw ControlError.refused("cannot clear '\(raw)': use tag, trunks or vlan_mode")
            }
        }
    }
}
