import CBPF
import Foundation
import FlowPlane
#if canImport(Glibc)
import Glibc
#endif

/// A VLAN test switch driven the way an operator drives it: a real `flowctl daemon` on the BPF
/// datapath, bridge `br0`, and veth ports added with `flowctl add-port br0 IFACE key=value...`.
/// Every port's peer sits in one hosts namespace under the port's label, with a packet socket.
///
/// `senderOffload` is the peers' tx-vlan-offload (tx-vlan-hw-insert) before the port is added.
/// With it on, `send(_:on:)` makes tagged frames real offload frames: the frame is written
/// untagged and a tc clsact egress BPF program on the peer (`bpf_skb_vlan_push`) puts the tag
/// into skb metadata (`skb->vlan_tci`), exactly what a kernel VLAN device or a VM stack does. With it
/// off, tagged frames are written inline (AF_PACKET). Call `tearDown()` from `defer`.
final class VLANLab {
    let daemon: RealDaemon
    let hosts: NetworkNamespace
    let senderOffload: Bool
    private(set) var ports: [String: VethPair] = [:]
    private(set) var sockets: [String: PacketSocket] = [:]
    private var clsact: Set<String> = []
    private var torn = false

    init(senderOffload: Bool) throws {
        self.senderOffload = senderOffload
        hosts = try NetworkNamespace(prefix: "fpvl")
        do {
            daemon = try RealDaemon()
            try daemon.check(["add-br", "br0"])
        } catch {
            hosts.delete()
            throw error
        }
    }

    /// Adds port `label` (peer named `label` in the hosts namespace) with `settings`
    /// (`tag=10`, `trunks=10,20`, `vlan_mode=...`) through `flowctl add-port`.
    @discardableResult
    func addPort(_ label: String, _ settings: [String] = []) throws -> VethPair {
        let pair = try VethPair(namespace: hosts, peer: label, prefix: "fpvl")
        ports[label] = pair
        try setSenderOffload(label, on: senderOffload)
        try daemon.check(["add-port", "br0", pair.name] + settings)
        sockets[label] = try PacketSocket(namespace: hosts, interface: label)
        return pair
    }

    func socket(_ label: String) -> PacketSocket { sockets[label]! }
    func name(_ label: String) -> String { ports[label]!.name }

    /// Sets tx-vlan-offload (tx-vlan-hw-insert) of `label`'s peer, as its owner would.
    func setSenderOffload(_ label: String, on: Bool) throws {
        try hosts.exec(["ethtool", "-K", label, "txvlan", on ? "on" : "off"]).expectSuccess("ethtool -K \(label) txvlan")
    }

    /// Whether `label`'s peer has tx-vlan-offload on now.
    func senderOffloadIsOn(_ label: String) throws -> Bool {
        let out = try hosts.exec(["ethtool", "-k", label]).output
        return out.split(separator: "\n").contains { $0.hasPrefix("tx-vlan-offload: on") || $0.hasPrefix("tx-vlan-hw-insert: on") }
    }

    /// Sends `frame` from behind `label`. A tagged frame with `senderOffload` (or
    /// `tagAsMetadata`) is written untagged and tagged by tc on the way out: the tag travels as
    /// skb metadata wherever the device keeps tx-vlan-hw-insert on.
    func send(_ frame: [UInt8], on label: String, tagAsMetadata: Bool? = nil) throws {
        guard let tag = Self.tag(of: frame), tagAsMetadata ?? senderOffload else {
            try socket(label).send(frame)
            return
        }
        if !clsact.contains(label) {
            try tc(["qdisc", "add", "dev", label, "clsact"])
            clsact.insert(label)
        }
        // cls_bpf direct-action program: bpf_skb_vlan_push(skb, 0x8100, tci) puts the tag into
        // skb metadata (this kernel has neither act_vlan nor cls_matchall).
        let tci = UInt16(tag.pcp) << 13 | tag.vid
        let pin = "/sys/fs/bpf/" + UniqueName.make("fpvlpush")
        let fd = try Self.loadVLANPush(tci: tci)
        defer { close(fd) }
        guard bpf_obj_pin(fd, pin) == 0 else { throw TestSupportError("bpf_obj_pin \(pin): errno \(errno)") }
        defer { unlink(pin) }
        try tc(["filter", "replace", "dev", label, "egress", "pref", "1", "handle", "1", "bpf", "da", "object-pinned", pin])
        defer { _ = try? tc(["filter", "del", "dev", label, "egress", "pref", "1"]) }
        try socket(label).send(Frames.retagged(frame, nil))
    }

