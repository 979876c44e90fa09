import ArgumentParser
import GPUPrepCore

struct IOMMU: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iommu",
        abstract: "Show every IOMMU group, its members, and whether VFIO can take it.",
        discussion: """
        A group is viable when each endpoint in it is bound to vfio-pci (or a VFIO variant \
        driver), pci-stub, or no driver; bridges do not count against it (the kernel's rule).
        """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(name: .customLong("nvidia"), help: "Only the groups that hold an NVIDIA function.")
    var nvidiaOnly = false

    func run() throws {
        try global.run { () throws(GPUPrepError) in
            let report = try IOMMUReport.make(host: try global.openHost(), nvidiaOnly: nvidiaOnly)
            return (global.json ? JSONOutput.render(report) : IOMMUText.render(report, style: global.textStyle), 0)
        }
    }
}
