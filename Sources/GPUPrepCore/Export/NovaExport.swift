/// OpenStack Nova: `nova.conf` sections for this compute host, for Nova 2025.1 (31.0.0) and
/// later (`"managed": "no"` in a device_spec is 31.0.0's), checked with Nova 34's own code
/// (Tests/export/nova_accepts.py).
///
/// - `[pci] device_spec` and `alias` (nova/conf/pci.py: multi-valued, each a JSON object):
///   one device_spec per function by address, `"managed": "no"` since gpuprep binds them
///   (Nova must not hand them back to a host driver; for a variant driver it is required).
///   An alias's `device_type` is what Nova's libvirt driver reports: `type-PF` for any function
///   with `sriov_totalvfs > 0` (libvirt gives it the virt_functions capability), `type-VF` for a
///   VF, else `type-PCI` (nova/virt/libvirt/host.py, _get_device_type). Nova's PCI addresses
///   stop at domain ffff (nova/pci/devspec.py MAX_DOMAIN): a VMD domain is left out.
/// - A VF carrying a vGPU 17+ type gets that type's `resource_class`. Only Placement tells
///   classes apart (nova/pci/stats.py ignores `resource_class` when it pools devices), so the
///   export turns on `[pci] report_in_placement` and says the scheduler needs
///   `[filter_scheduler] pci_in_placement`. Placement takes one class per PF
///   (PlacementPciMixedResourceClassException, nova/compute/pci_placement_translator.py): of a
///   GPU whose VFs carry several types, the most common type's VFs are exported.
/// - `[devices] enabled_mdev_types` and `[mdev_<type>] device_addresses`, `mdev_class` (a
///   custom class per type, so a flavor asks for one). Nova gives each address one type
///   ("duplicate types for PCI ID" stops nova-compute, nova/virt/libvirt/driver.py
///   _get_supported_vgpu_types): a parent holding vGPUs goes to their type; a GPU's free parents
///   to the type it holds most of (one type a GPU, as Nova counts); a GPU holding none to the
///   type with most vGPUs on the host. On VFs (each says it can make one) `max_instances` caps
///   each type at what its GPUs can hold (nova/conf/devices.py; _get_gpu_inventories).
/// Resource classes are normalised as Nova does (StackNames.novaResourceClass).
enum NovaExport {
    static func make(_ inventory: ExportInventory) -> Export {
        var warnings: [String] = []
        var specs: [String] = []
        var aliases: [(key: String, name: String, product: String, type: String, fields: String)] = []
        func ids(_ f: PCIFunction) -> (String, String)? {
            guard let vendor = f.vendorID, let device = f.deviceID else { return nil }
            return (hex(vendor, 4), hex(device, 4))
        }
        func takenByNova(_ f: PCIFunction) -> Bool {
            guard f.address.domain > 0xffff else { return true }
            warnings.append("\(f.address) is in PCI domain \(hex(UInt32(f.address.domain), 4)) (a VMD domain): Nova takes domains up to ffff (nova/pci/devspec.py), so it is left out")
            return false
        }
        for device in inventory.passthrough where takenByNova(device.function) {
            guard let (vendor, product) = ids(device.function) else { continue }
            specs.append("{\"vendor_id\": \(Quote.json(vendor)), \"product_id\": \(Quote.json(product)), \"address\": \(Quote.json(device.function.address.description)), \"managed\": \"no\"}")
            let type = deviceType(device.function)
            let key = "\(vendor):\(product):\(type)"
            if !aliases.contains(where: { $0.key == key }) {
                aliases.append((key, StackNames.slug(device.function.deviceName ?? "pci-\(vendor)-\(product)"), product, type,
                                "\"vendor_id\": \(Quote.json(vendor)), \"product_id\": \(Quote.json(product)), \"device_type\": \(Quote.json(type))"))
            }
        }
        let vfVGPUs = vfVGPUsPlacementTakes(inventory, warnings: &warnings)
        for (vf, vgpu) in vfVGPUs where takenByNova(vf) {
            guard let (vendor, product) = ids(vf) else { continue }
            let type = vgpu.typeName ?? vgpu.type
            let resourceClass = StackNames.novaResourceClass(type)
            specs.append("{\"vendor_id\": \(Quote.json(vendor)), \"product_id\": \(Quote.json(product)), \"address\": \(Quote.json(vf.address.description)), \"managed\": \"no\", \"resource_class\": \(Quote.json(resourceClass))}")
            if !aliases.contains(where: { $0.key == resourceClass }) {
                aliases.append((resourceClass, StackNames.slug(type), product, "type-VF",
                                "\"vendor_id\": \(Quote.json(vendor)), \"product_id\": \(Quote.json(product)), \"device_type\": \"type-VF\", \"resource_class\": \(Quote.json(resourceClass))"))
            }
        }
        // One name, one alias: two device ids that pci.ids names alike get their ids in the name
        // (Nova would merge them into one alias of two specs, which PCI in Placement refuses).
        for suffix in [{ (a: (key: String, name: String, product: String, type: String, fields: String)) in a.product },
                       { a in String(a.type.dropFirst("type-".count)).lowercased() }] {
            let names = Dictionary(grouping: aliases, by: \.name)
            for index in aliases.indices where names[aliases[index].name]!.count > 1 { aliases[index].name += "-" + suffix(aliases[index]) }
        }

        var out = "# gpuprep export nova: for nova.conf on this compute host (merge into its sections); Nova 2025.1 (31.0.0) or later.\n"
        if !specs.isEmpty {
            out += "[pci]\n"
            if !vfVGPUs.isEmpty {
                out += "# vGPU VFs are told apart by resource class, which only Placement matches: set\n# [filter_scheduler] pci_in_placement = True on the scheduler too. A flavor asks with pci_passthrough:alias=NAME:1.\n"
                out += "report_in_placement = True\n"
            }
            out += specs.map { "device_spec = \($0)\n" }.joined()
            out += aliases.map { "alias = {\"name\": \(Quote.json($0.name)), \($0.fields)}\n" }.joined()
        }
        for type in inventory.mdevTypes where type.parents.isEmpty {
            warnings.append("mdev type \(type.id) has no PCI parent (\(Set(type.instances.map(\.parent)).sorted().joined(separator: ", "))): Nova's device_addresses take PCI addresses, so it is left out")
        }
        let mdevs = MdevPartition(inventory, warnings: &warnings)
        if !mdevs.types.isEmpty {
            if !specs.isEmpty { out += "\n" }
            out += "[devices]\nenabled_mdev_types = \(mdevs.types.map(\.id).joined(separator: ", "))\n"
            for type in mdevs.types {
                out += "\n[mdev_\(type.id)]\n"
                out += "device_addresses = \(mdevs.addresses[type.id, default: []].joined(separator: ","))\n"
                out += "mdev_class = \(StackNames.novaResourceClass(type.name ?? type.id))\n"
                if type.onVFs {
                    if let most = mdevs.capacity(of: type) { out += "max_instances = \(most)\n" } else {
                        warnings.append("how many \(type.name ?? type.id) this host can run is not known: set [mdev_\(type.id)] max_instances, or Nova counts one per VF")
                    }
                }
            }
        }
        return Export(format: .nova, content: out, warnings: warnings)
    }

