import ArgumentParser
import GPUPrepCore

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Say why a GPU cannot be passed through or offers no vGPU: the first cause, its evidence and its remedy.",
        discussion: """
        A diagnosis, not a list of checks: for each GPU (or the one given) doctor walks the \
        causes in the order they arise and stops at the first that explains the symptom, \
        showing the files it read and the one remedy.

        For vgpu: NVIDIA's vGPU manager installed; the GPU on nvidia; the release supporting \
        the GPU (vgpuConfig.xml); workstation boards in displayless mode; the IOMMU and VFs \
        that SR-IOV GPUs need (vGPU 17+ lists nothing while VFs are off); GSP firmware; room \
        on the GPU, or what fills it; nvidia-vgpu-mgr running. For passthrough: the IOMMU; the \
        IOMMU group; who holds the card; its functions' drivers; then reset, boot VGA and BAR \
        sizes as warnings.

        Without --for, a GPU on a VFIO driver is diagnosed for passthrough, one that offers \
        vGPUs (or sits on nvidia with the vGPU manager installed) for vgpu. Exits 1 when a \
        cause was found.
        """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The GPU (or VF) to diagnose; default every NVIDIA GPU.", valueName: "address"),
              completion: addressCompletion)
    var address: String?

    @Option(name: .customLong("for"), help: ArgumentHelp("What the GPU is meant for: passthrough or vgpu.", valueName: "purpose"),
            completion: .list(["passthrough", "vgpu"]))
    var purpose: String?

    func run() throws {
        try global.run { () throws(GPUPrepError) in
            let wanted: Purpose?
            if let purpose {
                guard let given = Purpose(rawValue: purpose) else {
                    throw GPUPrepError(.usage, "--for takes passthrough or vgpu, not '\(purpose)'")
                }
                wanted = given
            } else {
                wanted = nil
            }
            let address = try address.map { text throws(GPUPrepError) in try parseAddresses([text])[0] }
            let report = try DoctorReport.make(host: try global.openHost(), address: address, purpose: wanted)
            let output = global.json ? JSONOutput.render(report) : DoctorText.render(report, style: global.textStyle)
            return (output, report.foundCause ? ExitStatus.findings : ExitStatus.success)
        }
    }
}
