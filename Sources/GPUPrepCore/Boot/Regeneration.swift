import GPUPrepSystem

/// `--regenerate`: the commands that turn what gpuprep wrote into what the next boot uses, run
/// by gpuprep once the change is done, instead of printed for the admin to copy. Six of the ten
/// guides end on one of them (issue 33): the initramfs builder's (`update-initramfs`, `dracut`,
/// `mkinitcpio`), then the boot loader's (`update-grub` or `grub2-mkconfig`, `grubby`,
/// `kernel-install`, `proxmox-boot-tool refresh`, `kernelstub`). The initramfs comes first: the
/// boot loader's tools copy it (proxmox-boot-tool to each ESP) or list it (grub-mkconfig).
///
/// They are the host's own programs, run on the live host only, one try each, bounded in time,
/// with what they print kept. A failure leaves the written files in place (they are right; the
/// generated ones are as the failed program left them) and is exit 74.
public enum Regeneration {
    /// What a change asks to regenerate.
    public struct Needs: Sendable, Equatable {
        public var bootLoader: [String]?
        public var initramfs = false
        public init(bootLoader: [String]? = nil, initramfs: Bool = false) { self.bootLoader = bootLoader; self.initramfs = initramfs }
    }

    /// How long each may take: an initramfs for every installed kernel can take minutes each.
    static let initramfsTimeoutSeconds = 1800
    static let bootLoaderTimeoutSeconds = 600

    /// The steps for this host: each program looked up where the host's shell would find it.
    /// A program that is not installed refuses the whole change (nothing is written).
    public static func steps(_ host: HostContext, _ needs: Needs) throws(GPUPrepError) -> [Step] {
        var commands: [(argv: [String], timeout: Int)] = []
        if needs.initramfs {
            for builder in InitramfsBuilder.installed(host.sysfs) { commands.append((builder.rebuildArguments, initramfsTimeoutSeconds)) }
        }
        if let argv = needs.bootLoader { commands.append((argv, bootLoaderTimeoutSeconds)) }
        var steps: [Step] = []
        var seen: [[String]] = []
        // One run of each (mkinitcpio -P builds the initramfs and, with UKIs, the boot image too).
        for command in commands where !seen.contains(command.argv) {
            seen.append(command.argv)
            let program = try locate(command.argv[0], host)
            steps.append(.run(program, Array(command.argv.dropFirst()), timeoutSeconds: command.timeout))
        }
        return steps
    }

    /// Where the program is: on the live host, the first match on PATH (sudo's secure_path);
    /// under --root, the tree's own copy in the usual directories, or /usr/sbin (shown, never run).
    static func locate(_ name: String, _ host: HostContext) throws(GPUPrepError) -> HostPath {
        if host.root.isLiveHost {
            guard let found = Subprocess.findOnPath(name) else {
                throw GPUPrepError(.refused, "--regenerate runs '\(name)', which is not on PATH: install it (or leave out --regenerate and rebuild by hand); nothing changed")
            }
            return found
        }
        return HostPath.programDirs.map { $0.child(name) }.first(where: host.sysfs.exists) ?? HostPath.programDirs[0].child(name)
    }

    /// Whether the boot configuration GRUB generated lacks arguments its configuration has (an
    /// edit made, its regeneration never run): then --regenerate runs it though nothing else changes.
    public static func grubConfigurationIsStale(_ host: HostContext, _ loader: BootLoader, wanted: [String]) -> Bool {
        guard loader.kind == .grub, let generated = loader.generatedConfig,
              let text = AtomicFile(root: host.root).read(generated) else { return false }
        // The first entry is the default one; recovery entries take only GRUB_CMDLINE_LINUX.
        // grub-mkconfig indents with tabs and writes `linux` (or `linux16`, `linuxefi`) first.
        let kernelCommands: Set<Substring> = ["linux", "linux16", "linuxefi"]
        guard let words = text.split(separator: "\n").lazy.map({ $0.split(whereSeparator: { $0 == " " || $0 == "\t" }) })
            .first(where: { $0.first.map(kernelCommands.contains) ?? false }) else { return false }
        let arguments = KernelCommandLine(words.dropFirst(2).joined(separator: " "))
        return wanted.filter(loader.configured.has).contains { !arguments.has($0) }
    }
}

extension Regeneration {
    /// Files the initramfs builders copy into the image: a change to one needs a rebuild.
    static let initramfsFiles: Set<HostPath> = [.persistUdevRules, .persistModprobe, .persistInitramfsToolsHook,
                                                .persistDracutConf, .persistMkinitcpioConf, .nouveauBlacklist, .vfioPCIOptions]
}

extension ChangePlan {
    /// --regenerate for a change planned without it (bind and unbind --persist, apply --persist):
    /// the initramfs rebuild when a file it carries changes, in place of the advice to run it.
    public mutating func addRegeneration(_ host: HostContext) throws(GPUPrepError) {
        let initramfs = fileChanges.contains { $0.path.map(Regeneration.initramfsFiles.contains) ?? false }
        regeneration = try Regeneration.steps(host, .init(initramfs: initramfs))
        if !regeneration.isEmpty { notes.removeAll { $0.hasPrefix(InitramfsBuilder.adviceLead) } }
    }
}
