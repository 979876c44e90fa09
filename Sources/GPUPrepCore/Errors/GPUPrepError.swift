import GPUPrepSystem

/// Every failure gpuprep reports: a stable code, a one-line message that says what to do,
/// and the exit status it maps to (the one table of exit statuses; see README and man page).
public struct GPUPrepError: Error, Sendable, Equatable {
    public enum Code: String, Sendable, Codable, CaseIterable {
        /// Bad arguments: a malformed address, an unknown option value.
        case usage
        /// `--root` is not a directory.
        case invalidRoot = "invalid-root"
        /// A file named on the command line cannot be read.
        case unreadableFile = "unreadable-file"
        /// The root holds no PCI bus (no sysfs).
        case noPCIBus = "no-pci-bus"
        /// An address that names no function on the host (or a vGPU that does not exist).
        case unknownDevice = "unknown-device"
        /// A vGPU type no parent offers.
        case unknownType = "unknown-type"
        /// libpci, libkmod or a read failed.
        case system
        /// A path component that could lead outside the root.
        case unsafePath = "unsafe-path"
        /// A safety check refused the change (`--force` overrides the ones that say so).
        case refused
        /// The kernel refused a write, or a probe bound nothing; what was done was rolled back.
        case applyFailed = "apply-failed"
        /// A change failed and could not be fully rolled back: the message lists the state left.
        case rollbackFailed = "rollback-failed"
        /// Another gpuprep holds the lock.
        case locked
        /// Changing the live host needs root.
        case permission

        /// The exit status for this failure (sysexits.h values, so scripts can tell them apart).
        public var exitStatus: Int32 {
            switch self {
            case .usage, .unsafePath: return 64          // EX_USAGE
            case .invalidRoot, .unknownDevice, .unknownType, .unreadableFile: return 66 // EX_NOINPUT
            case .noPCIBus: return 69                    // EX_UNAVAILABLE
            case .system, .applyFailed: return 74        // EX_IOERR
            case .refused: return 65                     // EX_DATAERR
            case .rollbackFailed: return 70              // EX_SOFTWARE
            case .locked: return 75                      // EX_TEMPFAIL
            case .permission: return 77                  // EX_NOPERM
            }
        }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Maps a system-layer failure to the user-facing one.
    public init(_ error: SystemError) {
        switch error {
        case .invalidRoot: self.init(.invalidRoot, error.message)
        case .unsafePathComponent: self.init(.unsafePath, error.message)
        case .io, .libpci, .libkmod: self.init(.system, error.message)
        case .locked: self.init(.locked, error.message)
        }
    }

    public var exitStatus: Int32 { code.exitStatus }
}

/// Exit statuses that are not errors.
public enum ExitStatus {
    public static let success: Int32 = 0
    /// A report found problems (a failed check, a conflict).
    public static let findings: Int32 = 1
}
