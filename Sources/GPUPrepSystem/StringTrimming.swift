// gpuprep links FoundationEssentials only (not Foundation with its ICU data, which tripled the
// binary and the start-up time), so the few string helpers it needs from Foundation live here.
extension StringProtocol {
    /// The text without leading and trailing whitespace (spaces, tabs, newlines), as
    /// Foundation's trimmingCharacters(in: .whitespacesAndNewlines) gives it.
    public func trimmed() -> String {
        guard let first = firstIndex(where: { !$0.isWhitespace }),
              let last = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(self[first...last])
    }
}
