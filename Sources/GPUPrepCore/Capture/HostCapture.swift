import FoundationEssentials
import GPUPrepSystem

/// `gpuprep capture`: the host files gpuprep reads, copied into a tree that `--root` reads as it
/// reads the live host, so that a bug report can be replayed with every command.
///
/// What is taken (and only that): the PCI devices' sysfs directories (their attributes, config
/// space, links, vGPU type lists, mdev children), the PCI drivers, IOMMU groups and units, mdev
/// buses, which modules are loaded (and the parameters of VFIO's, NVIDIA's, nouveau's and KVM's),
/// which ACPI tables exist (names only, no content); /proc's cmdline, cpuinfo, modules, PCI list,
/// hostname and release, /proc/driver/nvidia; for the processes that hold a VFIO, NVIDIA or DRM
/// node: their name, cgroup and the nodes they hold (for a VMM, its -name and nothing else of
/// its command line); boot-loader, modprobe, module-loading, initramfs and gpuprep
/// configuration; the systemd units of gpuprep, NVIDIA and display managers; libvirt domains
/// and Proxmox VMs reduced to the host devices they name; module indexes (not modules);
/// NVIDIA's vGPU catalogue; /var/lib/gpuprep; which device nodes and tools exist (as empty files).
///
/// Left out: everything else. No environment, no other command-line arguments, no passwords in
/// VM definitions, no ACPI table content, no BAR or ROM contents (resourceN and rom are never
/// read: reading an I/O BAR touches the device), no VPD.
public struct HostCapture {
    public struct Limits: Sendable {
        /// The most bytes of one file; a larger one is left out (and said).
        public var fileBytes = 8 << 20
        /// The most bytes in all.
        public var totalBytes = 128 << 20
        /// Seconds before the capture stops where it is (and says so).
        public var seconds = 60.0
        public init() {}
    }

    /// What was taken, and what was not.
    public struct Summary: Sendable {
        public var files = 0
        public var links = 0
        public var bytes = 0
        /// Files left out, with why (too large, busy, unreadable, past the limits).
        public var leftOut: [String] = []
        public var stoppedEarly: String?
    }

    let sysfs: Sysfs
    let writer: TreeWriter
    let limits: Limits
    let started: Double
    public private(set) var summary = Summary()

    public init(host: HostContext, into writer: TreeWriter, limits: Limits = Limits()) {
        self.sysfs = host.sysfs
        self.writer = writer
        self.limits = limits
        self.started = Clock.monotonic()
    }

    var outOfTime: Bool { Clock.monotonic() - started > limits.seconds }

    // MARK: the walk

    public mutating func run() {
        pciDevices()
        tree(HostPath.sysBusPCIDrivers, depth: 2, skip: ["bind", "unbind", "new_id", "remove_id"])
        tree(.sysKernelIOMMUGroups, depth: 3)
        tree(.sysClassIOMMU, depth: 1)
        linkedDirectories(.sysClassIOMMU)
        tree(.sysClassMdevBus, depth: 1)
        tree(.sysBusMdevDevices, depth: 1)
        linkedDirectories(.sysClassMdevBus)
        linkedDirectories(.sysBusMdevDevices)
        modules()
        names(.acpiTables)
        for path in [HostPath.procCmdline, .procCPUInfo, .procBusPCIDevices, .procHostname, .procOSRelease, .procModules] { file(path) }
        tree(HostPath.proc.child("driver", "nvidia"), depth: 5)
        processes()
        configuration()
        moduleIndexes()
        presence()
    }

