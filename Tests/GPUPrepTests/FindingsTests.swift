import Foundation
import GPUPrepCore
import GPUPrepSystem
import HostFixtures
import Testing

/// Findings a reader of the host's files would otherwise call wrong: a boot configuration that
/// switches the IOMMU off, advice about an IOMMU that is not on, the boot VGA device, the groups
/// of mdevs, and a mistyped vGPU type.
@Suite struct FindingsTests {
    /// The P6T6 desktop (Intel, no IOMMU yet) with its boot configuration replaced.
    func host(grub: String? = nil, kernelCmdline: String? = nil, amd: Bool = false) throws -> FakeHost {
        let host = try Catalog.build("p6t6-no-iommu", at: FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-off-\(UUID().uuidString)"),
                                     data: Fixtures.data)
        if let grub { try host.write("etc/default/grub", grub) }
        if let kernelCmdline { try host.write("etc/kernel/cmdline", kernelCmdline) }
        if amd { try host.setCPU(vendor: "AuthenticAMD", flags: ["svm"]) }
        return host
    }

    func read(_ host: FakeHost, _ path: String) -> String? {
        try? String(contentsOf: host.root.appendingPathComponent(path), encoding: .utf8)
    }

    @Test func aGrubLineThatSwitchesTheIOMMUOffIsReplacedNotContradicted() throws {
        let h = try host(grub: "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=off splash\"\nGRUB_CMDLINE_LINUX=\"iommu=off crashkernel=auto\"\n")
        let check = try CheckReport.make(host: try HostContext(root: h.path))
        let finding = try #require(check.findings.first { $0.id == "iommu.bootloader" })
        #expect(finding.status == .fail && finding.summary.contains("turns the IOMMU off (iommu=off intel_iommu=off)"))
        #expect(finding.remedy?.contains("replace iommu=off with iommu=pt, intel_iommu=off with intel_iommu=on") == true)
        let run = try Run.gpuprep(["check", "--fix", "--root", h.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(read(h, "etc/default/grub") == "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on splash\"\nGRUB_CMDLINE_LINUX=\"iommu=pt crashkernel=auto\"\n")
        // Said in the diff, and a second run changes nothing.
        #expect(run.stdout.contains("-GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=off splash\"") && run.stdout.contains("+GRUB_CMDLINE_LINUX=\"iommu=pt crashkernel=auto\""))
        let again = try Run.gpuprep(["check", "--fix", "--root", h.path])
        #expect(again.status == 0 && again.stdout.contains("Nothing to fix"))
    }

    @Test func anAMDSwitchWithoutAWantedCounterpartIsRemoved() throws {
        let h = try host(grub: "GRUB_CMDLINE_LINUX_DEFAULT='amd_iommu=off quiet'\n", amd: true)
        let fix = try BootLoaderFix.plan(try HostContext(root: h.path))
        #expect(fix.plan.fileChanges.last?.value == "GRUB_CMDLINE_LINUX_DEFAULT='quiet iommu=pt'\n")
    }

    @Test func aKernelCmdlineFileGetsTheSameTreatment() throws {
        let h = try host(kernelCmdline: "root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=off\n")
        let fix = try BootLoaderFix.plan(try HostContext(root: h.path))
        #expect(fix.plan.fileChanges.last?.value == "root=ZFS=rpool/ROOT/pve-1 boot=zfs intel_iommu=on iommu=pt\n")
    }

    @Test func passthroughAdviceWaitsForTheIOMMU() throws {
        let findings = try CheckReport.make(host: try context("p6t6-no-iommu")).findings
        let passthrough = try #require(findings.first { $0.id == "iommu.passthrough" })
        #expect(passthrough.status == .skip && passthrough.summary.hasPrefix("the IOMMU is off") && passthrough.remedy == nil)
        // On a host whose IOMMU is on, iommu=pt is still advised.
        #expect(try CheckReport.make(host: try context("desktop-b550")).findings.first { $0.id == "iommu.passthrough" }?.status == .warn)
    }

    @Test func theBootVGADeviceIsABlockerWithBindsRemedy() throws {
        let gt710 = try ConflictAnalysis.analyze(try context("desktop-b550"), devices: [PCIAddress("04:00.0")!]).conflicts[0]
        let first = try #require(gt710.blockers.first)
        #expect(first.kind == .bootVGA && first.reason.contains("'gpuprep bind' refuses it unless --force"))
        // The RTX on vfio-pci is not the boot device: no such blocker.
        #expect(try ConflictAnalysis.analyze(try context("desktop-b550"), devices: [PCIAddress("2b:00.0")!]).conflicts[0]
                    .blockers.allSatisfy { $0.kind != .bootVGA })
    }

    @Test func mdevGroupsAreListedWithTheirVGPUs() throws {
        let report = try IOMMUReport.make(host: try context("vgpu-a2-t4-busy"), nvidiaOnly: true)
        let group = try #require(report.groups.first { $0.id == 102 })
        #expect(group.members.isEmpty && group.viable)
        #expect(group.vgpus.map { "\($0.name) \($0.type) \($0.parent)" } == ["7b5c8e3a-4d9f-4a0c-9e32-5f4a3b2c6d73 nvidia-754 0000:08:00.6"])
        #expect(report.topology.groups.count == 1 + 16 + 1 + 5)      // the A2 and its VFs, the T4, five mdevs
        let text = IOMMUText.render(report, style: TextStyle(color: false))
        #expect(text.contains("7b5c8e3a-4d9f-4a0c-9e32-5f4a3b2c6d73  vGPU  -       nvidia-754 (NVIDIA A2-4C) on 0000:08:00.6"))
    }

    @Test func aMistypedTypeGetsTheNearestName() throws {
        let planner = VGPUPlanner(host: try context("vgpu-a2-t4-busy"))
        #expect { try planner.planCreate(type: "T4-2W", parent: nil, count: 1, uuid: nil) } throws: {
            ($0 as? GPUPrepError)?.code == .unknownType && ($0 as? GPUPrepError)?.message.contains("did you mean 'GRID T4-2Q'?") == true
        }
        #expect { try planner.planCreate(type: "completely-else", parent: nil, count: 1, uuid: nil) } throws: {
            ($0 as? GPUPrepError)?.message.contains("did you mean") == false
        }
    }
}
