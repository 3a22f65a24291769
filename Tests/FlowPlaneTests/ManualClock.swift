@testable import FlowPlane

/// A clock tests advance by hand, in nanoseconds.
final class ManualClock {
    var now: UInt64 = 1_000_000_000
    func advance(seconds: Double) { now += UInt64(seconds * 1e9) }
    var read: () -> UInt64 { { self.now } }
}

func mac(_ n: Int) -> MACAddress {
    MACAddress(0x02, 0, 0, 0, UInt8((n >> 8) & 0xff), UInt8(n & 0xff))
}
func port(_ n: UInt32) -> InterfaceIndex { InterfaceIndex(n) }
let v0 = VLANID.untagged
