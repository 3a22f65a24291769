import Testing
@testable import FlowPlane

@Suite struct MACAddressTests {
    @Test func parsesAndPrints() {
        #expect(MACAddress("AA:bb:0c:dd:ee:01")?.description == "aa:bb:0c:dd:ee:01")
        #expect(MACAddress("aa:bb:cc:dd:ee") == nil)
        #expect(MACAddress("aa:bb:cc:dd:ee:fg") == nil)
        #expect(MACAddress("01:80:c2:00:00:0e")!.isReservedGroup)
        #expect(!MACAddress("01:80:c2:00:00:10")!.isReservedGroup)
        #expect(MACAddress(0, 0x0f, 0x10, 0xa0, 0xff, 1).description == "00:0f:10:a0:ff:01")
        #expect(MACAddress.broadcast.description == "ff:ff:ff:ff:ff:ff")
    }
}
