/// The result of `gpuprep types` (schema version 1).
public struct TypesReport: Encodable, Sendable {
    public var root: String
    public var types: [VGPUType]

    public init(root: String, types: [VGPUType]) { self.root = root; self.types = types }

    public static func make(host: HostContext, parent: String?, availableOnly: Bool) throws(GPUPrepError) -> TypesReport {
        let discovery = VGPUDiscovery(host: host)
        if let parent, !discovery.mdevParents().contains(parent), !discovery.nvidiaVFs().map(\.description).contains(parent) {
            throw GPUPrepError(.unknownDevice, "\(parent) offers no vGPU types (no mdev parent or NVIDIA VF of that name): run 'gpuprep types' to see the parents")
        }
        var types = discovery.types(parent: parent)
        if availableOnly { types = types.filter { ($0.availableInstances ?? 0) > 0 } }
        return TypesReport(root: host.root.display, types: types)
    }

    enum Keys: String, CodingKey { case schemaVersion, types }
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
    }
}

/// The result of `gpuprep vgpus` (schema version 1).
public struct VGPUsReport: Encodable, Sendable {
    public var root: String
    public var vgpus: [VGPUInstance]

    public static func make(host: HostContext) -> VGPUsReport {
        VGPUsReport(root: host.root.display, vgpus: VGPUDiscovery(host: host).instances())
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
    enum Keys: String, CodingKey { case uuid, address, parent, interface, type, typeName, iommuGroup }
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(instance.uuid?.uuidString.lowercased(), forKey: .uuid)
        try c.encode(instance.address, forKey: .address)
        try c.encode(instance.parent, forKey: .parent)
        try c.encode(instance.interface, forKey: .interface)
        try c.encode(instance.type, forKey: .type)
        try c.encode(instance.typeName, forKey: .typeName)
        try c.encode(instance.iommuGroup, forKey: .iommuGroup)
    }
}
