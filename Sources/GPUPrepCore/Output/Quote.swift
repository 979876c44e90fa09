/// Quoting for the formats that need it.
enum Quote {
    /// A YAML double-quoted scalar (JSON's escapes are YAML's too).
    static func yaml(_ text: String) -> String { json(text) }

    /// A JSON string, escaped as every JSON document gpuprep writes.
    static func json(_ text: String) -> String {
        var out: [UInt8] = []
        OrderedJSONEncoder.appendQuoted(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// One word for a POSIX shell, as a plan shows a command: plain words as they are, others
    /// in single quotes (`--args='intel_iommu=on iommu=pt'`, written from its `=`).
    static func shellWord(_ word: String) -> String {
        let plain = word.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || "-_./=:,+@%".utf8.contains(c)
        }
        if plain && !word.isEmpty { return word }
        let escaped = word.replacing("'", with: "'\\''")
        // An option's value is quoted from its `=`, as people write it.
        if word.hasPrefix("--"), let equals = word.firstIndex(of: "="),
           word[..<equals].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) {
            return String(word[...equals]) + "'" + String(escaped.dropFirst(word.distance(from: word.startIndex, to: equals) + 1)) + "'"
        }
        return "'" + escaped + "'"
    }

    /// XML attribute text, for single-quoted attributes.
    static func xml(_ text: String) -> String {
        text.replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing("'", with: "&apos;").replacing("\"", with: "&quot;")
    }
}
