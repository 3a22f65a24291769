import Foundation

/// A refused VLAN setting; the description is one sentence naming the bad value.
public struct VLANConfigError: Error, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension PortVLANConfig {
    /// Parses `tag=` (0 ... 4095).
    /// - Throws: `VLANConfigError` naming the value.
    public static func parseTag(_ text: String) throws -> VLANID {
        guard let v = VLANID(text) else {
            throw VLANConfigError("invalid tag '\(text)': a VLAN tag is a number from 0 to 4095")
        }
        return v
    }

    /// Parses `trunks=` : VIDs separated by commas (also ranges `A-B`); empty means every VLAN.
    /// - Throws: `VLANConfigError` naming the bad element.
    public static func parseTrunks(_ text: String) throws -> Set<VLANID> {
        var out = Set<VLANID>()
        let trimmed = text.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
        if trimmed.isEmpty { return out }
        for part in trimmed.split(separator: ",", omittingEmptySubsequences: false) {
            let p = String(part).trimmingCharacters(in: .whitespaces)
            let bounds = p.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
            if bounds.count == 2, let lo = VLANID(bounds[0]), let hi = VLANID(bounds[1]), lo <= hi {
                for v in lo.rawValue...hi.rawValue { out.insert(VLANID(rawValue: v)!) }
            } else if let v = VLANID(p) {
                out.insert(v)
            } else {
                throw VLANConfigError("invalid trunks value '\(p)' in trunks=\(text): trunks are VLAN numbers from 0 to 4095 separated by commas")
            }
        }
        return out
    }

    /// Parses `vlan_mode=` (`access`, `trunk`, `native-tagged`, `native-untagged`).
    public static func parseMode(_ text: String) throws -> VLANMode {
        guard let m = VLANMode(text) else {
            throw VLANConfigError("invalid vlan_mode '\(text)': use access, trunk, native-tagged or native-untagged")
        }
        return m
    }

    /// Warnings about a valid but suspicious configuration, one sentence each.
    public var warnings: [String] {
        var w: [String] = []
        if effectiveMode == .access, let tag, trunks.contains(tag) {
            w.append("tag \(tag) is also listed in trunks, which an access port ignores")
        } else if effectiveMode == .access, !trunks.isEmpty {
            w.append("trunks are ignored on an access port")
        }
        return w
    }

    /// The trunks in ovs-vsctl form: `[10, 20]`, `[]` when every VLAN.
    public var trunksDescription: String {
        "[" + trunks.sorted().map(\.description).joined(separator: ", ") + "]"
    }
}
