import Foundation
import GPUPrepCore
import HostFixtures
import Testing

/// The host steps the guides leave to the admin that `check` now sees: allow_unsafe_interrupts
/// wherever it is set, IOMMU units that cannot remap interrupts, and NVIDIA's vGPU manager
/// enabled but not running.
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

    @Test func theVGPUManagerRunning() throws {
        let host = try fresh("vgpu-l40s-sriov")
        #expect(try finding(host, "vgpu.manager").summary == "nvidia-vgpu-mgr.service is enabled and running (pid 690)")
        try FileManager.default.removeItem(atPath: host.path + "/proc/690")
        let stopped = try finding(host, "vgpu.manager")
        #expect(stopped.status == .warn && stopped.remedy == "systemctl start nvidia-vgpu-mgr (journalctl -u nvidia-vgpu-mgr says why it stopped)")
    }
}