    /// As Nova's libvirt driver classifies a device (nova/virt/libvirt/host.py _get_device_type).
    static func deviceType(_ f: PCIFunction) -> String {
        if f.physicalFunction != nil { return "type-VF" }
        return (f.sriov?.totalVFs ?? 0) > 0 ? "type-PF" : "type-PCI"
    }

    /// The vGPU VFs, less those of a PF whose VFs carry another, more common type: Placement
    /// makes one resource provider of a PF's VFs, with one class.
    static func vfVGPUsPlacementTakes(_ inventory: ExportInventory, warnings: inout [String]) -> [(vf: PCIFunction, vgpu: VGPUInstance)] {
        let byPF = Dictionary(grouping: inventory.vfVGPUs, by: { $0.vf.physicalFunction?.description ?? $0.vf.address.description })
        var kept: Set<PCIAddress> = []
        for (pf, vfs) in byPF {
            let counts = Dictionary(grouping: vfs, by: { $0.vgpu.typeName ?? $0.vgpu.type }).mapValues(\.count)
            let winner = counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.first!.key
            for entry in vfs where (entry.vgpu.typeName ?? entry.vgpu.type) == winner { kept.insert(entry.vf.address) }
            let others = vfs.filter { ($0.vgpu.typeName ?? $0.vgpu.type) != winner }
            if !others.isEmpty {
                let list = others.map { "\($0.vf.address) (\($0.vgpu.typeName ?? $0.vgpu.type))" }.sorted().joined(separator: ", ")
                warnings.append("GPU \(pf) carries vGPUs of several types; Nova's Placement takes one resource class per PF, so only its \(winner) VFs are exported; left out: \(list)")
            }
        }
        return inventory.vfVGPUs.filter { kept.contains($0.vf.address) }
    }

