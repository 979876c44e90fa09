import Foundation
import GPUPrepCore
import GPUPrepSystem
import HostFixtures
import Testing

/// check on kinds of hosts it got wrong: a reboot pending, BLS run again and again, a variant
/// driver, a kernel that hides reset_method, a built-in vfio-pci, a fake vGPU provider.
@Suite struct HostKindsTests {
    func build(_ name: String) throws -> FakeHost {
        try Catalog.build(name, at: FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-kinds-\(name)-\(UUID().uuidString)"),
                          data: Fixtures.data)
    }

    func findings(_ host: FakeHost) throws -> [String: Finding] {
        Dictionary(try CheckReport.make(host: try HostContext(root: host.path)).findings.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    }

    @Test func aPendingRebootIsOneRemedyNotTwo() throws {
        let h = try build("p6t6-no-iommu")
        try h.write("etc/default/grub", "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT='quiet splash intel_iommu=on iommu=pt'\n")
        let f = try findings(h)
        // Every finding the reboot settles has the same remedy, so the to-do list says it once.
        for id in ["iommu.cmdline", "iommu.enabled", "iommu.bootloader"] {
            #expect(f[id]?.remedy == "reboot (or, if the change was not applied yet, run 'update-grub' first)", "\(id)")
        }
        #expect(f["iommu.bootloader"]?.summary.hasPrefix("reboot pending") == true)
        let text = try Run.gpuprep(["check", "--root", h.path]).stdout
        #expect(!text.contains("add intel_iommu=on"), "the to-do list asks to add what is configured:\n\(text)")
        #expect(text.components(separatedBy: "reboot (or").count == 2, "reboot is said more than once:\n\(text)")
        let fix = try Run.gpuprep(["check", "--fix", "--root", h.path])
        #expect(fix.status == 0 && fix.stdout.hasPrefix("Nothing to fix"))
    }

    @Test func nothingToFixWithoutABootLoaderIsNoRefusal() throws {
        let h = try build("dgx-a100")
        try FileManager.default.removeItem(at: h.root.appendingPathComponent("etc/default/grub"))
        try? FileManager.default.removeItem(at: h.root.appendingPathComponent("etc/default/grub.d"))
        let run = try Run.gpuprep(["check", "--fix", "--root", h.path])
        #expect(run.status == 0 && run.stdout.hasPrefix("Nothing to fix"), "\(run.status) \(run.stderr)")
        // Without the arguments running either, it is refused, naming them.
        try h.setRunningCommandLine("BOOT_IMAGE=/vmlinuz root=/dev/sda1")
        let refused = try Run.gpuprep(["check", "--fix", "--root", h.path])
        #expect(refused.status == 65 && refused.stderr.contains("add iommu=pt"))
    }

    @Test func blsFixRunTwiceAddsNothingAndKeepsTheFirstBackup() throws {
        let h = try build("vgpu-l40s-sriov")
        let entry = "boot/loader/entries/0f1e2d3c4b5a69788796a5b4c3d2e1f0-6.1.0-fixture-amd64.conf"
        let text = try String(contentsOf: h.root.appendingPathComponent(entry), encoding: .utf8)
        try h.write(entry, text.replacingOccurrences(of: " iommu=pt", with: ""))
        try h.setRunningCommandLine("BOOT_IMAGE=(hd0,gpt2)/vmlinuz-6.1.0-fixture-amd64 root=/dev/mapper/rhel-root ro intel_iommu=on")
        let original = try String(contentsOf: h.root.appendingPathComponent("etc/default/grub"), encoding: .utf8)
        let first = try Run.gpuprep(["check", "--fix", "--root", h.path])
        #expect(first.status == 0 && first.stdout.contains("grubby --update-kernel=ALL --args=\"iommu=pt\""))
        let edited = try String(contentsOf: h.root.appendingPathComponent("etc/default/grub"), encoding: .utf8)
        // /etc/default/grub (for kernels installed later) gains what it lacks itself, once.
        #expect(edited.contains("GRUB_CMDLINE_LINUX=\"crashkernel=1G-4G:192M rd.lvm.lv=rhel/root intel_iommu=on iommu=pt\""))
        for _ in 0..<2 {
            let again = try Run.gpuprep(["check", "--fix", "--root", h.path])
            #expect(again.status == 0 && again.stdout.contains("grubby --update-kernel=ALL --args=\"iommu=pt\""))
            #expect(try String(contentsOf: h.root.appendingPathComponent("etc/default/grub"), encoding: .utf8) == edited)
        }
        #expect(try String(contentsOf: h.root.appendingPathComponent("etc/default/grub.gpuprep-bak"), encoding: .utf8) == original)
    }

    @Test func aMissingResetMethodOnA6KernelMeansNone() throws {
        let h = try build("dgx-a100")
        try h.setAttribute("0000:07:00.0", "reset_method", nil)
        let reset = try #require(try CheckReport.make(host: try HostContext(root: h.path)).findings
            .first { $0.id == "gpu.reset" && $0.device?.description == "0000:07:00.0" })
        #expect(reset.status == .warn && reset.summary.contains("has no reset method"))
        try h.write("proc/sys/kernel/osrelease", "5.10.0-28-amd64")
        let old = try #require(try CheckReport.make(host: try HostContext(root: h.path)).findings
            .first { $0.id == "gpu.reset" && $0.device?.description == "0000:07:00.0" })
        #expect(old.status == .skip && old.summary.contains("appeared in 5.15"))
    }

    @Test func aBuiltInVFIOPCIWithADeviceIsLoaded() throws {
        let h = try build("desktop-b550")
        // vfio-pci built in: no /sys/module/vfio_pci, but its driver holds the RTX.
        try? FileManager.default.removeItem(at: h.root.appendingPathComponent("sys/module/vfio_pci"))
        #expect(try findings(h)["modules.vfio"]?.summary.contains("vfio_pci available but not loaded") != true)
    }

    @Test func vGPUDevicesAreCountedPerGPUAndAFakeProviderCounts() throws {
        let l40s = try findings(try build("vgpu-l40s-sriov"))["modules.vgpu"]
        #expect(l40s?.summary == "vGPUs are offered (nvidia-vfio) on 2 GPUs (0000:26:00.0, ...)")
        // KubeVirt's fake vGPU provider: an mdev parent named nvidia, no PCI device behind it.
        let h = try build("desktop-b550")
        try h.write("sys/devices/virtual/nvidia-fake/nvidia/mdev_supported_types/nvidia-35/name", "GRID T4-1B")
        try h.write("sys/devices/virtual/nvidia-fake/nvidia/mdev_supported_types/nvidia-35/available_instances", "4")
        try h.symlink("sys/class/mdev_bus/nvidia", to: "sys/devices/virtual/nvidia-fake/nvidia")
        let fake = try findings(h)["modules.vgpu"]
        #expect(fake?.status == .pass && fake?.summary.contains("the non-PCI mdev parent nvidia") == true)
        #expect(try TypesReport.make(host: try HostContext(root: h.path), parent: nil, availableOnly: false).types.map(\.parent) == ["nvidia"])
    }

    @Test func aVariantDriverIsTheRemedyWhereOneMatches() throws {
        let h = try Fixtures.scratch("variant")
        try h.add(FakeFunction("0009:01:00.0", vendor: 0x10de, device: 0x2342, classCode: 0x030200, driver: "nvidia", group: 4))
        try h.addModules([FakeModule("vfio_pci", aliases: ["vfio_pci:v*d*sv*sd*bc*sc*i*"]),
                          FakeModule("nvgrace_gpu_vfio_pci", aliases: ["vfio_pci:v000010DEd00002342sv*sd*bc*sc*i*"]),
                          FakeModule("nvidia", aliases: ["pci:v000010DEd*sv*sd*bc03sc02i00"])])
        let driver = try #require(try findings(h)["gpu.driver"])
        #expect(driver.summary.contains("gpuprep bind 0009:01:00.0 --driver auto moves it to nvgrace_gpu_vfio_pci"))
    }

    @Test func aHealthyGraceHopperHostPasses() throws {
        let h = try build("gh200-arm64")
        let run = try Run.gpuprep(["check", "--root", h.path])
        #expect(run.status == 0, "\(run.stdout)")
        let f = try findings(h)
        #expect(f["cpu.virtualization"]?.status == .pass && f["iommu.firmware"]?.summary.contains("IORT") == true)
        #expect(f["iommu.passthrough"]?.status == .pass && f["iommu.passthrough"]?.summary.hasPrefix("iommu.passthrough=1") == true)
        #expect(f["iommu.bootloader"]?.status == .pass)
        // A variant driver that names itself with underscores is a VFIO driver, ready for a VM.
        #expect(f["gpu.driver"]?.summary.contains("is on nvgrace_gpu_vfio_pci: ready to be given to a VM") == true)
        #expect(!run.stdout.contains("VT-x") && !run.stdout.contains("iommu=pt"))
        let fix = try Run.gpuprep(["check", "--fix", "--root", h.path])
        #expect(fix.status == 0 && fix.stdout.hasPrefix("Nothing to fix"))
    }

    @Test func armRemediesAreArms() throws {
        let h = try build("gh200-arm64")
        try FileManager.default.removeItem(at: h.root.appendingPathComponent("dev/kvm"))
        try h.write("etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"init_on_alloc=0\"\n")
        try h.setRunningCommandLine("BOOT_IMAGE=/boot/vmlinuz-6.8.0-1013-nvidia-64k root=/dev/nvme0n1p2 ro init_on_alloc=0")
        let f = try findings(h)
        #expect(f["cpu.virtualization"]?.status == .fail && f["cpu.virtualization"]?.remedy?.contains("EL2") == true)
        #expect(f["iommu.passthrough"]?.summary.hasPrefix("iommu.passthrough=1 is not set") == true)
        // --fix adds the arm64 form, never x86's iommu=pt.
        let fix = try BootLoaderFix.plan(try HostContext(root: h.path))
        #expect(fix.plan.fileChanges.last?.value == "GRUB_CMDLINE_LINUX_DEFAULT=\"init_on_alloc=0 iommu.passthrough=1\"\n")
        let text = try Run.gpuprep(["check", "--root", h.path]).stdout
        #expect(!text.contains("VT-x") && !text.contains("iommu=pt"))
    }

    @Test func iommufdIsSaidWhereItIs() throws {
        #expect(try findings(try build("gh200-arm64"))["iommu.iommufd"]?.status == .pass)
        let plain = try findings(try build("desktop-b550"))["iommu.iommufd"]
        #expect(plain?.status == .skip && plain?.summary.contains("VFIO groups") == true)
        // The kernel's configuration says so even before any device is bound.
        let h = try build("desktop-b550")
        try h.write("boot/config-6.1.0-fixture-amd64", "CONFIG_IOMMUFD=y\nCONFIG_VFIO_DEVICE_CDEV=y\n")
        #expect(try findings(h)["iommu.iommufd"]?.status == .pass)
    }

    @Test func aVGPUHostNeedsItsManagerAndItsVFs() throws {
        let h = try build("vgpu-l40s-sriov")
        let f = try findings(h)
        #expect(f["vgpu.manager"]?.status == .pass)
        // 0000:a1:00.0 is on nvidia with SR-IOV and no VFs, on a host that makes vGPUs on VFs.
        #expect(f["vgpu.vfs"]?.status == .warn && f["vgpu.vfs"]?.remedy == "gpuprep sriov enable 0000:a1:00.0 --persist (each such GPU)")
        try FileManager.default.removeItem(at: h.root.appendingPathComponent("etc/systemd/system/multi-user.target.wants/nvidia-vgpu-mgr.service"))
        #expect(try findings(h)["vgpu.manager"]?.remedy == "systemctl enable --now nvidia-vgpu-mgr")
        // With every VF on, NVIDIA's own SR-IOV unit and gpuprep's rules would race.
        let planner = SRIOVPlanner(host: try HostContext(root: h.path))
        let (_, kernel) = (h, SimulatedKernel(host: h, nativeDrivers: [:]))
        #expect(try apply(try planner.planEnable(PCIAddress("a1:00.0")!, count: 4, persist: true), h, kernel).failure == nil)
        try h.installUnit("nvidia-sriov.service", description: "NVIDIA SR-IOV", enabled: true)
        #expect(try findings(h)["vgpu.vfs"]?.summary.contains("both enable VFs at boot") == true)
        // Proxmox VE's unit (its "NVIDIA vGPU on Proxmox VE" guide enables pve-nvidia-sriov@ALL.service) races the same way.
        try FileManager.default.removeItem(at: h.root.appendingPathComponent("etc/systemd/system/multi-user.target.wants/nvidia-sriov.service"))
        #expect(try findings(h)["vgpu.vfs"]?.status == .pass)
        try h.installUnit("pve-nvidia-sriov@ALL.service", description: "Enable NVIDIA SR-IOV", enabled: true)
        let proxmox = try findings(h)["vgpu.vfs"]
        #expect(proxmox?.summary.hasPrefix("Proxmox VE's pve-nvidia-sriov@ALL.service and gpuprep") == true
                && proxmox?.remedy?.contains("systemctl disable pve-nvidia-sriov@ALL.service") == true, "\(String(describing: proxmox))")
    }
}
