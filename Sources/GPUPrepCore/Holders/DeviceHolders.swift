import GPUPrepSystem

/// A process holding one of a device's nodes open: what every command says about who holds a
/// device, in the contract's shape `{path, pid, process, vm, unit}`.
public struct Holder: Sendable, Equatable, Encodable {
    /// The device node held (`/dev/nvidia6`, `/dev/dri/card0`, `/dev/vfio/12`).
    public var path: String
    public var process: HostProcess

    public init(path: String, process: HostProcess) { self.path = path; self.process = process }

    /// What kind of holder it is, which decides what may be done about it.
    public var role: HolderRole { HolderRole.of(process) }

    /// `/dev/nvidia6 is open by nvidia-persistenced (pid 912, nvidia-persistenced.service)`.
    public var described: String { "\(path) is open by \(process.described)" }

    enum Keys: String, CodingKey { case path, pid, process, vm, unit }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(path, forKey: .path)
        try c.encode(process.pid, forKey: .pid)
        try c.encode(process.name, forKey: .process)
        try c.encode(process.vm, forKey: .vm)
        try c.encode(process.unit, forKey: .unit)
    }
}

/// Who a holder is, for what may be done about it: a VM and an unknown process are never
/// touched; NVIDIA's services and the display server can be stopped and started again
/// (`--release`, `--release-display`).
public enum HolderRole: Sendable, Equatable {
    /// A VMM (QEMU with a guest name, or any qemu-system process): the step is to shut the VM down.
    case vm
    /// A known service that only keeps the GPU busy: stopped and started again by --release.
    case service(unit: String)
    /// The display server (Xorg, a Wayland compositor) or the display manager above it.
    case display
    /// Anything else: its owner decides.
    case other

    /// NVIDIA's services that hold GPUs or NVSwitches open without serving a user: the daemon
    /// that keeps the driver initialized between clients (nvidia-persistenced) and the NVSwitch
    /// fabric's manager (nvidia-fabricmanager). Both are started again afterwards; NVIDIA's
    /// own driver container stops and restarts them the same way around a driver change.
    public static let releasableServices = ["nvidia-persistenced.service", "nvidia-fabricmanager.service"]
    /// Process names of display servers: X, and the Wayland compositors of GNOME, KDE and wlroots.
    static let displayServers: Set<String> = ["Xorg", "X", "Xwayland", "gnome-shell", "kwin_wayland", "kwin_x11",
                                              "mutter", "sway", "weston", "gdm-x-session", "gdm-wayland-session",
                                              "sddm-greeter", "lightdm", "gamescope", "Hyprland", "cosmic-comp"]
    /// Units of display managers.
    static let displayManagers: Set<String> = ["display-manager.service", "gdm.service", "gdm3.service", "sddm.service",
                                               "lightdm.service", "lxdm.service", "xdm.service"]

    static func of(_ process: HostProcess) -> HolderRole {
        if process.vm != nil || process.name.hasPrefix("qemu-system") || process.name.hasPrefix("qemu-kvm") { return .vm }
        if let unit = process.unit, releasableServices.contains(unit) { return .service(unit: unit) }
        // A daemon started by hand (or in a container) has no unit of its own: known by name.
        if named(process, "nvidia-persistenced") { return .service(unit: "nvidia-persistenced.service") }
        if named(process, "nv-fabricmanager") { return .service(unit: "nvidia-fabricmanager.service") }
        if displayServers.contains(where: { named(process, $0) }) || process.unit.map(displayManagers.contains) == true { return .display }
        return .other
    }

    /// `/proc/PID/comm` keeps the first 15 bytes of a program's name (TASK_COMM_LEN is 16 with
    /// the NUL, include/linux/sched.h): nvidia-persistenced reads `nvidia-persiste`.
    static func named(_ process: HostProcess, _ program: String) -> Bool {
        process.name == program || (process.name.utf8.count == 15 && program.utf8.starts(with: process.name.utf8))
    }

    /// What to do about a holder, in words.
    func advice(_ process: HostProcess) -> String {
        switch self {
        case .vm:
            return process.vm.map { "shut VM \($0.shownAsName) down ('virsh shutdown \($0.shownAsName)', or from its manager)" }
                ?? "stop the VM run by \(process.name.shownAsName) (pid \(process.pid))"
        case let .service(unit):
            return "stop \(unit) ('systemctl stop \(unit)'), or add --release to stop it for the change and start it again after"
        case .display:
            return "stop the display server (log out and 'systemctl stop display-manager'), or add --release-display to stop the display manager for the change and start it again after"
        case .other:
            return "stop \(process.name.shownAsName) (pid \(process.pid))"
        }
    }
}

