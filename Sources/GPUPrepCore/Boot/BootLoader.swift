import FoundationEssentials
import GPUPrepSystem

/// The boot loader that configures this host's kernel command line, and what it has configured.
public struct BootLoader: Sendable {
    public enum Kind: String, Sendable, Encodable {
        case grub
        /// GRUB with Boot Loader Specification entries, managed by grubby (Fedora, RHEL).
        case grubBLS = "grub-bls"
        /// /etc/kernel/cmdline, read by kernel-install for systemd-boot.
        case kernelCmdline = "kernel-cmdline"
        /// /etc/kernel/cmdline on Proxmox VE, applied by proxmox-boot-tool.
        case proxmox
        /// Pop!_OS's kernelstub.
        case kernelstub
        /// systemd-boot reading Boot Loader Specification entries itself (Arch's way: no GRUB,
        /// no /etc/kernel/cmdline): each entry's `options` lines are its command line, read at
        /// boot, with nothing to regenerate.
        case systemdBoot = "systemd-boot"
        /// Unified kernel images (the kernel, initramfs and command line in one EFI binary, in
        /// /boot/EFI/Linux or /efi/EFI/Linux) with no /etc/kernel/cmdline yet: the builders
        /// (mkinitcpio, ukify through kernel-install) then embed the running command line, and
        /// --fix writes /etc/kernel/cmdline, which they read first.
        case uki
    }

    public var kind: Kind
    /// The file that holds the configured command line (the one --fix edits, where it edits).
    public var file: HostPath
    public var configured: KernelCommandLine
    /// The command that turns the configuration into what the firmware boots, as the remedy
    /// shows it, and as --regenerate runs it (nil: none, or one the fix itself makes).
    public var regenerate: String?
    public var regenerateArguments: [String]?
    /// For GRUB: the configuration grub-mkconfig writes (what the next boot reads).
    public var generatedConfig: HostPath?
    /// For GRUB: the assignment that --fix extends (nil: a new line is added).
    var grubAssignment: (file: HostPath, assignment: ShellAssignment)?

    /// The configured arguments that switch the IOMMU off (`intel_iommu=off`, `amd_iommu=off`,
    /// `iommu=off`), as written: the kernel would take them, or take whichever comes last.
    public var iommuOffSwitches: [String] {
        configured.parameters.filter { parameter in
            let parts = parameter.split(separator: "=", maxSplits: 1).map(String.init)
            return parts.count == 2 && ["intel_iommu", "amd_iommu", "iommu"].contains(KernelCommandLine.normalized(parts[0]))
                && parts[1].split(separator: ",").contains("off")
        }
    }

    /// What --fix puts in place of an argument that switches the IOMMU off: the wanted argument
    /// of the same name, else nothing (the argument goes).
    static func replacement(for off: String, wanted: [String]) -> String? {
        let name = KernelCommandLine.normalized(off.split(separator: "=")[0])
        return wanted.first { KernelCommandLine.normalized($0.split(separator: "=")[0]) == name }
    }

    /// The exact remedy for arguments that switch the IOMMU off: each replaced, or removed.
    public func remedy(replacing offs: [String], wanted: [String]) -> String {
        let changes = offs.map { off in Self.replacement(for: off, wanted: wanted).map { "\(off) with \($0)" } ?? "\(off) (remove it)" }
        switch kind {
        case .grubBLS:
            let added = offs.compactMap { Self.replacement(for: $0, wanted: wanted) }
            return "grubby --update-kernel=ALL --remove-args=\"\(offs.joined(separator: " "))\"" + (added.isEmpty ? "" : " --args=\"\(added.joined(separator: " "))\"")
                + " (and the same in GRUB_CMDLINE_LINUX of /etc/default/grub: 'gpuprep check --fix')"
        case .kernelstub:
            return "kernelstub " + offs.map { "-d \($0)" }.joined(separator: " ") + " "
                + offs.compactMap { Self.replacement(for: $0, wanted: wanted) }.map { "-a \($0)" }.joined(separator: " ")
        case .uki:
            return "write /etc/kernel/cmdline with the running command line, replacing \(changes.joined(separator: ", ")), then run '\(regenerate ?? "")' (or 'gpuprep check --fix --regenerate')"
        case .systemdBoot:
            return "in the options line of every entry in \(HostPath.blsEntries), replace \(changes.joined(separator: ", ")) (or 'gpuprep check --fix')"
        case .grub, .kernelCmdline, .proxmox:
            return "in \(kind == .grub ? "GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT of \(grubAssignment?.file ?? file)" : file.string), replace \(changes.joined(separator: ", ")), then run '\(regenerate ?? "update-grub")' (or 'gpuprep check --fix')"
        }
    }