    /// Each PCI device's own directory, reached through /sys/bus/pci/devices: its attributes
    /// and links, and the subdirectories gpuprep reads (mdev types and children, NVIDIA's
    /// per-VF files, vfio-dev, drm). Child devices are captured as devices of their own.
    mutating func pciDevices() {
        var locked = LockedAttributes(root: sysfs.root)
        var queued: [(HostPath, Int)] = []
        for (index, name) in (sysfs.list(.sysBusPCIDevices) ?? []).enumerated() where HostPath.isPlainName(name) {
            guard !outOfTime else { stop("the time limit"); break }
            let link = HostPath.sysBusPCIDevices.child(name)
            copyLink(link)
            guard let physical = sysfs.physicalPath(ofPCIDevice: name) else { continue }
            var directory = HostPath.sysDevices
            for part in physical + [name] { directory = directory.child(part) }
            for entry in sysfs.list(directory) ?? [] where HostPath.isPlainName(entry) {
                let path = directory.child(entry)
                switch sysfs.entryType(path) {
                case .link?: copyLink(path); continue
                case .directory?:
                    if Self.deviceSubdirectories.contains(entry) || UUID(uuidString: entry) != nil { tree(path, depth: 4) }
                    continue
                case .file(readable: true)? where !Self.neverRead(entry): break
                default: continue
                }
                if Self.lockedNames.contains(entry) {
                    queued.append((path, locked.add(path, device: index)))
                } else {
                    file(path)
                }
            }
        }
        let readings = locked.readAll()
        for (path, slot) in queued {
            switch readings[slot] {
            case .value(let text): put(path, Array((text + "\n").utf8))
            case .busy: summary.leftOut.append("\(path): the kernel held the device's lock past the deadline (a probe or unbind in progress)")
            case .unreadable: break
            }
        }
    }

    static let deviceSubdirectories: Set<String> = ["mdev_supported_types", "nvidia", "vfio-dev", "drm"]
    /// Read under the device's lock (see LockedAttributes): read in one bounded batch.
    static let lockedNames: Set<String> = ["driver_override", "sriov_numvfs", "uevent"]

    /// Files never read: BARs and the ROM (reading an I/O BAR is I/O to the device), VPD (a
    /// read can wait on a device that never answers), and the write-only triggers.
    static func neverRead(_ name: String) -> Bool {
        if name == "rom" || name == "vpd" || name == "reset" || name == "remove" || name == "rescan" { return true }
        guard name.hasPrefix("resource"), name != "resource" else { return false }
        return !name.hasSuffix("_resize")
    }

    /// The directories the links in `dir` lead to, where no PCI device's brought them already
    /// (a parent that is no PCI device, such as mtty, and its mdevs).
    mutating func linkedDirectories(_ dir: HostPath) {
        for name in sysfs.list(dir) ?? [] where HostPath.isPlainName(name) {
            guard let target = sysfs.resolved(dir.child(name)), !writer.exists(target) else { continue }
            tree(target, depth: 3)
        }
    }

    /// Which modules are loaded (their /sys/module entries), with the parameters of those
    /// gpuprep's checks read.
    mutating func modules() {
        for name in sysfs.list(.sysModule) ?? [] where HostPath.isPlainName(name) {
            let module = HostPath.sysModule.child(name)
            try? writer.makeDirectory(module)
            if ["vfio", "nvidia", "nouveau", "kvm", "mdev"].contains(where: { name.hasPrefix($0) }) || name.contains("vfio") {
                tree(module.child("parameters"), depth: 1)
            }
        }
    }

    /// The processes holding VFIO, NVIDIA, DRM or iommufd nodes: comm, cgroup, those fds, and
    /// for a VMM its `-name` alone.
    mutating func processes() {
        for entry in sysfs.list(.proc) ?? [] where Int(entry) != nil {
            let dir = HostPath.proc.child(entry)
            let fds = (sysfs.list(dir.child("fd")) ?? []).filter(HostPath.isPlainName)
            let held = fds.compactMap { fd in sysfs.linkTarget(dir.child("fd", fd)).flatMap { Self.isDeviceNode($0) ? (fd, $0) : nil } }
            let comm = sysfs.read(dir.child("comm"))
            guard !held.isEmpty || comm == "nvidia-vgpu-mgr" else { continue }
            file(dir.child("comm"))
            file(dir.child("cgroup"))
            try? writer.makeDirectory(dir.child("fd"))
            for (fd, target) in held { link(dir.child("fd", fd), to: target) }
            if let cmdline = sysfs.readWhole(dir.child("cmdline")), let vm = HostProcess.vmName(cmdline: cmdline) {
                let program = cmdline.split(separator: "\0").first.map(String.init) ?? "qemu-system"
                put(dir.child("cmdline"), Array("\(program)\0-name\0guest=\(vm)\0".utf8))
            }
        }
    }

