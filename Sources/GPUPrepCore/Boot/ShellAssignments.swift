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
/// Only assignments are understood; other commands are skipped word by word, but what decides
/// whether the shell runs an assignment is followed (`certain`): a here-document's lines are
/// not commands; an assignment inside `if`/`case`/a loop/a function/`{ }`/`( )`, or after `&&`
/// or `||`, may not run; `unset NAME` undoes those before it; `readonly NAME` (or `declare -r`)
/// makes a later assignment fail.
public struct ShellAssignment: Sendable, Equatable {
    public var name: String
    /// The value after quote removal and expansion.
    public var value: String
    /// How the value ended: its last quoted segment's quote, to append inside it when editing.
    public var closingQuote: Character?
    /// Where the value's raw text starts (after `=`) and ends, as UTF-8 offsets into the text.
    public var valueStartOffset: Int
    public var valueEndOffset: Int
    /// Nil when the shell runs it whenever it reads the file; else why it may not (or is undone).
    public var uncertainty: String? = nil
    /// Its line, from 1.
    public var line: Int = 1
    public var certain: Bool { uncertainty == nil }
}

/// A sourced file as the shell reads it: its assignments, the names made read-only (with the
/// line), and where a quote is left open (the shell stops there with an error).
public struct ShellScript: Sendable, Equatable {
    public var assignments: [ShellAssignment]
    public var readonly: [String: Int]
    public var unterminatedQuoteLine: Int?
}

public enum ShellAssignments {
    /// Assignments in order; `environment` holds values from earlier files, for `$VAR`. A quote
    /// left open ends the parse there (the shell would fail on it, and so would grub-mkconfig).
    public static func parse(_ text: String, environment: [String: String] = [:]) -> [ShellAssignment] {
        read(text, environment: environment).assignments
    }

    public static func read(_ text: String, environment: [String: String] = [:]) -> ShellScript {
        var reader = Reader(bytes: Array(text.utf8), env: environment)
        let assignments = reader.assignments()
        return ShellScript(assignments: assignments, readonly: reader.readonly, unterminatedQuoteLine: reader.unterminatedLine)
    }

    struct Reader {
        let bytes: [UInt8]
        var env: [String: String]
        var readonly: [String: Int] = [:]
        var unterminatedLine: Int?
        /// Open compound commands (`if`, `case`, `for`/`while`/`until`, `{`, `(`), innermost last.
        var open: [String] = []
        /// Here-documents announced on the current line, whose bodies follow it.
        var hereDocuments: [(delimiter: [UInt8], stripTabs: Bool)] = []
        /// After `&&` or `||`: the rest of the list runs only if the test before it allows.
        var conditional = false

        /// Where each line starts, made on the first question (a file may be 64 MiB).
        var lineStarts: [Int] = []

        /// The line of an offset, from 1: a binary search of the line starts.
        mutating func line(at offset: Int) -> Int {
            if lineStarts.isEmpty {
                lineStarts = [0]
                bytes.withUnsafeBufferPointer { buffer in
                    for index in 0..<buffer.count where buffer[index] == 0x0a { lineStarts.append(index + 1) }
                }
            }
            var low = 0, high = lineStarts.count
            while low + 1 < high {
                let middle = (low + high) / 2
                if lineStarts[middle] <= offset { low = middle } else { high = middle }
            }
            return low + 1
        }

