import Testing
@testable import FlowPlane

@Suite struct STPBPDUTests {
    let root = BridgeID(priority: 0x8000, mac: MACAddress(0x00, 0x11, 0x22, 0x33, 0x44, 0x55))
    let bridge = BridgeID(priority: 0x9000, mac: MACAddress(0x02, 0, 0, 0, 0, 0x01))

    @Test func configBPDUIsByteExact() throws {
        let b = BPDU(kind: .config, flags: [.topologyChange, .topologyChangeAck], rootID: root, rootPathCost: 200000,
                     bridgeID: bridge, portID: PortID(priority: 128, number: 2), messageAge: 1, maxAge: 20,
                     helloTime: 2, forwardDelay: 15)
        let bytes = b.encode()
        #expect(bytes == [0x00, 0x00, 0x00, 0x00, 0x81,
                          0x80, 0x00, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
                          0x00, 0x03, 0x0D, 0x40,
                          0x90, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
                          0x80, 0x02,
                          0x01, 0x00, 0x14, 0x00, 0x02, 0x00, 0x0F, 0x00])
        #expect(bytes.count == 35)
        #expect(try BPDU(decoding: bytes) == b)
    }

    @Test func rstBPDUIsByteExact() throws {
        let b = BPDU(kind: .rst, flags: [.proposal, .learning, .forwarding, .agreement], role: .designated,
                     rootID: root, rootPathCost: 20000, bridgeID: bridge, portID: PortID(raw: 0x8001))
        let bytes = b.encode()
        #expect(bytes.count == 36)
        #expect(Array(bytes[0..<5]) == [0x00, 0x00, 0x02, 0x02, 0x7E])
        #expect(Array(bytes[13..<17]) == [0x00, 0x00, 0x4E, 0x20])
        #expect(bytes[35] == 0)  // Version 1 Length
        let d = try BPDU(decoding: bytes)
        #expect(d == b)
        #expect(d.role == .designated)
        // Role bits: alternate/backup = 1, root = 2.
        #expect(BPDU(kind: .rst, role: .alternateOrBackup).encode()[4] == 0x04)
        #expect(BPDU(kind: .rst, role: .root).encode()[4] == 0x08)
    }

    @Test func tcnIsFourBytes() throws {
        #expect(BPDU.tcn.encode() == [0, 0, 0, 0x80])
        #expect(try BPDU(decoding: [0, 0, 0, 0x80]).kind == .tcn)
    }

    @Test func configBPDUDropsRSTOnlyFlags() {
        let b = BPDU(kind: .config, flags: [.proposal, .agreement, .topologyChange])
        #expect(b.encode()[4] == 0x01)
    }

    @Test func refusesMalformedBPDUs() {
        #expect(throws: BPDUError.truncated(expected: 4, actual: 3)) { try BPDU(decoding: [0, 0, 0]) }
        #expect(throws: BPDUError.unknownProtocol(1)) { try BPDU(decoding: [0, 1, 0, 0x80]) }
        #expect(throws: BPDUError.unknownType(0x42)) { try BPDU(decoding: [0, 0, 0, 0x42]) }
        #expect(throws: BPDUError.truncated(expected: 35, actual: 34)) {
            try BPDU(decoding: Array(BPDU(kind: .config).encode().prefix(34)))
        }
        #expect(throws: BPDUError.truncated(expected: 36, actual: 35)) {
            try BPDU(decoding: Array(BPDU(kind: .rst).encode().prefix(35)))
        }
        var rst = BPDU(kind: .rst).encode(); rst[2] = 1
        #expect(throws: BPDUError.rstWithOldVersion(1)) { try BPDU(decoding: rst) }
    }

    @Test func acceptsFutureVersionsAndTrailingBytes() throws {
        var rst = BPDU(kind: .rst, role: .root).encode(); rst[2] = 3
        rst += [0, 0, 0]
        let d = try BPDU(decoding: rst)
        #expect(d.kind == .rst && d.version == 3 && d.role == .root)
    }

    @Test func frameIs8023WithLLCAndPadding() throws {
        let src = MACAddress(0x02, 0xAA, 0, 0, 0, 0x07)
        let f = BPDUFrame.build(.tcn, source: src)
        #expect(f.count == 60)
        #expect(Array(f[0..<6]) == [0x01, 0x80, 0xC2, 0, 0, 0])
        #expect(Array(f[6..<12]) == src.bytes)
        #expect(Array(f[12..<17]) == [0x00, 0x07, 0x42, 0x42, 0x03])
        #expect(Array(f[17..<21]) == [0, 0, 0, 0x80])
        #expect(f[21...].allSatisfy { $0 == 0 })
        let rst = BPDUFrame.build(BPDU(kind: .rst, role: .designated, bridgeID: bridge), source: src)
        #expect(rst.count == 60)
        #expect(Array(rst[12..<14]) == [0x00, 39])
        let parsed = try BPDUFrame.parse(rst)
        #expect(parsed.source == src)
        #expect(parsed.bpdu.bridgeID == bridge)
        let cfg = BPDUFrame.build(BPDU(kind: .config), source: src)
        #expect(Array(cfg[12..<14]) == [0x00, 38])
    }

    @Test func refusesMalformedFrames() {
        let src = MACAddress(0x02, 0, 0, 0, 0, 1)
        let good = BPDUFrame.build(BPDU(kind: .config), source: src)
        #expect(throws: BPDUError.frameTooShort(10)) { try BPDUFrame.parse(good.prefix(10)) }
        var f = good; f[5] = 0x0E
        #expect(throws: BPDUError.notSTPGroupAddress(MACAddress(0x01, 0x80, 0xC2, 0, 0, 0x0E))) { try BPDUFrame.parse(f) }
        f = good; f[12] = 0x08; f[13] = 0x00
        #expect(throws: BPDUError.notLengthEncapsulated(0x0800)) { try BPDUFrame.parse(f) }
        f = good; f[13] = 200
        #expect(throws: BPDUError.lengthFieldBeyondFrame(length: 200, available: 46)) { try BPDUFrame.parse(f) }
        f = good; f[14] = 0xAA
        #expect(throws: BPDUError.badLLC(dsap: 0xAA, ssap: 0x42, control: 0x03)) { try BPDUFrame.parse(f) }
        f = good; f[13] = 20  // length says 17 bytes of BPDU: truncated config BPDU
        #expect(throws: BPDUError.truncated(expected: 35, actual: 17)) { try BPDUFrame.parse(f) }
    }

    @Test func identifiers() {
        #expect(BridgeID(raw: 0x8000_0011_2233_4455) == root)
        #expect(root.description == "8000.001122334455")
        #expect(PortID(priority: 128, number: 1).raw == 0x8001)
        #expect(PortID(priority: 0x90, number: 1).raw == 0x9001)
        #expect(PortID(raw: 0x9ABC).number == 0xABC && PortID(raw: 0x9ABC).priority == 0x90)
        #expect(RSTPPortSettings.defaultPathCost(speedMbps: 1000) == 20000)
        #expect(RSTPPortSettings.defaultPathCost(speedMbps: 100) == 200000)
        #expect(RSTPPortSettings.defaultPathCost(speedMbps: 10_000) == 2000)
        #expect(RSTPPortSettings.defaultPathCost(speedMbps: 10) == 2_000_000)
        #expect(RSTPBridgeSettings().validationError() == nil)
        var s = RSTPBridgeSettings(); s.priority = 1000
        #expect(s.validationError() != nil)
    }
}
