/// KubeVirt 1.8 and later (1.9 for vGPU 17+ VFs): a merge patch for the KubeVirt CR's
/// `spec.configuration`, with `permittedHostDevices` (`pciHostDevices` by `pciVendorSelector`,
/// `mediatedDevices` by `mdevNameSelector`; kubevirt staging/src/kubevirt.io/api/core/v1/
/// types.go). Each resource goes to the plugin that will advertise it (Tests/export/
/// stack_rules.py cites each rule):
/// - NVIDIA devices on vfio-pci or nvgrace_gpu_vfio_pci: NVIDIA's kubevirt-gpu-device-plugin
///   (it skips every other driver), `externalResourceProvider: true`, named as that plugin names
///   them, from the pci.ids in its image (PluginDeviceNames), not the host's.
/// - vGPU 17+ VFs (on `nvidia`, `current_vgpu_type` set): KubeVirt's own PCI plugin (1.9+, PR
///   #16890), which serves a selector only when `externalResourceProvider` is false; NVIDIA's
///   plugin does not see them. All of one device id are one resource.
/// - Other vendors' functions on vfio-pci: KubeVirt's own plugin; on a variant driver no plugin
///   serves them, so they are left out.
/// - mdev vGPUs: NVIDIA's plugin advertises every mdev by its type name; and since gpuprep owns
///   the layout, `mediatedDevicesConfiguration.enabled: false` (1.8+) keeps virt-handler from
///   making and removing mdevs itself.
enum KubeVirtExport {
    static func make(_ inventory: ExportInventory) -> Export {
        var warnings: [String] = []
        var pci: [(selector: String, resource: String, external: Bool)] = []
        func selector(_ f: PCIFunction) -> String? {
            guard let vendor = f.vendorID, let device = f.deviceID else { return nil }
            return (hex(vendor, 4) + ":" + hex(device, 4)).uppercased()
        }
        func add(_ selector: String, _ resource: String, external: Bool) {
            if !pci.contains(where: { $0.selector == selector }) { pci.append((selector, resource, external)) }
        }
        for device in inventory.passthrough {
            let f = device.function
            guard let id = selector(f) else { continue }
            if f.vendorID == 0x10de {
                guard device.driver == "vfio-pci" || device.driver == "nvgrace_gpu_vfio_pci" else {
                    warnings.append("\(f.address) is on \(device.driver): neither NVIDIA's device plugin (vfio-pci and nvgrace_gpu_vfio_pci only) nor KubeVirt's own (vfio-pci) advertises it, so it is left out")
                    continue
                }
                add(id, StackNames.kubevirtPCIResource(deviceName: PluginDeviceNames.name(f.deviceID!), deviceID: f.deviceID!), external: true)
            } else if device.driver == "vfio-pci" {
                add(id, "devices.gpuprep.io/" + StackNames.slug(f.deviceName ?? "pci-\(hex(f.vendorID!, 4))-\(hex(f.deviceID!, 4))"), external: false)
            } else {
                warnings.append("\(f.address) is on the variant driver \(device.driver): KubeVirt's own plugin serves vfio-pci devices only and NVIDIA's NVIDIA devices only, so it is left out")
            }
        }
        // NVIDIA's plugin registers one resource per device id: two ids named alike clash.
        for (resource, entries) in Dictionary(grouping: pci, by: \.resource) where entries.count > 1 {
            warnings.append("NVIDIA's device plugin names \(entries.map(\.selector).joined(separator: " and ")) alike, \(resource): their plugins register one resource name twice, and only one is advertised; bind only one of them on a node")
        }
        var vfTypes: [String: Set<String>] = [:]
        var leftOut: [String: [String]] = [:]
        for (vf, vgpu) in inventory.vfVGPUs {
            guard let id = selector(vf) else { continue }
            if pci.contains(where: { $0.selector == id && $0.external }) {
                leftOut[id, default: []].append(vf.address.description)
                continue
            }
            // Named after the device, not a type, so that it stays as the VFs' types change.
            add(id, StackNames.kubevirtPCIResource(deviceName: PluginDeviceNames.name(vf.deviceID!), deviceID: vf.deviceID!) + "_VGPU", external: false)
            vfTypes[id, default: []].insert(vgpu.typeName ?? vgpu.type)
        }
        for (id, vfs) in leftOut.sorted(by: { $0.key < $1.key }) {
            warnings.append("\(vfs.joined(separator: ", ")) carry vGPUs, but a whole \(id) is on vfio-pci here: one selector cannot be both NVIDIA's plugin's and KubeVirt's own, so the vGPU VFs are left out")
        }
        for (id, types) in vfTypes.sorted(by: { $0.key < $1.key }) where types.count > 1 {
            let resource = pci.first { $0.selector == id }!.resource
            warnings.append("KubeVirt makes every vGPU on a VF of \(id) one resource, \(resource), whatever its type (kubevirt PR #16890); here \(types.sorted().joined(separator: ", ")): keep one type per device id on a node, or a VM asking for it may get any of them")
        }
        var out = """
        # gpuprep export kubevirt: what this host has prepared, as a merge patch for the KubeVirt CR (KubeVirt 1.8+;
        # vGPU 17+ VFs need 1.9+):  kubectl patch kubevirt kubevirt -n kubevirt --type merge --patch-file FILE
        # Its lists replace the CR's own: merge them with what the cluster's other nodes need.
        # externalResourceProvider true: NVIDIA's kubevirt-gpu-device-plugin advertises it (names as its
        # \(PluginDeviceNames.source) does); false: KubeVirt's own device plugin.
        spec:
          configuration:
            permittedHostDevices:

        """
        out += "      pciHostDevices:" + (pci.isEmpty ? " []\n" : "\n")
        for entry in pci {
            out += "        - pciVendorSelector: \(Quote.yaml(entry.selector))\n"
            out += "          resourceName: \(Quote.yaml(entry.resource))\n"
            out += "          externalResourceProvider: \(entry.external)\n"
        }
        let mdevs = inventory.mdevTypes.filter { $0.name != nil }
        out += "      mediatedDevices:" + (mdevs.isEmpty ? " []\n" : "\n")
        for type in mdevs {
            out += "        - mdevNameSelector: \(Quote.yaml(type.name!))\n"
            out += "          resourceName: \(Quote.yaml(StackNames.kubevirtVGPUResource(typeName: type.name!)))\n"
            out += "          externalResourceProvider: true\n"
        }
        for type in inventory.mdevTypes where type.name == nil {
            warnings.append("mdev type \(type.id) has no name: KubeVirt selects mediated devices by name, so it is left out")
        }
        if !inventory.mdevTypes.isEmpty {
            out += "    # gpuprep made these vGPUs: virt-handler must not make or remove mdevs itself.\n"
            out += "    mediatedDevicesConfiguration:\n      enabled: false\n"
        }
        return Export(format: .kubevirt, content: out, warnings: warnings)
    }
}
