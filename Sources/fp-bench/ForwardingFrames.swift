/// Test frames of the forwarding section: Ethernet (optionally one 802.1Q tag) + IPv4 + UDP.
enum ForwardingFrames {
    static let source: [UInt8] = [0x02, 0xfb, 0, 0, 0, 0x10]
    static let unicastDestination: [UInt8] = [0x02, 0xfb, 0, 0, 0, 0x11]
    static let broadcast: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
    static let vlan: UInt16 = 10

    /// A frame of `length` bytes without FCS (60 for a 64-byte frame on the wire, 1514 for 1518).
    static func make(destination: [UInt8], source: [UInt8] = source, length: Int, vlan: UInt16? = nil) -> [UInt8] {
        var f = destination + source
        if let vlan { f += [0x81, 0x00, UInt8(vlan >> 8), UInt8(vlan & 0xff)] }
        f += [0x08, 0x00]
        let ipLength = length - f.count
        var ip: [UInt8] = [0x45, 0, UInt8(ipLength >> 8), UInt8(ipLength & 0xff), 0, 0, 0x40, 0, 64, 17, 0, 0,
                           198, 18, 0, 1, 198, 18, 0, 2]
        var sum: UInt32 = 0
        for i in stride(from: 0, to: 20, by: 2) { sum += UInt32(ip[i]) << 8 | UInt32(ip[i + 1]) }
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        let check = ~UInt16(sum)
        ip[10] = UInt8(check >> 8); ip[11] = UInt8(check & 0xff)
        let udpLength = ipLength - 20
        f += ip + [0x30, 0x39, 0x30, 0x3a, UInt8(udpLength >> 8), UInt8(udpLength & 0xff), 0, 0]
        f += [UInt8](repeating: 0, count: length - f.count)
        return f
    }
}
