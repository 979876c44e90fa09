/// A unified diff of two texts (`diff -u` style, 3 lines of context), for showing a planned edit.
public enum UnifiedDiff {
    public static func make(_ old: String, _ new: String, path: String) -> String {
        let a = lines(old), b = lines(new)
        // Longest common subsequence table; configuration files are small.
        var lcs = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
            }
        }
        enum Op { case same(String), remove(String), add(String) }
        var ops: [Op] = []
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if i < a.count && j < b.count && a[i] == b[j] { ops.append(.same(a[i])); i += 1; j += 1 }
            // Removals before additions, as diff -u shows a changed line.
            else if i < a.count && (j == b.count || lcs[i + 1][j] >= lcs[i][j + 1]) { ops.append(.remove(a[i])); i += 1 }
            else { ops.append(.add(b[j])); j += 1 }
        }
        let changed = ops.indices.filter { if case .same = ops[$0] { return false } else { return true } }
        guard !changed.isEmpty else { return "" }
        var out = "--- \(path)\n+++ \(path)\n"
        var index = 0
        while index < changed.count {
            // A hunk: changes closer than 7 lines apart share one.
            var last = index
            while last + 1 < changed.count && changed[last + 1] - changed[last] <= 6 { last += 1 }
            let start = max(0, changed[index] - 3), end = min(ops.count - 1, changed[last] + 3)
            var oldStart = 0, newStart = 0
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

    static func lines(_ text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}
