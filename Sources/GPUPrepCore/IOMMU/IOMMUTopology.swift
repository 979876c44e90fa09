import GPUPrepSystem

/// One IOMMU group and what it holds.
public struct IOMMUGroup: Sendable {
    public var id: Int
    public var members: [PCIFunction]
    /// Members on a host driver: while they are, VFIO cannot use the group.
    public var blockers: [PCIFunction] { members.filter(VFIORule.blocksGroup) }
    public var viable: Bool { blockers.isEmpty }
    public var hasNVIDIA: Bool { members.contains { $0.isNVIDIA } }
}

/// Every IOMMU group of the host, from the groups each PCI function links to.
public struct IOMMUTopology: Sendable {
    /// Whether the kernel runs an IOMMU: it has created groups (or registered IOMMU units).
    public var enabled: Bool
    public var groups: [IOMMUGroup]
    public var functions: [PCIFunction]

    public static func read(_ host: HostContext) throws(GPUPrepError) -> IOMMUTopology {
        let functions = try PCIDiscovery(host: host).functions(.all, headerTypes: true)
        var members: [Int: [PCIFunction]] = [:]
        for function in functions {
            if let group = function.iommuGroup { members[group, default: []].append(function) }
        }
        let groups = members.keys.sorted().map { IOMMUGroup(id: $0, members: members[$0]!) }
        let units = host.sysfs.list(.sysClassIOMMU) ?? []
        return IOMMUTopology(enabled: !groups.isEmpty || !units.isEmpty, groups: groups, functions: functions)
    }

    public func group(_ id: Int?) -> IOMMUGroup? {
        guard let id else { return nil }
        return groups.first { $0.id == id }
    }
}
