/// A unified diff of two texts (`diff -u` style, 3 lines of context), for showing a planned edit.
public enum UnifiedDiff {
    public static func make(_ old: String, _ new: String, path: String) -> String {
        let oldBytes = Array(old.utf8), newBytes = Array(new.utf8)
        // What both share at the start and the end is the same: found byte by byte and cut at
        // line ends, it is neither split into lines nor compared again. The longest common
        // subsequence is taken of what lies between (an edit's few lines), so a file of millions
        // of lines costs linear time. A middle too large for the table is shown removed and added.
        let shared = commonEnds(oldBytes, newBytes)
        let before = lines(oldBytes[..<shared.head]), after = lines(oldBytes[shared.oldTail...])
        let a = lines(oldBytes[shared.head..<shared.oldTail]), b = lines(newBytes[shared.head..<shared.newTail])
        enum Op { case same(String), remove(String), add(String) }
        // Lines before the last three of the shared head are only counted (no hunk shows them).
        let skipped = max(0, before.count - 3)
        var ops: [Op] = before[skipped...].map { .same($0) }
        if a.count * b.count <= 4_000_000 {
            var lcs = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
            for i in stride(from: a.count - 1, through: 0, by: -1) {
                for j in stride(from: b.count - 1, through: 0, by: -1) {
                    lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
                }
            }
            var i = 0, j = 0
            while i < a.count || j < b.count {
                if i < a.count && j < b.count && a[i] == b[j] { ops.append(.same(a[i])); i += 1; j += 1 }
                // Removals before additions, as diff -u shows a changed line.
                else if i < a.count && (j == b.count || lcs[i + 1][j] >= lcs[i][j + 1]) { ops.append(.remove(a[i])); i += 1 }
                else { ops.append(.add(b[j])); j += 1 }
            }
        } else {
            ops += a.map { .remove($0) } + b.map { .add($0) }
        }
        ops += after.prefix(3).map { .same($0) }
        let changed = ops.indices.filter { if case .same = ops[$0] { return false } else { return true } }
        guard !changed.isEmpty else { return "" }
        var out = "--- \(path)\n+++ \(path)\n"
        var index = 0
        while index < changed.count {
            // A hunk: changes closer than 7 lines apart share one.
            var last = index
            while last + 1 < changed.count && changed[last + 1] - changed[last] <= 6 { last += 1 }
            let start = max(0, changed[index] - 3), end = min(ops.count - 1, changed[last] + 3)
            var oldStart = skipped, newStart = skipped
            for op in ops[..<start] {
                switch op { case .same: oldStart += 1; newStart += 1; case .remove: oldStart += 1; case .add: newStart += 1 }
            }
            var oldCount = 0, newCount = 0, body = ""
            for op in ops[start...end] {
                switch op {
                case let .same(line): oldCount += 1; newCount += 1; body += " \(line)\n"
                case let .remove(line): oldCount += 1; body += "-\(line)\n"
                case let .add(line): newCount += 1; body += "+\(line)\n"
                }
            }
            out += "@@ -\(oldStart + (oldCount > 0 ? 1 : 0)),\(oldCount) +\(newStart + (newCount > 0 ? 1 : 0)),\(newCount) @@\n" + body
            index = last + 1
        }
        return out
    }

    /// The lines of a stretch of bytes (a last line end makes no empty line).
    static func lines(_ bytes: ArraySlice<UInt8>) -> [String] {
        var lines = bytes.split(separator: 0x0a, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// Where the shared head ends and the shared tail starts in each text, at line starts.
    static func commonEnds(_ old: [UInt8], _ new: [UInt8]) -> (head: Int, oldTail: Int, newTail: Int) {
        let most = min(old.count, new.count)
        var prefix = 0
        while prefix < most, old[prefix] == new[prefix] { prefix += 1 }
        if prefix < old.count || prefix < new.count {
            while prefix > 0, old[prefix - 1] != 0x0a { prefix -= 1 }      // back to a line start
        }
        var suffix = 0
        while suffix < most - prefix, old[old.count - 1 - suffix] == new[new.count - 1 - suffix] { suffix += 1 }
        // The tail starts after a line end that both texts share.
        var start = old.count - suffix
        while start < old.count, old[start] != 0x0a { start += 1 }
        let oldTail = min(start + 1, old.count)
        return (prefix, oldTail, new.count - (old.count - oldTail))
    }
}
