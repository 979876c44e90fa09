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
        try applyChange(global, command: command, dryRun: dryRun) { (host) throws(GPUPrepError) in
            ChangeReport(command: command, dryRun: dryRun, plan: try makePlan(try BindPlanner(host: host)), outcome: nil)
        }
    }
}

/// The one way gpuprep changes a host: refuse without root on the live host, plan, and when
/// there is something to apply (not a dry run, not a refusal, not an empty plan) take the lock
/// and plan again under it, so that the plan applied is true of the host as the lock found it;
/// then apply and report. A failed change prints its record and exits with its status. Bad input
/// and refusals write nothing, not even the lock file (a tree meant only for reading stays so).
func applyChange(_ global: GlobalOptions, command: String, dryRun: Bool,
                 plan makeReport: (HostContext) throws(GPUPrepError) -> ChangeReport) throws {
    try global.runReporting { () throws(GPUPrepError) in
        var host = try global.openHost()
        if !dryRun && host.root.isLiveHost && !Privileges.isRoot {
            throw GPUPrepError(.permission, "\(command) changes the host and needs root: run it with sudo (or add --dry-run to see the plan)")
        }
        var report = try makeReport(host)
        var lock: HostLock?
        defer { withExtendedLifetime(lock) {} }
        if !dryRun && !report.plan.isEmpty {
            do throws(SystemError) { lock = try HostLock(root: host.root, path: .lockFile, timeout: 10) } catch { throw GPUPrepError(error) }
            host = try global.openHost()
            report = try makeReport(host)
            if !report.plan.isEmpty {
                report.outcome = Applier(writer: LiveHostWriter(host: host), sysfs: host.sysfs).apply(report.plan)
            }
        }
        let output = global.json ? JSONOutput.render(report) : ChangeText.render(report, style: global.textStyle)
        return (output, ExitStatus.success, report.outcome?.failure)
    }
}
