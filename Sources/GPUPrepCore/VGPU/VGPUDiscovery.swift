import FoundationEssentials
import GPUPrepSystem

/// Reads vGPU types and instances from both kernel interfaces.
public struct VGPUDiscovery {
    public let host: HostContext
    public init(host: HostContext) { self.host = host }

    var sysfs: Sysfs { host.sysfs }

    // MARK: mdev

    /// mdev parents, as /sys/class/mdev_bus names them.
    public func mdevParents() -> [String] { sysfs.list(.sysClassMdevBus) ?? [] }

    func typesDirectory(_ parent: String) -> HostPath? {
        guard HostPath.isPlainName(parent) else { return nil }
        return HostPath.sysClassMdevBus.child(parent, "mdev_supported_types")
    }

    /// A parent's types. The types directory is opened once and each type's files read
    /// relative to it: a host of GPUs with sixteen VFs of fifteen types each has thousands.
    public func mdevTypes(parent: String) -> [VGPUType] {
        guard let path = typesDirectory(parent), let dir = sysfs.directory(path) else { return [] }
        return (dir.list() ?? []).filter(VGPUType.isKernelTypeID).map { id in
            let typeDir = dir.directory(id)
            let description = typeDir?.read("description")
            return VGPUType(parent: parent, interface: .mdev, id: id, name: typeDir?.read("name"),
                            description: description, deviceAPI: typeDir?.read("device_api"),
                            availableInstances: typeDir?.read("available_instances").flatMap { Int($0) },
                            properties: VGPUType.properties(of: description))
        }
    }

    // MARK: nvidia-vfio

    /// VFs that carry NVIDIA's vGPU files. Only NVIDIA functions can: /proc/bus/pci/devices
    /// rules the others out without a look at each (see ProcPCIDevices).
    public func nvidiaVFs() -> [PCIAddress] {
        let names = sysfs.list(.sysBusPCIDevices) ?? []
        let nvidia = ProcPCIDevices.busSlots(of: PCIIDs.nvidia, host: host, expectedCount: names.count)
        return names.compactMap { name in
            guard let address = PCIAddress(name), nvidia?.contains(address.busSlot) ?? true else { return nil }
            return sysfs.exists(HostPath.sysBusPCIDevices.child(name, "nvidia", "creatable_vgpu_types")) ? address : nil
        }
    }

    /// `creatable_vgpu_types`: a header line (`ID    : vGPU Name`), then `1145  : NVIDIA L40S-1B`;
    /// only what can be created on this VF now.
    public func creatable(_ vf: PCIAddress) -> [(id: Int, name: String)] {
        Self.creatableTypes(sysfs.read(HostPath.sysBusPCIDevices.child(vf.description, "nvidia", "creatable_vgpu_types")) ?? "")
    }

    /// The `ID : name` lines of a creatable list; the header's "ID" is no number. Drivers have
    /// also been reported to write the name first (`NVIDIA L40S-1B : 1145`): both are read.
    public static func creatableTypes(_ text: String) -> [(id: Int, name: String)] {
        text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmed() }
            guard parts.count == 2 else { return nil }
            if let id = Int(parts[0]) { return (id, parts[1]) }
            if let separator = line.lastIndex(of: ":"), let id = Int(line[line.index(after: separator)...].trimmed()) {
                return (id, line[..<separator].trimmed())
            }
            return nil
        }
    }

    /// The type a VF runs (0: none).
    public func currentType(_ vf: PCIAddress) -> Int? {
        sysfs.read(HostPath.sysBusPCIDevices.child(vf.description, "nvidia", "current_vgpu_type")).flatMap { Int($0) }
    }

    public func nvidiaTypes(vf: PCIAddress) -> [VGPUType] {
        // A VF holds one vGPU: what it lists can be made once, and only while it has none.
        let free = currentType(vf) == 0
        return creatable(vf).map {
            VGPUType(parent: vf.description, interface: .nvidiaVFIO, id: "nvidia-\($0.id)", name: $0.name, description: nil,
                     deviceAPI: "vfio-pci", availableInstances: free ? 1 : 0, properties: [:])
        }
    }

    // MARK: all

    /// Every type of every parent (or of one), mdev first, in name order of parents.
    /// `vfs`: the NVIDIA VFs when already found (see nvidiaVFs).
    public func types(vfs: [PCIAddress]? = nil) -> [VGPUType] {
        mdevParents().flatMap(mdevTypes(parent:)) + (vfs ?? nvidiaVFs()).flatMap(nvidiaTypes(vf:))
    }

    /// Every existing vGPU. `vfs`: the NVIDIA VFs when already found (see nvidiaVFs);
    /// `typeNames`: NVIDIA's type names by id when the VFs' lists were already read.
    public func instances(vfs known: [PCIAddress]? = nil, typeNames: [Int: String]? = nil) -> [VGPUInstance] {
        mdevInstances() + nvidiaInstances(vfs: known ?? nvidiaVFs(), typeNames: typeNames)
    }

    /// NVIDIA's per-VF type names by numeric id, from types already read.
    static func typeNames(_ types: [VGPUType]) -> [Int: String] {
        var names: [Int: String] = [:]
        for type in types where type.interface == .nvidiaVFIO {
            if let id = Int(type.id.dropFirst("nvidia-".count)), let name = type.name { names[id] = name }
        }
        return names
    }

    /// The mdevs under /sys/bus/mdev/devices.
    public func mdevInstances() -> [VGPUInstance] {
        var result: [VGPUInstance] = []
        for name in sysfs.list(.sysBusMdevDevices) ?? [] {
            guard let uuid = UUID(uuidString: name) else { continue }
            let dir = HostPath.sysBusMdevDevices.child(name)
            let type = sysfs.linkName(dir.child("mdev_type")).flatMap { VGPUType.isKernelTypeID($0) ? $0 : nil } ?? "?"
            // The mdev's directory sits under its parent's: .../<parent>/<uuid>.
            let parent = sysfs.physicalPath(ofMdev: name)?.last ?? "?"
            result.append(VGPUInstance(uuid: uuid, address: nil, parent: parent, interface: .mdev, type: type,
                                       typeName: sysfs.read(dir.child("mdev_type", "name")),
                                       iommuGroup: sysfs.linkName(dir.child("iommu_group")).flatMap { Int($0) }))
        }
        return result
    }

    /// The VFs running an nvidia-vfio vGPU.
    func nvidiaInstances(vfs: [PCIAddress], typeNames: [Int: String]?) -> [VGPUInstance] {
        var result: [VGPUInstance] = []
        // A VF's own list drops the type it runs; another VF's list, or the PF's siblings', still name it.
        var names: [Int: String] = typeNames ?? [:]
        if typeNames == nil { for vf in vfs { for type in creatable(vf) { names[type.id] = type.name } } }
        for vf in vfs {
            guard let current = currentType(vf), current != 0 else { continue }
            let dir = HostPath.sysBusPCIDevices.child(vf.description)
            result.append(VGPUInstance(uuid: nil, address: vf, parent: sysfs.linkName(dir.child("physfn")) ?? vf.description,
                                       interface: .nvidiaVFIO, type: "nvidia-\(current)", typeName: names[current],
                                       iommuGroup: sysfs.linkName(dir.child("iommu_group")).flatMap { Int($0) }))
        }
        return result
    }
}
