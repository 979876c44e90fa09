/// Node Feature Discovery: a local feature file (for
/// /etc/kubernetes/node-feature-discovery/features.d/), one `name=value` per line; NFD's
/// local source publishes each as the label feature.node.kubernetes.io/NAME. Names and values
/// are made valid label text (StackNames.label).
enum NFDExport {
    static func make(_ inventory: ExportInventory) -> Export {
        var lines: [String] = []
        func add(_ name: String, _ value: String) { lines.append("\(StackNames.label(name))=\(StackNames.label(value))") }
        add("gpuprep.iommu", inventory.iommuGroups ? "true" : "false")
        if !inventory.vfVGPUs.isEmpty { add("gpuprep.vgpu-interface.nvidia-vfio", "true") }
        if !inventory.mdevTypes.isEmpty { add("gpuprep.vgpu-interface.mdev", "true") }
        var bound: [String: Int] = [:]
        for device in inventory.passthrough where device.function.kind == .gpu {
            let id = "\(hex(device.function.vendorID ?? 0, 4))-\(hex(device.function.deviceID ?? 0, 4))"
            bound[id, default: 0] += 1
        }
        for (id, count) in bound.sorted(by: { $0.key < $1.key }) { add("gpuprep.vfio-gpu.\(id)", String(count)) }
        var vgpus: [String: Int] = [:]
        for (_, vgpu) in inventory.vfVGPUs { vgpus[vgpu.typeName ?? vgpu.type, default: 0] += 1 }
        for type in inventory.mdevTypes { vgpus[type.name ?? type.id, default: 0] += type.instances.count }
        for (type, count) in vgpus.sorted(by: { $0.key < $1.key }) { add("gpuprep.vgpu.\(type)", String(count)) }
        let header = "# gpuprep export nfd: a Node Feature Discovery local feature file; NFD publishes each line as the\n# label feature.node.kubernetes.io/NAME.\n"
        return Export(format: .nfd, content: header + lines.map { $0 + "\n" }.joined(), warnings: [])
    }
}
