// gpuprep links FoundationEssentials only (not Foundation with its ICU data, which tripled the
// binary and the start-up time), so the few string helpers it needs from Foundation live here.
extension StringProtocol {
    /// The text without leading and trailing whitespace (spaces, tabs, newlines), as
    /// Foundation's trimmingCharacters(in: .whitespacesAndNewlines) gives it.
    public func trimmed() -> String {
        // Scalars, not Characters: no grapheme breaking for what is almost always ASCII.
        let scalars = Substring(self).unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(Substring(scalars[first...last]))
    }
}
