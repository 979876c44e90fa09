/// libvirt: `<hostdev>` elements to paste into a domain's `<devices>` (domaincommon.rng):
/// a PCI function by address, `managed='no'` since gpuprep binds it (libvirt must not move it
/// to vfio-pci and back, which for a variant driver or a VF carrying a vGPU would undo the
/// preparation), and an mdev vGPU by its UUID (`type='mdev' model='vfio-pci'`; a display-
/// capable vGPU may add `display='on'`).
enum LibvirtExport {
    static func make(_ inventory: ExportInventory) -> Export {
        var out = "<!-- gpuprep export libvirt: each <hostdev> goes into a domain's <devices>; give each to one VM. -->\n"
        func pci(_ f: PCIFunction, _ comment: String) {
            let a = f.address
            out += "<!-- \(a) \(Quote.xml(comment)) -->\n"
            out += "<hostdev mode='subsystem' type='pci' managed='no'>\n"
            out += "  <source>\n    <address domain='0x\(hex(UInt16(a.domain & 0xffff), 4))' bus='0x\(hex(a.bus, 2))' slot='0x\(hex(a.device, 2))' function='0x\(a.function)'/>\n  </source>\n"
            out += "</hostdev>\n"
        }
        var warnings: [String] = []
        for device in inventory.passthrough {
            let f = device.function
            pci(f, "\(f.deviceName ?? f.className ?? "device") on \(device.driver)")
            if f.address.domain > 0xffff { warnings.append("\(f.address): a PCI domain above 0xffff, which libvirt's schema does not take") }
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
