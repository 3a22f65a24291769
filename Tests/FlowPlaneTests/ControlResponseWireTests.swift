import Foundation
import Testing
@testable import FlowPlane

/// The control socket's reply bytes: the FDB dump's own writer decodes like JSONEncoder's.
@Suite struct ControlResponseWireTests {
    func decoded(_ r: ControlResponse) throws -> ControlResponse {
        let line = try r.wireLine()
        #expect(line.last == UInt8(ascii: "\n"))
        #expect(!line.dropLast().contains(UInt8(ascii: "\n")), "one line")
        return try JSONDecoder().decode(ControlResponse.self, from: Data(line))
    }

    @Test func fdbDumpRoundTrips() throws {
        let rows = [FDBRow(port: "p1", vlan: 0, mac: "02:00:00:00:00:01", age: 3, isStatic: false),
                    FDBRow(port: "odd \"name\\\u{1}", vlan: 4095, mac: "02:00:00:00:00:02", age: nil, isStatic: true),
                    FDBRow(port: "p2", vlan: 10, mac: "02:00:00:00:00:03", age: 1_234_567_890, isStatic: false),
                    FDBRow(port: "p3", vlan: 1, mac: "02:00:00:00:00:04", age: -5, isStatic: false)]
        for r in [ControlResponse.ok(.fdb(rows), warnings: ["w \"1\"", "w2"]), .ok(.fdb([])),
                  ControlResponse(status: .failed, message: "m\u{1f}", payload: .fdb(rows))] {
            #expect(try decoded(r) == r)
        }
    }

    @Test func otherRepliesUseJSONEncoder() throws {
        let r = ControlResponse.ok(.names(["br0", "br1"]), warnings: ["w"])
        #expect(try decoded(r) == r)
    }

    @Test func integers() {
        for v in [0, 7, 10, 99, 100, -1, -10, Int.max, Int.min] {
            var out: [UInt8] = []
            JSONBytes.appendInteger(v, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == String(v))
        }
    }
}
