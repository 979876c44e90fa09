/// OpenStack Nova: `nova.conf` sections for this compute host.
///
/// - `[pci] device_spec` and `alias` (nova/conf/pci.py: multi-valued, each a JSON object):
///   one device_spec per function by address, `"managed": "no"` since gpuprep binds them
///   (Nova must not hand them back to a host driver; for a variant driver it is required);
///   a VF carrying a vGPU type gets that type's `resource_class` (reported to Placement with
///   `[pci] report_in_placement`), one alias per device id (or per vGPU type).
/// - `[devices] enabled_mdev_types` and `[mdev_<type>] device_addresses`, `mdev_class` (a
///   custom class per type, so a flavor asks for one) and, where the parents are VFs (each
///   says it can make one), `max_instances`: how many the host can run (nova/conf/devices.py).
/// Resource classes are normalised as Nova does (StackNames.novaResourceClass).
enum NovaExport {
    static func make(_ inventory: ExportInventory) -> Export {
        var warnings: [String] = []
        var specs: [String] = []
        var aliases: [(key: String, json: String)] = []
        func ids(_ f: PCIFunction) -> (String, String)? {
            guard let vendor = f.vendorID, let device = f.deviceID else { return nil }
            return (hex(vendor, 4), hex(device, 4))
        }
        func deviceType(_ f: PCIFunction) -> String {
            if f.physicalFunction != nil { return "type-VF" }
            return (f.sriov?.numVFs ?? 0) > 0 ? "type-PF" : "type-PCI"
        }
        for device in inventory.passthrough {
            guard let (vendor, product) = ids(device.function) else { continue }
            specs.append("{\"vendor_id\": \(Quote.json(vendor)), \"product_id\": \(Quote.json(product)), \"address\": \(Quote.json(device.function.address.description)), \"managed\": \"no\"}")
            let key = "\(vendor):\(product):\(deviceType(device.function))"
            if !aliases.contains(where: { $0.key == key }) {
                let name = StackNames.slug(device.function.deviceName ?? "pci-\(vendor)-\(product)")
                aliases.append((key, "{\"name\": \(Quote.json(name)), \"vendor_id\": \(Quote.json(vendor)), \"product_id\": \(Quote.json(product)), \"device_type\": \(Quote.json(deviceType(device.function)))}"))
            }
        }
        for (vf, vgpu) in inventory.vfVGPUs {
            guard let (vendor, product) = ids(vf) else { continue }
            let type = vgpu.typeName ?? vgpu.type
            let resourceClass = StackNames.novaResourceClass(type)
            specs.append("{\"vendor_id\": \(Quote.json(vendor)), \"product_id\": \(Quote.json(product)), \"address\": \(Quote.json(vf.address.description)), \"managed\": \"no\", \"resource_class\": \(Quote.json(resourceClass))}")
            if !aliases.contains(where: { $0.key == resourceClass }) {
                aliases.append((resourceClass, "{\"name\": \(Quote.json(StackNames.slug(type))), \"vendor_id\": \(Quote.json(vendor)), \"product_id\": \(Quote.json(product)), \"device_type\": \"type-VF\", \"resource_class\": \(Quote.json(resourceClass))}"))
            }
        }
        var out = "# gpuprep export nova: for nova.conf on this compute host (merge into its sections).\n"
        if !specs.isEmpty {
            if !inventory.vfVGPUs.isEmpty {
                out += "# The VFs' resource classes reach Placement with [pci] report_in_placement = True; a flavor asks\n# for one with pci_passthrough:alias=NAME:1.\n"
            }
            out += "[pci]\n" + specs.map { "device_spec = \($0)\n" }.joined() + aliases.map { "alias = \($0.json)\n" }.joined()
        }
        let mdevs = inventory.mdevTypes.filter { !$0.parents.isEmpty }
        for type in inventory.mdevTypes where type.parents.isEmpty {
            warnings.append("mdev type \(type.id) has no PCI parent (\(Set(type.instances.map(\.parent)).sorted().joined(separator: ", "))): Nova's device_addresses take PCI addresses, so it is left out")
        }
        if !mdevs.isEmpty {
            if !specs.isEmpty { out += "\n" }
            out += "[devices]\nenabled_mdev_types = \(mdevs.map(\.id).joined(separator: ", "))\n"
            for type in mdevs {
                out += "\n[mdev_\(type.id)]\n"
                out += "device_addresses = \(type.parents.joined(separator: ","))\n"
                out += "mdev_class = \(StackNames.novaResourceClass(type.name ?? type.id))\n"
                if type.onVFs {
                    if let total = type.total { out += "max_instances = \(total)\n" } else {
                        warnings.append("how many \(type.name ?? type.id) this host can run is not known: set [mdev_\(type.id)] max_instances, or Nova counts one per VF")
                    }
                }
            }
        }
        return Export(format: .nova, content: out, warnings: warnings)
    }
}
