import ArgumentParser
import GPUPrepCore
import GPUPrepSystem

/// Options of every command that changes the host.
struct ChangeOptions: ParsableArguments {
    @Flag(help: "Print every write in order and change nothing.")
    var dryRun = false

    @Flag(help: "Go ahead despite the safety checks that say --force overrides them.")
    var force = false

    @Flag(name: .customLong("no-companions"), help: "Leave the other functions of a GPU's card (audio, USB, UCSI) where they are.")
    var noCompanions = false

    @Flag(help: ArgumentHelp("Make it last across reboots: per-device udev rules and early module loading (bind), or remove them (unbind).",
                             discussion: "Writes /etc/udev/rules.d/61-gpuprep-vfio.rules, /etc/modules-load.d/gpuprep-vfio.conf and /etc/modprobe.d/gpuprep-vfio.conf, atomically."))
    var persist = false

    /// Plans with the planner, then (unless a dry run) applies under the host lock.
    func execute(_ global: GlobalOptions, command: String,
                 plan makePlan: (BindPlanner) throws(GPUPrepError) -> ChangePlan) throws {
        try global.runReporting { () throws(GPUPrepError) in
            let host = try global.openHost()
            if !dryRun && host.root.isLiveHost && !Privileges.isRoot {
                throw GPUPrepError(.permission, "changing drivers needs root: run it with sudo (or add --dry-run to see the plan)")
            }
            // Hold the lock from the snapshot to the last check, so the plan stays true.
            var lock: HostLock?
            if !dryRun {
                do throws(SystemError) { lock = try HostLock(root: host.root, path: .lockFile, timeout: 10) } catch { throw GPUPrepError(error) }
            }
            defer { withExtendedLifetime(lock) {} }
            let plan = try makePlan(try BindPlanner(host: host))
            let outcome = dryRun || plan.isEmpty ? nil : Applier(writer: LiveHostWriter(host: host), sysfs: host.sysfs).apply(plan)
            let report = ChangeReport(command: command, dryRun: dryRun, plan: plan, outcome: outcome)
            let output = global.json ? JSONOutput.render(report) : ChangeText.render(report, style: global.textStyle)
            return (output, ExitStatus.success, outcome?.failure)
        }
    }
}
