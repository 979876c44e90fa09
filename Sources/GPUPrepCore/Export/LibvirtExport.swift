/// libvirt: `<hostdev>` elements to paste into a domain's `<devices>` (domaincommon.rng):
/// a PCI function by address, `managed='no'` since gpuprep binds it (libvirt must not move it
/// to vfio-pci and back, which for a variant driver or a VF carrying a vGPU would undo the
/// preparation), and an mdev vGPU by its UUID (`type='mdev' model='vfio-pci'`; a display-
/// capable vGPU may add `display='on'`). libvirt's schema takes 32-bit PCI domains (a VMD
/// domain such as 10000 is written whole); functions that share an IOMMU group are written
/// together, since VFIO gives a group to one VM.
enum LibvirtExport {
    static func make(_ inventory: ExportInventory) -> Export {
        var out = "<!-- gpuprep export libvirt: each <hostdev> goes into a domain's <devices>; give each to one VM. -->\n"
        func pci(_ f: PCIFunction, _ comment: String) {
            let a = f.address
            out += "<!-- \(a) \(Quote.xml(comment)) -->\n"
            out += "<hostdev mode='subsystem' type='pci' managed='no'>\n"
            out += "  <source>\n    <address domain='0x\(hex(a.domain, 4))' bus='0x\(hex(a.bus, 2))' slot='0x\(hex(a.device, 2))' function='0x\(a.function)'/>\n  </source>\n"
            out += "</hostdev>\n"
        }
        let warnings: [String] = []
        var written = Set<PCIAddress>()
        for device in inventory.passthrough where !written.contains(device.function.address) {
            let f = device.function
            let group = inventory.passthrough.filter { f.iommuGroup != nil && $0.function.iommuGroup == f.iommuGroup }
            if group.count > 1 {
                out += "<!-- IOMMU group \(f.iommuGroup!): \(group.map(\.function.address.description).joined(separator: ", ")) go to one VM together -->\n"
            }
            for member in group.isEmpty ? [device] : group {
                pci(member.function, "\(member.function.deviceName ?? member.function.className ?? "device") on \(member.driver)")
                written.insert(member.function.address)
            }
        }
        for (vf, vgpu) in inventory.vfVGPUs { pci(vf, "vGPU \(vgpu.typeName ?? vgpu.type) (a VF on nvidia)") }
        for type in inventory.mdevTypes {
            for vgpu in type.instances {
                guard let uuid = vgpu.uuid?.uuidString.lowercased() else { continue }
                out += "<!-- vGPU \(Quote.xml(type.name ?? type.id)) on \(Quote.xml(vgpu.parent)) -->\n"
                out += "<hostdev mode='subsystem' type='mdev' model='vfio-pci'>\n"
                out += "  <source>\n    <address uuid='\(uuid)'/>\n  </source>\n"
                out += "</hostdev>\n"
            }
        }
        return Export(format: .libvirt, content: out, warnings: warnings)
    }
}