/// The device nodes of PCI functions and who holds them: one answer for every command.
/// A function is used through its DRM nodes (`drm/cardN`, `drm/renderDN` under its sysfs
/// directory), NVIDIA's `/dev/nvidiaN` (the minor in `/proc/driver/nvidia/gpus/ADDR/information`),
/// the NVSwitch fabric's `/dev/nvidia-nvswitchN`, and while on a VFIO driver its group
/// `/dev/vfio/N` and vfio cdev `/dev/vfio/devices/vfioX`.
public struct DeviceHolders: Sendable {
    public let files: OpenFiles
    let sysfs: Sysfs

    public init(files: OpenFiles, sysfs: Sysfs) {
        self.files = files
        self.sysfs = sysfs
    }

    public static func scan(_ host: HostContext) -> DeviceHolders {
        DeviceHolders(files: OpenFiles.scan(host), sysfs: host.sysfs)
    }

    /// The nodes through which processes use `f`.
    public func nodes(_ f: PCIFunction) -> [String] {
        nodes(f.address, driver: f.driver, group: f.iommuGroup, isSwitch: f.kind == .nvswitch)
    }

    /// Who holds the function at `address`, read from sysfs (for a planner without a scan).
    public func holders(at address: PCIAddress) -> [Holder] {
        let device = HostPath.sysBusPCIDevices.child(address.description)
        let driver = sysfs.linkName(device.child("driver"))
        let nodes = nodes(address, driver: driver, group: sysfs.linkName(device.child("iommu_group")).flatMap { Int($0) },
                          isSwitch: driver == "nvidia-nvswitch")
        return files.holders(of: nodes)
    }

    func nodes(_ address: PCIAddress, driver: String?, group: Int?, isSwitch: Bool) -> [String] {
        var nodes: [String] = []
        let device = HostPath.sysBusPCIDevices.child(address.description)
        for name in (sysfs.list(device.child("drm")) ?? []).sorted()
        where (name.hasPrefix("card") || name.hasPrefix("renderD")) && HostPath.isPlainName(name) {
            nodes.append(HostPath.devDRI.child(name).string)
        }
        if driver == "nvidia", let minor = Self.nvidiaMinor(sysfs.read(HostPath.proc.child("driver", "nvidia", "gpus", address.description, "information"))) {
            nodes.append(HostPath.dev.child("nvidia\(minor)").string)
        }
        // The NVSwitch driver numbers its nodes in probe order and publishes no minor per device
        // (kernel-open/nvidia/procfs_nvswitch.c writes only the BIOS version): Fabric Manager
        // opens every switch of the fabric, so a switch is held while any node is.
        if isSwitch || driver == "nvidia-nvswitch" {
            let prefix = HostPath.dev.child("nvidia-nvswitch").string
            nodes += files.holders.keys.filter { $0.hasPrefix(prefix) && $0.count > prefix.count && $0.dropFirst(prefix.count).allSatisfy(\.isNumber) }.sorted()
        }
        if let driver, VFIORule.isVFIODriver(driver), let group {
            nodes.append(HostPath.devVFIO.child(String(group)).string)
        }
        for name in sysfs.list(device.child("vfio-dev")) ?? [] where HostPath.isPlainName(name) {
            nodes.append(HostPath.devVFIO.child("devices", name).string)
        }
        return nodes
    }

    /// Every process holding a node of `f`, a process once per node.
    public func holders(_ f: PCIFunction) -> [Holder] {
        files.holders(of: nodes(f))
    }

    /// Every holder of `f` or of its card's other functions (audio, USB, UCSI: what bind takes
    /// along), each once, with the function it holds.
    public func cardHolders(_ f: PCIFunction, among functions: [PCIFunction]) -> [(function: PCIFunction, holder: Holder)] {
        let card = [f] + functions.filter { $0.address.slot == f.address.slot && $0.address != f.address && $0.physicalFunction == nil }
        var held: [(function: PCIFunction, holder: Holder)] = []
        for function in card {
            for holder in holders(function) where !held.contains(where: { $0.holder == holder }) { held.append((function, holder)) }
        }
        return held
    }

    /// The minor in NVIDIA's `information` file: its `Device Minor:` line.
    static func nvidiaMinor(_ information: String?) -> Int? {
        guard let line = information?.split(separator: "\n").first(where: { $0.hasPrefix("Device Minor:") }) else { return nil }
        return Int(line.dropFirst("Device Minor:".count).trimmed())
    }
}

extension [Holder] {
    /// `/dev/nvidia6 is open by nvidia-persistenced (pid 912, ...), /dev/dri/card0 is open by ...`
    public var described: String { map(\.described).joined(separator: ", ") }

    /// What to do about these holders, each kind once: `shut VM win11 down (...); stop ...`.
    public var advice: String {
        var said: [String] = []
        for holder in self {
            let line = holder.role.advice(holder.process)
            if !said.contains(line) { said.append(line) }
        }
        return said.joined(separator: "; ")
    }
}
