/// What `gpuprep export` prints: a stack's configuration for what this host has prepared.
public enum ExportFormat: String, Sendable, CaseIterable, Encodable {
    case kubevirt, nova, libvirt, proxmox, nfd
}

/// The snippet (on standard output) and what the user should know (on standard error).
public struct Export: Sendable, Encodable {
    public var format: ExportFormat
    public var content: String
    public var warnings: [String]

    enum Keys: String, CodingKey { case schemaVersion, format, content, warnings }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(1, forKey: .schemaVersion)
        try c.encode(format, forKey: .format)
        try c.encode(content, forKey: .content)
        try c.encode(warnings, forKey: .warnings)
    }

    public static func make(_ format: ExportFormat, _ inventory: ExportInventory, node: String? = nil) -> Export {
        var export: Export
        switch format {
        case .kubevirt: export = KubeVirtExport.make(inventory)
        case .nova: export = NovaExport.make(inventory)
        case .libvirt: export = LibvirtExport.make(inventory)
        case .proxmox: export = ProxmoxExport.make(inventory, node: node)
        case .nfd: export = NFDExport.make(inventory)
        }
        // A group VFIO cannot take whole: no VM starts with its device until the rest is bound too.
        var groupsSaid = Set<Int>()
        for device in inventory.passthrough {
            guard let group = device.function.iommuGroup, groupsSaid.insert(group).inserted else { continue }
            let stranded = inventory.functions.values.filter { $0.iommuGroup == group && VFIORule.blocksGroup($0) }.sorted { $0.address < $1.address }
            if !stranded.isEmpty {
                let list = stranded.map { "\($0.address) on \($0.driver ?? "no driver")" }.joined(separator: ", ")
                export.warnings.append("IOMMU group \(group) of \(device.function.address) also holds \(list): no VM can start with it until \(stranded.count == 1 ? "that is" : "those are") on vfio-pci too ('gpuprep bind \(device.function.address)')")
            }
        }
        if inventory.isEmpty {
            export.warnings.insert("nothing on this host is prepared for VMs (no function on a VFIO driver, no vGPU): bind with 'gpuprep bind', make vGPUs with 'gpuprep create' or 'gpuprep apply'", at: 0)
        }
        return export
    }
}