    /// Runs `tc args` in the hosts namespace. nsenter switches only the network namespace, so
    /// /sys/fs/bpf (where the program is pinned) stays visible, unlike under `ip netns exec`.
    private func tc(_ args: [String]) throws {
        try Command.run(["nsenter", "--net=\(hosts.path)", "tc"] + args).expectSuccess("tc \(args.joined(separator: " "))")
    }

    /// Loads `r6 = r1; bpf_skb_vlan_push(r6, htons(0x8100), tci); return TC_ACT_OK` as a
    /// SCHED_CLS program; returns its fd.
    static func loadVLANPush(tci: UInt16) throws -> Int32 {
        func insn(_ code: UInt8, dst: UInt8 = 0, src: UInt8 = 0, imm: Int32 = 0) -> [UInt8] {
            let i = UInt32(bitPattern: imm)
            return [code, dst | src << 4, 0, 0, UInt8(i & 0xff), UInt8(i >> 8 & 0xff), UInt8(i >> 16 & 0xff), UInt8(i >> 24)]
        }
        let code: [UInt8] = insn(0xbf, dst: 6, src: 1)           // r6 = r1
            + insn(0xbf, dst: 1, src: 6)                          // r1 = r6
            + insn(0xb7, dst: 2, imm: 0x0081)                     // r2 = htons(ETH_P_8021Q)
            + insn(0xb7, dst: 3, imm: Int32(tci))                 // r3 = tci
            + insn(0x85, imm: 18)                                 // call bpf_skb_vlan_push
            + insn(0xb7, dst: 0, imm: 0)                          // r0 = TC_ACT_OK
            + insn(0x95)                                          // exit
        let fd = code.withUnsafeBytes { raw in
            bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "fp_vlan_push", "GPL",
                          raw.baseAddress!.assumingMemoryBound(to: bpf_insn.self), code.count / 8, nil)
        }
        guard fd >= 0 else { throw TestSupportError("bpf_prog_load(vlan push): \(fd)") }
        return fd
    }

    /// The outer 802.1Q tag of a frame (VID, PCP), or nil when untagged.
    static func tag(of f: [UInt8]) -> (vid: UInt16, pcp: UInt8)? {
        guard f.count >= 16, f[12] == 0x81, f[13] == 0x00 else { return nil }
        let tci = UInt16(f[14]) << 8 | UInt16(f[15])
        return (tci & 0x0fff, UInt8(tci >> 13))
    }

    /// What each peer received from source `src`: expected peers are waited for (up to 1 s
    /// each), every peer is then drained briefly so extra copies show up too.
    func captured(from src: MACAddress, expecting: Set<String>) -> [String: [[UInt8]]] {
        PacketSocket.captured(from: src, on: sockets, expecting: expecting, quietMilliseconds: 30)
    }

    func tearDown() {
        guard !torn else { return }
        torn = true
        sockets = [:]
        for label in clsact { _ = try? tc(["qdisc", "del", "dev", label, "clsact"]) }
        _ = try? daemon.run(["del-br", "br0"])
        daemon.cleanup()
        for p in ports.values { p.delete() }
        hosts.delete()
    }

    deinit { tearDown() }
}

fileprivate extension Command.Result {
    /// Throws unless the command exited 0.
    func expectSuccess(_ what: String) throws {
        guard status == 0 else { throw TestSupportError("\(what) exited \(status): \(output)") }
    }
}
