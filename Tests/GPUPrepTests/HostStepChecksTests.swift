import Foundation
import GPUPrepCore
import HostFixtures
import Testing

/// The host steps the guides leave to the admin that `check` now sees or `check --fix` does:
/// allow_unsafe_interrupts wherever it is set, IOMMU units that cannot remap interrupts, NVIDIA's
/// vGPU manager enabled but not running, and the nouveau blacklist.
@Suite struct HostStepChecksTests {
    func fresh(_ name: String) throws -> FakeHost {
        try Catalog.build(name, at: FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-steps-\(name)-\(UUID().uuidString)"),
                          data: Fixtures.data)
    }

    func finding(_ host: FakeHost, _ id: String) throws -> Finding {
        try #require(try CheckReport.make(host: try HostContext(root: host.path)).findings.first { $0.id == id })
    }

    @Test func unsafeInterruptsWhereverTheyAreSet() throws {
        let host = try fresh("desktop-b550")
        #expect(try finding(host, "iommu.interrupt_remapping").status == .pass)

        // A modprobe.d line (the guides' "fix" for a vfio error): said with its file and line.
        try host.write("etc/modprobe.d/iommu_unsafe_interrupts.conf", "# from a forum\noptions vfio_iommu_type1 allow_unsafe_interrupts=1\n")
        let file = try finding(host, "iommu.interrupt_remapping")
        #expect(file.status == .warn && file.summary.contains("'options vfio_iommu_type1 allow_unsafe_interrupts=1' in /etc/modprobe.d/iommu_unsafe_interrupts.conf"))
        #expect(file.remedy?.hasPrefix("remove allow_unsafe_interrupts from /etc/modprobe.d/iommu_unsafe_interrupts.conf") == true)
        // An override in /etc of the same name wins over /lib's (modprobe.d(5)); =0 turns nothing on.
        try host.write("etc/modprobe.d/iommu_unsafe_interrupts.conf", "options vfio_iommu_type1 allow_unsafe_interrupts=0\n")
        try host.write("lib/modprobe.d/iommu_unsafe_interrupts.conf", "options vfio_iommu_type1 allow_unsafe_interrupts=1\n")
        #expect(try finding(host, "iommu.interrupt_remapping").status == .pass)

        // Set in the running module (by hand, or at its load).
        try host.write("sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "Y\n")
        let live = try finding(host, "iommu.interrupt_remapping")
        #expect(live.status == .warn && live.remedy == "echo N > /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts where the hardware remaps interrupts (it was set by hand or at load)")
    }

    /// VT-d units without ECAP.IR: vfio refuses their devices unless unsafe interrupts are allowed.
    @Test func unitsThatCannotRemapInterrupts() throws {
        let host = try fresh("vgpu-l40s-sriov")
        // ECAP values of real units: 0xf050da (IR set, a Xeon's), 0xf0 (IR clear).
        try host.write("sys/devices/virtual/iommu/dmar0/intel-iommu/ecap", "f050da\n")
        try host.write("sys/devices/virtual/iommu/dmar1/intel-iommu/ecap", "f0\n")
        let finding = try finding(host, "iommu.interrupt_remapping")
        #expect(finding.status == .warn && finding.summary.hasPrefix("the IOMMU unit dmar1 cannot remap interrupts (ECAP.IR is clear)"))
        try host.write("sys/devices/virtual/iommu/dmar1/intel-iommu/ecap", "f050da\n")
        #expect(try self.finding(host, "iommu.interrupt_remapping").summary == "interrupt remapping is supported by every IOMMU unit and not disabled")
    }

    /// nouveau would claim the L40S cards at boot: --fix writes the blacklist (no backup of a
    /// file that was not there), says how to rebuild the initramfs, and finds nothing the second
    /// time; on a host whose console runs on nouveau it writes nothing and says why.
    @Test func theNouveauBlacklist() throws {
        let host = try fresh("vgpu-l40s-sriov")
        try host.write("usr/bin/dracut", "")
        let run = try Run.gpuprep(["check", "--fix", "--json", "--root", host.path])
        #expect(run.status == 0, "\(run.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
        #expect(report["next"] as? String == "dracut --regenerate-all -f")
        #expect((report["notes"] as? [String]) == ["nouveau would claim 0000:26:00.0, 0000:a1:00.0, 0000:c1:00.0 at boot: /etc/modprobe.d/gpuprep-blacklist-nouveau.conf blacklists it"])
        let written = try String(contentsOfFile: host.path + "/etc/modprobe.d/gpuprep-blacklist-nouveau.conf", encoding: .utf8)
        #expect(written.hasSuffix("blacklist nouveau\noptions nouveau modeset=0\n"))
        #expect(!FileManager.default.fileExists(atPath: host.path + "/etc/modprobe.d/gpuprep-blacklist-nouveau.conf.gpuprep-bak"))
        #expect(try finding(host, "modules.nouveau").summary == "nouveau is blacklisted and not loaded")
        #expect(try Run.gpuprep(["check", "--fix", "--root", host.path]).stdout.hasPrefix("Nothing to fix"))

        let desktop = try fresh("desktop-b550")
        let left = try Run.gpuprep(["check", "--fix", "--dry-run", "--root", desktop.path])
        #expect(left.stdout.contains("note: nouveau is not blacklisted: it drives the host's console on 0000:04:00.0 (the boot VGA GPU); bind the GPUs meant for VMs with --persist instead\n"), "\(left.stdout)")
        let kept = try Run.gpuprep(["check", "--fix", "--root", desktop.path])
        #expect(kept.status == 0 && !FileManager.default.fileExists(atPath: desktop.path + "/etc/modprobe.d/gpuprep-blacklist-nouveau.conf"))

        // Built into the kernel, nouveau never reads modprobe.d: the command line is said instead.
        let builtin = try fresh("vgpu-l40s-sriov")
        let release = "6.1.0-fixture-amd64"
        try FileManager.default.removeItem(atPath: builtin.path + "/lib/modules/\(release)/kernel/drivers/fixture/nouveau.ko")
        try builtin.write("lib/modules/\(release)/modules.builtin", "kernel/drivers/gpu/drm/nouveau/nouveau.ko\n")
        #expect(try Run("/usr/bin/env", ["depmod", "-b", builtin.path, release]).status == 0)
        let said = try Run.gpuprep(["check", "--fix", "--root", builtin.path])
        #expect(said.stdout.hasSuffix("note: nouveau is built into this kernel, so a modprobe.d blacklist cannot stop it: add modprobe.blacklist=nouveau nouveau.modeset=0 to the kernel command line\n"), "\(said.stdout)")
        #expect(!FileManager.default.fileExists(atPath: builtin.path + "/etc/modprobe.d/gpuprep-blacklist-nouveau.conf"))
        #expect(try finding(builtin, "modules.nouveau").remedy?.hasPrefix("add modprobe.blacklist=nouveau nouveau.modeset=0 to the kernel command line") == true)
    }

    /// Arch's plain systemd-boot (no GRUB, no /etc/kernel/cmdline): the entries are the
    /// configuration. --fix extends every Linux entry (the fallback's intel_iommu=off replaced
    /// where it is written), leaves Windows's entry alone, and finds nothing the second time;
    /// the reboot is then the one remedy.
    @Test func systemdBootEntries() throws {
        let host = try fresh("p6t6-no-iommu")
        try FileManager.default.removeItem(atPath: host.path + "/etc/default/grub")
        try host.write("boot/loader/entries/arch.conf", "title   Arch Linux\nlinux   /vmlinuz-linux\ninitrd  /initramfs-linux.img\noptions root=UUID=0a3407de rw quiet\n")
        try host.write("boot/loader/entries/arch-fallback.conf", "title   Arch Linux (fallback)\nlinux   /vmlinuz-linux\ninitrd  /initramfs-linux-fallback.img\noptions root=UUID=0a3407de rw\noptions intel_iommu=off\n")
        let windows = "title Windows Boot Manager\nefi /EFI/Microsoft/Boot/bootmgfw.efi\n"
        try host.write("boot/loader/entries/windows.conf", windows)
        let before = try finding(host, "iommu.bootloader")
        #expect(before.status == .fail && before.summary.hasPrefix("systemd-boot (/boot/loader/entries/arch.conf) does not configure intel_iommu=on"))
        let run = try Run.gpuprep(["check", "--fix", "--no-color", "--root", host.path], environment: ["GPUPREP_PCI_IDS": Fixtures.pciIDs])
        #expect(run.status == 0, "\(run.stderr)")
        try expectGolden(run.stdout, "fix/systemd-boot.txt")
        #expect(try String(contentsOfFile: host.path + "/boot/loader/entries/windows.conf", encoding: .utf8) == windows)
        #expect(try Run.gpuprep(["check", "--fix", "--root", host.path]).stdout.hasPrefix("Nothing to fix"))
        let after = try finding(host, "iommu.bootloader")
        #expect(after.status == .warn && after.remedy == "reboot")
    }

    /// desktop-b550 passes its RTX (on vfio-pci) while its console runs on the GT 710: vfio-pci's
    /// disable_vga is advised, written by --fix (the initramfs rebuild named), and then passes;
    /// set in the running module it passes too. A host with no such GPU says nothing of it.
    @Test func disableVGAWhereThePassedGPUIsNotTheConsole() throws {
        let host = try fresh("desktop-b550")
        let before = try finding(host, "modules.vfio_vga")
        #expect(before.status == .warn && before.summary.hasPrefix("0000:2b:00.0 on vfio-pci is a VGA device while the host's console runs on 0000:04:00.0"))
        try host.write("usr/sbin/update-initramfs", "")
        try host.write("etc/initramfs-tools/initramfs.conf", "MODULES=most\n")
        let run = try Run.gpuprep(["check", "--fix", "--json", "--root", host.path])
        #expect(run.status == 0, "\(run.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
        #expect(report["next"] as? String == "update-initramfs -u -k all", "\(report)")
        #expect(try String(contentsOfFile: host.path + "/etc/modprobe.d/gpuprep-vfio-pci-options.conf", encoding: .utf8).hasSuffix("options vfio_pci disable_vga=1\n"))
        #expect(try finding(host, "modules.vfio_vga").status == .pass)
        #expect(try Run.gpuprep(["check", "--fix", "--root", host.path]).stdout.hasPrefix("Nothing to fix"))

        let live = try fresh("desktop-b550")
        try live.write("sys/module/vfio_pci/parameters/disable_vga", "Y\n")
        #expect(try finding(live, "modules.vfio_vga").status == .pass)
        let none = try CheckReport.make(host: try HostContext(root: try fresh("vgpu-l40s-sriov").path)).findings
        #expect(!none.contains { $0.id == "modules.vfio_vga" })
    }

    @Test func theVGPUManagerRunning() throws {
        let host = try fresh("vgpu-l40s-sriov")
        #expect(try finding(host, "vgpu.manager").summary == "nvidia-vgpu-mgr.service is enabled and running (pid 690)")
        try FileManager.default.removeItem(atPath: host.path + "/proc/690")
        let stopped = try finding(host, "vgpu.manager")
        #expect(stopped.status == .warn && stopped.remedy == "systemctl start nvidia-vgpu-mgr (journalctl -u nvidia-vgpu-mgr says why it stopped)")
    }
}