    /// The exact remedy for missing arguments: an edit and the regenerate command, or a command.
    public func remedy(adding arguments: [String]) -> String {
        let joined = arguments.joined(separator: " ")
        switch kind {
        case .grub:
            let name = grubAssignment?.assignment.name ?? "GRUB_CMDLINE_LINUX_DEFAULT"
            return "add \(joined) to \(name) in \(grubAssignment?.file ?? file), then run '\(regenerate ?? "update-grub")' (or 'gpuprep check --fix')"
        case .grubBLS:
            return "grubby --update-kernel=ALL --args=\"\(joined)\" (and add them to GRUB_CMDLINE_LINUX in /etc/default/grub for future kernels: 'gpuprep check --fix')"
        case .kernelCmdline, .proxmox:
            return "add \(joined) to \(file), then run '\(regenerate ?? "")' (or 'gpuprep check --fix')"
        case .kernelstub:
            return "kernelstub " + arguments.map { "-a \($0)" }.joined(separator: " ")
        case .uki:
            return "write \(file) with the running command line and \(joined), then run '\(regenerate ?? "")' (or 'gpuprep check --fix --regenerate')"
        case .systemdBoot:
            return "add \(joined) to the options line of every entry in \(HostPath.blsEntries) (or 'gpuprep check --fix')"
        }
    }

    /// Finds the boot loader configuration under the root, or nil when none is recognised.
    public static func detect(_ host: HostContext) -> BootLoader? {
        let files = AtomicFile(root: host.root)
        let sysfs = host.sysfs
        if let json = files.read(.kernelstubConfig) {
            let options = Self.kernelstubOptions(json)
            return BootLoader(kind: .kernelstub, file: .kernelstubConfig, configured: KernelCommandLine(options.joined(separator: " ")),
                              regenerate: nil)
        }
        if let text = files.read(.kernelCmdline) {
            // kernel-install reads the whole file as one command line; newlines separate nothing else.
            let proxmox = sysfs.exists(.proxmoxBootTool) || sysfs.exists(.proxmoxConfig)
            if proxmox {
                return BootLoader(kind: .proxmox, file: .kernelCmdline, configured: KernelCommandLine(text),
                                  regenerate: "proxmox-boot-tool refresh", regenerateArguments: ["proxmox-boot-tool", "refresh"])
            }
            let (shown, arguments) = kernelCmdlineRegeneration(host)
            return BootLoader(kind: .kernelCmdline, file: .kernelCmdline, configured: KernelCommandLine(text),
                              regenerate: shown, regenerateArguments: arguments)
        }
        guard files.read(.defaultGrub) != nil else {
            // No GRUB: entries systemd-boot reads as they are.
            if let entry = blsEntry(host) {
                return BootLoader(kind: .systemdBoot, file: entry.path, configured: KernelCommandLine(entry.options), regenerate: nil)
            }
            guard hasUnifiedKernelImages(host) else { return nil }
            let (shown, arguments) = kernelCmdlineRegeneration(host)
            return BootLoader(kind: .uki, file: .kernelCmdline, configured: KernelCommandLine(runningArguments(host)), regenerate: shown, regenerateArguments: arguments)
        }
        let (assignments, last) = grubAssignments(host)
        // What grub-mkconfig will see: the last assignment the shell surely runs (one in a
        // here-document, an uncalled function or after `&&` configures nothing for certain).
        func final(_ name: String) -> String { assignments.last { $0.assignment.name == name && $0.assignment.certain }?.assignment.value ?? "" }
        if final("GRUB_ENABLE_BLSCFG") == "true", let entry = blsEntry(host) {
            return BootLoader(kind: .grubBLS, file: entry.path, configured: KernelCommandLine(entry.options),
                              regenerate: nil, grubAssignment: last)
        }
        let (program, generated) = grubMkconfig(host)
        let arguments = program == "update-grub" ? [program] : [program, "-o", generated.string]
        return BootLoader(kind: .grub, file: .defaultGrub,
                          configured: KernelCommandLine(final("GRUB_CMDLINE_LINUX") + " " + final("GRUB_CMDLINE_LINUX_DEFAULT")),
                          regenerate: arguments.joined(separator: " "), regenerateArguments: arguments, generatedConfig: generated,
                          grubAssignment: last)
    }

