import ArgumentParser
import GPUPrepCore

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Say whether this host is ready for GPU passthrough and vGPU, and what to do.",
        discussion: """
        Each finding is pass, warn, fail or skip, with one line of why and, unless it passes, \
        the exact remedy. Covers CPU virtualization, the IOMMU (firmware, running kernel, \
        command line), the boot loader's configured command line against the running one \
        (configured but not booted is "reboot pending"), VFIO and nouveau modules (libkmod), \
        and each GPU (boot VGA, reset, IOMMU group). Exits 1 when any check fails.

        --fix adds the missing IOMMU arguments to the boot loader's configuration (GRUB's \
        /etc/default/grub or its grub.d drop-in, /etc/kernel/cmdline) by appending to the \
        command line already there: a backup beside the file (.gpuprep-bak), an atomic write \
        keeping mode and owner, nothing to do the second time; then it prints the command \
        that regenerates the boot configuration (--regenerate runs it, and the initramfs \
        rebuild, instead). BLS entries get the grubby command; kernelstub gets its own \
        command; plain systemd-boot entries (no GRUB) have their options lines edited; with \
        unified kernel images and no /etc/kernel/cmdline, that file is written from the \
        running command line. An unrecognised boot loader is never touched. Where \
        nouveau is loaded or would claim an NVIDIA GPU, --fix also writes \
        /etc/modprobe.d/gpuprep-blacklist-nouveau.conf (blacklist nouveau, modeset=0) and names \
        the initramfs rebuild; not where the host's console runs on nouveau. Where a VGA GPU on \
        vfio-pci is not the boot VGA device, it writes vfio-pci's disable_vga option.
        """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Add the missing IOMMU arguments to the boot loader's configuration, and blacklist nouveau where it would claim NVIDIA GPUs.")
    var fix = false

    @Flag(help: "With --fix: show the edit as a unified diff and change nothing.")
    var dryRun = false

    @OptionGroup var regeneration: RegenerateOption

    @Flag(help: ArgumentHelp("Also read each GPU's expansion ROM for a UEFI image (gpu.rom), which a UEFI (OVMF) VM needs to show output early.",
                             discussion: "The kernel's rom attribute reads nothing until enabled: gpuprep writes 1 to it, reads it (bounded), and writes 0 again, so on the live host it needs root. In a --root tree the rom file is read as it is."))
    var rom = false

    func validate() throws {
        if dryRun && !fix { throw ValidationError("--dry-run goes with --fix") }
        if regeneration.regenerate == true && !fix { throw ValidationError("--regenerate goes with --fix") }
        if rom && fix { throw ValidationError("--rom goes with check, not --fix") }
    }

    func run() throws {
        if fix { return try runFix() }
        try global.run { () throws(GPUPrepError) in
            let report = try CheckReport.make(host: try global.openHost(), readROMs: rom)
            let output = global.json ? JSONOutput.render(report) : CheckText.render(report, style: global.textStyle)
            return (output, report.failed ? ExitStatus.findings : ExitStatus.success)
        }
    }

    func runFix() throws {
        let regenerate = regeneration.resolved(global)
        try applyChange(global, command: "fix", dryRun: dryRun) { (host) throws(GPUPrepError) in
            let fix = try BootLoaderFix.plan(host, regenerate: regenerate)
            return ChangeReport(command: "fix", dryRun: dryRun, plan: fix.plan, outcome: nil,
                                diff: fix.diff.isEmpty ? nil : fix.diff, next: fix.next)
        }
    }
}
