extension RSTPSnapshot {
    /// `flowctl stp-show BR` text, laid out like `ovs-appctl rstp/show`.
    /// - Parameters:
    ///   - bridgeName: the bridge's name (heading).
    ///   - portNames: port number → interface name; unnamed ports print as their number.
    /// - Returns: the text, one trailing newline.
    public func formatted(bridgeName: String, portNames: [UInt16: String] = [:]) -> String {
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
        var out = "---- \(bridgeName) ----\n"
        out += "Root ID:\n"
        out += "  stp-priority    \(rootID.priority)\n"
        out += "  stp-system-id   \(rootID.mac)\n"
        if isRoot {
            out += "  This bridge is the root\n"
        } else {
            out += "  root-path-cost  \(rootPathCost)\n"
            let rp = rootPort.map { portNames[$0] ?? String($0) } ?? "-"
            out += "  root-port       \(rp)\n"
        }
        out += "\nBridge ID:\n"
        out += "  stp-priority    \(bridgeID.priority)\n"
        out += "  stp-system-id   \(bridgeID.mac)\n"
        out += "  stp-hello-time  \(settings.helloTime)s\n"
        out += "  stp-max-age     \(settings.maxAge)s\n"
        out += "  stp-fwd-delay   \(settings.forwardDelay)s\n"
        out += "\n  \(pad("Interface", 11))\(pad("Role", 11))\(pad("State", 11))\(pad("Cost", 10))\(pad("Pri.Nbr", 8))Designated\n"
        out += "  ---------- ---------- ---------- --------- ------- ---------------------------\n"
        for p in ports {
            let name = portNames[p.number] ?? String(p.number)
            let role = p.role.rawValue.prefix(1).uppercased() + p.role.rawValue.dropFirst()
            let state = p.state.description.prefix(1).uppercased() + p.state.description.dropFirst()
            var notes = "\(p.designatedBridge) \(p.designatedPort)"
            if p.edge { notes += " edge" }
            if p.protocolVersion == "stp" { notes += " stp" }
            if p.bpduGuardTripped { notes += " bpdu-guard" }
            out += "  \(pad(name, 11))\(pad(role, 11))\(pad(state, 11))\(pad(String(p.pathCost), 10))"
            out += "\(pad("\(p.portID.priority).\(p.portID.number)", 8))\(notes)\n"
        }
        return out
    }
}