    static func isDeviceNode(_ target: String) -> Bool {
        [HostPath.devVFIO.string + "/", HostPath.dev.string + "/nvidia", HostPath.devDRIDir.string + "/", HostPath.devIOMMU.string]
            .contains { target.hasPrefix($0) }
    }

    mutating func configuration() {
        for path in [HostPath.defaultGrub, .kernelCmdline, .kernelstubConfig, .dracutConfig, .mkinitcpioConfig, .etcHostname,
                     .etcOSRelease, .etcModules, .grub2Env] { file(path) }
        for dir in [HostPath.defaultGrubD, .blsEntries, .mdevctlConfig, .dracutConfigD, .modulesLoadD, .etcGPUPrep, .varLibGPUPrep,
                    .initramfsToolsConfig] + HostPath.modprobeConfigDirs {
            tree(dir, depth: 3)
        }
        for name in sysfs.list(.udevRules) ?? [] where ["gpuprep", "nvidia", "vfio"].contains(where: name.contains) && HostPath.isPlainName(name) {
            file(HostPath.udevRules.child(name))
        }
        for dir in HostPath.systemdUnitDirs + [HostPath.systemdEnabledDir] {
            for name in sysfs.list(dir) ?? [] where HostPath.isPlainName(name) && Self.unitOfInterest(name) {
                let path = dir.child(name)
                if sysfs.isLink(path) { copyLink(path) } else { file(path) }
            }
        }
        if let release = sysfs.kernelRelease(), HostPath.isPlainName("config-" + release) { file(HostPath.boot.child("config-" + release)) }
        file(.nvidiaVGPUConfig)
        libvirtDomains()
        proxmoxVMs()
    }

    static func unitOfInterest(_ name: String) -> Bool {
        name.hasPrefix("gpuprep") || name.hasPrefix("nvidia") || name.hasPrefix("pve-nvidia")
            || HolderRole.displayManagers.contains(name)
    }

    /// libvirt's domains, reduced to their name and the host devices their hostdevs name.
    mutating func libvirtDomains() {
        for name in sysfs.list(.libvirtDomains) ?? [] where name.hasSuffix(".xml") && HostPath.isPlainName(name) {
            guard let text = sysfs.readWhole(HostPath.libvirtDomains.child(name)) else { continue }
            var sources = ""
            var rest = Substring(text)
            while let open = rest.firstRange(of: "<source>") {
                let end = rest[open.upperBound...].firstRange(of: "</source>")?.upperBound ?? rest.endIndex
                let block = rest[open.lowerBound..<end]
                var addresses = ""
                var scan = block
                while let tag = scan.firstRange(of: "<address") {
                    let close = scan[tag.upperBound...].firstIndex(of: ">").map { scan.index(after: $0) } ?? scan.endIndex
                    addresses += String(scan[tag.lowerBound..<close])
                    scan = scan[close...]
                }
                if !addresses.isEmpty { sources += "    <hostdev><source>\(addresses)</source></hostdev>\n" }
                rest = rest[end...]
            }
            let domain = name.dropLast(4)
            put(HostPath.libvirtDomains.child(name), Array("<!-- reduced by gpuprep capture: the host devices the domain names -->\n<domain>\n  <name>\(domain)</name>\n  <devices>\n\(sources)  </devices>\n</domain>\n".utf8))
        }
    }

    /// Proxmox VE's VMs, reduced to their hostpci lines (the current configuration's).
    mutating func proxmoxVMs() {
        guard sysfs.exists(.proxmoxConfig) else { return }
        try? writer.makeDirectory(.proxmoxConfig)
        for name in sysfs.list(.proxmoxVMs) ?? [] where name.hasSuffix(".conf") && HostPath.isPlainName(name) {
            guard let text = sysfs.readWhole(HostPath.proxmoxVMs.child(name)) else { continue }
            let lines = text.split(separator: "\n").prefix { !$0.hasPrefix("[") }.filter { $0.hasPrefix("hostpci") }
            put(HostPath.proxmoxVMs.child(name), Array((lines.joined(separator: "\n") + "\n").utf8))
        }
    }

