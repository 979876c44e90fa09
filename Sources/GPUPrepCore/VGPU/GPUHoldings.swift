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
                vgpus[index].held = files.vfioHolders(group: vgpus[index].iommuGroup, device: device, sysfs: host.sysfs)
            }
        }
        var physicalFunction: [String: String] = [:]
        for parent in Set(types.map(\.parent) + vgpus.compactMap { $0.uuid == nil ? nil : $0.parent }) where PCIAddress(parent) != nil {
            physicalFunction[parent] = host.sysfs.linkName(HostPath.sysBusPCIDevices.child(parent, "physfn")) ?? parent
        }
        var holdings = GPUHoldings(types: types, vgpus: vgpus, capacity: [], physicalFunction: physicalFunction, sysfs: host.sysfs)
        holdings.resolveNames(host, withCapacity: withCapacity)
        guard withCapacity else { return holdings }
        let gpuNames = Set(types.map { holdings.gpu(of: $0.parent) } + holdings.vgpus.map(holdings.gpu(of:))).sorted()
        holdings.capacity = VGPUCapacityModel.capacity(of: gpuNames.map { name in
            VGPUCapacityModel.GPU(name: name, model: model(of: name, host: host),
                                  types: types.filter { holdings.gpu(of: $0.parent) == name },
                                  vgpus: holdings.vgpus.filter { holdings.gpu(of: $0) == name },
                                  catalogue: holdings.catalogueTypes(gpu: name),
                                  catalogueTotalMiB: holdings.modelOfGPU[name].flatMap { holdings.catalogue.totals[$0] })
        })
        return holdings
    }

    /// NVIDIA's per-VF types, known by name and size whether or not a list shows them now (see
    /// VGPUCatalogue): the kernel's lists as read, then the catalogue file and gpuprep's record.
    /// Read only where a per-VF GPU needs it: a name no list gives, or capacity to judge.
    public private(set) var catalogue = VGPUCatalogue()
    /// The model (`10de:26b9`) of each per-VF GPU.
    public private(set) var modelOfGPU: [String: String] = [:]

    mutating func resolveNames(_ host: HostContext, withCapacity: Bool) {
        let perVF = Set(types.filter { $0.interface == .nvidiaVFIO }.map { gpu(of: $0.parent) }
                        + vgpus.filter { $0.interface == .nvidiaVFIO }.map(gpu(of:)))
        guard !perVF.isEmpty else { return }
        for name in perVF { modelOfGPU[name] = Self.model(of: name, host: host).flatMap(VGPUCatalogue.modelKey) }
        let unnamed = vgpus.contains { $0.interface == .nvidiaVFIO && $0.typeName == nil }
        guard unnamed || withCapacity else { return }
        catalogue = VGPUCatalogue.read(host)
        for (model, entries) in listedTypes() { for entry in entries { catalogue.add(model: model, entry) } }
        for index in vgpus.indices where vgpus[index].interface == .nvidiaVFIO && vgpus[index].typeName == nil {
            guard let model = modelOfGPU[gpu(of: vgpus[index])], let id = Int(vgpus[index].type.dropFirst("nvidia-".count)) else { continue }
            vgpus[index].typeName = catalogue.entry(model: model, id: id)?.name
        }
    }

    /// The per-VF types the kernel lists now, by model: what gpuprep records (VGPUCatalogue.TypeRecord).
    public func listedTypes() -> [String: [VGPUCatalogue.Entry]] {
        var listed: [String: [VGPUCatalogue.Entry]] = [:]
        for type in types where type.interface == .nvidiaVFIO {
            guard let model = modelOfGPU[gpu(of: type.parent)], let id = Int(type.id.dropFirst("nvidia-".count)), let name = type.name,
                  !(listed[model]?.contains { $0.id == id } ?? false) else { continue }
            listed[model, default: []].append(VGPUCatalogue.Entry(id: id, name: name))
        }
        return listed
    }

    /// Every type the catalogue knows for a per-VF GPU's model, as capacity reads types.
    func catalogueTypes(gpu name: String) -> [VGPUType] {
        guard let model = modelOfGPU[name] else { return [] }
        return catalogue.entries(model: model).map { entry in
            let size = entry.framebufferMiB ?? VGPUCapacityModel.framebufferMiB(name: entry.name)
            return VGPUType(parent: name, interface: .nvidiaVFIO, id: "nvidia-\(entry.id)", name: entry.name, description: nil,
                            deviceAPI: "vfio-pci", availableInstances: 0, properties: size.map { ["framebuffer": "\($0)M"] } ?? [:])
        }
    }

    /// A whole card's framebuffer, by model, where an empty card (no vGPU) lists its types: its
    /// largest is the whole-card type (`L40S-48Q`).
    public func emptyCardTotals() -> [String: Int] {
        var totals: [String: Int] = [:]
        for (gpuName, model) in modelOfGPU where !vgpus.contains(where: { gpu(of: $0) == gpuName }) {
            let sizes = types.filter { $0.interface == .nvidiaVFIO && gpu(of: $0.parent) == gpuName }.compactMap(VGPUCapacityModel.framebufferMiB)
            if let largest = sizes.max() { totals[model] = max(totals[model] ?? 0, largest) }
        }
        return totals
    }

    /// The step that adds the names the kernel lists now to gpuprep's record, when it lacks any:
    /// part of every plan that makes per-VF vGPUs, so that a card this plan fills keeps its names.
    public func recordTypeNamesStep(_ host: HostContext) -> Step? {
        let listed = listedTypes()
        guard !listed.isEmpty,
              let text = VGPUCatalogue.TypeRecord.merged(AtomicFile(root: host.root).read(.vgpuTypeRecord), adding: listed,
                                                         totals: emptyCardTotals()) else { return nil }
        var step = Step(action: .writeFile, path: .vgpuTypeRecord, value: text, device: nil)
        let count = listed.values.reduce(0) { $0 + $1.count }
        step.summary = "the names of the \(count) vGPU type\(count == 1 ? "" : "s") the VFs list now, kept for when a full card lists none"
        return step
    }

    /// Where parents not read above (a VF a plan is about to make an mdev on) are looked up.
    let sysfs: Sysfs

    /// The physical GPU a parent belongs to: a VF's PF, or the parent itself.
    public func gpu(of parent: String) -> String {
        if let known = physicalFunction[parent] { return known }
        guard PCIAddress(parent) != nil else { return parent }
        return sysfs.linkName(HostPath.sysBusPCIDevices.child(parent, "physfn")) ?? parent
    }

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
