import Glibc

/// A failure of the host or of a C library, with the path and errno where there is one.
public enum SystemError: Error, Sendable, Equatable {
    case invalidRoot(path: String, reason: String)
    case unsafePathComponent(String)
    case io(path: String, errno: Int32)
    case libpci(String)
    case libkmod(String)
    case locked(path: String)
    /// A program gpuprep ran exited with a failure; `output` is the last line it printed.
    case program(path: String, status: Int32, output: String)
    /// A write still blocked in the kernel at its deadline; `pid` is the process still in it.
    case blocked(path: String, pid: Int32, seconds: Double)
    /// A host file that is not what it should be (a FIFO, a link, a device where a file belongs).
    case notRegular(path: String, kind: String)

    public var message: String {
        switch self {
        case let .invalidRoot(path, reason):
            return "root \(path) \(reason): pass --root a directory that holds a host tree (sys/, proc/, ...), or omit it for the live host"
        case let .unsafePathComponent(name):
            return "refusing the path component '\(name)': it could point outside the host root"
        case let .io(path, code):
            return "\(path): \(String(cString: strerror(code)))"
        case let .libpci(text):
            return "libpci: \(text)"
        case let .libkmod(text):
            return "libkmod: \(text)"
        case let .program(path, status, output):
            return "\(path) exited with status \(status)\(output.isEmpty ? "" : ": \(output)")"
        case let .blocked(path, pid, seconds):
            return "writing \(path) was still blocked in the kernel after \(Self.seconds(seconds)) s (pid \(pid) is still waiting in it, and completes the write when the kernel lets it)"
        case let .notRegular(path, kind):
            // One clause (no ": "), so that a step's failure keeps it whole (Applier).
            return "refusing to write \(path), which is \(kind)\(kind.hasPrefix("a regular file") ? "" : ", not a file") (a host tree built wrongly, or crafted)"
        case let .locked(path):
            return "another gpuprep is changing this host (lock \(path) is held): wait for it and run again"
        }
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
