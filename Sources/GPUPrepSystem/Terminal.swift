import CShims
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

/// SIGINT, SIGTERM and SIGHUP during a change: noted, so that the change finishes the step it is
/// in, then rolls back and says so, instead of dying between an unbind and a probe with a device
/// left driverless and its override set (see gp_catch_signals).
public enum Interruption {
    public static func catchSignals() { gp_catch_signals() }

    /// The signal received since, by name, or nil.
    public static var received: String? {
        switch gp_signal_received() {
        case 0: return nil
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        case let other: return "signal \(other)"
        }
    }
}
