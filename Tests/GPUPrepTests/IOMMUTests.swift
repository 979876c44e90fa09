import Foundation
import GPUPrepCore
import HostFixtures
import Testing

func context(_ host: String) throws -> HostContext {
    try HostContext(root: Fixtures.host(host), pciIDs: Fixtures.pciIDs)
}

@Suite struct VFIORuleTests {
    func function(_ cls: UInt32, header: UInt8?, driver: String?) -> PCIFunction {
        var f = PCIFunction(address: PCIAddress("01:00.0")!)
        f.classCode = cls
        f.headerType = header
        f.driver = driver
        return f
    }

    /// The kernel lets VFIO take a group when every endpoint is on a DMA-managing driver or none.
    @Test(arguments: [
        (0x030000, 0, "vfio-pci", false), (0x030000, 0, nil, false), (0x030000, 0, "pci-stub", false),
        (0x020000, 0, "mlx5_vfio_pci", false), (0x030200, 0, "nvgrace_gpu_vfio_pci", false),
        (0x030000, 0, "nouveau", true), (0x040300, 0, "snd_hda_intel", true), (0x0c0330, 0, "xhci_hcd", true),
        (0x060000, 0, "k10temp", true),          // a host bridge has an endpoint header: it counts
        (0x060400, 1, "pcieport", false), (0x060400, 1, "shpchp", false), (0x060700, 2, "yenta_cardbus", false),
        (0x060400, nil, "pcieport", false),      // no config space: the class says bridge
    ] as [(UInt32, UInt8?, String?, Bool)])
    func blocks(cls: UInt32, header: UInt8?, driver: String?, expected: Bool) {
        #expect(VFIORule.blocksGroup(function(cls, header: header, driver: driver)) == expected)
    }
}

@Suite struct IOMMUTopologyTests {
    func blockers(_ host: String) throws -> [Int: [String]] {
        let topology = try IOMMUTopology.read(try context(host))
        return Dictionary(uniqueKeysWithValues: topology.groups.map { ($0.id, $0.blockers.map(\.address.description)) })
    }

    @Test func desktopGroupsAsTheKernelSeesThem() throws {
        let b = try blockers("desktop-b550")
        #expect(b[13] == ["0000:02:00.0", "0000:02:00.1", "0000:04:00.0", "0000:04:00.1", "0000:2a:00.0"])
        #expect(b[14] == ["0000:2b:00.1", "0000:2b:00.2", "0000:2b:00.3"])
        #expect(b[12] == ["0000:00:18.3"])                 // k10temp on a host bridge
        #expect(b[1] == [] && b[4] == [])                  // root ports alone: bridges never block
        #expect(b[11] == ["0000:00:14.0"])
    }

    @Test func datacenterGroupsAreViable() throws {
        let topology = try IOMMUTopology.read(try context("dgx-a100"))
        #expect(topology.enabled)
        let gpuGroups = topology.groups.filter { $0.members.contains { $0.kind == .gpu } }
        #expect(gpuGroups.count == 8)
        #expect(gpuGroups.filter { !$0.viable }.count == 7)   // the GPUs are on nvidia: bind them first
        #expect(topology.group(21)?.viable == true)          // the one on vfio-pci
    }

    @Test func noIOMMU() throws {
        let report = try IOMMUReport.make(host: try context("p6t6-no-iommu"), nvidiaOnly: false)
        #expect(!report.topology.enabled && report.groups.isEmpty)
        #expect(IOMMUText.render(report, style: TextStyle(color: false)).contains("The IOMMU is off"))
    }

    @Test(arguments: ["desktop-b550", "dgx-a100", "laptop-gtx765m", "plx-rtx2080ti", "p6t6-no-iommu"])
    func golden(host: String) throws {
        let report = try IOMMUReport.make(host: try context(host), nvidiaOnly: false)
        try expectGolden(IOMMUText.render(report, style: TextStyle(color: false)).replacingOccurrences(of: Fixtures.host(host), with: "<root>"),
                         "iommu/\(host).txt")
        try expectGolden(JSONOutput.render(report), "iommu/\(host).json")
    }
}

@Suite struct ConflictTests {
    func analysis(_ host: String, _ devices: [String] = []) throws -> ConflictAnalysis {
        try ConflictAnalysis.analyze(try context(host), devices: devices.compactMap(PCIAddress.init))
    }