    /// The program that writes grub.cfg, and where it goes. Debian's update-grub writes
    /// /boot/grub/grub.cfg. On EL7 and EL8 booted by UEFI, the real grub.cfg is the one on the
    /// ESP, /boot/efi/EFI/<vendor>/grub.cfg (RHEL 7 System Administrator's Guide, 26.2 "Making
    /// persistent changes to a GRUB 2 menu"); since RHEL 9 and Fedora 34 that file is a stub that
    /// loads /boot/grub2/grub.cfg (it says `configfile`), and the latter is the one to write.
    static func grubMkconfig(_ host: HostContext) -> (program: String, config: HostPath) {
        let sysfs = host.sysfs
        if sysfs.exists(.updateGrub) { return ("update-grub", .bootGrubConfig) }
        guard sysfs.exists(.bootGrub2) else { return ("grub-mkconfig", .bootGrubConfig) }
        if sysfs.exists(.sysFirmwareEFI) {
            let files = AtomicFile(root: host.root)
            for vendor in (sysfs.list(.espEFI) ?? []).sorted() where HostPath.isPlainName(vendor) && vendor != "BOOT" {
                let config = HostPath.espEFI.child(vendor, "grub.cfg")
                if let text = files.read(config), !text.contains("configfile") { return ("grub2-mkconfig", config) }
            }
        }
        return ("grub2-mkconfig", .bootGrub2Config)
    }

    /// What rebuilds the boot image from /etc/kernel/cmdline: mkinitcpio where its presets build
    /// unified kernel images (`default_uki=` in /etc/mkinitcpio.d/*.preset, the Arch wiki's
    /// "Unified kernel image"), else systemd's kernel-install for the running kernel (which runs
    /// ukify or writes a BLS entry, as /etc/kernel/install.conf's layout says).
    static func kernelCmdlineRegeneration(_ host: HostContext) -> (shown: String, arguments: [String]) {
        let files = AtomicFile(root: host.root)
        let presets = (host.sysfs.list(.mkinitcpioPresets) ?? []).sorted().filter { $0.hasSuffix(".preset") && HostPath.isPlainName($0) }
        if presets.contains(where: { files.read(HostPath.mkinitcpioPresets.child($0))?.split(separator: "\n").contains { $0.trimmed().hasPrefix("default_uki=") } == true }) {
            return ("mkinitcpio -P", ["mkinitcpio", "-P"])
        }
        let release = host.kernelRelease
        let shown = "kernel-install add \"$(uname -r)\" \(HostPath.libModules)/\"$(uname -r)\"/vmlinuz"
        return (shown, release.map { ["kernel-install", "add", $0, HostPath.libModules.child($0, "vmlinuz").string] } ?? ["kernel-install", "add"])
    }

    /// Whether the ESP holds unified kernel images (systemd's Boot Loader Specification, type #2).
    static func hasUnifiedKernelImages(_ host: HostContext) -> Bool {
        HostPath.ukiDirs.contains { dir in (host.sysfs.list(dir) ?? []).contains { $0.hasSuffix(".efi") } }
    }

    /// The running kernel's command line as written, without what a boot loader adds for itself
    /// (`BOOT_IMAGE=`, `initrd=`): what a UKI builder embeds when /etc/kernel/cmdline is absent.
    static func runningArguments(_ host: HostContext) -> String {
        let text = AtomicFile(root: host.root).read(.procCmdline) ?? ""
        return text.trimmed().split(separator: " ").map(String.init)
            .filter { !$0.hasPrefix("BOOT_IMAGE=") && !$0.hasPrefix("initrd=") }.joined(separator: " ")
    }

