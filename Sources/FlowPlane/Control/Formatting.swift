import Foundation

/// How `flowctl` prints replies: the layouts operators know from Open vSwitch, and JSON.
/// Every function returns the whole text, ending with a newline unless empty.
public enum Formatting {
    static func json<T: Encodable>(_ value: T) -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        return (String(data: (try? e.encode(value)) ?? Data("null".utf8), encoding: .utf8) ?? "null") + "\n"
    }

    static func pad(_ s: String, _ width: Int, right: Bool = true) -> String {
        let n = max(0, width - s.count)
        return right ? String(repeating: " ", count: n) + s : s + String(repeating: " ", count: n)
    }

    /// `dump-fdb` in the `ovs-appctl fdb/show` layout: ` port  VLAN  MAC                Age`.
    /// Port names are right-aligned in a column as wide as the longest (at least 5).
    public static func fdbTable(_ rows: [FDBRow]) -> String {
        let width = max(5, rows.map(\.port.count).max() ?? 0)
        var out = pad("port", width) + "  VLAN  MAC                Age\n"
        for r in rows {
            out += pad(r.port, width) + "  " + pad(String(r.vlan), 4) + "  " + r.mac + "  " + pad(r.age.map(String.init) ?? "static", 3) + "\n"
        }
        return out
    }

    private struct FDBJSON: Encodable {
        var row: FDBRow
        enum K: String, CodingKey { case port, vlan, mac, age, `static` }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: K.self)
            try c.encode(row.port, forKey: .port)
            try c.encode(row.vlan, forKey: .vlan)
            try c.encode(row.mac, forKey: .mac)
            if let age = row.age { try c.encode(age, forKey: .age) } else { try c.encode(true, forKey: .static) }
        }
    }

    /// `dump-fdb --format json`: `[{"port": NAME, "vlan": N, "mac": "..", "age": S}]`, with
    /// `"static": true` in place of `age` for static entries.
    public static func fdbJSON(_ rows: [FDBRow]) -> String { json(rows.map(FDBJSON.init)) }

    /// `show` like `ovs-vsctl show`.
    public static func show(_ bridges: [BridgeInfo]) -> String {
        var out = ""
        for b in bridges {
            out += "    Bridge \(b.name)\n"
            if b.stpEnabled { out += "        stp_enable: true\n" }
            for p in b.ports {
                out += "        Port \(p.name)\n"
                if let tag = p.tag { out += "            tag: \(tag)\n" }
                if !p.trunks.isEmpty { out += "            trunks: [\(p.trunks.map(String.init).joined(separator: ", "))]\n" }
                if p.vlanModeSet { out += "            vlan_mode: \(p.vlanMode)\n" }
                out += "            Interface \(p.name)\n"
                if p.ifindex == nil { out += "                error: \"\(p.error ?? "no such interface")\"\n" }
                if p.xdpMode != "auto" { out += "                xdp_mode: \(p.xdpMode)\n" }
            }
        }
        return out
    }

    /// `list-ports BR`: names, one per line; `--long`: also mode, tag, trunks, XDP mode.
    public static func ports(_ ports: [PortInfo], long: Bool) -> String {
        guard long else { return ports.map { $0.name + "\n" }.joined() }
        var out = pad("PORT", 16, right: false) + pad("MODE", 17, right: false) + pad("TAG", 6, right: false)
            + pad("TRUNKS", 20, right: false) + "XDP\n"
        for p in ports {
            // An access port carries only its tag: trunks do not apply (spec/vlan.md).
            let trunks = p.vlanMode == "access" ? "-" : p.trunks.isEmpty ? "all" : p.trunks.map(String.init).joined(separator: ",")
            out += pad(p.name, 16, right: false) + pad(p.vlanMode, 17, right: false) + pad(p.tag.map(String.init) ?? "-", 6, right: false)
                + pad(trunks, 20, right: false) + p.xdpMode + "\n"
        }
        return out
    }

    /// `dump-ports BR` in the spirit of `ovs-ofctl dump-ports`.
    public static func portStats(_ stats: [PortStats]) -> String {
        var out = ""
        for s in stats {
            let c = s.counters
            out += "  port \(s.port): rx pkts=\(c.rxPackets), bytes=\(c.rxBytes), unicast=\(c.unicast), flood=\(c.flood), to-host=\(c.toHost), drop=\(c.totalDrops)\n"
            out += "  " + pad("", s.port.count + 7) + "tx pkts=\(c.txPackets), bytes=\(c.txBytes)\n"
            let drops = DropReason.allCases.compactMap { r in c.drops[r].flatMap { $0 > 0 ? "\(r.rawValue)=\($0)" : nil } }
            if !drops.isEmpty { out += "  " + pad("", s.port.count + 7) + "drops: " + drops.joined(separator: ", ") + "\n" }
        }
        return out
    }

    private struct PortStatsJSON: Encodable {
        var s: PortStats
        enum K: String, CodingKey { case port, ifindex, rx_packets, rx_bytes, tx_packets, tx_bytes, unicast, flood, to_host, drops, drop_total, learn_events }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: K.self)
            try c.encode(s.port, forKey: .port)
            try c.encodeIfPresent(s.ifindex, forKey: .ifindex)
            try c.encode(s.counters.rxPackets, forKey: .rx_packets)
            try c.encode(s.counters.rxBytes, forKey: .rx_bytes)
            try c.encode(s.counters.txPackets, forKey: .tx_packets)
            try c.encode(s.counters.txBytes, forKey: .tx_bytes)
            try c.encode(s.counters.unicast, forKey: .unicast)
            try c.encode(s.counters.flood, forKey: .flood)
            try c.encode(s.counters.toHost, forKey: .to_host)
            try c.encode(s.counters.learnEvents, forKey: .learn_events)
            try c.encode(s.counters.totalDrops, forKey: .drop_total)
            var d: [String: UInt64] = [:]
            for r in DropReason.allCases { d[r.rawValue] = s.counters.drops[r] ?? 0 }
            try c.encode(d, forKey: .drops)
        }
    }

    /// `dump-ports --format json`: an array of per-port objects with every drop reason.
    public static func portStatsJSON(_ stats: [PortStats]) -> String { json(stats.map(PortStatsJSON.init)) }

    /// `fdb-stats BR` like `ovs-appctl fdb/stats-show`.
    public static func fdbStats(_ s: FDBStats) -> String {
        """
        Statistics for bridge "\(s.bridge)":
          Current/maximum MAC entries in the table: \(s.entries)/\(s.maxEntries)
          Current static MAC entries in the table : \(s.staticEntries)
          Total number of learned MAC entries     : \(s.learned)
          Total number of expired MAC entries     : \(s.expired)
          Total number of evicted MAC entries     : \(s.evicted)
          Total number of port moved MAC entries  : \(s.moved)
          MAC ageing time                         : \(s.agingTime) s

        """
    }

    public static func fdbStatsJSON(_ s: FDBStats) -> String { json(s) }

    /// `stp-show BR` in the spirit of `ovs-appctl rstp/show`.
    public static func stp(_ s: STPInfo) -> String {
        guard s.enabled else { return "---- \(s.bridge) ----\nSTP disabled\n" }
        if let text = s.text { return text }
        var out = "---- \(s.bridge) ----\n"
        out += "Root ID:\n  stp-priority/address \(s.rootID ?? "-")\n  root path cost \(s.rootPathCost.map(String.init) ?? "-")\n"
        out += "Bridge ID:\n  stp-priority/address \(s.bridgeID ?? "-")\n\n"
        out += pad("Interface", 16, right: false) + pad("Role", 12, right: false) + pad("State", 12, right: false)
            + pad("Cost", 11, right: false) + "Pri.Nbr\n"
        out += String(repeating: "-", count: 16 + 12 + 12 + 11 + 8) + "\n"
        for p in s.ports {
            out += pad(p.name, 16, right: false) + pad(p.role, 12, right: false) + pad(p.state, 12, right: false)
                + pad(String(p.pathCost), 11, right: false) + p.portID + "\n"
        }
        return out
    }

    public static func stpJSON(_ s: STPInfo) -> String { json(s) }
}