    @Test func sharedGroupAndCompanionsOnTheDesktop() throws {
        let conflicts = try analysis("desktop-b550").conflicts
        #expect(conflicts.map(\.device.address.description) == ["0000:04:00.0", "0000:2b:00.0"])
        let gt710 = conflicts[0]
        // The GT 710 is the boot VGA device (the console), and shares its group with the chipset.
        #expect(gt710.blockers.map(\.address?.description) == ["0000:04:00.0", "0000:02:00.0", "0000:02:00.1", "0000:04:00.1", "0000:2a:00.0"])
        #expect(gt710.blockers.map(\.kind) == [.bootVGA, .sharedGroup, .sharedGroup, .companion, .sharedGroup])
        // Bridges of the group are not blockers, and the GPU itself only as the boot device.
        #expect(!gt710.blockers.contains { ["0000:02:00.2", "0000:03:00.0", "0000:03:09.0"].contains($0.address?.description ?? "") })
        #expect(gt710.blockers.filter { $0.address?.description == "0000:04:00.0" }.map(\.kind) == [.bootVGA])
        // Only the downstream port without ACS is to blame: the root port has ACS, the upstream port needs none.
        let why = try #require(gt710.explanation)
        #expect(why.contains("0000:03:00.0 has no ACS capability"))
        #expect(!why.contains("0000:00:01.2") && !why.contains("0000:02:00.2"))
        #expect(why.contains("pcie_acs_override") && why.contains("insecure"))

        let rtx = conflicts[1]
        #expect(rtx.blockers.allSatisfy { $0.kind == .companion })
        #expect(rtx.blockers.first?.reason.contains("gpuprep bind 0000:2b:00.0") == true)
        #expect(rtx.explanation == nil)              // a group of one card needs no explaining
        #expect(rtx.nextStep == "gpuprep bind 0000:2b:00.0")
    }

    @Test func groupHeldOpenByARunningVM() throws {
        let conflicts = try analysis("dgx-a100").conflicts
        #expect(conflicts.count == 8)
        let held = try #require(conflicts.first { $0.device.address.description == "0000:07:00.0" })
        #expect(held.blockers.count == 1 && held.blockers[0].kind == .groupInUse)
        #expect(held.blockers[0].process == HostProcess(pid: 4242, name: "qemu-system-x86"))
        #expect(held.blockers[0].reason.contains("/dev/vfio/21") && held.blockers[0].reason.contains("pid 4242"))
        #expect(conflicts.filter { $0.blockers.isEmpty }.count == 7)
    }

    @Test func noIOMMUIsABlocker() throws {
        let conflict = try #require(try analysis("p6t6-no-iommu").conflicts.first)
        #expect(conflict.group == nil && conflict.blockers.map(\.kind) == [.noIOMMU])
    }

    @Test func givenDevicesOfAnyVendor() throws {
        let conflicts = try analysis("desktop-b550", ["0000:2a:00.0"]).conflicts
        #expect(conflicts.count == 1)
        #expect(conflicts[0].blockers.map(\.address?.description) == ["0000:02:00.0", "0000:02:00.1", "0000:04:00.0", "0000:04:00.1"])
        #expect(throws: GPUPrepError.self) { try analysis("desktop-b550", ["0000:77:00.0"]) }
    }

    @Test(arguments: ["desktop-b550", "dgx-a100", "laptop-gtx765m", "plx-rtx2080ti", "p6t6-no-iommu", "vgpu-a2-t4-busy", "dgx-a100-services"])
    func golden(host: String) throws {
        let report = try ConflictsReport.make(host: try context(host), devices: [])
        try expectGolden(ConflictsText.render(report, style: TextStyle(color: false)).replacingOccurrences(of: Fixtures.host(host), with: "<root>"),
                         "conflicts/\(host).txt")
        try expectGolden(JSONOutput.render(report), "conflicts/\(host).json")
    }

    @Test func exitStatusFollowsTheFindings() throws {
        let blocked = try Run.gpuprep(["conflicts", "--root", Fixtures.host("desktop-b550")])
        #expect(blocked.status == 1 && blocked.stdout.contains("blocker"))
        let clean = try Run.gpuprep(["conflicts", "--root", Fixtures.host("dgx-a100"), "0f:00.0"])
        #expect(clean.status == 0 && clean.stdout.contains("ready for a VM"))
        let bad = try Run.gpuprep(["conflicts", "--root", Fixtures.host("dgx-a100"), "0f:00"])
        #expect(bad.status == 64)
        let iommu = try Run.gpuprep(["iommu", "--root", Fixtures.host("desktop-b550"), "--nvidia"])
        #expect(iommu.status == 0 && iommu.stdout.contains("Group 13") && !iommu.stdout.contains("Group 12"))
    }
}
