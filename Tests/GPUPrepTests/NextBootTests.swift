import Foundation
import GPUPrepCore
import GPUPrepSystem
import HostFixtures
import Testing

/// `bind --next-boot` and `apply --next-boot`: the guides' "vfio-pci ids, initramfs, reboot", for
/// a workstation whose desktop holds the GPU meant for VMs (gnome-shell on the RTX's DRM nodes):
/// bind refuses it now, --next-boot writes the early binding and changes no running driver,
/// check shows it pending, and a (simulated) reboot brings it up on vfio-pci.
@Suite struct NextBootTests {
    /// desktop-b550 with the RTX 2070 SUPER on nouveau, driving gnome-shell's second screen.
    func workstation(_ label: String) throws -> (FakeHost, SimulatedKernel) {
        let host = try Catalog.build("desktop-b550", at: FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-nextboot-\(label)-\(UUID().uuidString)"),
                                     data: Fixtures.data)
        try host.unbindDriver("0000:2b:00.0")
        try host.setAttribute("0000:2b:00.0", "driver_override", "(null)")
        try host.bind("0000:2b:00.0", to: "nouveau")
        for (node, number) in [("card1", "226:1"), ("renderD129", "226:129")] { try host.write(host.devicePath("0000:2b:00.0") + "/drm/\(node)/dev", number + "\n") }
        try host.addProcess(pid: 2100, name: "gnome-shell", openFiles: ["/dev/dri/card1", "/dev/dri/renderD129"],
                            cgroup: "0::/user.slice/user-1000.slice/session-2.scope")
        let native = ["0000:2b:00.0": "nouveau", "0000:2b:00.1": "snd_hda_intel", "0000:2b:00.2": "xhci_hcd", "0000:2b:00.3": "nvidia-gpu"]
        return (host, SimulatedKernel(host: host, nativeDrivers: native))
    }

    func findings(_ host: FakeHost, _ id: String) throws -> [Finding] {
        try CheckReport.make(host: try HostContext(root: host.path)).findings.filter { $0.id == id }
    }

    @Test func theDesktopsGPUBindsAtTheNextBoot() throws {
        let (host, kernel) = try workstation("bind")
        let now = try Run.gpuprep(["bind", "0000:2b:00.0", "--dry-run", "--root", host.path])
        #expect(now.status == 65 && now.stderr.contains("gnome-shell (pid 2100)"), "\(now.stderr)")

        let run = try Run.gpuprep(["bind", "0000:2b:00.0", "--next-boot", "--no-color", "--root", host.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("note: at the next boot 0000:2b:00.0 (nouveau now), 0000:2b:00.1 (snd_hda_intel now), 0000:2b:00.2 (xhci_hcd now), 0000:2b:00.3 (nvidia-gpu now) bind to vfio-pci"), "\(run.stdout)")
        // Nothing of the running host changed: no driver, no override.
        #expect(host.driver(of: "0000:2b:00.0") == "nouveau" && host.driver(of: "0000:2b:00.1") == "snd_hda_intel")
        #expect(try String(contentsOfFile: host.path + "/" + host.devicePath("0000:2b:00.0") + "/driver_override", encoding: .utf8).hasPrefix("(null)"))
        let rules = try String(contentsOfFile: host.path + "/etc/udev/rules.d/61-gpuprep-vfio.rules", encoding: .utf8)
        #expect(rules.contains("KERNEL==\"0000:2b:00.0\", ATTR{driver_override}=\"vfio-pci\"") && rules.contains("KERNEL==\"0000:2b:00.3\""))
        #expect(FileManager.default.fileExists(atPath: host.path + "/etc/gpuprep/gpuprep.yaml"))

        // Pending until the reboot, each function said.
        let pending = try findings(host, "device.next_boot")
        #expect(pending.map(\.device?.description) == ["0000:2b:00.0", "0000:2b:00.1", "0000:2b:00.2", "0000:2b:00.3"])
        #expect(pending.first?.summary == "0000:2b:00.0 binds to vfio-pci at the next boot (/etc/udev/rules.d/61-gpuprep-vfio.rules), on nouveau now: reboot pending")
        // The same again: nothing more to write.
        #expect(try Run.gpuprep(["bind", "0000:2b:00.0", "--next-boot", "--root", host.path]).stdout.hasPrefix("Nothing to do"))

        try kernel.reboot()
        #expect(["0000:2b:00.0", "0000:2b:00.1", "0000:2b:00.2", "0000:2b:00.3"].allSatisfy { host.driver(of: $0) == "vfio-pci" })
        #expect(try findings(host, "device.next_boot").isEmpty)
    }

    /// What would still be wrong after the reboot refuses it: the console's GPU, a group left
    /// unusable (the GT 710 shares its group with the NIC on 2a:00.0); --force goes ahead.
    @Test func theBootVGAAndAnUnusableGroupStillRefuse() throws {
        let (host, _) = try workstation("refuse")
        let run = try Run.gpuprep(["bind", "0000:04:00.0", "--next-boot", "--root", host.path])
        #expect(run.status == 65 && run.stderr.contains("0000:04:00.0 is the boot VGA device") && run.stderr.contains("would leave IOMMU group 13 unusable"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: host.path + "/etc/udev/rules.d/61-gpuprep-vfio.rules"))
        #expect(try Run.gpuprep(["bind", "0000:04:00.0", "--next-boot", "--release", "--root", host.path]).status == 64)
    }

    /// apply --next-boot: the passthrough entries' early binding, the file and its unit; the
    /// file's vGPUs and VFs are left to the boot unit, and the running host is as it was.
    @Test func applyAtTheNextBoot() throws {
        let (host, kernel) = try workstation("apply")
        try host.write("tmp/layout.yaml", "version: 1\npassthrough:\n  - match: {address: \"0000:2b:00.0\"}\n")
        let run = try Run.gpuprep(["apply", "-f", host.path + "/tmp/layout.yaml", "--next-boot", "--json", "--root", host.path])
        #expect(run.status == 0, "\(run.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
        let paths = (report["steps"] as! [[String: Any]]).compactMap { $0["path"] as? String }
        #expect(paths.contains("/etc/udev/rules.d/61-gpuprep-vfio.rules") && paths.contains("/etc/gpuprep/gpuprep.yaml")
                && paths.contains("/etc/systemd/system/gpuprep-apply.service") && !paths.contains { $0.hasPrefix("/sys/") }, "\(paths)")
        #expect(host.driver(of: "0000:2b:00.0") == "nouveau")
        try kernel.reboot()
        #expect(host.driver(of: "0000:2b:00.0") == "vfio-pci")
        #expect(try Run.gpuprep(["apply", "--check", "--root", host.path]).status == 0)
    }
}
