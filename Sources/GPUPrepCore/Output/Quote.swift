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

    /// XML attribute text, for single-quoted attributes.
    static func xml(_ text: String) -> String {
        text.replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing("'", with: "&apos;").replacing("\"", with: "&quot;")
    }
}
