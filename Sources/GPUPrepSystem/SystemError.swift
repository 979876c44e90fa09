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
        case let .locked(path):
            return "another gpuprep is changing this host (lock \(path) is held): wait for it and run again"
        }
    }
}
