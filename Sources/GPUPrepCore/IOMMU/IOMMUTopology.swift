import GPUPrepSystem

/// One IOMMU group and what it holds.
public struct IOMMUGroup: Sendable {
    public var id: Int
    public var members: [PCIFunction]
    /// The mdevs in the group: the kernel gives each mdev a group of its own, which the VM
    /// using the vGPU opens (/dev/vfio/N).
    public var vgpus: [VGPUInstance] = []
    /// Members on a host driver: while they are, VFIO cannot use the group.
    public var blockers: [PCIFunction] { members.filter(VFIORule.blocksGroup) }
    public var viable: Bool { blockers.isEmpty }
    public var hasNVIDIA: Bool { members.contains { $0.isNVIDIA } || vgpus.contains { $0.type.hasPrefix("nvidia-") } }
}

/// Every IOMMU group of the host, from the groups each PCI function links to.
public struct IOMMUTopology: Sendable {
    /// Whether the kernel runs an IOMMU: it has registered IOMMU units, or put PCI devices in
    /// groups. Groups of mdevs alone do not count: vfio gives each mdev a group of its own
    /// without any hardware IOMMU (drivers/vfio/group.c, VFIO_EMULATED_IOMMU).
    public var enabled: Bool
    public var groups: [IOMMUGroup]
    public var functions: [PCIFunction]

    public static func read(_ host: HostContext) throws(GPUPrepError) -> IOMMUTopology {
        let functions = try PCIDiscovery(host: host).functions(.all, headerTypes: true)
        var members: [Int: [PCIFunction]] = [:]
        for function in functions {
            if let group = function.iommuGroup { members[group, default: []].append(function) }
        }
        var mdevs: [Int: [VGPUInstance]] = [:]
        for vgpu in VGPUDiscovery(host: host).mdevInstances() {
            if let group = vgpu.iommuGroup { mdevs[group, default: []].append(vgpu) }
        }
        let groups = Set(members.keys).union(mdevs.keys).sorted().map {
            IOMMUGroup(id: $0, members: members[$0] ?? [], vgpus: mdevs[$0] ?? [])
        }
        let units = host.sysfs.list(.sysClassIOMMU) ?? []
        return IOMMUTopology(enabled: !members.isEmpty || !units.isEmpty, groups: groups, functions: functions)
    }

    /// The groups of PCI devices: what the IOMMU made (mdevs' groups are vfio's own).
    public var pciGroups: [IOMMUGroup] { groups.filter { !$0.members.isEmpty } }

    public func group(_ id: Int?) -> IOMMUGroup? {
        guard let id else { return nil }
        return groups.first { $0.id == id }
    }
}
