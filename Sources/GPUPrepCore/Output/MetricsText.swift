/// Prometheus's text exposition format (version 0.0.4), as node_exporter's textfile collector
/// reads it: `# HELP` and `# TYPE` per family, then one `name{label="value",...} value` line
/// per sample. Label values escape `\`, `"` and newlines; HELP text escapes `\` and newlines.
public enum MetricsText {
    public static func render(_ report: MetricsReport) -> String {
        var out = ""
        for family in report.families {
            out += "# HELP \(family.name) \(escape(family.help, quotes: false))\n"
            out += "# TYPE \(family.name) \(family.type)\n"
            for sample in family.samples {
                out += family.name
                if !sample.labels.isEmpty {
                    out += "{" + sample.labels.map { "\($0.0)=\"\(escape($0.1, quotes: true))\"" }.joined(separator: ",") + "}"
                }
                out += " " + number(sample.value) + "\n"
            }
        }
        return out
    }

    static func escape(_ text: String, quotes: Bool) -> String {
        var out = ""
        for c in text.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\"" where quotes: out += "\\\""
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// Whole numbers without a fraction, as Prometheus's own exporters write them.
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