    /// libkmod's indexes for the running kernel (not the modules themselves).
    mutating func moduleIndexes() {
        guard let release = sysfs.kernelRelease(), HostPath.isPlainName(release) else { return }
        let dir = HostPath.libModules.child(release)
        for name in sysfs.list(dir) ?? [] where name.hasPrefix("modules.") && HostPath.isPlainName(name) { file(dir.child(name)) }
    }

    /// What gpuprep only checks the existence of: device nodes, tools, EGL; empty files here.
    mutating func presence() {
        for dir in [HostPath.dev, .devDRIDir, .devVFIO, .devVFIODevices] {
            for name in sysfs.list(dir) ?? [] where HostPath.isPlainName(name) {
                let path = dir.child(name)
                guard dir != .dev || ["kvm", "iommu"].contains(name) || name.hasPrefix("nvidia") else { continue }
                guard let type = sysfs.entryType(path), type != .directory else { continue }
                if !writer.exists(path) { put(path, []) }
            }
        }
        for tool in [HostPath.sriovManage, .vgpuManagerBinary, .proxmoxBootTool, .updateGrub, .mkinitramfs, .systemctl] + HostPath.dracutPrograms
            where sysfs.exists(tool) {
            put(tool, [], executable: true)
        }
        for dir in HostPath.libraryDirs where sysfs.exists(dir.child("libEGL.so.1")) { put(dir.child("libEGL.so.1"), []) }
    }

    // MARK: copying

    /// A directory's names, as empty files (ACPI tables: which exist, not what they say).
    mutating func names(_ dir: HostPath) {
        for name in sysfs.list(dir) ?? [] where HostPath.isPlainName(name) { put(dir.child(name), []) }
    }

    /// Files and links under `dir`, `depth` levels down.
    mutating func tree(_ dir: HostPath, depth: Int, skip: Set<String> = []) {
        guard depth > 0, !outOfTime else { if depth > 0 { stop("the time limit") }; return }
        guard let entries = sysfs.list(dir) else { return }
        try? writer.makeDirectory(dir)
        for name in entries where HostPath.isPlainName(name) && !skip.contains(name) && !Self.neverRead(name) {
            let path = dir.child(name)
            switch sysfs.entryType(path) {
            case .link?: copyLink(path)
            case .directory?: tree(path, depth: depth - 1, skip: skip)
            case .file(readable: true)?: file(path)
            case .other?: summary.leftOut.append("\(path): not a regular file (a FIFO, socket or device is never opened)")
            default: break
            }
        }
    }

    mutating func copyLink(_ path: HostPath) {
        guard let target = sysfs.linkTarget(path) else { return }
        link(path, to: target)
    }

    mutating func link(_ path: HostPath, to target: String) {
        do throws(SystemError) { try writer.link(path, to: target); summary.links += 1 } catch {
            summary.leftOut.append("\(path): \(error.message)")
        }
    }

    /// One file, read bounded (a FIFO or device is never opened to be read).
    mutating func file(_ path: HostPath, executable: Bool = false) {
        guard summary.stoppedEarly == nil else { return }
        switch ConfigFile.read(path, in: sysfs.root, limit: limits.fileBytes) {
        case .success(let bytes): put(path, bytes, executable: executable)
        case .failure(.tooLarge(let size)): summary.leftOut.append("\(path): \(size) bytes, over the \(limits.fileBytes >> 20) MiB limit of one file")
        case .failure(.notRegular): summary.leftOut.append("\(path): not a regular file")
        case .failure: break   // absent, or unreadable (a write-only attribute)
        }
    }

    mutating func put(_ path: HostPath, _ bytes: [UInt8], executable: Bool = false) {
        guard summary.bytes + bytes.count <= limits.totalBytes else { stop("the \(limits.totalBytes >> 20) MiB limit"); return }
        do throws(SystemError) {
            try writer.write(path, bytes, executable: executable)
            summary.files += 1
            summary.bytes += bytes.count
        } catch {
            summary.leftOut.append("\(path): \(error.message)")
        }
    }

    mutating func stop(_ why: String) {
        if summary.stoppedEarly == nil { summary.stoppedEarly = "stopped at \(why): the capture is incomplete" }
    }
}
