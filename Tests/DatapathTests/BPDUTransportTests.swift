import Foundation
import Testing
@testable import FlowPlane

/// The daemon's AF_PACKET BPDU transport on a real veth pair (root).
@Suite(.serialized) struct BPDUTransportTests {
    @Test(.enabled(if: Privileged.shouldRun)) func sendsAndReceivesBPDUs() throws {
        let a = UniqueName.make("fpba"), b = UniqueName.make("fpbb")
        _ = try Command.check(["ip", "link", "add", a, "type", "veth", "peer", "name", b])
        defer { _ = try? Command.run(["ip", "link", "del", a]) }
        _ = try Command.check(["ip", "link", "set", a, "up"])
        _ = try Command.check(["ip", "link", "set", b, "up"])
        let ia = InterfaceIndex(if_nametoindex(a)), ib = InterfaceIndex(if_nametoindex(b))
        let t = try PacketSocketBPDUTransport()
        let bpdu = [0x01, 0x80, 0xC2, 0, 0, 0, 0x02, 0, 0, 0, 0, 0x01, 0x00, 0x26, 0x42, 0x42, 0x03] + [UInt8](repeating: 0, count: 43)
        try t.send(bpdu, ifindex: ia)
        var got: [(InterfaceIndex, [UInt8])] = []
        for _ in 0..<100 where got.isEmpty {
            try t.receive { got.append(($0, $1)) }
            usleep(10_000)
        }
        #expect(got.count == 1)
        #expect(got.first?.0 == ib)
        #expect(got.first.map { Array($0.1.prefix(bpdu.count)) } == bpdu)
        _ = ia
    }
}
