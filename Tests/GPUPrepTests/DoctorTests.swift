import Foundation
import GPUPrepCore
import HostFixtures
import Testing

/// `gpuprep doctor` names the first cause on hosts with one cause each, with its evidence; on a
/// host with two, the first in the order they arise; and nothing on a healthy GPU.
@Suite struct DoctorTests {
    let env = ["GPUPREP_PCI_IDS": Fixtures.pciIDs, "NO_COLOR": "1"]

    struct Diagnosis {
        var status: Int32
        var cause: String?
        var evidence: [String: String]
        var remedy: String?
        var steps: [String]
    }

    func fresh(_ name: String) throws -> FakeHost {
        try Catalog.build(name, at: FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-doctor-\(name)-\(UUID().uuidString)"),
                          data: Fixtures.data)
    }

    func doctor(_ root: String, _ address: String, for purpose: String? = nil) throws -> Diagnosis {
        let run = try Run.gpuprep(["doctor", "--json", "--root", root, address] + (purpose.map { ["--for", $0] } ?? []), environment: env)
        let document = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        let diagnosis = (document?["diagnoses"] as? [[String: Any]])?.first
        let cause = diagnosis?["cause"] as? [String: Any]
        var evidence: [String: String] = [:]
        for item in cause?["evidence"] as? [[String: Any]] ?? [] { evidence[item["path"] as! String] = item["value"] as? String ?? "(absent)" }
        let steps = (document?["checks"] as? [[String: Any]] ?? []).map { "\($0["id"]!) \($0["status"]!)" }
        return Diagnosis(status: run.status, cause: cause?["id"] as? String, evidence: evidence, remedy: cause?["remedy"] as? String, steps: steps)
    }

    // MARK: vGPU

    @Test func healthyVGPUHosts() throws {
        for (host, gpu) in [("vgpu-l40s-sriov", "26:00.0"), ("vgpu-a2-t4-busy", "3b:00.0"), ("vgpu-a2-t4-busy", "08:00.0"), ("vgpu-mdev", "")] {
            let run = try Run.gpuprep(["doctor", "--root", Fixtures.host(host)] + (gpu.isEmpty ? [] : [gpu]), environment: env)
            #expect(run.status == 0 && run.stdout.hasSuffix("No cause found.\n"), "\(host) \(gpu): \(run.stdout)")
        }
    }

    @Test func noVGPUManager() throws {
        let d = try doctor(Fixtures.host("dgx-a100"), "0f:00.0", for: "vgpu")
        #expect(d.status == 1 && d.cause == "doctor.vgpu.manager" && d.evidence["/usr/bin/nvidia-vgpu-mgr"] == "(absent)")
        #expect(d.steps == ["doctor.vgpu.manager fail"], "the first cause ends the walk")
    }

    @Test func theGPUIsPassedThrough() throws {
        let host = try fresh("vgpu-l40s-sriov")
        try host.bind("0000:a1:00.0", to: "vfio-pci", replacing: "nvidia")
        let d = try doctor(host.path, "a1:00.0", for: "vgpu")
        #expect(d.cause == "doctor.vgpu.driver" && d.evidence["/sys/bus/pci/devices/0000:a1:00.0/driver"] == "vfio-pci")
        #expect(d.remedy == "gpuprep unbind 0000:a1:00.0 gives it back to nvidia (once no VM uses it)")
        // Not told what for, a GPU on vfio-pci is diagnosed for passthrough.
        let chosen = try Run.gpuprep(["doctor", "--root", host.path, "a1:00.0"], environment: env)
        #expect(chosen.stdout.hasPrefix("0000:a1:00.0 for passthrough (chosen: it is on vfio-pci; --for to choose)\n"), "\(chosen.stdout)")
    }

    /// After a kernel update DKMS did not follow: no nvidia module for the running kernel.
    @Test func noModuleForThisKernel() throws {
        let host = try fresh("vgpu-l40s-sriov")
        try host.unbindDriver("0000:a1:00.0")
        let release = "6.1.0-fixture-amd64"
        try FileManager.default.removeItem(atPath: host.path + "/lib/modules/\(release)/kernel/drivers/fixture/nvidia.ko")
        try FileManager.default.removeItem(atPath: host.path + "/sys/module/nvidia")
        #expect(try Run("/usr/bin/env", ["depmod", "-b", host.path, release]).status == 0)
        let d = try doctor(host.path, "a1:00.0", for: "vgpu")
        #expect(d.cause == "doctor.vgpu.driver" && d.evidence["/lib/modules/\(release)/modules.dep"] == "no nvidia module", "\(d)")
        #expect(d.remedy?.hasPrefix("build it for this kernel (dkms autoinstall") == true)
    }

    @Test func aGPUTheReleaseDoesNotSupport() throws {
        let host = try fresh("vgpu-l40s-sriov")
        try host.write("usr/share/nvidia/vgpu/vgpuConfig.xml", VGPULifecycleTests.catalogue.replacingOccurrences(of: "0x26B9", with: "0x2236"))
        let d = try doctor(host.path, "26:00.0")
        #expect(d.cause == "doctor.vgpu.supported" && d.evidence["/usr/share/nvidia/vgpu/vgpuConfig.xml"] == "lists 10de:2236")
        try host.write("usr/share/nvidia/vgpu/vgpuConfig.xml", VGPULifecycleTests.catalogue)
        let supported = try doctor(host.path, "26:00.0")
        #expect(supported.cause == nil && supported.steps.contains("doctor.vgpu.supported pass"))
    }

