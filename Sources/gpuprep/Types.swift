import ArgumentParser
import GPUPrepCore

struct Types: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "types",
        abstract: "List the vGPU types every parent offers, over mdev and NVIDIA's per-VF interface.",
        discussion: """
        Type ids are nvidia-N for NVIDIA on both interfaces (N is NVIDIA's type id), the kernel's \
        directory name otherwise (mtty-2). NVIDIA descriptions are parsed into properties. For \
        nvidia-vfio (vGPU 17+) the parent is the VF whose creatable_vgpu_types lists the type; \
        the list shrinks as the GPU fills. The table shows, per physical GPU and type, how many \
        more fit (MORE) and why not more: the parents' own counts, the GPU's framebuffer less \
        what its vGPUs use, or its placement mode (equal-size by default: one size at a time). \
        On an SR-IOV card every free VF offers one while the card has room for fewer, so the \
        per-parent counts are not added up. A figure that cannot be known shows as ?, with why.
        """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Only this parent: an mdev parent or VF, a GPU (with its VFs), or a non-PCI mdev parent's name (mtty).", valueName: "parent"),
            completion: hostCompletion(.vgpuParent))
    var parent: String?

    @Flag(help: "Only types that can still be created: the parent offers one and its GPU has room.")
    var available = false

    func run() throws {
        try global.run { () throws(GPUPrepError) in
            let report = try TypesReport.make(host: try global.openHost(), parent: try normalizeParent(parent), availableOnly: available)
            return (global.json ? JSONOutput.render(report) : VGPUText.types(report, style: global.textStyle), 0)
        }
    }
}

struct VGPUs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vgpus",
        abstract: "List the vGPUs that exist, with their types resolved to names."
    )

    @OptionGroup var global: GlobalOptions

    func run() throws {
        try global.run { () throws(GPUPrepError) in
            let report = VGPUsReport.make(host: try global.openHost())
            return (global.json ? JSONOutput.render(report) : VGPUText.vgpus(report, style: global.textStyle), 0)
        }
    }
}

/// A parent is a PCI address (short forms accepted) or a plain mdev parent name.
func normalizeParent(_ text: String?) throws(GPUPrepError) -> String? {
    guard let text else { return nil }
    if let address = PCIAddress(text.lowercased()) { return address.description }
    // mdev parent names have no colon: this was meant as an address (`41:00.9`: functions are 0-7).
    if text.contains(":") {
        throw GPUPrepError(.usage, "'\(text)' is not a PCI address: expected DDDD:BB:DD.F or BB:DD.F in hex, device 00-1f, function 0-7")
    }
    guard !text.isEmpty, !text.contains("/"), text != ".", text != ".." else {
        throw GPUPrepError(.usage, "'\(text)' is neither a PCI address nor an mdev parent name")
    }
    return text
}
