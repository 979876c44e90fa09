import ArgumentParser
import GPUPrepCore

struct Conflicts: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conflicts",
        abstract: "Say what stops each NVIDIA GPU (or the given devices) from being assigned to a VM.",
        discussion: """
        Blockers: another endpoint of the IOMMU group on a host driver, a function of the same \
        card on a host driver (gpuprep bind takes it along), the group already open by a running \
        process (a VM owns it), no IOMMU group at all. For a group larger than the card, says \
        which upstream bridges lack ACS isolation. Exits 1 when any blocker is found.
        """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("Devices to check instead of every NVIDIA GPU.", valueName: "address"),
              completion: addressCompletion)
    var addresses: [String] = []

    func run() throws {
        try global.run { () throws(GPUPrepError) in
            let report = try ConflictsReport.make(host: try global.openHost(), devices: try parseAddresses(addresses))
            let output = global.json ? JSONOutput.render(report) : ConflictsText.render(report, style: global.textStyle)
            return (output, report.hasConflicts ? ExitStatus.findings : ExitStatus.success)
        }
    }
}
