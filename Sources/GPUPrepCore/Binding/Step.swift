import GPUPrepSystem

/// One change to the host, or one check of what the kernel did.
public struct Step: Sendable, Equatable {
    public enum Action: String, Sendable, Encodable {
        /// Write `value` to the sysfs attribute `path` (`echo value > path`).
        case write
        /// Load the module `value` (`modprobe value`).
        case loadModule = "load-module"
        /// Check that the `driver` link at `path` names `value` (`none`: no driver; `!x`: not x).
        case verify
        /// Replace the file at `path` with `value`, atomically.
        case writeFile = "write-file"
        /// Remove the file at `path`.
        case removeFile = "remove-file"
        /// Copy the file `value` names to `path`, with its mode and owner, unless `path` exists:
        /// the first backup is kept.
        case backUp = "back-up"
        /// Make `path` a symbolic link to `value` (`ln -sf value path`), as `systemctl enable` does.
        case link
        /// Run the program at `path` as `program` says (NVIDIA's sriov-manage, systemctl, the boot
        /// loader's and initramfs builder's own commands), on the live host only, bounded in time;
        /// `value` holds its arguments as the plan shows them.
        case run
        /// Check that `path` exists (an mdev the kernel made).
        case verifyExists = "verify-exists"
        /// Check that `path` no longer exists.
        case verifyAbsent = "verify-absent"
        /// Check that the attribute at `path` reads `value`.
        case verifyValue = "verify-value"
        /// Check that the list at `path` (NVIDIA's `creatable_vgpu_types`) names no type: only
        /// its header, no `ID : name` line.
        case verifyListsNone = "verify-lists-none"
    }

    public var action: Action
    public var path: HostPath?
    public var value: String
    /// The device the step is about, if any.
    public var device: PCIAddress?
    /// What puts the host back once this step is done, if a later one fails.
    public var undo: [Step] = []
    /// For a file whose content says little to a person (gpuprep's own records): what it holds,
    /// shown in the plan instead of the content.
    public var summary: String?
    /// For `.run`: the arguments, each one word, and the bounds of each try.
    public var program: ProgramRun?

    public static func write(_ path: HostPath, _ value: String, device: PCIAddress? = nil) -> Step {
        Step(action: .write, path: path, value: value, device: device)
    }

    /// Runs `program` with `arguments` (each one word, never split again).
    public static func run(_ program: HostPath, _ arguments: [String], timeoutSeconds: Int = 60, attempts: Int = 1,
                           device: PCIAddress? = nil) -> Step {
        var step = Step(action: .run, path: program, value: arguments.map(Quote.shellWord).joined(separator: " "), device: device)
        step.program = ProgramRun(arguments: arguments, timeoutSeconds: timeoutSeconds, attempts: attempts)
        return step
    }

    /// The shell command that does the same, for people reading a plan.
    public var shell: String {
        switch action {
        case .write: return "echo \(value.isEmpty ? "\"\"" : value) > \(path?.string ?? "?")"
        case .loadModule: return "modprobe \(value)"
        case .writeFile where summary != nil:
            return "write \(path?.string ?? "?") (\(summary!))"
        case .writeFile:
            return "write \(path?.string ?? "?"):\n" + value.split(separator: "\n", omittingEmptySubsequences: false)
                .dropLast(value.hasSuffix("\n") ? 1 : 0).map { "       | " + $0 }.joined(separator: "\n")
        case .removeFile: return "rm \(path?.string ?? "?")"
        case .backUp: return "cp -an \(value) \(path?.string ?? "?")"
        case .link: return "ln -sf \(value) \(path?.string ?? "?")"
        case .run: return (path?.string ?? "?") + (value.isEmpty ? "" : " " + value)
        case .verifyExists: return "check \(path?.string ?? "?") exists"
        case .verifyAbsent: return "check \(path?.string ?? "?") is gone"
        case .verifyValue: return "check \(path?.string ?? "?") reads \(value)"
        case .verifyListsNone: return "check \(path?.string ?? "?") lists no type"
        case .verify:
            if value.hasPrefix("!") { return "check \(path?.string ?? "?") is not \(value.dropFirst())" }
            return "check \(path?.string ?? "?") -> \(value)"
        }
    }
}

/// How a `.run` step runs its program: the arguments, how long one try may take before the
/// program is killed, and how many tries (2 s apart) it gets before its failure counts.
public struct ProgramRun: Sendable, Equatable {
    public var arguments: [String]
    public var timeoutSeconds: Int
    public var attempts: Int
}

/// Host paths of the PCI attributes that binding touches.
enum PCIPaths {
    static func device(_ address: PCIAddress) -> HostPath { HostPath.sysBusPCIDevices.child(address.description) }
    static func driverOverride(_ address: PCIAddress) -> HostPath { device(address).child("driver_override") }
    static func driverLink(_ address: PCIAddress) -> HostPath { device(address).child("driver") }
    /// Driver names come from the host (links) or were checked to be plain names.
    static func unbind(_ driver: String) -> HostPath { HostPath.sysBusPCIDrivers.child(driver, "unbind") }
    static func bind(_ driver: String) -> HostPath { HostPath.sysBusPCIDrivers.child(driver, "bind") }
}
