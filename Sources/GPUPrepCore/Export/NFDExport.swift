/// Node Feature Discovery: a local feature file (for
/// /etc/kubernetes/node-feature-discovery/features.d/), one `name=value` per line, each name
/// prefixed, so that nfd-master publishes it as that label. Names and values are made valid
/// label text (StackNames.label).
enum NFDExport {
    /// A sub-namespace of feature.node.kubernetes.io, which nfd-master allows without
    /// configuration; unprefixed names are deprecated and kept bare under its DisableAutoPrefix
    /// gate (Tests/export/stack_rules.py cites the code). Names are stable: vGPU types by their
    /// resolved names, which do not change as a card fills.
    static let prefix = "gpuprep.feature.node.kubernetes.io/"

    static func make(_ inventory: ExportInventory) -> Export {
        var lines: [String] = []
        func add(_ name: String, _ value: String) { lines.append("\(prefix)\(StackNames.label(name))=\(StackNames.label(value))") }
        add("iommu", inventory.iommuGroups ? "true" : "false")
        if !inventory.vfVGPUs.isEmpty { add("vgpu-interface.nvidia-vfio", "true") }
        if !inventory.mdevTypes.isEmpty { add("vgpu-interface.mdev", "true") }
        var bound: [String: Int] = [:]
        for device in inventory.passthrough where device.function.kind == .gpu {
            let id = "\(hex(device.function.vendorID ?? 0, 4))-\(hex(device.function.deviceID ?? 0, 4))"
            bound[id, default: 0] += 1
        }
        for (id, count) in bound.sorted(by: { $0.key < $1.key }) { add("vfio-gpu.\(id)", String(count)) }
        var vgpus: [String: Int] = [:]
        for (_, vgpu) in inventory.vfVGPUs { vgpus[vgpu.typeName ?? vgpu.type, default: 0] += 1 }
        for type in inventory.mdevTypes { vgpus[type.name ?? type.id, default: 0] += type.instances.count }
        for (type, count) in vgpus.sorted(by: { $0.key < $1.key }) { add("vgpu.\(type)", String(count)) }
        let header = "# gpuprep export nfd: a Node Feature Discovery (0.16+) local feature file for\n# /etc/kubernetes/node-feature-discovery/features.d/; NFD publishes each line as a node label.\n"
        return Export(format: .nfd, content: header + lines.map { $0 + "\n" }.joined(), warnings: [])
    }
}
