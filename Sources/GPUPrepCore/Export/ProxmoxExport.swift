/// Proxmox VE: sections of `/etc/pve/mapping/pci.cfg`, the cluster's resource mappings
/// (pve-guest-common src/PVE/Mapping/PCI.pm, a PVE::SectionConfig): a section per mapping id,
/// its properties tab-indented; `map` once per node, a property string with `id`
/// (vendor:device), `iommugroup`, `node`, `path` (alternatives separated by `;`, the first free
/// one used at start) and `subsystem-id`, which Proxmox checks against the hardware; `mdev 1`
/// where the devices are mdev parents. One mapping per kind of device (same ids and subsystem),
/// so that a VM asks for "one of these".
enum ProxmoxExport {
    static func make(_ inventory: ExportInventory, node: String?) -> Export {
        var warnings: [String] = []
        let host = node ?? inventory.hostname.map { String($0.prefix { $0 != "." }) }
        if host == nil {
            warnings.append("the host's name is not known (no /proc/sys/kernel/hostname or /etc/hostname under the root): 'node' says NODE; give --node")
        }
        struct Group { var key: String; var name: String; var functions: [PCIFunction]; var mdev: Bool }
        var groups: [Group] = []
        func add(_ f: PCIFunction, name: String, mdev: Bool) {
            guard let vendor = f.vendorID, let device = f.deviceID else { return }
            let sub = f.subsystemVendorID.flatMap { v in f.subsystemDeviceID.map { hex(v, 4) + ":" + hex($0, 4) } } ?? "-"
            let key = "\(hex(vendor, 4)):\(hex(device, 4)) \(sub) \(mdev)"
            if let index = groups.firstIndex(where: { $0.key == key }) {
                if !groups[index].functions.contains(where: { $0.address == f.address }) { groups[index].functions.append(f) }
            } else {
                groups.append(Group(key: key, name: name, functions: [f], mdev: mdev))
            }
        }
        for device in inventory.passthrough {
            add(device.function, name: device.function.deviceName ?? "pci-\(hex(device.function.vendorID ?? 0, 4))-\(hex(device.function.deviceID ?? 0, 4))", mdev: false)
        }
        for (vf, vgpu) in inventory.vfVGPUs { add(vf, name: vgpu.typeName ?? vgpu.type, mdev: false) }
        var parentsWithoutPCI: Set<String> = []
        for type in inventory.mdevTypes {
            for parent in type.parents {
                guard let address = PCIAddress(parent), let f = inventory.functions[address] else { continue }
                add(f, name: (f.deviceName ?? "gpu") + " vgpu", mdev: true)
            }
            parentsWithoutPCI.formUnion(type.instances.map(\.parent).filter { PCIAddress($0) == nil })
        }
        for parent in parentsWithoutPCI.sorted() {
            warnings.append("mdev parent \(parent) is not a PCI device: Proxmox maps PCI devices only, so it is left out")
        }
        var out = "# gpuprep export proxmox: sections for /etc/pve/mapping/pci.cfg (cluster-wide: add this node's map lines\n# to a mapping other nodes already have).\n"
        var used: Set<String> = []
        for group in groups {
            var id = StackNames.slug(group.name)
            var n = 2
            while used.contains(id) { id = StackNames.slug(group.name) + "-\(n)"; n += 1 }
            used.insert(id)
            let first = group.functions[0]
            var properties = ["id=\(hex(first.vendorID ?? 0, 4)):\(hex(first.deviceID ?? 0, 4))"]
            if let group = first.iommuGroup { properties.append("iommugroup=\(group)") }
            properties.append("node=\(host ?? "NODE")")
            properties.append("path=" + group.functions.map(\.address.description).joined(separator: ";"))
            if let v = first.subsystemVendorID, let d = first.subsystemDeviceID { properties.append("subsystem-id=\(hex(v, 4)):\(hex(d, 4))") }
            out += "\n\(id)\n\tmap \(properties.joined(separator: ","))\n"
            if group.mdev { out += "\tmdev 1\n" }
        }
        return Export(format: .proxmox, content: out, warnings: warnings)
    }
}
