import GPUPrepSystem

/// What the checks look at, read once.
public struct HostSnapshot {
    public enum CPUVendor: String, Sendable { case intel = "Intel", amd = "AMD", other }

    public var host: HostContext
    public var cpuVendor: CPUVendor?
    public var cpuFlags: Set<String>?
    public var running: KernelCommandLine?
    public var topology: IOMMUTopology
    public var bootLoader: BootLoader?

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
                if parts[0] == "flags" && flags == nil { flags = Set(parts[1].split(separator: " ").map(String.init)) }
            }
        }
        return HostSnapshot(host: host, cpuVendor: vendor, cpuFlags: flags,
                            running: sysfs.read(.procCmdline).map(KernelCommandLine.init),
                            topology: try IOMMUTopology.read(host), bootLoader: BootLoader.detect(host))
    }

    /// The IOMMU is working: the kernel made groups.
    public var iommuActive: Bool { !topology.groups.isEmpty }

    /// Arguments the configured command line must keep or gain: intel_iommu=on on Intel, unless
    /// the kernel turns the IOMMU on without it; iommu=pt is advised everywhere.
    public var requiredArguments: [String] {
        guard cpuVendor == .intel else { return [] }
        if iommuActive && running?.has("intel_iommu=on") != true { return [] }
        return ["intel_iommu=on"]
    }

    public let advisedArguments = ["iommu=pt"]

    public var gpus: [PCIFunction] { topology.functions.filter { $0.kind == .gpu } }
}
