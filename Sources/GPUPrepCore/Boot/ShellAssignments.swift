/// `KEY=value` lines as a POSIX shell reads them, which is how grub-mkconfig reads
/// /etc/default/grub and /etc/default/grub.d/*.cfg: single quotes are literal, double quotes
/// allow `\"`, `\\`, `\$` and `` \` `` escapes and `$VAR` / `${VAR}` expansion, a backslash
/// outside quotes escapes the next character, `#` starts a comment between words, `export`
/// may precede. Only assignments are understood; anything else is skipped.
public struct ShellAssignment: Sendable, Equatable {
    public var name: String
    /// The value after quote removal and expansion.
    public var value: String
    /// How the value ended: its last quoted segment's quote, to append inside it when editing.
    public var closingQuote: Character?
    /// Where the value's raw text ends, as a UTF-8 offset into the parsed text (for editing in place).
    public var valueEndOffset: Int
}

public enum ShellAssignments {
    /// Assignments in order; `environment` holds values from earlier files, for `$VAR`.
    public static func parse(_ text: String, environment: [String: String] = [:]) -> [ShellAssignment] {
        var env = environment
        var result: [ShellAssignment] = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for rawLine in lines {
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            var rest = line.drop { $0 == " " || $0 == "\t" }
            if rest.hasPrefix("export ") { rest = rest.dropFirst("export ".count).drop { $0 == " " } }
            guard let equals = rest.firstIndex(of: "="),
                  isName(rest[rest.startIndex..<equals]) else { continue }
            let name = String(rest[rest.startIndex..<equals])
            guard let (value, quote, end) = word(line, from: line.index(after: equals), env: env) else { continue }
            env[name] = value
            result.append(ShellAssignment(name: name, value: value, closingQuote: quote,
                                          valueEndOffset: text.utf8.distance(from: text.startIndex, to: end)))
        }
        return result
    }

    static func isName(_ text: Substring) -> Bool {
        guard let first = text.first, first == "_" || first.isLetter else { return false }
        return text.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
    }

    /// One shell word starting at `start`: its value, the quote of its last segment, its end.
    /// Nil when a quote is left open (the shell would read on; grub-mkconfig would fail).
    static func word(_ line: Substring, from start: Substring.Index, env: [String: String])
        -> (String, Character?, String.Index)? {
        var value = ""
        var lastQuote: Character?
        var i = start
        func expand(_ i: inout Substring.Index) {
            // $NAME or ${NAME}; a lone $ stays.
            var j = line.index(after: i)
            if j < line.endIndex, line[j] == "{" {
                guard let close = line[j...].firstIndex(of: "}") else { value.append("$"); i = j; return }
                value += env[String(line[line.index(after: j)..<close])] ?? ""
                i = line.index(after: close)
                return
            }
            let nameStart = j
            while j < line.endIndex, line[j] == "_" || (line[j].isASCII && (line[j].isLetter || line[j].isNumber)) { j = line.index(after: j) }
            if j == nameStart { value.append("$"); i = j; return }
            value += env[String(line[nameStart..<j])] ?? ""
            i = j
        }
        while i < line.endIndex {
            let c = line[i]
            if c == " " || c == "\t" || c == ";" { break }
            if c == "'" {
                guard let close = line[line.index(after: i)...].firstIndex(of: "'") else { return nil }
                value += line[line.index(after: i)..<close]
                lastQuote = "'"
                i = line.index(after: close)
            } else if c == "\"" {
                i = line.index(after: i)
                var closed = false
                while i < line.endIndex {
                    let d = line[i]
                    if d == "\"" { closed = true; i = line.index(after: i); break }
                    if d == "\\", line.index(after: i) < line.endIndex, "\"\\$`".contains(line[line.index(after: i)]) {
                        value.append(line[line.index(after: i)])
                        i = line.index(i, offsetBy: 2)
                        continue
                    }
                    if d == "$" { expand(&i); continue }
                    value.append(d)
                    i = line.index(after: i)
                }
                guard closed else { return nil }
                lastQuote = "\""
            } else if c == "\\" {
                let next = line.index(after: i)
                if next < line.endIndex { value.append(line[next]); i = line.index(after: next) } else { i = next }
                lastQuote = nil
            } else if c == "$" {
                expand(&i)
                lastQuote = nil
            } else {
                value.append(c)
                lastQuote = nil
                i = line.index(after: i)
            }
        }
        return (value, lastQuote, i)
    }
}
