import CBPF
import Foundation
import Logging
@testable import FlowPlane

/// A test switch: a BPFDatapath with its own pin root, and veth ports whose peers sit in one
/// host namespace (or one namespace each), with a packet socket on every peer.
/// Call `tearDown()` from `defer`.
final class SwitchLab {
    let datapath: BPFDatapath
    let pinRoot: String
    let hosts: NetworkNamespace
    private(set) var extraNamespaces: [NetworkNamespace] = []
    private(set) var ports: [String: VethPair] = [:]
    private(set) var sockets: [String: PacketSocket] = [:]
    private var slot: UInt32 = 0
    private var torn = false

    init(fdbCapacity: Int = 4096) throws {
        pinRoot = "/sys/fs/bpf/" + UniqueName.make("fptest_")
        hosts = try NetworkNamespace()
        var logger = Logger(label: "flowplane.test")
        logger.logLevel = .warning
        do {
            datapath = try BPFDatapath(pinRoot: pinRoot, fdbCapacity: fdbCapacity, logger: logger)
        } catch {
            // A load that failed after pinning (e.g. at the ABI check) leaves its pins.
            try? FileManager.default.removeItem(atPath: pinRoot)
            hosts.delete()
            throw error
        }
    }

    /// Adds a veth port `label` (its peer is named `label` in the hosts namespace, or in a
    /// namespace of its own) and configures it in the datapath unless `configure` is false.
    @discardableResult
    func addPort(_ label: String, bridge: BridgeNumber = 1, vlan: PortVLANConfig = .init(),
                 ownNamespace: Bool = false, configure: Bool = true,
                 attachMode: XDPAttachMode = .auto) throws -> VethPair {
        let ns: NetworkNamespace
        if ownNamespace {
            ns = try NetworkNamespace()
            extraNamespaces.append(ns)
        } else {
            ns = hosts
        }
        let pair = try VethPair(namespace: ns, peer: label)
        ports[label] = pair
        if configure {
            try datapath.setPort(DatapathPort(ifindex: InterfaceIndex(pair.ifindex), bridge: bridge, slot: slot,
                                              vlan: vlan, attachMode: attachMode))
            slot += 1
        }
        sockets[label] = try PacketSocket(namespace: ns, interface: label)
        return pair
    }

    func ifindex(_ label: String) -> UInt32 { ports[label]!.ifindex }
    func socket(_ label: String) -> PacketSocket { sockets[label]! }

    /// Runs fp_ingress on `frame` as if it arrived on `label` (BPF_PROG_TEST_RUN); returns
    /// the XDP action and the frame as the program left it.
    func testRun(_ frame: [UInt8], on label: String) throws -> (action: UInt32, output: [UInt8]) {
        try testRun(frame, ifindex: ifindex(label))
    }

    func testRun(_ frame: [UInt8], ifindex: UInt32) throws -> (action: UInt32, output: [UInt8]) {
        var out = [UInt8](repeating: 0, count: frame.count + 512)
        var outLen = UInt32(out.count)
        var retval: UInt32 = 0
        let rc = frame.withUnsafeBytes { inp in
            out.withUnsafeMutableBytes { outp in
                cbpf_xdp_test_run(datapath.handles.ingress_fd, inp.baseAddress, UInt32(inp.count), outp.baseAddress,
                                  &outLen, ifindex, 0, 1, &retval)
            }
        }
        guard rc == 0 else { throw BPFError(operation: "bpf_prog_test_run_opts", code: rc) }
        return (retval, Array(out[0..<Int(outLen)]))
    }

    /// Sends `frame` through fp_ingress as a live frame arriving on `label`
    /// (BPF_F_TEST_XDP_LIVE_FRAMES): redirects really deliver. Returns the XDP action.
    @discardableResult
    func inject(_ frame: [UInt8], on label: String) throws -> UInt32 {
        var retval: UInt32 = 0
        let rc = frame.withUnsafeBytes { inp in
            cbpf_xdp_test_run(datapath.handles.ingress_fd, inp.baseAddress, UInt32(inp.count), nil, nil,
                              ifindex(label), UInt32(BPF_F_TEST_XDP_LIVE_FRAMES), 1, &retval)
        }
        guard rc == 0 else { throw BPFError(operation: "bpf_prog_test_run_opts(live)", code: rc) }
        return retval
    }

    /// What each port's peer received from source `src` within the time limits: expected
    /// ports are waited for (up to 1 s), the others are only drained briefly.
    func captured(from src: MACAddress, expecting: Set<String>) -> [String: [[UInt8]]] {
        PacketSocket.captured(from: src, on: sockets, expecting: expecting, quietMilliseconds: 15)
    }

    /// Learn events queued now.
    func learnEvents() throws -> [LearnEvent] {
        var events: [LearnEvent] = []
        _ = try datapath.pollLearnEvents(timeoutMilliseconds: 50) { events.append($0) }
        while try datapath.pollLearnEvents(timeoutMilliseconds: 0, { events.append($0) }) > 0 {}
        return events
    }

    func tearDown() {
        guard !torn else { return }
        torn = true
        sockets = [:]
        try? datapath.destroy()
        for p in ports.values { p.delete() }
        for ns in extraNamespaces { ns.delete() }
        hosts.delete()
    }

    deinit { tearDown() }
}
