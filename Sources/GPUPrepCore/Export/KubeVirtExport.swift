/// KubeVirt: a merge patch for the KubeVirt CR's `spec.configuration`, with
/// `permittedHostDevices` (`pciHostDevices` by `pciVendorSelector`, `mediatedDevices` by
/// `mdevNameSelector`) and, for mdev, `mediatedDevicesConfiguration` (kubevirt
/// staging/src/kubevirt.io/api/core/v1/types.go: PciHostDevice, MediatedHostDevice,
/// MediatedDevicesConfiguration). Resources are named as NVIDIA's kubevirt-gpu-device-plugin
/// advertises them (StackNames), and marked `externalResourceProvider` since that plugin,
/// not KubeVirt's own, provides them.
enum KubeVirtExport {
    static func make(_ inventory: ExportInventory) -> Export {
        var warnings: [String] = []
        // One entry per vendor:device: the plugin makes one resource of each device id.
        var pci: [(selector: String, resource: String)] = []
        func addPCI(_ f: PCIFunction) {
            guard let vendor = f.vendorID, let device = f.deviceID else { return }
            let selector = (hex(vendor, 4) + ":" + hex(device, 4)).uppercased()
            guard !pci.contains(where: { $0.selector == selector }) else { return }
            pci.append((selector, StackNames.kubevirtPCIResource(deviceName: f.deviceName, deviceID: device)))
        }
        for device in inventory.passthrough {
            addPCI(device.function)
            if device.function.vendorID != 0x10de {
                warnings.append("\(device.function.address) is not NVIDIA's: NVIDIA's device plugin does not advertise it; KubeVirt's own plugin does if externalResourceProvider is false")
            }
        }
        var vfTypes: [String: Set<String>] = [:]
        for (vf, vgpu) in inventory.vfVGPUs {
            addPCI(vf)
            if let vendor = vf.vendorID, let device = vf.deviceID {
                vfTypes[hex(vendor, 4) + ":" + hex(device, 4), default: []].insert(vgpu.typeName ?? vgpu.type)
            }
        }
        for (id, types) in vfTypes.sorted(by: { $0.key < $1.key }) {
            let resource = pci.first { $0.selector == id.uppercased() }?.resource ?? id
            warnings.append("KubeVirt makes every vGPU on a VF of \(id) one resource, \(resource), whatever its type (kubevirt PR #16890); here \(types.sorted().joined(separator: ", ")): keep one type per device id on a node, or a VM asking for it may get any of them")
        }
        var out = """
        # gpuprep export kubevirt: what this host has prepared, as a merge patch for the KubeVirt CR:
        #   kubectl patch kubevirt kubevirt -n kubevirt --type merge --patch-file FILE
        # Its lists replace the CR's own: merge them with what the cluster's other nodes need.
        spec:
          configuration:
            permittedHostDevices:

        """
        out += "      pciHostDevices:" + (pci.isEmpty ? " []\n" : "\n")
        for entry in pci {
            out += "        - pciVendorSelector: \(Quote.yaml(entry.selector))\n"
            out += "          resourceName: \(Quote.yaml(entry.resource))\n"
            out += "          externalResourceProvider: true\n"
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
            out += "    mediatedDevicesConfiguration:\n      mediatedDeviceTypes:\n"
            out += inventory.mdevTypes.map { "        - \(Quote.yaml($0.id))\n" }.joined()
            warnings.append("with mediatedDevicesConfiguration KubeVirt makes and removes mdevs of these types itself; leave it out where gpuprep (apply) manages the vGPUs")
        }
        return Export(format: .kubevirt, content: out, warnings: warnings)
    }
}
