import ArgumentParser
import FoundationEssentials
import GPUPrepCore

struct Create: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create vGPUs of a type: mdev instances, or NVIDIA vGPU 17+ types on SR-IOV VFs.",
        discussion: """
        TYPE is an id (nvidia-222, mtty-2), a name (GRID T4-1B), or a name without its vendor \
        prefix (T4-1B). Everything is checked before the first write: the type exists, each GPU \
        has room for what goes on it (its capacity, as 'gpuprep types' shows it: the kernel's \
        count, the GPU's framebuffer, its placement mode), the UUID is well formed and unused. \
        An over-ask is refused with the true number. Each write is verified (the mdev appears; \
        the VF reads the type back and lists no other); if one fails, the ones already made are \
        destroyed and the failure reported. --placement spread (the default) puts each \
        instance on the GPU with the most room left; pack fills the fullest GPU that still \
        fits one, keeping whole GPUs free. --parent takes an mdev parent, a VF, or a GPU (then \
        its VFs). --uuid naming an identical existing vGPU does nothing, and says so.
        """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("The type: an id or a name (see gpuprep types).", valueName: "type"), completion: hostCompletion(.vgpuType))
    var type: String

    @Option(help: ArgumentHelp("Create on this parent only: an mdev parent, a VF, or a GPU (its VFs).", valueName: "parent"),
            completion: hostCompletion(.vgpuParent))
    var parent: String?

    @Option(help: "How many to create.")
    var count = 1

    @Option(help: ArgumentHelp("Without a single parent: spread (the GPU with most room first) or pack (the fullest GPU that fits).",
                               valueName: "placement"))
    var placement: VGPUPlanner.Placement = .spread

    @Option(help: ArgumentHelp("The mdev's UUID (one vGPU; a new random one otherwise).", valueName: "uuid"))
    var uuid: String?

    @Flag(help: ArgumentHelp("Also bring them back at boot: mdevctl definitions (/etc/mdevctl.d), or udev rules for nvidia-vfio VFs."))
    var persist = false

    @Flag(help: "Print every write in order and change nothing.")
    var dryRun = false

    func run() throws {
        try applyChange(global, command: "create", dryRun: dryRun) { (host) throws(GPUPrepError) in
            var wanted: UUID?
            if let uuid {
                guard let parsed = UUID(uuidString: uuid) else {
                    throw GPUPrepError(.usage, "'\(uuid)' is not a UUID: expected 8-4-4-4-12 hex digits, e.g. \(UUID().uuidString.lowercased())")
                }
                wanted = parsed
            }
            let (plan, vgpus) = try VGPUPlanner(host: host).planCreate(type: type, parent: try normalizeParent(parent), count: count, uuid: wanted,
                                                                  placement: placement, persist: persist)
            var report = ChangeReport(command: "create", dryRun: dryRun, plan: plan, outcome: nil)
            report.vgpus = vgpus
            return report
        }
    }
}

struct Destroy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destroy",
        abstract: "Destroy vGPUs: mdev UUIDs, or VFs carrying an nvidia-vfio vGPU.",
        discussion: """
        Refuses a vGPU a VM is using (its /dev/vfio/N or VFIO device file held open by a \
        process, named with its VM) unless --force. Each removal is verified; if one fails, \
        those already removed are made again. --parent takes an mdev parent, a VF or a GPU.
        """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("mdev UUIDs or VF addresses.", valueName: "vgpu"), completion: hostCompletion(.vgpu))
    var vgpus: [String] = []

    @Flag(help: "Destroy every vGPU (of --parent, if given).")
    var all = false

    @Option(help: ArgumentHelp("With --all: only this parent's vGPUs.", valueName: "parent"), completion: hostCompletion(.vgpuParent))
    var parent: String?

    @Flag(help: "Destroy even a vGPU a VM is using.")
    var force = false

    @Flag(help: "Also remove their definitions for boot (mdevctl, udev rules).")
    var persist = false

    @Flag(help: "Print every write in order and change nothing.")
    var dryRun = false

    func run() throws {
        try applyChange(global, command: "destroy", dryRun: dryRun) { (host) throws(GPUPrepError) in
            let (plan, targets) = try VGPUPlanner(host: host).planDestroy(vgpus, all: all, parent: try normalizeParent(parent), force: force,
                                                                      persist: persist)
            var report = ChangeReport(command: "destroy", dryRun: dryRun, plan: plan, outcome: nil)
            report.vgpus = targets
            return report
        }
    }
}

extension VGPUPlanner.Placement: ExpressibleByArgument {}
