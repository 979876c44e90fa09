import GPUPrepSystem

/// What each physical GPU holds and can still take: one reading of the host that every command
/// shares. A PF's SR-IOV VFs carry vGPUs (mdev children of a VF, or NVIDIA's per-VF
/// `current_vgpu_type`), and the vGPUs are used by VMs holding their VFIO files.
public struct GPUHoldings: Sendable {
    /// Every type every parent offers, with the kernel's per-parent counts.
    public var types: [VGPUType]
    /// Every vGPU, with the processes that hold it.
    public var vgpus: [VGPUInstance]
    /// Per physical GPU and type: how many more fit.
    public var capacity: [VGPUCapacity]
    /// The physical GPU of each parent that is a VF (its PF); other parents are their own GPU.
    let physicalFunction: [String: String]

    /// `openFiles` (a scan of /proc) names the processes holding each vGPU; without it no holder
    /// is looked for. `withCapacity: false` reads the vGPUs only (what a driver change would
    /// destroy), not every parent's types: a host can have thousands.
    public static func read(_ host: HostContext, openFiles: OpenFiles? = nil, withCapacity: Bool = true) -> GPUHoldings {
        let discovery = VGPUDiscovery(host: host)
        let vfs = discovery.nvidiaVFs()
        let types = withCapacity ? discovery.types(vfs: vfs) : []
        // The per-VF lists were just read for the types: name the running vGPUs from them.
        let names = withCapacity ? VGPUDiscovery.typeNames(types) : nil
        var vgpus = discovery.instances(vfs: vfs, typeNames: names)
        if let files = openFiles {
            for index in vgpus.indices {
                // An mdev's own directory, or the VF's: where its vfio-dev/ (iommufd's cdev) is.
                let device = vgpus[index].uuid.map { HostPath.sysBusMdevDevices.child($0.uuidString.lowercased()) }
                    ?? HostPath.sysBusPCIDevices.child(vgpus[index].address?.description ?? "?")
                var seen = Set<Int>()
                vgpus[index].holders = files.vfioHolders(group: vgpus[index].iommuGroup, device: device, sysfs: host.sysfs)
                    .map(\.process).filter { seen.insert($0.pid).inserted }
            }
        }
        var physicalFunction: [String: String] = [:]
        for parent in Set(types.map(\.parent) + vgpus.compactMap { $0.uuid == nil ? nil : $0.parent }) where PCIAddress(parent) != nil {
            if let pf = host.sysfs.linkName(HostPath.sysBusPCIDevices.child(parent, "physfn")) { physicalFunction[parent] = pf }
        }
        var holdings = GPUHoldings(types: types, vgpus: vgpus, capacity: [], physicalFunction: physicalFunction)
        guard withCapacity else { return holdings }
        let gpuNames = Set(types.map { holdings.gpu(of: $0.parent) } + vgpus.map(holdings.gpu(of:))).sorted()
        holdings.capacity = VGPUCapacityModel.capacity(of: gpuNames.map { name in
            VGPUCapacityModel.GPU(name: name, model: model(of: name, host: host),
                                  types: types.filter { holdings.gpu(of: $0.parent) == name },
                                  vgpus: vgpus.filter { holdings.gpu(of: $0) == name })
        })
        return holdings
    }

    /// The physical GPU a parent belongs to: a VF's PF, or the parent itself.
    public func gpu(of parent: String) -> String { physicalFunction[parent] ?? parent }

    /// The physical GPU of a vGPU (an nvidia-vfio vGPU's `parent` is already its PF).
    public func gpu(of vgpu: VGPUInstance) -> String { vgpu.uuid == nil ? vgpu.parent : gpu(of: vgpu.parent) }

    /// The vGPUs a device carries, directly (an mdev parent, the VF of an nvidia-vfio vGPU) or
    /// through its VFs: everything that goes when the device leaves its driver.
    public func vgpus(on address: PCIAddress) -> [VGPUInstance] {
        let name = address.description
        return vgpus.filter { $0.parent == name || $0.address == address || gpu(of: $0) == name }
    }

    /// `vendor:device:subvendor:subdevice`: cards that answer the same have the same framebuffer.
    static func model(of gpu: String, host: HostContext) -> String? {
        guard PCIAddress(gpu) != nil, let dir = host.sysfs.directory(HostPath.sysBusPCIDevices.child(gpu)) else { return nil }
        let ids = ["vendor", "device", "subsystem_vendor", "subsystem_device"].map { dir.read($0) ?? "?" }
        return ids[0] == "?" ? nil : ids.joined(separator: ":")
    }
}
