import ArgumentParser
import GPUPrepCore

struct SRIOV: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sriov",
        abstract: "Enable or disable a GPU's SR-IOV VFs (NVIDIA vGPU 17+ makes vGPUs on VFs).",
        subcommands: [Enable.self, Disable.self]
    )

    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "enable",
            abstract: "Enable VFs (all of them unless --count), as NVIDIA's sriov-manage -e does; verified.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("The GPU (its physical function).", valueName: "address"), completion: hostCompletion(.sriovCapable))
        var address: String

        @Option(help: "How many VFs (default: sriov_totalvfs).")
        var count: Int?

        @Flag(help: "Change the count even when VFs carry vGPUs or are assigned through VFIO (a new count goes through 0).")
        var force = false

        @Flag(help: "Also enable them at boot, when the nvidia driver binds the GPU (a udev rule).")
        var persist = false

        @Flag(help: "Print every write in order and change nothing.")
        var dryRun = false

        @OptionGroup var release: ReleaseOptions

        func run() throws {
            try applyChange(global, command: "sriov", dryRun: dryRun) { (host) throws(GPUPrepError) in
                guard let pf = try parseAddresses([address]).first else { throw GPUPrepError(.usage, "name the GPU") }
                var planner = SRIOVPlanner(host: host)
                planner.release = release.choice
                return ChangeReport(command: "sriov", dryRun: dryRun, plan: try planner.planEnable(pf, count: count, force: force, persist: persist), outcome: nil)
            }
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "disable",
            abstract: "Disable the VFs; refused while one carries a vGPU or is assigned through VFIO, unless --force.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("The GPU (its physical function).", valueName: "address"), completion: hostCompletion(.sriovCapable))
        var address: String

        @Flag(help: "Disable even when VFs carry vGPUs or are assigned through VFIO.")
        var force = false

        @Flag(help: "Also remove the boot-time rule that enables them.")
        var persist = false

        @Flag(help: "Print every write in order and change nothing.")
        var dryRun = false

        @OptionGroup var release: ReleaseOptions

        func run() throws {
            try applyChange(global, command: "sriov", dryRun: dryRun) { (host) throws(GPUPrepError) in
                guard let pf = try parseAddresses([address]).first else { throw GPUPrepError(.usage, "name the GPU") }
                var planner = SRIOVPlanner(host: host)
                planner.release = release.choice
                return ChangeReport(command: "sriov", dryRun: dryRun, plan: try planner.planDisable(pf, force: force, persist: persist), outcome: nil)
            }
        }
    }
}