    @Test func aWorkstationBoardInDisplayMode() throws {
        let host = try fresh("vgpu-l40s-sriov")
        // As the board shows itself in display mode: a VGA controller (class 0300), in every file that says so.
        try host.setAttribute("0000:a1:00.0", "class", "0x030000")
        try host.setAttribute("0000:a1:00.0", "uevent", "PCI_CLASS=30000\nPCI_ID=10DE:26B9\nPCI_SUBSYS_ID=10DE:1851\nPCI_SLOT_NAME=0000:a1:00.0\nMODALIAS=pci:v000010DEd000026B9sv000010DEsd00001851bc03sc00i00\n")
        try host.setAttribute("0000:a1:00.0", "modalias", "pci:v000010DEd000026B9sv000010DEsd00001851bc03sc00i00")
        let config = host.path + "/" + host.devicePath("0000:a1:00.0") + "/config"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: config))
        bytes[0x0a] = 0x00
        try bytes.write(to: URL(fileURLWithPath: config))
        let d = try doctor(host.path, "a1:00.0")
        #expect(d.cause == "doctor.vgpu.display_mode" && d.evidence["/sys/bus/pci/devices/0000:a1:00.0/class"] == "0x030000",
                "\(d.steps)")
        #expect(d.remedy?.contains("displaymodeselector --gpumode physical_display_disabled") == true)
    }

    /// Two causes on one GPU (VFs off, and GSP firmware not running): the VFs come first, as
    /// nothing is listed while they are off whatever the firmware.
    @Test func vfsOffComesBeforeFirmware() throws {
        let host = try fresh("vgpu-l40s-sriov")
        try host.write("proc/driver/nvidia/gpus/0000:a1:00.0/information", "Model: \t\t NVIDIA L40S\nDevice Minor: \t 1\nGPU Firmware: \t N/A\n")
        let d = try doctor(host.path, "a1:00.0")
        #expect(d.cause == "doctor.vgpu.vfs" && d.evidence["/sys/bus/pci/devices/0000:a1:00.0/sriov_numvfs"] == "0")
        #expect(d.remedy == "gpuprep sriov enable 0000:a1:00.0 --persist (then 'gpuprep types --parent 0000:a1:00.0')")
    }

    /// VFs on, nothing listed, GSP firmware off where a modprobe.d file turned it off.
    @Test func firmwareNotRunning() throws {
        let host = try fresh("vgpu-l40s-sriov")
        let header = "ID    : vGPU Name\n"
        try host.write("sys/bus/pci/devices/0000:c1:00.4/nvidia/creatable_vgpu_types", header)
        try host.write("proc/driver/nvidia/gpus/0000:c1:00.0/information", "Model: \t\t NVIDIA L40S\nDevice Minor: \t 2\nGPU Firmware: \t N/A\n")
        try host.write("etc/modprobe.d/nvidia-gsp.conf", "options nvidia NVreg_EnableGpuFirmware=0\n")
        let d = try doctor(host.path, "c1:00.0")
        #expect(d.cause == "doctor.vgpu.firmware", "\(d.steps)")
        #expect(d.evidence["/proc/driver/nvidia/gpus/0000:c1:00.0/information"] == "GPU Firmware: N/A"
                && d.evidence["/etc/modprobe.d/nvidia-gsp.conf"] == "options nvidia NVreg_EnableGpuFirmware=0")
        #expect(d.remedy?.hasPrefix("remove NVreg_EnableGpuFirmware=0 from /etc/modprobe.d/nvidia-gsp.conf") == true)

        // The firmware running, and still nothing listed: said as unexplained, with where to look.
        try host.write("proc/driver/nvidia/gpus/0000:c1:00.0/information", "Model: \t\t NVIDIA L40S\nDevice Minor: \t 2\nGPU Firmware: \t 550.54.16\n")
        let unknown = try doctor(host.path, "c1:00.0")
        #expect(unknown.cause == "doctor.vgpu.room" && unknown.steps.contains("doctor.vgpu.firmware pass"))
        #expect(unknown.remedy?.contains("journalctl -u nvidia-vgpu-mgr") == true)
    }

    /// A full card lists no types: that is no fault, and doctor says what fills it and which
    /// vGPU nobody uses.
    @Test func aFullCard() throws {
        let host = try fresh("vgpu-l40s-sriov")
        let header = "ID    : vGPU Name\n"
        for vf in ["26:00.4", "26:00.6"] { try host.write("sys/bus/pci/devices/0000:\(vf)/nvidia/creatable_vgpu_types", header) }
        try host.write("sys/bus/pci/devices/0000:26:00.4/nvidia/current_vgpu_type", "1155\n")
        let d = try doctor(host.path, "26:00.0")
        #expect(d.cause == "doctor.vgpu.room", "\(d.steps)")
        let run = try Run.gpuprep(["doctor", "--root", host.path, "26:00.0"], environment: env)
        #expect(run.stdout.contains("FAIL  the GPU is full: it holds 2 × NVIDIA L40S-24Q"), "\(run.stdout)")
        #expect(d.remedy == "destroy a vGPU no VM holds or names (2 here): gpuprep destroy 0000:26:00.4")
    }

    @Test func theManagerNotRunning() throws {
        let host = try fresh("vgpu-l40s-sriov")
        try FileManager.default.removeItem(atPath: host.path + "/proc/690")
        let d = try doctor(host.path, "26:00.0")
        #expect(d.cause == "doctor.vgpu.manager_running" && d.remedy?.hasPrefix("systemctl enable --now nvidia-vgpu-mgr.service") == true)
    }

    // MARK: passthrough

    @Test func passthroughCauses() throws {
        let iommu = try doctor(Fixtures.host("p6t6-no-iommu"), "06:00.0", for: "passthrough")
        #expect(iommu.cause == "doctor.passthrough.iommu" && iommu.evidence["/sys/class/iommu"] == "empty", "\(iommu)")

        let group = try doctor(Fixtures.host("desktop-b550"), "04:00.0")
        #expect(group.cause == "doctor.passthrough.group" && group.evidence["/sys/kernel/iommu_groups/13/devices"]?.contains("2a:00.0 (r8169)") == true)

        let companions = try doctor(Fixtures.host("desktop-b550"), "2b:00.0")
        #expect(companions.cause == "doctor.passthrough.drivers" && companions.evidence["/sys/bus/pci/devices/0000:2b:00.1/driver"] == "snd_hda_intel")
        #expect(companions.remedy == "gpuprep bind 0000:2b:00.0 --persist (its companions go with it)")

        let held = try doctor(Fixtures.host("dgx-a100-services"), "0f:00.0", for: "passthrough")
        #expect(held.cause == "doctor.passthrough.holders" && held.evidence["/dev/nvidia0"]?.contains("nvidia-persistenced") == true, "\(held)")
        #expect(held.remedy?.contains("--release") == true)
    }

    /// Once the card is on vfio-pci nothing stands in the way; a BAR larger than OVMF's default
    /// window is said as a warning, with the VM setting it needs, and is no cause.
    @Test func readyWithAWarning() throws {
        let host = try fresh("desktop-b550")
        for (companion, driver) in [("2b:00.1", "snd_hda_intel"), ("2b:00.2", "xhci_hcd"), ("2b:00.3", "nvidia-gpu")] {
            try host.bind("0000:" + companion, to: "vfio-pci", replacing: driver)
        }
        try host.setAttribute("0000:2b:00.0", "resource", "0x00000000f6000000 0x00000000f6ffffff 0x0000000000040200\n"
                              + "0x0000038000000000 0x0000038fffffffff 0x000000000014220c\n"
                              + String(repeating: "0x0000000000000000 0x0000000000000000 0x0000000000000000\n", count: 11))
        let run = try Run.gpuprep(["doctor", "--root", host.path, "2b:00.0"], environment: env)
        #expect(run.status == 0, "\(run.stdout)")
        #expect(run.stdout.contains("  ok    TU104 [GeForce RTX 2070 SUPER] and its card's functions are on VFIO drivers\n"))
        #expect(run.stdout.contains("  warn  TU104 [GeForce RTX 2070 SUPER] has a 64 GiB BAR: more than OVMF's default 32 GiB 64-bit MMIO window\n"))
        #expect(run.stdout.contains("fix: give the VM a larger window: QEMU -fw_cfg name=opt/ovmf/X-PciMmio64Mb,string=131072"))
        #expect(run.stdout.hasSuffix("  no cause found: ready for passthrough\n\nNo cause found.\n"))
    }

    @Test func errorsAndEveryGPU() throws {
        let notGPU = try Run.gpuprep(["doctor", "--root", Fixtures.host("desktop-b550"), "2a:00.0"], environment: env)
        #expect(notGPU.status == 66 && notGPU.stderr.hasPrefix("gpuprep: error: 0000:2a:00.0 is not an NVIDIA GPU"))
        let absent = try Run.gpuprep(["doctor", "--root", Fixtures.host("desktop-b550"), "9f:00.0"], environment: env)
        #expect(absent.status == 66)
        let bad = try Run.gpuprep(["doctor", "--root", Fixtures.host("desktop-b550"), "--for", "gaming"], environment: env)
        #expect(bad.status == 64 && bad.stderr == "gpuprep: error: --for takes passthrough or vgpu, not 'gaming'\n")
        // Every GPU but the host's console, which is said and left out.
        let all = try Run.gpuprep(["doctor", "--root", Fixtures.host("desktop-b550")], environment: env)
        #expect(all.status == 1 && all.stdout.contains("0000:04:00.0 GK208B [GeForce GT 710]: the host's console GPU (boot VGA on nouveau), not diagnosed"))
        try expectGolden(all.stdout, "doctor/desktop-b550.txt")
    }
}
