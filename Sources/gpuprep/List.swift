import ArgumentParser
import GPUPrepCore

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List NVIDIA GPUs, their VFs, companion functions and NVSwitches.",
        discussion: """
        Per function: name (from pci.ids, as lspci -nn shows it), driver, driver_override, \
        IOMMU group, NUMA node, boot VGA, SR-IOV, physical function, vGPU interface \
        (mdev or nvidia-vfio), companions, and the kernel modules that can drive it \
        (libkmod lookup of its modalias, as lspci -k does).
        """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "List every PCI function, not only NVIDIA ones.")
    var all = false

    @Argument(help: ArgumentHelp("Only these functions (DDDD:BB:DD.F or BB:DD.F).", valueName: "address"),
              completion: addressCompletion)
    var addresses: [String] = []

    func run() throws {
        try global.run { () throws(GPUPrepError) in
            let wanted = try parseAddresses(addresses)
            if all && !wanted.isEmpty {
                throw GPUPrepError(.usage, "--all and addresses exclude each other: give one or the other")
            }
            let scope: DiscoveryScope = wanted.isEmpty ? (all ? .all : .nvidia) : .addresses(wanted)
            let report = try ListReport.make(host: try global.openHost(), scope: scope)
            return (global.json ? JSONOutput.render(report) : ListText.render(report, style: global.textStyle), 0)
        }
    }
}
