/// A kernel command line, split as the kernel splits it (lib/cmdline.c, next_arg): on spaces,
/// except inside double quotes, which are removed; no other escapes. Parameter names treat
/// `-` and `_` alike, and a later value wins.
public struct KernelCommandLine: Sendable, Equatable {
    public var parameters: [String]

    public init(_ text: String) {
        var parameters: [String] = []
        var current = ""
        var quoted = false
        var started = false
        for character in text {
            if character == "\"" { quoted.toggle(); started = true; continue }
            // isWhitespace: Swift reads "\r\n" as one Character, which equals neither "\r" nor "\n".
            if !quoted && character.isWhitespace {
                if started { parameters.append(current); current = ""; started = false }
                continue
            }
            current.append(character)
            started = true
        }
        if started { parameters.append(current) }
        self.parameters = parameters
    }

    static func normalized(_ name: some StringProtocol) -> String { String(name).replacing("-", with: "_") }

    /// The value of the last `name=value` (or "" for a bare `name`), nil when absent.
    public func value(_ name: String) -> String? {
        let wanted = Self.normalized(name)
        var found: String?
        for parameter in parameters {
            let parts = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if Self.normalized(parts[0]) == wanted { found = parts.count > 1 ? String(parts[1]) : "" }
        }
        return found
    }

    /// Whether `name=value` holds, where the value may be one item of a comma list
    /// (`intel_iommu=on,igfx_off` has `intel_iommu=on`).
    public func has(_ argument: String) -> Bool {
        let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
        guard let value = value(parts[0]) else { return false }
        guard parts.count > 1 else { return true }
        return value.split(separator: ",").contains { $0 == parts[1] }
    }
}
