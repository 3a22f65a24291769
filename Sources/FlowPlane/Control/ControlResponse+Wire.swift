import Foundation

extension ControlResponse {
    /// The response as the control socket sends it: one JSON object, then "\n".
    ///
    /// An FDB dump is written here directly into bytes: `JSONEncoder` first builds a tree of
    /// every row (for 100 k rows, about 0.2 s and tens of MiB that the daemon's allocator keeps
    /// afterwards). Every other response goes through `JSONEncoder`. Both are the layout Swift
    /// synthesizes for `Codable`, so `JSONDecoder` reads either into the same value.
    /// - Throws: what `JSONEncoder` throws.
    public func wireLine() throws -> [UInt8] {
        guard case .fdb(let rows)? = payload else {
            var data = try JSONEncoder().encode(self)
            data.append(UInt8(ascii: "\n"))
            return [UInt8](data)
        }
        var out: [UInt8] = []
        out.reserveCapacity(128 + rows.count * 80)
        out += #"{"status":"#.utf8
        JSONBytes.appendString(status.rawValue, to: &out)
        if let message {
            out += #","message":"#.utf8
            JSONBytes.appendString(message, to: &out)
        }
        out += #","warnings":["#.utf8
        for (i, w) in warnings.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            JSONBytes.appendString(w, to: &out)
        }
        out += #"],"payload":{"fdb":{"_0":["#.utf8
        for (i, r) in rows.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out += #"{"port":"#.utf8
            JSONBytes.appendString(r.port, to: &out)
            out += #","vlan":"#.utf8
            JSONBytes.appendInteger(Int(r.vlan), to: &out)
            out += #","mac":"#.utf8
            JSONBytes.appendString(r.mac, to: &out)
            if let age = r.age {
                out += #","age":"#.utf8
                JSONBytes.appendInteger(age, to: &out)
            }
            out += (r.isStatic ? #","isStatic":true}"# : #","isStatic":false}"#).utf8
        }
        out += "]}}}\n".utf8
        return out
    }
}

/// Appends JSON values to a byte buffer (RFC 8259).
enum JSONBytes {
    private static let hex = Array("0123456789abcdef".utf8)

    /// A JSON string: quoted, with `"`, `\` and control characters escaped.
    static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\")); out.append(b)
            case 0..<0x20:
                out += #"\u00"#.utf8
                out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 0xf)])
            default:
                out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// A decimal integer.
    static func appendInteger(_ v: Int, to out: inout [UInt8]) {
        if v < 0 { out.append(UInt8(ascii: "-")) }
        var m = v.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[n] = UInt8(ascii: "0") + UInt8(m % 10)
                m /= 10
                n += 1
            } while m > 0
            for i in stride(from: n - 1, through: 0, by: -1) { out.append(d[i]) }
        }
    }
}
