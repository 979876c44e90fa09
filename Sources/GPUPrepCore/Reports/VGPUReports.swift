import GPUPrepSystem

/// The result of `gpuprep types` (schema version 1).
public struct TypesReport: Encodable, Sendable {
    public var root: String
    public var types: [VGPUType]
    /// Per physical GPU and type, how many more fit (see VGPUCapacityModel).
    public var capacity: [VGPUCapacity]

    public init(root: String, types: [VGPUType], capacity: [VGPUCapacity] = []) {
        self.root = root; self.types = types; self.capacity = capacity
    }

    /// `parent` is an mdev parent, an NVIDIA VF, or a physical GPU (its own types and its VFs').
    /// `availableOnly` keeps what can be made now: the parent offers it and its GPU has room.
    public static func make(host: HostContext, parent: String?, availableOnly: Bool) throws(GPUPrepError) -> TypesReport {
        let holdings = GPUHoldings.read(host)
        var types = holdings.types
        var capacity = holdings.capacity
        if let parent {
            types = types.filter { $0.parent == parent || holdings.gpu(of: $0.parent) == parent }
            guard !types.isEmpty || capacity.contains(where: { $0.gpu == parent }) else {
                // A GPU whose VFs are off (vGPU 17+ makes vGPUs on VFs): say how to turn them on.
                let device = HostPath.sysBusPCIDevices.child(parent)
                // On a VFIO driver it is passed through whole (a VM's, perhaps): no vGPU host.
                if PCIAddress(parent) != nil, let driver = host.sysfs.linkName(device.child("driver")), VFIORule.isVFIODriver(driver) {
                    throw GPUPrepError(.unknownDevice, "\(parent) is on \(driver), passed through whole: it offers no vGPU types; to make vGPUs on it, give it back to nvidia first ('gpuprep unbind \(parent)', once no VM uses it)")
                }
                if PCIAddress(parent) != nil, (host.sysfs.read(device.child("sriov_totalvfs")).flatMap { Int($0) } ?? 0) > 0,
                   host.sysfs.readLocked(device.child("sriov_numvfs")).text == "0" {
                    throw GPUPrepError(.unknownDevice, "\(parent) offers no vGPU types while its SR-IOV VFs are off: enable them with 'gpuprep sriov enable \(parent)', then run 'gpuprep types --parent \(parent)' again")
                }
                // A VF running a vGPU lists nothing more: it is a parent all the same.
                if let running = holdings.vgpus.first(where: { $0.address?.description == parent }) {
                    throw GPUPrepError(.unknownDevice, "\(parent) carries the vGPU \(running.typeName ?? running.type) and a VF holds one: it offers no more now; 'gpuprep types --parent \(holdings.gpu(of: running))' shows what its GPU can still take")
                }
                throw GPUPrepError(.unknownDevice, "\(parent) offers no vGPU types (no mdev parent, NVIDIA VF or GPU with either of that name): run 'gpuprep types' to see the parents")
            }
            let gpus = Set(types.map { holdings.gpu(of: $0.parent) } + [parent])
            capacity = capacity.filter { gpus.contains($0.gpu) }
        }
        if availableOnly {
            let room = Set(capacity.filter { $0.creatable != 0 }.map { "\($0.gpu) \($0.id)" })
            types = types.filter { ($0.availableInstances ?? 0) > 0 && room.contains("\(holdings.gpu(of: $0.parent)) \($0.id)") }
            capacity = capacity.filter { $0.creatable != 0 }
        }
        return TypesReport(root: host.root.display, types: types, capacity: capacity)
    }

    enum Keys: String, CodingKey { case schemaVersion, types, capacity }
    enum CapacityKeys: String, CodingKey { case gpu, interface, id, name, creatable, limitedBy, reason, framebufferMiB, parents }
    enum TypeKeys: String, CodingKey { case parent, interface, id, name, description, deviceApi, availableInstances, properties }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(1, forKey: .schemaVersion)
        var list = c.nestedUnkeyedContainer(forKey: .types)
        for t in types {
            var e = list.nestedContainer(keyedBy: TypeKeys.self)
            try e.encode(t.parent, forKey: .parent)
            try e.encode(t.interface, forKey: .interface)
            try e.encode(t.id, forKey: .id)
            try e.encode(t.name, forKey: .name)
            try e.encode(t.description, forKey: .description)
            try e.encode(t.deviceAPI, forKey: .deviceApi)
            try e.encode(t.availableInstances, forKey: .availableInstances)
            try e.encode(t.properties, forKey: .properties)
        }
        var entries = c.nestedUnkeyedContainer(forKey: .capacity)
        for entry in capacity {
            var e = entries.nestedContainer(keyedBy: CapacityKeys.self)
            try e.encode(entry.gpu, forKey: .gpu)
            try e.encode(entry.interface, forKey: .interface)
            try e.encode(entry.id, forKey: .id)
            try e.encode(entry.name, forKey: .name)
            try e.encode(entry.creatable, forKey: .creatable)
            try e.encode(entry.limitedBy, forKey: .limitedBy)
            try e.encode(entry.reason, forKey: .reason)
            try e.encode(entry.framebufferMiB, forKey: .framebufferMiB)
            try e.encode(entry.parents, forKey: .parents)
        }
    }
}

/// The result of `gpuprep vgpus` (schema version 1).
public struct VGPUsReport: Encodable, Sendable {
    public var root: String
    public var vgpus: [VGPUInstance]

    public static func make(host: HostContext) -> VGPUsReport {
        VGPUsReport(root: host.root.display, vgpus: GPUHoldings.read(host, openFiles: OpenFiles.scan(host), withCapacity: false).vgpus)
    }

    enum Keys: String, CodingKey { case schemaVersion, vgpus }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(1, forKey: .schemaVersion)
        var list = c.nestedUnkeyedContainer(forKey: .vgpus)
        for v in vgpus { try list.encode(InstanceJSON(v)) }
    }
}

/// An instance as the contract writes it (also the shape of `created` and `destroyed`).
struct InstanceJSON: Encodable {
    var instance: VGPUInstance
    init(_ instance: VGPUInstance) { self.instance = instance }
    enum Keys: String, CodingKey { case uuid, address, parent, interface, type, typeName, iommuGroup, holders }
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(instance.uuid?.uuidString.lowercased(), forKey: .uuid)
        try c.encode(instance.address, forKey: .address)
        try c.encode(instance.parent, forKey: .parent)
        try c.encode(instance.interface, forKey: .interface)
        try c.encode(instance.type, forKey: .type)
        try c.encode(instance.typeName, forKey: .typeName)
        try c.encode(instance.iommuGroup, forKey: .iommuGroup)
        var list = c.nestedUnkeyedContainer(forKey: .holders)
        for holder in instance.held { try list.encode(HolderJSON(holder)) }
    }

    /// A holder in the contract's shape ({path, pid, process, vm, unit}), with v1's `name` kept.
    struct HolderJSON: Encodable {
        let holder: Holder
        init(_ holder: Holder) { self.holder = holder }
        enum Keys: String, CodingKey { case name }
        func encode(to encoder: Encoder) throws {
            try holder.encode(to: encoder)
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(holder.process.name, forKey: .name)
        }
    }
}
