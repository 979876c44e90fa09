import ArgumentParser
import GPUPrepCore

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

/// Runs a change through the library's ChangeSession (root check, plan, lock, apply) and renders
/// it; a failed change prints its record and exits with its status.
func applyChange(_ global: GlobalOptions, command: String, dryRun: Bool,
                 plan makeReport: (HostContext) throws(GPUPrepError) -> ChangeReport) throws {
    try global.runReporting { () throws(GPUPrepError) in
        let session = ChangeSession(command: command, dryRun: dryRun, open: global.openHost)
        let report = try session.run(makeReport)
        let output = global.json ? JSONOutput.render(report) : ChangeText.render(report, style: global.textStyle)
        return (output, ExitStatus.success, report.outcome?.failure)
    }
}
