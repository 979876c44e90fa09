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
        let bytes = visible(Array(text.utf8))
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}

extension Terminal {
    /// Text with every control character the tree could have put in a name (a driver, a type, a
    /// host name: terminal escapes that move the cursor, retitle the window or hide a line)
    /// written out as `\xNN`, and so is a byte of a host file that is not UTF-8 (ByteText); new
    /// lines, tabs and gpuprep's own colours (`ESC [ digits ; m`) kept.
    static func visible(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.contains(where: { ($0 < 0x20 && $0 != 0x0a && $0 != 0x09) || $0 == 0x7f || $0 == 0xc2 || $0 == 0xf4 }) else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        func escaped(_ byte: UInt8) -> [UInt8] {
            let digits = Array("0123456789abcdef".utf8)
            return [0x5c, 0x78, digits[Int(byte >> 4)], digits[Int(byte & 0xf)]]
        }
        while i < bytes.count {
            let byte = bytes[i]
            if byte == 0x1b, i + 1 < bytes.count, bytes[i + 1] == 0x5b {
                var j = i + 2
                while j < bytes.count, (bytes[j] >= 0x30 && bytes[j] <= 0x39) || bytes[j] == 0x3b { j += 1 }
                if j < bytes.count, bytes[j] == 0x6d { out += bytes[i...j]; i = j + 1; continue }   // SGR: a colour
            }
            if (byte < 0x20 && byte != 0x0a && byte != 0x09) || byte == 0x7f { out += escaped(byte); i += 1; continue }
            if byte == 0xc2, i + 1 < bytes.count, bytes[i + 1] >= 0x80, bytes[i + 1] <= 0x9f {   // C1 controls (U+0080-009F)
                out += escaped(bytes[i + 1]); i += 2; continue
            }
            if byte == 0xf4, i + 3 < bytes.count, bytes[i + 1] == 0x8f, bytes[i + 2] >= 0xbc, bytes[i + 2] <= 0xbf {
                out += escaped(((bytes[i + 2] - 0xbc) << 6) | (bytes[i + 3] & 0x3f)); i += 4; continue   // a kept byte (ByteText)
            }
            out.append(byte)
            i += 1
        }
        return out
    }
}

extension String {
    /// A name from the tree, for a one-line message: every control character, new lines and
    /// tabs included, written as `\xNN` (Terminal.visible keeps new lines, which a name must not
    /// bring into a message).
    public var shownAsName: String {
        var out = ""
        for scalar in unicodeScalars {
            if scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value) {
                out += "\\x" + String(scalar.value, radix: 16).leftPadded(to: 2)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: Swift.max(0, width - count)) + self }
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