    /// Every assignment of /etc/default/grub and then /etc/default/grub.d/*.cfg (as grub-mkconfig
    /// sources them), and the last assignment of the command line variable to extend:
    /// GRUB_CMDLINE_LINUX_DEFAULT when set anywhere, else GRUB_CMDLINE_LINUX.
    static func grubAssignments(_ host: HostContext) -> ([(file: HostPath, assignment: ShellAssignment)], (file: HostPath, assignment: ShellAssignment)?) {
        let read = grubFiles(host)
        return (read.assignments, read.target)
    }

    /// The same, with what stops an edit: a file that cannot be read now (grub-mkconfig would
    /// source it later), a quote left open, names made read-only (by file).
    struct GrubFiles {
        var assignments: [(file: HostPath, assignment: ShellAssignment)] = []
        var target: (file: HostPath, assignment: ShellAssignment)?
        var problems: [String] = []
        var readonly: [(file: HostPath, name: String, line: Int)] = []
    }

    static func grubFiles(_ host: HostContext) -> GrubFiles {
        let files = AtomicFile(root: host.root)
        var paths = [HostPath.defaultGrub]
        for name in (host.sysfs.list(.defaultGrubD) ?? []).sorted() where name.hasSuffix(".cfg") {
            paths.append(HostPath.defaultGrubD.child(name))
        }
        var environment: [String: String] = [:]
        var result = GrubFiles()
        var readonly: [String: Int] = [:]
        for path in paths {
            guard let text = files.read(path) else {
                if path != .defaultGrub || host.sysfs.exists(path) {
                    result.problems.append("\(path) cannot be read, and grub-mkconfig sources it: make it readable, or remove it")
                }
                continue
            }
            // grub-mkconfig sources the files one after another in one shell: read-only carries over.
            var script = ShellAssignments.read(text, environment: environment)
            for index in script.assignments.indices where script.assignments[index].certain {
                if let line = readonly[script.assignments[index].name] {
                    script.assignments[index].uncertainty = "\(script.assignments[index].name) is read-only (line \(line) of an earlier file): the shell refuses this assignment"
                }
            }
            for assignment in script.assignments {
                environment[assignment.name] = assignment.value
                result.assignments.append((path, assignment))
            }
            for (name, line) in script.readonly {
                readonly[name] = readonly[name] ?? line
                result.readonly.append((path, name, line))
            }
            if let line = script.unterminatedQuoteLine {
                result.problems.append("\(path) leaves a quote open at line \(line): the shell (and grub-mkconfig) stops there; close it first")
            }
        }
        let all = result.assignments
        result.target = all.last { $0.assignment.name == "GRUB_CMDLINE_LINUX_DEFAULT" }
            ?? all.last { $0.assignment.name == "GRUB_CMDLINE_LINUX" }
        return result
    }

    /// The BLS entry of the running kernel (its `linux` line names the release), else the last
    /// Linux entry.
    static func blsEntry(_ host: HostContext) -> (path: HostPath, options: String)? {
        let files = AtomicFile(root: host.root)
        let release = host.kernelRelease ?? ""
        var chosen: (HostPath, String)?
        for name in (host.sysfs.list(.blsEntries) ?? []) where name.hasSuffix(".conf") {
            let path = HostPath.blsEntries.child(name)
            guard let text = files.read(path) else { continue }
            var options = ""
            var linux = ""
            for line in text.split(separator: "\n") {
                let trimmed = line.trimmed()
                if trimmed.hasPrefix("options ") { options = String(trimmed.dropFirst("options ".count)) }
                if trimmed.hasPrefix("linux ") { linux = String(trimmed.dropFirst("linux ".count)) }
            }
            // Another OS's entry (`efi`, no `linux` line) configures no Linux command line.
            guard !linux.isEmpty else { continue }
            if !release.isEmpty && linux.contains(release) { return (path, options) }
            chosen = (path, options)
        }
        return chosen
    }

    /// kernelstub's configuration is JSON: {"user": {"kernel_options": [...]}}.
    static func kernelstubOptions(_ json: String) -> [String] {
        struct Configuration: Decodable {
            struct User: Decodable { let kernel_options: [String] }
            let user: User
        }
        return (try? JSONDecoder().decode(Configuration.self, from: Data(json.utf8)))?.user.kernel_options ?? []
    }
}
