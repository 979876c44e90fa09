import ArgumentParser
import GPUPrepCore

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Say whether this host is ready for GPU passthrough and vGPU, and what to do.",
        discussion: """
        Each finding is pass, warn, fail or skip, with one line of why and, unless it passes, \
        the exact remedy. Covers CPU virtualization, the IOMMU (firmware, running kernel, \
        command line), the boot loader's configured command line against the running one \
        (configured but not booted is "reboot pending"), VFIO and nouveau modules (libkmod), \
        and each GPU (boot VGA, reset, IOMMU group). Exits 1 when any check fails.
        """
    )

    @OptionGroup var global: GlobalOptions

    func run() throws {
        try global.run { () throws(GPUPrepError) in
            let report = try CheckReport.make(host: try global.openHost())
            let output = global.json ? JSONOutput.render(report) : CheckText.render(report, style: global.textStyle)
            return (output, report.failed ? ExitStatus.findings : ExitStatus.success)
        }
    }
}
