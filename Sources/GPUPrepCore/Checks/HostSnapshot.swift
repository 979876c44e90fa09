import GPUPrepSystem

/// What the checks look at, read once.
public struct HostSnapshot {
    public enum CPUVendor: String, Sendable { case intel = "Intel", amd = "AMD", arm = "Arm", other }

    public var host: HostContext
    public var cpuVendor: CPUVendor?
    public var cpuFlags: Set<String>?
    public var running: KernelCommandLine?
    public var topology: IOMMUTopology
    public var bootLoader: BootLoader?
    /// `check --rom`: read each GPU's expansion ROM on the live host (see ExpansionROM.read).
    public var readROMs = false

    public static func read(_ host: HostContext) throws(GPUPrepError) -> HostSnapshot {
        let sysfs = host.sysfs
        var vendor: CPUVendor?
        var flags: Set<String>?
        if let cpuinfo = sysfs.read(.procCPUInfo) {
            for line in cpuinfo.split(separator: "\n") {
                let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmed() }
                guard parts.count == 2 else { continue }
                if parts[0] == "vendor_id" && vendor == nil {
                    vendor = parts[1] == "GenuineIntel" ? .intel : parts[1] == "AuthenticAMD" ? .amd : .other
                }
                // arm64's /proc/cpuinfo has no vendor_id: a "CPU implementer" per core (0x41 Arm).
                if parts[0] == "CPU implementer" && vendor == nil { vendor = .arm }
                if parts[0] == "flags" && flags == nil { flags = Set(parts[1].split(separator: " ").map(String.init)) }
            }
        }
        return HostSnapshot(host: host, cpuVendor: vendor, cpuFlags: flags,
                            running: sysfs.read(.procCmdline).map(KernelCommandLine.init),
                            topology: try IOMMUTopology.read(host), bootLoader: BootLoader.detect(host))
    }

    /// Whether the kernel has reset_method (5.15+; it hides the file from a device with no method).
    public var kernelReportsResetMethods: Bool {
        guard let release = host.kernelRelease else { return true }
        let numbers = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        guard numbers.count == 2 else { return true }
        return (numbers[0], numbers[1]) >= (5, 15)
    }

    /// The VFIO variant module (not vfio_pci itself) whose `vfio_pci:` alias matches a GPU.
    func variantDriver(for gpu: PCIFunction) -> String? {
        guard let modalias = gpu.modalias, modalias.hasPrefix("pci:"), let kmod = host.kmod(),
              let module = kmod.mostSpecificModule(matching: "vfio_pci:" + modalias.dropFirst(4)), module != "vfio_pci" else { return nil }
        return module
    }

    /// The IOMMU is working: the kernel made groups.
    public var iommuActive: Bool { topology.enabled }

    /// Arguments the configured command line must keep or gain: intel_iommu=on on Intel, unless
    /// the kernel turns the IOMMU on without it; iommu=pt is advised everywhere.
    public var requiredArguments: [String] {
        guard cpuVendor == .intel else { return [] }
        if iommuActive && running?.has("intel_iommu=on") != true { return [] }
        return ["intel_iommu=on"]
    }

    /// On arm64 the generic form: iommu=pt is an x86 option the arm64 kernel ignores
    /// (Documentation/admin-guide/kernel-parameters.txt: iommu.passthrough=, [ARM64, X86]).
    public var advisedArguments: [String] { cpuVendor == .arm ? ["iommu.passthrough=1"] : ["iommu=pt"] }

    /// The one remedy of a reboot pending (configured, not booted), so that every finding it
    /// settles shares it and the to-do list says it once.
    public var rebootRemedy: String {
        // systemd-boot reads its entries at boot: there is nothing to run first.
        if bootLoader?.kind == .systemdBoot { return "reboot" }
        return "reboot (or, if the change was not applied yet, run '\(bootLoader?.regenerate ?? "the boot loader's update command")' first)"
    }

    /// Whether host devices bypass IOMMU translation, in either spelling.
    public var passthroughArgument: String? {
        guard let running else { return nil }
        return ["iommu=pt", "iommu.passthrough=1", "iommu.passthrough=on", "iommu.passthrough=y"].first { running.has($0) }
    }

    public var gpus: [PCIFunction] { topology.functions.filter { $0.kind == .gpu } }
}
