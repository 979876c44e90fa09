/// `KEY=value` assignments as a POSIX shell reads them, which is how grub-mkconfig reads
/// /etc/default/grub and /etc/default/grub.d/*.cfg (it sources them):
/// - single quotes are literal, and may span lines;
/// - double quotes allow `\"`, `\\`, `\$` and `` \` `` escapes and `$VAR` / `${VAR}` expansion,
///   and may span lines;
/// - a backslash outside single quotes escapes the next character, and before a newline joins
///   the lines (a value continued over lines);
/// - `#` starts a comment where a word would start; `;`, `&` and `|` end a command;
/// - `export` may precede, and `A=1 B=2` assigns both;
/// - lines may end in CRLF (a file edited on Windows): the CR is taken as part of the line end.
/// Only assignments are understood; other commands are skipped word by word.
public struct ShellAssignment: Sendable, Equatable {
    public var name: String
    /// The value after quote removal and expansion.
    public var value: String
    /// How the value ended: its last quoted segment's quote, to append inside it when editing.
    public var closingQuote: Character?
    /// Where the value's raw text starts (after `=`) and ends, as UTF-8 offsets into the text.
    public var valueStartOffset: Int
    public var valueEndOffset: Int
}

public enum ShellAssignments {
    /// Assignments in order; `environment` holds values from earlier files, for `$VAR`. A quote
    /// left open ends the parse there (the shell would fail on it, and so would grub-mkconfig).
    public static func parse(_ text: String, environment: [String: String] = [:]) -> [ShellAssignment] {
        var reader = Reader(bytes: Array(text.utf8), env: environment)
        return reader.assignments()
    }

    struct Reader {
        let bytes: [UInt8]
        var env: [String: String]

        func at(_ i: Int) -> UInt8? { i < bytes.count ? bytes[i] : nil }

        /// The length of a line end at `i` (LF, CRLF, or a CR that ends the file), or 0.
        func lineEnd(_ i: Int) -> Int {
            if at(i) == 0x0a { return 1 }
            if at(i) == 0x0d, at(i + 1) == 0x0a { return 2 }
            if at(i) == 0x0d, i + 1 == bytes.count { return 1 }
            return 0
        }

        func endsWord(_ i: Int) -> Bool {
            guard let c = at(i) else { return true }
            return c == 0x20 || c == 0x09 || c == 0x3b || c == 0x26 || c == 0x7c || lineEnd(i) > 0
        }

        mutating func assignments() -> [ShellAssignment] {
            var result: [ShellAssignment] = []
            var i = 0
            var commandStart = true
            while i < bytes.count {
                let c = bytes[i]
                if c == 0x20 || c == 0x09 { i += 1; continue }
                if lineEnd(i) > 0 || c == 0x3b || c == 0x26 || c == 0x7c { i += max(lineEnd(i), 1); commandStart = true; continue }
                if c == 0x5c, lineEnd(i + 1) > 0 { i += 1 + lineEnd(i + 1); continue }   // a continued line
                if c == 0x23 {                                                             // # comment
                    while i < bytes.count, lineEnd(i) == 0 { i += 1 }
                    continue
                }
                if commandStart, let equals = assignmentEquals(at: i) {
                    let name = String(decoding: bytes[i..<equals], as: UTF8.self)
                    guard let word = word(from: equals + 1) else { return result }
                    env[name] = word.value
                    result.append(ShellAssignment(name: name, value: word.value, closingQuote: word.quote,
                                                  valueStartOffset: equals + 1, valueEndOffset: word.end))
                    i = word.end
                    continue
                }
                if commandStart, Array(bytes[i..<min(i + 6, bytes.count)]) == Array("export".utf8), i + 6 < bytes.count,
                   bytes[i + 6] == 0x20 || bytes[i + 6] == 0x09 {
                    i += 6
                    continue
                }
                commandStart = false
                guard let word = word(from: i) else { return result }
                i = max(word.end, i + 1)
            }
            return result
        }

        /// The index of `=` when a word starting at `i` is `NAME=`.
        func assignmentEquals(at i: Int) -> Int? {
            guard let first = at(i), first == 0x5f || isLetter(first) else { return nil }
            var j = i + 1
            while let c = at(j), c == 0x5f || isLetter(c) || (c >= 0x30 && c <= 0x39) { j += 1 }
            return at(j) == 0x3d ? j : nil
        }

        func isLetter(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) }

        /// One shell word from `start`: its value, the quote of its last segment, its end. Nil when a
        /// quote is left open.
        func word(from start: Int) -> (value: String, quote: Character?, end: Int)? {
            var value: [UInt8] = []
            var quote: Character?
            var i = start
            while !endsWord(i) {
                let c = bytes[i]
                if c == 0x27 {                                       // '...'
                    guard let close = bytes[(i + 1)...].firstIndex(of: 0x27) else { return nil }
                    value += bytes[(i + 1)..<close]
                    quote = "'"
                    i = close + 1
                } else if c == 0x22 {                                // "..."
                    i += 1
                    var closed = false
                    while let d = at(i) {
                        if d == 0x22 { closed = true; i += 1; break }
                        if d == 0x5c, lineEnd(i + 1) > 0 { i += 1 + lineEnd(i + 1); continue }
                        if d == 0x5c, let next = at(i + 1), [0x22, 0x5c, 0x24, 0x60].contains(next) { value.append(next); i += 2; continue }
                        if d == 0x24 { i = expand(at: i, into: &value); continue }
                        value.append(d)
                        i += 1
                    }
                    guard closed else { return nil }
                    quote = "\""
                } else if c == 0x5c {                                // \x, or a continued line
                    if lineEnd(i + 1) > 0 { i += 1 + lineEnd(i + 1); continue }
                    if let next = at(i + 1) { value.append(next) }
                    i += 2
                    quote = nil
                } else if c == 0x24 {
                    i = expand(at: i, into: &value)
                    quote = nil
                } else {
                    value.append(c)
                    quote = nil
                    i += 1
                }
            }
            return (String(decoding: value, as: UTF8.self), quote, min(i, bytes.count))
        }

        /// `$NAME` or `${NAME}` at `i`, expanded from what was assigned before; a lone `$` stays.
        func expand(at i: Int, into value: inout [UInt8]) -> Int {
            var j = i + 1
            if at(j) == 0x7b {
                guard let close = bytes[j...].firstIndex(of: 0x7d) else { value.append(0x24); return j }
                value += Array((env[String(decoding: bytes[(j + 1)..<close], as: UTF8.self)] ?? "").utf8)
                return close + 1
            }
            let nameStart = j
            while let c = at(j), c == 0x5f || isLetter(c) || (c >= 0x30 && c <= 0x39) { j += 1 }
            if j == nameStart { value.append(0x24); return j }
            value += Array((env[String(decoding: bytes[nameStart..<j], as: UTF8.self)] ?? "").utf8)
            return j
        }
    }
}
