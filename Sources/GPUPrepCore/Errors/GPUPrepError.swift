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
        /// A configuration file (`apply`'s) that is not what the contract describes; the message names the line.
        case badConfig = "bad-config"
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
        /// The change is done, but a program --regenerate ran (update-grub, update-initramfs, ...)
        /// failed: the files written are kept, the message says what to run again.
        case regenerateFailed = "regenerate-failed"
        /// A change failed and could not be fully rolled back: the message lists the state left.
        case rollbackFailed = "rollback-failed"
        /// A write was still blocked in the kernel at its deadline (something holds the device):
        /// the message says what holds it and what the kernel will still do.
        case blocked
        /// Another gpuprep holds the lock.
        case locked
        /// Changing the live host needs root.
        case permission

        /// The exit status for this failure (sysexits.h values, so scripts can tell them apart).
        public var exitStatus: Int32 {
            switch self {
            case .usage, .unsafePath, .badConfig: return 64          // EX_USAGE
            case .invalidRoot, .unknownDevice, .unknownType, .unreadableFile: return 66 // EX_NOINPUT
            case .noPCIBus: return 69                    // EX_UNAVAILABLE
            case .system, .applyFailed, .regenerateFailed: return 74        // EX_IOERR
            case .refused: return 65                     // EX_DATAERR
            case .rollbackFailed, .blocked: return 70    // EX_SOFTWARE
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
        case .io, .libpci, .libkmod, .program, .notRegular: self.init(.system, error.message)
        case .blocked: self.init(.blocked, error.message)
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

/// The exit statuses gpuprep uses, with what each means and the error codes that give it: the
/// one table that --help (and so the man page) prints and the README's table is checked against.
public enum ExitStatusTable {
    public struct Row: Sendable {
        public var status: Int32
        public var meaning: String
        public var codes: [GPUPrepError.Code]
    }

    public static let rows: [Row] = [
        Row(status: 0, meaning: "success; nothing to do (also: no NVIDIA GPU found)", codes: []),
        Row(status: 1, meaning: "the report found problems (a failed check, a conflict, apply --check differences, a cause doctor found)", codes: []),
        Row(status: 64, meaning: "bad usage: an unknown option or command, a malformed argument, a config file with errors (line named)", codes: [.usage, .unsafePath, .badConfig]),
        Row(status: 65, meaning: "refused: a safety check failed, or it cannot fit; nothing changed", codes: [.refused]),
        Row(status: 66, meaning: "no such input: root, device, vGPU type or vGPU, pci.ids or config file", codes: [.invalidRoot, .unknownDevice, .unknownType, .unreadableFile]),
        Row(status: 69, meaning: "the root has no PCI bus (sys/bus/pci/devices is missing)", codes: [.noPCIBus]),
        Row(status: 70, meaning: "a change failed and so did its rollback, or a write is still blocked in the kernel: the report says what is left", codes: [.rollbackFailed, .blocked]),
        Row(status: 74, meaning: "a read, write or library call failed; a change is rolled back, and says so; or a program --regenerate ran failed (the change is kept)", codes: [.system, .applyFailed, .regenerateFailed]),
        Row(status: 75, meaning: "another gpuprep change holds the host lock", codes: [.locked]),
        Row(status: 77, meaning: "permission: changing the live host needs root", codes: [.permission]),
    ]

    /// The table as the README shows it (a test holds the README to it).
    public static var markdown: String {
        (["| status | meaning | JSON `error.code` |", "|---|---|---|"] + rows.map { row in
            let codes = row.codes.map { "`\($0.rawValue)`" }.joined(separator: ", ")
            return "| \(row.status) | \(row.meaning) |" + (codes.isEmpty ? " |" : " \(codes) |")
        }).joined(separator: "\n")
    }

    /// The table as --help prints it.
    public static var text: String {
        rows.map { row in
            let status = String(row.status)
            return "  " + status + String(repeating: " ", count: 4 - status.count) + row.meaning
        }.joined(separator: "\n")
    }
}
