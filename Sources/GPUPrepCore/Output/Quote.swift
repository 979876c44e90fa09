/// Quoting for the formats that need it.
enum Quote {
    /// A YAML double-quoted scalar (JSON's escapes are YAML's too).
    static func yaml(_ text: String) -> String { json(text) }

    /// A JSON string.
    static func json(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += "\\u" + hex(UInt16(scalar.value), 4)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// XML attribute text, for single-quoted attributes.
    static func xml(_ text: String) -> String {
        text.replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing("'", with: "&apos;").replacing("\"", with: "&quot;")
    }
}