    /// Which mdev type each parent address goes to, one each, and how many each type can run.
    struct MdevPartition {
        var types: [ExportInventory.MdevType] = []
        var addresses: [String: [String]] = [:]
        /// Per type: the GPUs whose free parents it was given.
        var freeGPUs: [String: [String]] = [:]

        init(_ inventory: ExportInventory, warnings: inout [String]) {
            types = inventory.mdevTypes.filter { !$0.parents.isEmpty }
            // The host's order of preference: the type with most vGPUs, then by id.
            let ranked = types.sorted { ($0.instances.count, $1.id) > ($1.instances.count, $0.id) }
            var typeOf: [String: String] = [:]
            let parents = Set(types.flatMap(\.parents)).sorted()
            for parent in parents {
                let held = ranked.map { t in (t.id, t.instances.filter { $0.parent == parent }.count) }.filter { $0.1 > 0 }
                    .sorted { ($0.1, $1.0) > ($1.1, $0.0) }
                guard let first = held.first else { continue }
                typeOf[parent] = first.0
                if held.count > 1 {
                    warnings.append("\(parent) holds vGPUs of \(held.map(\.0).joined(separator: " and ")); Nova gives a parent one type, so only its \(first.0) ones are counted")
                }
            }
            let byGPU = Dictionary(grouping: parents, by: { inventory.gpuOfParent[$0] ?? $0 })
            for (gpu, gpuParents) in byGPU.sorted(by: { $0.key < $1.key }) {
                let free = gpuParents.filter { typeOf[$0] == nil }
                guard !free.isEmpty else { continue }
                let heldHere = ranked.map { t in (t, t.instances.filter { gpuParents.contains($0.parent) }.count) }.filter { $0.1 > 0 }
                    .sorted { ($0.1, $1.0.id) > ($1.1, $0.0.id) }.map(\.0)
                let offering = ranked.filter { t in free.contains { t.parents.contains($0) } }
                guard let recipient = heldHere.first ?? offering.first else { continue }
                if heldHere.isEmpty && offering.count > 1 {
                    warnings.append("GPU \(gpu) holds no vGPU and offers \(offering.map(\.id).joined(separator: ", ")); Nova gives a GPU one type, so it is given to \(recipient.id)")
                }
                for parent in free where recipient.parents.contains(parent) { typeOf[parent] = recipient.id }
                freeGPUs[recipient.id, default: []].append(gpu)
            }
            for (parent, type) in typeOf { addresses[type, default: []].append(parent) }
            for key in addresses.keys { addresses[key]!.sort() }
            types = types.filter { addresses[$0.id] != nil }
        }

        /// The vGPUs of the type, and what the GPUs whose free parents it was given can still take.
        func capacity(of type: ExportInventory.MdevType) -> Int? {
            var total = type.instances.count
            for gpu in freeGPUs[type.id, default: []] {
                guard let more = type.creatable[gpu] else { return nil }
                total += more
            }
            return total
        }
    }
}
