import Glibc

/// Facts about where output goes.
public enum Terminal {
    /// Whether standard output is a terminal (colour is only for terminals).
    public static var standardOutputIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

    /// Writes to standard output, unbuffered.
    public static func writeOutput(_ text: String) { write(text, to: STDOUT_FILENO) }

    /// Writes to standard error, unbuffered.
    public static func writeError(_ text: String) { write(text, to: STDERR_FILENO) }

    private static func write(_ text: String, to descriptor: Int32) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}