        /// Why an assignment at this point may not run, or nil.
        func uncertainty() -> String? {
            if let innermost = open.last {
                return innermost == "{" ? "inside { } (a function body, run only when called)" : "inside \(innermost == "(" ? "a ( ) subshell" : "'\(innermost)'"): the shell runs it only on that branch or call"
            }
            return conditional ? "after && or ||: the shell runs it only when the test before it allows" : nil
        }

        /// From a line end at `i`: past the bodies of the here-documents the line announced.
        mutating func skipHereDocuments(from i: Int) -> Int {
            var i = i
            for document in hereDocuments {
                while i < bytes.count {
                    var end = i
                    while end < bytes.count, bytes[end] != 0x0a { end += 1 }
                    var text = Array(bytes[i..<end])
                    if text.last == 0x0d { text.removeLast() }
                    if document.stripTabs { text = Array(text.drop { $0 == 0x09 }) }
                    i = min(end + 1, bytes.count)
                    if text == document.delimiter { break }
                }
            }
            hereDocuments = []
            return i
        }

        /// A command word that opens or closes a compound command; true when the next word starts a command.
        mutating func keyword(_ word: String) -> Bool {
            switch word {
            case "if", "case", "for", "while", "until", "{": open.append(word); return true
            case "fi", "esac", "done", "}": if !open.isEmpty { open.removeLast() }; return false
            case "then", "else", "elif", "do", "!": return true
            default: return false
            }
        }

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
            /// The command being read: `unset`, `readonly`, `declare -r` take names as arguments.
            var command: String?
            /// The word before (`()` after a subshell's close), to see `name() {` open a function body.
            var previous = ""
            while i < bytes.count {
                let c = bytes[i]
                if c == 0x20 || c == 0x09 { i += 1; continue }
                if lineEnd(i) > 0 {
                    i = skipHereDocuments(from: i + lineEnd(i))
                    commandStart = true; conditional = false; command = nil
                    continue
                }
                if (c == 0x26 || c == 0x7c), at(i + 1) == c { i += 2; commandStart = true; conditional = true; command = nil; continue }
                if c == 0x3b || c == 0x26 || c == 0x7c {
                    i += at(i + 1) == 0x3b ? 2 : 1      // ;; ends a case branch
                    commandStart = true; command = nil
                    if c != 0x7c { conditional = false }
                    continue
                }
                if c == 0x28 { open.append("("); i += 1; commandStart = true; continue }
                if c == 0x29 { if open.last == "(" { open.removeLast() }; previous = "()"; i += 1; commandStart = false; continue }
                if c == 0x3c, at(i + 1) == 0x3c, at(i + 2) != 0x3c {                      // <<WORD, <<-WORD
                    var j = i + 2
                    let stripTabs = at(j) == 0x2d
                    if stripTabs { j += 1 }
                    while at(j) == 0x20 || at(j) == 0x09 { j += 1 }
                    guard let word = word(from: j) else { unterminatedLine = line(at: i); return result }
                    hereDocuments.append((Array(word.value.utf8), stripTabs))
                    i = max(word.end, j + 1)
                    continue
                }
                if c == 0x5c, lineEnd(i + 1) > 0 { i += 1 + lineEnd(i + 1); continue }   // a continued line
                if c == 0x23 {                                                             // # comment, to the line end
                    i = bytes[i...].firstIndex(of: 0x0a) ?? bytes.count
                    if i > 0, bytes[i - 1] == 0x0d, i < bytes.count { i -= 1 }                  // CRLF: from its CR
                    continue
                }
                let declaring = command == "readonly" || command == "export" || command == "declare -r" || command == "declare"
                if commandStart || declaring, let equals = assignmentEquals(at: i) {
                    let name = String(decoding: bytes[i..<equals], as: UTF8.self)
                    guard let word = word(from: equals + 1) else { unterminatedLine = line(at: i); return result }
                    env[name] = word.value
                    var assignment = ShellAssignment(name: name, value: word.value, closingQuote: word.quote,
                                                     valueStartOffset: equals + 1, valueEndOffset: word.end)
                    assignment.line = line(at: i)
                    if let limit = readonly[name] { assignment.uncertainty = "\(name) is read-only since line \(limit): the shell refuses this assignment" }
                    else { assignment.uncertainty = uncertainty() }
                    if command == "readonly" || command == "declare -r" { readonly[name] = assignment.line }
                    result.append(assignment)
                    i = word.end
                    continue
                }
                guard let word = word(from: i) else { unterminatedLine = line(at: i); return result }
                if commandStart {
                    commandStart = keyword(word.value)
                    command = ["export", "readonly", "unset", "declare", "typeset", "local", "function"].contains(word.value) ? word.value : nil
                } else if word.value == "{", previous.hasSuffix("()") || command == "function" {
                    open.append("{")     // a function body: run only when the function is called
                    commandStart = true
                    command = nil
                } else if let current = command {
                    // declare/typeset/local -r: names after it are read-only.
                    if ["declare", "typeset", "local"].contains(current), word.value.hasPrefix("-"), word.value.contains("r") { command = "declare -r" }
                    else if current == "readonly" || current == "declare -r", !word.value.hasPrefix("-") { readonly[word.value] = line(at: i) }
                    else if current == "unset", !word.value.hasPrefix("-") {
                        for index in result.indices where result[index].name == word.value && result[index].certain {
                            result[index].uncertainty = "unset at line \(line(at: i)): the shell forgets it"
                        }
                    }
                }
                previous = word.value
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
