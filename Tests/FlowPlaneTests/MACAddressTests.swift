import Testing
@testable import FlowPlane

@Suite struct MACAddressTests {
    @Test func parsesAndPrints() {
        #expect(MACAddress("AA:bb:0c:dd:ee:01")?.description == "aa:bb:0c:dd:ee:01")
        #expect(MACAddress("aa:bb:cc:dd:ee") == nil)
        #expect(MACAddress("aa:bb:cc:dd:ee:fg") == nil)
        #expect(MACAddress("01:80:c2:00:00:0e")!.isReservedGroup)
        #expect(!MACAddress("01:80:c2:00:00:10")!.isReservedGroup)
    }
}
