import Foundation
import GPUPrepCore
import GPUPrepSystem
import HostFixtures
import Testing

/// `--regenerate`: the boot loader's and initramfs builder's own commands, run after the change
/// instead of printed. The host trees carry stand-ins for the programs (shell scripts that log
/// their arguments to /var/log/regenerate.log in the tree, print as the real ones do, and fail
/// when asked); the simulated kernel runs them for real, as the live host would.
@Suite struct RegenerationTests {
    func fresh(_ name: String) throws -> FakeHost {
        try Catalog.build(name, at: FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-regen-\(name)-\(UUID().uuidString)"),
                          data: Fixtures.data)
    }

    /// A stand-in at `path` in the tree: logs its name and arguments, prints `says`, exits `status`.
    func standIn(_ host: FakeHost, _ path: String, says: [String] = [], status: Int = 0) throws {
        let script = """
        #!/bin/sh
        root="${0%/\(path)}"
        mkdir -p "$root/var/log"
        echo "${0##*/} $*" >> "$root/var/log/regenerate.log"
        \(says.map { "echo '\($0)'" }.joined(separator: "\n"))
        exit \(status)

        """
        try host.write(path, script)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: host.path + "/" + path)
    }

    func log(_ host: FakeHost) -> [String] {
        ((try? String(contentsOfFile: host.path + "/var/log/regenerate.log", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func read(_ host: FakeHost, _ path: String) -> String? { try? String(contentsOfFile: host.path + "/" + path, encoding: .utf8) }

    /// check --fix as root would run it on the live host, through the simulated kernel.
    func fix(_ host: FakeHost, regenerate: Bool = true) throws -> ChangeReport {
        let kernel = SimulatedKernel(host: host, nativeDrivers: [:])
        var session = ChangeSession(command: "fix", dryRun: false) { () throws(GPUPrepError) in try HostContext(root: host.path) }
        session.writer = { _ in kernel }
        session.isRoot = true
        return try session.run { (context) throws(GPUPrepError) in
            let fix = try BootLoaderFix.plan(context, regenerate: regenerate)
            return ChangeReport(command: "fix", dryRun: false, plan: fix.plan, outcome: nil, diff: fix.diff.isEmpty ? nil : fix.diff, next: fix.next)
        }
    }

    /// Debian's GRUB: the edit, then update-grub run once, its output kept and shown; the next
    /// run finds nothing to do, unless grub.cfg still lacks the arguments (an edit never
    /// regenerated), when update-grub alone is run.
    @Test func grubIsRegeneratedByItsOwnCommand() throws {
        let host = try fresh("p6t6-no-iommu")
        try standIn(host, "usr/sbin/update-grub", says: ["Generating grub configuration file ...", "done"])
        let report = try fix(host)
        #expect(report.outcome?.failure == nil && report.next == nil)
        #expect(log(host) == ["update-grub "])
        let ran = try #require(report.outcome?.records.last)
        #expect(ran.done && ran.step.shell == "/usr/sbin/update-grub" && ran.output == ["Generating grub configuration file ...", "done"])
        let text = ChangeText.render(report, style: TextStyle(color: false))
        #expect(text.contains("[ran] /usr/sbin/update-grub\n  | Generating grub configuration file ...\n  | done\nReboot to use it.\n"), "\(text)")
        let json = try JSONSerialization.jsonObject(with: Data(JSONOutput.render(report).utf8)) as! [String: Any]
        let steps = json["steps"] as! [[String: Any]]
        #expect(steps.last?["action"] as? String == "run" && steps.last?["output"] as? [String] == ["Generating grub configuration file ...", "done"])
        #expect(json["next"] is NSNull)

        // Configured, generated: nothing to do, nothing run.
        try host.write("boot/grub/grub.cfg", "menuentry 'Debian' {\n\tlinux\t/vmlinuz-6.1.0 root=/dev/sda1 ro quiet splash intel_iommu=on iommu=pt\n}\n")
        #expect(try fix(host).plan.isEmpty && log(host).count == 1)
        // Configured by an earlier --fix without --regenerate, never generated: update-grub alone.
        try host.write("boot/grub/grub.cfg", "menuentry 'Debian' {\n\tlinux\t/vmlinuz-6.1.0 root=/dev/sda1 ro quiet splash\n}\nmenuentry 'recovery' {\n\tlinux\t/vmlinuz-6.1.0 ro single\n}\n")
        let stale = try fix(host)
        #expect(stale.plan.fileChanges.isEmpty && stale.plan.notes.contains { $0.hasPrefix("/boot/grub/grub.cfg lacks arguments /etc/default/grub has") })
        #expect(stale.outcome?.failure == nil && log(host) == ["update-grub ", "update-grub "])
        // Without --regenerate, the stale grub.cfg is check's business, not --fix's.
        #expect(try fix(host, regenerate: false).plan.isEmpty)
    }

    /// A regeneration that fails: exit 74, what it said in the message, the edit and its backup
    /// kept (they are right; the program is what needs fixing), and what to run again.
    @Test func aFailedRegenerationKeepsTheFilesAndSaysWhatToRun() throws {
        let host = try fresh("p6t6-no-iommu")
        let original = try #require(read(host, "etc/default/grub"))
        try standIn(host, "usr/sbin/update-grub", says: ["/usr/sbin/grub-mkconfig: error: cannot write /boot/grub/grub.cfg.new: No space left on device"], status: 1)
        let report = try fix(host)
        let failure = try #require(report.outcome?.failure)
        #expect(failure.code == .regenerateFailed && failure.exitStatus == 74)
        #expect(failure.message.contains("'/usr/sbin/update-grub' failed (/usr/sbin/update-grub exited with status 1: /usr/sbin/grub-mkconfig: error: cannot write /boot/grub/grub.cfg.new: No space left on device)"))
        #expect(failure.message.contains("then run '/usr/sbin/update-grub', and reboot"))
        #expect(read(host, "etc/default/grub")?.contains("intel_iommu=on iommu=pt") == true && read(host, "etc/default/grub.gpuprep-bak") == original)
        #expect(report.outcome?.rollback.isEmpty == true)
        let text = ChangeText.render(report, style: TextStyle(color: false))
        #expect(text.contains("Written. The previous version is kept as /etc/default/grub.gpuprep-bak.\n[FAILED] /usr/sbin/update-grub"), "\(text)")
    }

    /// Under --root, programs never run: the plan shows them, the result says they were not run,
    /// and the file is written; --dry-run shows them after the diff.
    @Test func underARootThePlanShowsTheCommandsAndRunsNone() throws {
        let host = try fresh("p6t6-no-iommu")
        try standIn(host, "usr/sbin/update-grub")
        let dry = try Run.gpuprep(["check", "--fix", "--regenerate", "--dry-run", "--root", host.path])
        #expect(dry.status == 0 && dry.stdout.contains("\nThen run: /usr/sbin/update-grub\n"), "\(dry.stdout)")
        let run = try Run.gpuprep(["check", "--fix", "--regenerate", "--json", "--root", host.path])
        #expect(run.status == 0, "\(run.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
        let last = (json["steps"] as! [[String: Any]]).last!
        #expect(last["action"] as? String == "run" && last["path"] as? String == "/usr/sbin/update-grub" && last["done"] as? Bool == false)
        #expect((json["notes"] as! [String]).contains("not run under --root (programs run only on the live host): /usr/sbin/update-grub"))
        #expect(log(host).isEmpty && read(host, "etc/default/grub")?.contains("intel_iommu=on") == true)
        // --regenerate belongs to --fix.
        #expect(try Run.gpuprep(["check", "--regenerate", "--root", host.path]).status == 64)
    }

    /// The site's default in /etc/gpuprep/gpuprep.yaml, and --no-regenerate over it.
    @Test func theSiteDefault() throws {
        let host = try fresh("p6t6-no-iommu")
        try host.write("etc/gpuprep/gpuprep.yaml", "version: 1\nregenerate: true\n")
        let planned = try Run.gpuprep(["check", "--fix", "--dry-run", "--root", host.path])
        #expect(planned.stdout.contains("Then run: /usr/sbin/update-grub\n") && !planned.stdout.contains("Then run: update-grub"), "\(planned.stdout)")
        let off = try Run.gpuprep(["check", "--fix", "--dry-run", "--no-regenerate", "--root", host.path])
        #expect(off.stdout.contains("\nThen run: update-grub\n"), "\(off.stdout)")
        // A layout file with an error: said, and its default not taken.
        try host.write("etc/gpuprep/gpuprep.yaml", "version: 1\nregenerate: sometimes\n")
        let bad = try Run.gpuprep(["check", "--fix", "--dry-run", "--root", host.path])
        #expect(bad.status == 0 && bad.stderr.contains("gpuprep.yaml:2: 'regenerate' is 'sometimes': give true or false; its 'regenerate' default is not used"), "\(bad.stderr)")
        // Written back as it was read by --persist's rewrite.
        let layout = try LayoutFile.parse("version: 1\nregenerate: true\n", shown: "gpuprep.yaml")
        #expect(layout.regenerate == true && LayoutWriter.render(layout).contains("\nregenerate: true\n"))
    }

    /// RHEL's BLS: /etc/default/grub for later kernels, and grubby for the entries, run (the
    /// IOMMU is on in this kernel already, so intel_iommu=off goes and iommu=pt comes).
    @Test func grubbyIsRunOnBLS() throws {
        let host = try fresh("vgpu-l40s-sriov")
        let entry = "boot/loader/entries/0f1e2d3c4b5a69788796a5b4c3d2e1f0-6.1.0-fixture-amd64.conf"
        try host.write(entry, try #require(read(host, entry)).replacingOccurrences(of: " intel_iommu=on iommu=pt", with: " intel_iommu=off"))
        try host.setRunningCommandLine("BOOT_IMAGE=(hd0,gpt2)/vmlinuz-6.1.0-fixture-amd64 root=/dev/mapper/rhel-root ro intel_iommu=off")
        try standIn(host, "usr/sbin/grubby", says: ["updated 1 entry"])
        let report = try fix(host)
        #expect(report.outcome?.failure == nil, "\(report.outcome?.failure?.message ?? "")")
        #expect(log(host) == ["grubby --update-kernel=ALL --remove-args=intel_iommu=off --args=iommu=pt"])
        #expect(report.plan.regeneration.map(\.shell) == ["/usr/sbin/grubby --update-kernel=ALL --remove-args=intel_iommu=off --args=iommu=pt"])
        #expect(read(host, "etc/default/grub")?.contains("GRUB_CMDLINE_LINUX=\"crashkernel=1G-4G:192M rd.lvm.lv=rhel/root iommu=pt\"") == true)
        // The nouveau blacklist went in too; with dracut installed, the initramfs is rebuilt first.
        try host.write(entry, try #require(read(host, entry)).replacingOccurrences(of: " intel_iommu=off", with: ""))
        try FileManager.default.removeItem(atPath: host.path + "/etc/modprobe.d/gpuprep-blacklist-nouveau.conf")
        try standIn(host, "usr/bin/dracut")
        #expect(try fix(host).plan.regeneration.map(\.shell) == ["/usr/bin/dracut --regenerate-all -f", "/usr/sbin/grubby --update-kernel=ALL --args=iommu=pt"])
    }

    /// EL7 and EL8 booted by UEFI read the grub.cfg on the ESP; RHEL 9's is a stub that loads
    /// /boot/grub2/grub.cfg, which is then the one to write.
    @Test func theEL7UEFIPath() throws {
        let host = try fresh("p6t6-no-iommu")
        try FileManager.default.removeItem(atPath: host.path + "/usr/sbin/update-grub")
        try host.write("boot/grub2/grubenv", "# GRUB Environment Block\n")
        #expect(BootLoader.detect(try HostContext(root: host.path))?.regenerateArguments == ["grub2-mkconfig", "-o", "/boot/grub2/grub.cfg"])
        try host.write("sys/firmware/efi/fw_platform_size", "64\n")
        try host.write("boot/efi/EFI/BOOT/grub.cfg", "set timeout=5\n")
        try host.write("boot/efi/EFI/centos/grub.cfg", "### BEGIN /etc/grub.d/00_header ###\nset timeout=5\n")
        let el7 = try #require(BootLoader.detect(try HostContext(root: host.path)))
        #expect(el7.regenerateArguments == ["grub2-mkconfig", "-o", "/boot/efi/EFI/centos/grub.cfg"] && el7.generatedConfig?.string == "/boot/efi/EFI/centos/grub.cfg")
        try host.write("boot/efi/EFI/centos/grub.cfg", "search --no-floppy --fs-uuid --set=dev 0a3407de\nset prefix=($dev)/grub2\nexport $prefix\nconfigfile $prefix/grub.cfg\n")
        #expect(BootLoader.detect(try HostContext(root: host.path))?.regenerateArguments == ["grub2-mkconfig", "-o", "/boot/grub2/grub.cfg"])
    }

    /// Unified kernel images with no /etc/kernel/cmdline (Arch, mkinitcpio presets making UKIs):
    /// --fix writes that file from the running command line (what the images embed now), and
    /// mkinitcpio -P, run once, rebuilds them; nothing the boot loader added is carried over.
    @Test func unifiedKernelImages() throws {
        let host = try fresh("p6t6-no-iommu")
        try FileManager.default.removeItem(atPath: host.path + "/etc/default/grub")
        try host.setRunningCommandLine("BOOT_IMAGE=/vmlinuz-linux initrd=\\initramfs-linux.img root=UUID=0a3407de rw quiet\n")
        try host.write("boot/EFI/Linux/arch-linux.efi", "MZ")
        try host.write("etc/mkinitcpio.conf", "MODULES=()\n")
        try host.write("etc/mkinitcpio.d/linux.preset", "PRESETS=('default')\ndefault_uki=\"/boot/EFI/Linux/arch-linux.efi\"\n")
        try standIn(host, "usr/bin/mkinitcpio", says: ["==> Creating unified kernel image: '/boot/EFI/Linux/arch-linux.efi'"])
        let loader = try #require(BootLoader.detect(try HostContext(root: host.path)))
        #expect(loader.kind == .uki && loader.regenerateArguments == ["mkinitcpio", "-P"])
        let report = try fix(host)
        #expect(report.outcome?.failure == nil, "\(report.outcome?.failure?.message ?? "")")
        #expect(read(host, "etc/kernel/cmdline") == "root=UUID=0a3407de rw quiet intel_iommu=on iommu=pt\n" && read(host, "etc/kernel/cmdline.gpuprep-bak") == nil)
        #expect(log(host) == ["mkinitcpio -P"])
        // Now it is /etc/kernel/cmdline's host, and has it all.
        let after = try #require(BootLoader.detect(try HostContext(root: host.path)))
        let again = try fix(host)
        #expect(after.kind == .kernelCmdline && again.plan.isEmpty)
    }

    /// bind --persist --regenerate: the initramfs carries the early binding, so its builders
    /// rebuild it (dracut and initramfs-tools both installed: both, initramfs first), in place
    /// of the advice to; unbind --persist of the last device rebuilds it without.
    @Test func bindPersistRebuildsTheInitramfs() throws {
        let (host, kernel) = try bindHost("regenerate")
        try host.write("etc/initramfs-tools/initramfs.conf", "MODULES=most\n")
        try standIn(host, "usr/sbin/update-initramfs", says: ["update-initramfs: Generating /boot/initrd.img-6.1.0-fixture-amd64"])
        try standIn(host, "usr/bin/dracut")
        let context = try HostContext(root: host.path)
        var plan = try BindPlanner(host: context).planBind([PCIAddress("0000:01:00.0")!], driver: .vfioPCI, companions: true, force: false, persist: true)
        #expect(plan.notes.contains { $0.hasPrefix("rebuild the initramfs") })
        try plan.addRegeneration(context)
        #expect(plan.regeneration.map(\.shell) == ["/usr/sbin/update-initramfs -u -k all", "/usr/bin/dracut --regenerate-all -f"])
        #expect(!plan.notes.contains { $0.hasPrefix("rebuild the initramfs") })
        let outcome = try apply(plan, host, kernel)
        #expect(outcome.failure == nil && log(host) == ["update-initramfs -u -k all", "dracut --regenerate-all -f"])
        #expect(outcome.records.first { $0.step.shell.hasPrefix("/usr/sbin/update-initramfs") }?.output == ["update-initramfs: Generating /boot/initrd.img-6.1.0-fixture-amd64"])
        // A change that writes nothing the initramfs carries rebuilds nothing.
        var none = ChangePlan()
        try none.addRegeneration(context)
        #expect(none.regeneration.isEmpty)
    }

    /// mkinitcpio with drop-ins: gpuprep keeps its own, which bash reads after mkinitcpio.conf
    /// with the VFIO modules ahead of the administrator's (an early-KMS nvidia stays after them).
    @Test func mkinitcpioGetsADropIn() throws {
        let (host, _) = try bindHost("mkinitcpio-dropin")
        try host.write("etc/mkinitcpio.conf", "MODULES=(nvidia nvidia_modeset)\nFILES=()\n")
        try host.write("etc/mkinitcpio.conf.d/README", "")
        let plan = try BindPlanner(host: try HostContext(root: host.path)).planBind([PCIAddress("0000:01:00.0")!], driver: .vfioPCI, companions: true,
                                                                                 force: false, persist: true)
        let dropIn = try #require(plan.fileChanges.first { $0.path?.string == "/etc/mkinitcpio.conf.d/gpuprep-vfio.conf" })
        #expect(plan.warnings.isEmpty && plan.notes.contains { $0.hasPrefix("rebuild the initramfs (mkinitcpio.conf.d) with the early binding") })
        try host.write("etc/mkinitcpio.conf.d/gpuprep-vfio.conf", dropIn.value)
        let bash = Process()
        bash.executableURL = URL(fileURLWithPath: "/bin/bash")
        bash.arguments = ["-c", "set -e; . \"$1/etc/mkinitcpio.conf\"; for f in \"$1\"/etc/mkinitcpio.conf.d/*.conf; do . \"$f\"; done; echo \"${MODULES[*]}|${FILES[*]}\"", "bash", host.path]
        let pipe = Pipe()
        bash.standardOutput = pipe
        try bash.run()
        bash.waitUntilExit()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(bash.terminationStatus == 0 && out == "vfio vfio_iommu_type1 vfio_pci nvidia nvidia_modeset|/etc/udev/rules.d/61-gpuprep-vfio.rules /etc/modprobe.d/gpuprep-vfio.conf\n", "\(out)")
    }

    /// Words with spaces or quotes are shown as one shell word each.
    @Test func commandsAreShownAsAShellReadsThem() {
        let step = Step.run(HostPath.programDirs[0].child("grubby"), ["--update-kernel=ALL", "--args=intel_iommu=on iommu=pt", "it's"])
        #expect(step.shell == "/usr/sbin/grubby --update-kernel=ALL --args='intel_iommu=on iommu=pt' 'it'\\''s'")
        #expect(step.program?.arguments.count == 3)
    }
}
