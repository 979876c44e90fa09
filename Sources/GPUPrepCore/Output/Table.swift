/// How a cell should stand out on a colour terminal.
public enum Tone: Sendable { case plain, good, warn, bad, dim, strong }

public struct Cell: Sendable, ExpressibleByStringLiteral {
    public var text: String
    public var tone: Tone
    public init(_ text: String, _ tone: Tone = .plain) { self.text = text; self.tone = tone }
    public init(stringLiteral value: String) { self.init(value) }
}

/// Plain text or ANSI colour, decided once by the caller (colour only on a terminal).
public struct TextStyle: Sendable {
    public var color: Bool
    public init(color: Bool) { self.color = color }

    public func paint(_ text: String, _ tone: Tone) -> String {
        guard color, tone != .plain else { return text }
        let code: String
        switch tone {
        case .plain: return text
        case .good: code = "32"
        case .warn: code = "33"
        case .bad: code = "31"
        case .dim: code = "2"
        case .strong: code = "1"
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}

/// A left-aligned text table; the last column is never padded.
public struct Table: Sendable {
    public var columns: [String]
    public var rows: [[Cell]] = []

    public init(columns: [String]) { self.columns = columns }

    public mutating func add(_ row: [Cell]) { rows.append(row) }

    public func render(_ style: TextStyle) -> String {
        var widths = columns.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.text.count)
            }
        }
        func line(_ cells: [Cell]) -> String {
            var out = ""
            for (index, cell) in cells.enumerated() {
                let isLast = index == cells.count - 1
                let padding = isLast ? "" : String(repeating: " ", count: widths[index] - cell.text.count + 2)
                out += style.paint(cell.text, cell.tone) + padding
            }
            return out
        }
        var out = line(columns.map { Cell($0, .strong) }) + "\n"
        for row in rows { out += line(row) + "\n" }
        return out
    }
}
