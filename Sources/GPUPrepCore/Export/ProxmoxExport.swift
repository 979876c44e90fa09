/// Proxmox VE 8 and 9: sections of `/etc/pve/mapping/pci.cfg`, the cluster's resource mappings
/// (pve-guest-common src/PVE/Mapping/PCI.pm, a PVE::SectionConfig whose section header is the
/// bare mapping id). Rules, from the code (Tests/export/stack_rules.py cites each line):
/// - Each `map` line is one alternative; a VM started with `mapping=ID` gets the first free one
///   (qemu-server PCI.pm choose_hostpci_devices). The `;`-joined paths of one line are ONE
///   multifunction device for one VM, so every device gets a line of its own, with its own
///   `iommugroup`; a card whose functions are all on VFIO (a GPU and its audio) is one line
///   whose path is the slot (no function: qemu-server takes every function of it).
/// - `assert_valid` checks each path's `id`, `subsystem-id` and the first one's `iommugroup`
///   against the hardware, and `mdev` against pve-common's pci_device_info, which says mdev
///   for a device with `mdev_supported_types` or NVIDIA's per-VF `nvidia/` directory: vGPU 17+
///   VFs and mdev parents need `mdev 1`, whole devices must not have it.
/// - One mapping per kind: whole devices by ids, vGPU 17+ VFs by their type, mdev parents by
///   ids; a VM asks for a vGPU type itself (`mdev=nvidia-<id>`): Proxmox makes classic mdevs per
///   VM at start and writes a VF's `current_vgpu_type` at start and 0 at stop, so what gpuprep
///   made is only capacity there.
enum ProxmoxExport {
    static func make(_ inventory: ExportInventory, node: String?) -> Export {
        var warnings: [String] = []
        var host = node ?? inventory.hostname.map { String($0.trimmed().prefix { $0 != "." }) }
        if let name = host, !Export.isProxmoxNodeName(name) {
            warnings.append("the host's name \(Quote.json(name)) is not a Proxmox node name: 'node' says NODE; give --node")
            host = nil
        } else if host == nil {
            warnings.append("the host's name is not known (no /proc/sys/kernel/hostname or /etc/hostname under the root): 'node' says NODE; give --node")
        }
        struct Mapping { var key: String; var name: String; var paths: [(path: String, function: PCIFunction)]; var mdev: Bool; var note: String? }
        var mappings: [Mapping] = []
        func add(_ f: PCIFunction, path: String, kind: String, name: String, mdev: Bool, note: String? = nil) {
            guard let vendor = f.vendorID, let device = f.deviceID else { return }
            let sub = f.subsystemVendorID.flatMap { v in f.subsystemDeviceID.map { hex(v, 4) + ":" + hex($0, 4) } } ?? "-"
            let key = "\(kind) \(hex(vendor, 4)):\(hex(device, 4)) \(sub)"
            if let index = mappings.firstIndex(where: { $0.key == key }) {
                if !mappings[index].paths.contains(where: { $0.path == path }) { mappings[index].paths.append((path, f)) }
            } else {
                mappings.append(Mapping(key: key, name: name, paths: [(path, f)], mdev: mdev, note: note))
            }
        }
        let onVFIO = Set(inventory.passthrough.map(\.function.address))
        for device in inventory.passthrough {
            let f = device.function
            // A card whose functions are all on VFIO goes whole, as one multifunction device.
            let slotFunctions = inventory.functions.values.filter { $0.address.slot == f.address.slot }
            let wholeSlot = slotFunctions.count > 1 && slotFunctions.allSatisfy { onVFIO.contains($0.address) }
            if wholeSlot && f.address.function != 0 { continue }
            let path = wholeSlot ? String(f.address.description.dropLast(2)) : f.address.description
            add(f, path: path, kind: "pci", name: f.deviceName ?? "pci-\(hex(f.vendorID ?? 0, 4))-\(hex(f.deviceID ?? 0, 4))", mdev: false)
        }
        for (vf, vgpu) in inventory.vfVGPUs {
            let type = vgpu.typeName ?? vgpu.type
            add(vf, path: vf.address.description, kind: "vgpu " + vgpu.type, name: type, mdev: true,
                note: "VFs carrying \(type): start a VM with hostpciN: mapping=ID,mdev=\(vgpu.type)")
        }
        var parentsWithoutPCI: Set<String> = []
        for type in inventory.mdevTypes {
            for parent in type.parents {
                guard let address = PCIAddress(parent), let f = inventory.functions[address] else { continue }
                add(f, path: f.address.description, kind: "mdev", name: (f.deviceName ?? "gpu") + " vgpu", mdev: true,
                    note: "mdev parents: start a VM with hostpciN: mapping=ID,mdev=TYPE")
            }
            parentsWithoutPCI.formUnion(type.instances.map(\.parent).filter { PCIAddress($0) == nil })
        }
        for parent in parentsWithoutPCI.sorted() {
            warnings.append("mdev parent \(parent) is not a PCI device: Proxmox maps PCI devices only, so it is left out")
        }
        var out = "# gpuprep export proxmox: sections for /etc/pve/mapping/pci.cfg, Proxmox VE 8 or 9 (cluster-wide: add this\n# node's map lines to a mapping other nodes already have). A VM gets one map line's device, the first free one.\n"
        if mappings.contains(where: \.mdev) {
            out += "# Proxmox makes each VM's vGPU itself when it starts (mdev=TYPE) and resets a VF's vGPU type when it stops:\n# vGPUs made beforehand are used only by a VM asking for that same type.\n"
        }
        var used: Set<String> = []
        for mapping in mappings {
            var id = StackNames.slug(mapping.name)
            var n = 2
            while used.contains(id) { id = StackNames.slug(mapping.name) + "-\(n)"; n += 1 }
            used.insert(id)
            out += "\n"
            if let note = mapping.note { out += "# \(note)\n" }
            out += "\(id)\n"
            if mapping.mdev { out += "\tmdev 1\n" }
            for (path, f) in mapping.paths {
                var properties = ["id=\(hex(f.vendorID ?? 0, 4)):\(hex(f.deviceID ?? 0, 4))"]
                if let group = f.iommuGroup { properties.append("iommugroup=\(group)") }
                properties.append("node=\(host ?? "NODE")")
                properties.append("path=\(path)")
                if let v = f.subsystemVendorID, let d = f.subsystemDeviceID { properties.append("subsystem-id=\(hex(v, 4)):\(hex(d, 4))") }
                out += "\tmap \(properties.joined(separator: ","))\n"
            }
        }
        return Export(format: .proxmox, content: out, warnings: warnings)
    }
}

extension Export {
    /// Proxmox's pve-node format (pve-common JSONSchema.pm): a host name's first label.
    public static func isProxmoxNodeName(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix("-") && !name.hasSuffix("-")
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
    }
}
