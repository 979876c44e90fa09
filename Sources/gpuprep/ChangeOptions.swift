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

    @OptionGroup var release: ReleaseOptions
    @OptionGroup var regeneration: RegenerateOption

    /// Plans with the planner, then (unless a dry run) applies under the host lock.
    func execute(_ global: GlobalOptions, command: String,
                 plan makePlan: (BindPlanner) throws(GPUPrepError) -> ChangePlan) throws {
        if regeneration.regenerate == true && !persist {
            try global.run { () throws(GPUPrepError) in throw GPUPrepError(.usage, "--regenerate goes with --persist") }
        }
        let regenerate = persist && regeneration.resolved(global)
        try applyChange(global, command: command, dryRun: dryRun) { (host) throws(GPUPrepError) in
            var planner = try BindPlanner(host: host)
            planner.release = release.choice
            var plan = try makePlan(planner)
            if regenerate { try plan.addRegeneration(host) }
            return ChangeReport(command: command, dryRun: dryRun, plan: plan, outcome: nil)
        }
    }
}

/// Stopping what holds a GPU for the change, and starting it again after (opt-in).
struct ReleaseOptions: ParsableArguments {
    @Flag(help: ArgumentHelp("Stop NVIDIA's services that hold the devices (nvidia-persistenced, nvidia-fabricmanager) for the change, and start them again after, also when it fails or is interrupted.",
                             discussion: "A VM or any other process holding a device is never touched: the change is refused, naming it. Runs systemctl on the live host only; under --root the plan shows what it would stop."))
    var release = false

    @Flag(help: "Also stop the display manager (and with it the display server holding a GPU) for the change, and start it again after.")
    var releaseDisplay = false

    var choice: ReleaseChoice { ReleaseChoice(services: release || releaseDisplay, display: releaseDisplay) }
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
