/// "Did you mean ...?": the known word nearest to a mistyped one.
public enum Suggestion {
    /// The candidate nearest to `wanted` (case aside, by edit distance, and also by a candidate's
    /// last word, so that `T4-2Q` finds `GRID T4-2Q`), when it is near enough to be what was meant.
    public static func closest(to wanted: String, among known: [String]) -> String? {
        let asked = Array(wanted.lowercased())
        func distance(_ candidate: String) -> Int {
            let short = candidate.split(separator: " ").last.map(String.init) ?? candidate
            return min(editDistance(asked, Array(candidate.lowercased())), editDistance(asked, Array(short.lowercased())))
        }
        guard let best = Set(known).sorted().min(by: { distance($0) < distance($1) }) else { return nil }
        return distance(best) <= max(2, asked.count / 4) ? best : nil
    }

    /// Levenshtein's distance: insertions, deletions and substitutions.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}
