import ArgumentParser
import GPUPrepCore
import GPUPrepSystem

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Print the configuration a virtualization stack needs for what this host has prepared.",
        discussion: """
        From the functions on a VFIO driver (vfio-pci or a variant driver), the VFs carrying \
        an NVIDIA vGPU 17+ type and the mdev vGPUs, in the stack's own format on standard \
        output, with what to watch for (and what is left out) on standard error: kubevirt (a \
        merge patch for the KubeVirt CR: permittedHostDevices, each for the device plugin that \
        advertises it and named as that plugin names it, and mediatedDevicesConfiguration \
        enabled: false where gpuprep made mdevs), nova (nova.conf: [pci] device_spec and alias, \
        [devices] enabled_mdev_types, [mdev_TYPE], one type per parent address), libvirt \
        (<hostdev> elements), proxmox (/etc/pve/mapping/pci.cfg sections, one map line per \
        device), nfd (a Node Feature Discovery feature file, labels under \
        gpuprep.feature.node.kubernetes.io/). ADDRESS limits it to those functions, and the \
        vGPUs on those GPUs or parents.
        """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("kubevirt, nova, libvirt, proxmox or nfd.", valueName: "format"))
    var format: ExportFormat

    @Argument(help: ArgumentHelp("Only these functions (DDDD:BB:DD.F or BB:DD.F), and the vGPUs on them.", valueName: "address"),
              completion: addressCompletion)
    var addresses: [String] = []

    @Option(help: ArgumentHelp("proxmox: the node's name in the mappings (default: the host's name).", valueName: "name"))
    var node: String?

    func run() throws {
        try global.run { () throws(GPUPrepError) in
            if let node, !Export.isProxmoxNodeName(node) {
                throw GPUPrepError(.usage, "--node '\(node)' is not a node name: letters, digits and - (not first or last)")
            }
            let inventory = try ExportInventory.read(try global.openHost(), only: try parseAddresses(addresses))
            let export = Export.make(format, inventory, node: node)
            if global.json { return (JSONOutput.render(export), ExitStatus.success) }
            for warning in export.warnings { Terminal.writeError("gpuprep: warning: \(warning)\n") }
            return (export.content, ExitStatus.success)
        }
    }
}

extension ExportFormat: ExpressibleByArgument {}
