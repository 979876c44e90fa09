import ArgumentParser
import GPUPrepCore
import GPUPrepSystem

struct Apply: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Take the host to the layout in one declarative file: bindings, VFs and vGPUs, verified, with one rollback.",
        discussion: """
        The file (YAML; default /etc/gpuprep/gpuprep.yaml under the root) lists passthrough \
        bindings, VF counts and vGPUs per GPU; NVIDIA vgpu-device-manager files are read as they \
        are (--profile chooses the label). Entries are planned in dependency order by the same \
        planners, with the same refusals, as bind, sriov, create and destroy, each on the host as \
        the entries before it left it, within each GPU's capacity. A failure rolls the whole run \
        back. Nothing the file does not mention is removed. A host that already matches needs \
        nothing (exit 0, "changed": false). --check changes nothing and exits 1 when the host \
        differs. --boot (what gpuprep-apply.service runs) first waits, up to --wait seconds, for \
        the devices, their drivers, the mdev parents and the vGPU types the file names.

        THE FILE
          version: 1
          passthrough:                       # to a VFIO driver, with the card's other functions
            - match: {address: "0000:2b:00.0"}   # or {vendor: "10de", device: "1e84"}
              driver: vfio-pci               # or auto, or a module name; companions: false
          sriov:
            - match: {address: "0000:26:00.0"}
              vfs: max                       # or a number
          vgpus:
            - match: {gpu: "0000:26:00.0"}   # or {vendor, device}, or {parent: mtty}
              type: L40S-24Q                 # a name or an id
              count: 2                       # per GPU, or max; uuids: [...] for mdevs
              params: {frame_rate_limiter: 0}   # NVIDIA's vGPU plugin parameters
          regenerate: true                   # --regenerate by default (check --fix, --persist)
          profiles:                          # chosen with --profile; replace the sections they name
            small: {vgpus: [{match: {vendor: "10de", device: "26b9"}, type: L40S-8Q, count: max}]}
        """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: [.short, .customLong("file")], help: ArgumentHelp("The layout file (default: /etc/gpuprep/gpuprep.yaml under the root).", valueName: "file"),
            completion: .file(extensions: ["yaml", "yml", "json"]))
    var file: String?

    @Option(help: ArgumentHelp("Use this profile of the file (a vgpu-device-manager label).", valueName: "name"))
    var profile: String?

    @Flag(help: "Print the difference and every write in order, and change nothing.")
    var dryRun = false

    @Flag(help: "Change nothing; exit 1 when the host differs from the file (for monitoring and CI).")
    var check = false

    @Flag(help: "Wait (bounded by --wait) for the devices, drivers and vGPU types the file needs: what the boot unit runs.")
    var boot = false

    @Option(help: ArgumentHelp("With --boot: the most seconds to wait.", valueName: "seconds"))
    var wait = 120

    @Flag(help: ArgumentHelp("Also make it hold at boot: install and enable gpuprep-apply.service, and write the passthrough devices' early binding rules.",
                             discussion: "Writes /etc/systemd/system/gpuprep-apply.service (linked from multi-user.target.wants; with --profile, the unit applies that profile) and, for passthrough entries, the files bind --persist writes. With -f FILE, FILE is installed as /etc/gpuprep/gpuprep.yaml, the file the unit applies (refused when that file was written by hand and says something else)."))
    var persist = false

    @Flag(help: ArgumentHelp("Change nothing on the running host: write what the next boot reads (as --persist does), and let the reboot apply the file.",
                             discussion: "The passthrough devices' early binding files, the layout file and gpuprep-apply.service (which makes the VFs and vGPUs at that boot). What holds a device now does not stop it: the early binding takes the device before a display server or daemon can open it."))
    var nextBoot = false

    @OptionGroup var release: ReleaseOptions
    @OptionGroup var regeneration: RegenerateOption

    func run() throws {
        try global.runReporting { () throws(GPUPrepError) in
            if dryRun && check { throw GPUPrepError(.usage, "--check and --dry-run exclude each other: --check already changes nothing") }
            if nextBoot && (check || boot) { throw GPUPrepError(.usage, "--next-boot goes with neither --check nor --boot") }
            let persist = persist || nextBoot
            if regeneration.regenerate == true && !persist { throw GPUPrepError(.usage, "--regenerate goes with --persist or --next-boot") }
            guard (0...3600).contains(wait) else { throw GPUPrepError(.usage, "--wait must be between 0 and 3600 seconds") }
            let (text, shown) = try readLayout()
            let layout = try LayoutFile.parse(text, shown: shown).choosing(profile: profile)
            var session = ChangeSession(command: "apply", dryRun: dryRun || check, open: global.openHost)
            session.lockTimeoutSeconds = boot ? Double(wait) : 10
            var planner = ApplyPlanner(layout: layout, persist: persist)
            planner.profile = profile
            planner.nextBoot = nextBoot
            planner.release = release.choice
            if file != nil { planner.persistedFile = (text, shown) }
            var run = ApplyRun(planner: planner, session: session)
            run.check = check
            run.boot = boot
            run.waitSeconds = wait
            run.progress = { Terminal.writeError("gpuprep: \($0)\n") }
            // The flag, else the file applied; a file named with -f that says nothing defers to the site's.
            run.regenerate = persist && !check && (regeneration.regenerate ?? layout.regenerate ?? (file != nil && regeneration.resolved(global)))
            let report: ApplyReport
            do throws(GPUPrepError) { report = try run.run() } catch {
                // Not for want of root: nothing was tried, and nothing could be recorded.
                if !check && !dryRun && error.code != .permission { record(ApplyRecord.of(nil, error: error, profile: profile)) }
                throw error
            }
            if !check && !dryRun { record(ApplyRecord.of(report, error: nil, profile: profile)) }
            let output = global.json ? JSONOutput.render(report) : ApplyText.render(report, style: global.textStyle)
            let status = check && report.changed ? ExitStatus.findings : ExitStatus.success
            return (output, status, report.failure)
        }
    }

    /// Keeps what this run did for 'gpuprep metrics'; a record that cannot be written is said.
    func record(_ record: ApplyRecord) {
        guard let root = try? HostRoot(global.resolvedRoot) else { return }
        if let problem = record.write(root: root) { Terminal.writeError("gpuprep: warning: \(problem)\n") }
    }

    /// The layout file's text, and how messages name it.
    func readLayout() throws(GPUPrepError) -> (String, String) {
        let read: String?
        let shown: String
        if let file {
            (read, shown) = (try LayoutFile.text(at: file, shown: file), file)
        } else {
            let root: HostRoot
            do throws(SystemError) { root = try HostRoot(global.resolvedRoot) } catch { throw GPUPrepError(error) }
            (read, shown) = (try LayoutFile.hostText(root: root), HostPath.layoutFile.string)
        }
        guard let text = read else {
            throw GPUPrepError(.unreadableFile, "no layout file \(shown): write one ('gpuprep apply --help' shows the format) or name another with -f")
        }
        return (text, shown)
    }
}
