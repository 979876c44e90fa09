import Foundation
import GPUPrepCore
import HostFixtures
import Testing

/// The list report of a fixture host, as the CLI would render it.
func listReport(_ host: String, _ scope: DiscoveryScope = .nvidia) throws -> ListReport {
    try ListReport.make(host: try HostContext(root: Fixtures.host(host), pciIDs: Fixtures.pciIDs), scope: scope)
}

func listText(_ host: String, _ scope: DiscoveryScope = .nvidia) throws -> String {
    ListText.render(try listReport(host, scope), style: TextStyle(color: false))
        .replacingOccurrences(of: Fixtures.host(host), with: "<root>")
}

@Suite struct ListGoldenTests {
    @Test(arguments: Catalog.names)
    func humanAndJSON(host: String) throws {
        try expectGolden(try listText(host), "list/\(host).txt")
        try expectGolden(JSONOutput.render(try listReport(host)), "list/\(host).json")
    }

    @Test func allFunctionsOfTheDesktop() throws {
        try expectGolden(try listText("desktop-b550", .all), "list/desktop-b550-all.txt")
        try expectGolden(JSONOutput.render(try listReport("desktop-b550", .all)), "list/desktop-b550-all.json")
    }
}

@Suite struct ListBehaviourTests {
    func device(_ report: ListReport, _ address: String) -> PCIFunction? {
        report.devices.map(\.function).first { $0.address.description == address }
    }

    @Test func desktopGPUsCompanionsAndTraps() throws {
        let report = try listReport("desktop-b550")
        #expect(report.devices.map(\.function.address.description) ==
                ["0000:04:00.0", "0000:04:00.1", "0000:2b:00.0", "0000:2b:00.1", "0000:2b:00.2", "0000:2b:00.3"])
        let rtx = try #require(device(report, "0000:2b:00.0"))
        #expect(rtx.kind == .gpu)
        #expect(rtx.deviceName == "TU104 [GeForce RTX 2070 SUPER]")
        #expect(rtx.vendorName == "NVIDIA Corporation")
        #expect(rtx.driver == "vfio-pci")
        #expect(rtx.driverOverride == "vfio-pci")
        #expect(rtx.iommuGroup == 14)
        #expect(rtx.companions.map(\.description) == ["0000:2b:00.1", "0000:2b:00.2", "0000:2b:00.3"])
        // The companion audio left on its host driver is visible as such.
        let audio = try #require(device(report, "0000:2b:00.1"))
        #expect(audio.kind == .companion && audio.driver == "snd_hda_intel" && audio.companionOf == rtx.address)
        #expect(audio.modules == ["snd_hda_intel"])
        let gt710 = try #require(device(report, "0000:04:00.0"))
        #expect(gt710.bootVGA)
        #expect(gt710.modules == ["nouveau", "nvidia"])
        // The chipset functions sharing group 13 are not NVIDIA's: not listed without --all.
        #expect(device(report, "0000:02:00.0") == nil)
    }

    @Test func datacenterGPUsAndNVSwitches() throws {
        let report = try listReport("dgx-a100")
        let functions = report.devices.map(\.function)
        #expect(functions.filter { $0.kind == .gpu }.count == 8)
        #expect(functions.filter { $0.kind == .nvswitch }.count == 6)
        #expect(functions.allSatisfy { $0.kind == .gpu || $0.kind == .nvswitch })
        let gpu = try #require(device(report, "0000:b7:00.0"))
        #expect(gpu.deviceName == "GA100 [A100 SXM4 40GB]" && gpu.numaNode == 5 && gpu.subsystemDeviceID == 0x134f)
        #expect(device(report, "0000:c4:00.0")?.driver == "nvidia-nvswitch")
    }

    @Test func sriovVFsAndTheirInterface() throws {
        let report = try listReport("vgpu-l40s-sriov")
        let pf = try #require(device(report, "0000:26:00.0"))
        #expect(pf.sriov == SRIOV(totalVFs: 32, numVFs: 4))
        #expect(pf.vgpuInterface == .nvidiaVFIO)
        let vf = try #require(device(report, "0000:26:00.5"))
        #expect(vf.kind == .vf && vf.physicalFunction == pf.address && vf.vgpuInterface == .nvidiaVFIO && vf.sriov == nil)
        // A VF in reset reads all ones in config space; sysfs still names it and it is listed.
        #expect(device(report, "0000:26:00.7")?.kind == .vf)
        // SR-IOV capable but off: no VFs, interface unknown until they exist.
        let off = try #require(device(report, "0000:a1:00.0"))
        #expect(off.sriov == SRIOV(totalVFs: 32, numVFs: 0) && off.vgpuInterface == nil)
    }

    @Test func mdevParents() throws {
        let report = try listReport("vgpu-mdev")
        #expect(device(report, "0000:c1:00.0")?.vgpuInterface == .mdev)
        #expect(device(report, "0000:41:00.0")?.vgpuInterface == .mdev)
        #expect(device(report, "0000:41:00.1")?.driver == nil)
    }

    @Test func hostWithoutIOMMU() throws {
        let report = try listReport("p6t6-no-iommu")
        #expect(report.devices.count == 2)
        #expect(report.devices.allSatisfy { $0.function.iommuGroup == nil })
        // NF200 bridges are NVIDIA's too, but they are neither GPUs nor companions.
        let all = try listReport("p6t6-no-iommu", .all)
        #expect(all.devices.contains { $0.function.deviceID == 0x05b1 && $0.function.kind == .other })
    }

    @Test func addressesSelectAnyVendor() throws {
        let report = try listReport("desktop-b550", .addresses([PCIAddress("02:00.0")!]))
        #expect(report.devices.map(\.function.driver) == ["xhci_hcd"])
        #expect(throws: GPUPrepError.self) { try listReport("desktop-b550", .addresses([PCIAddress("55:00.0")!])) }
    }

    @Test func noGPUSaysSoAndSuggestsAll() throws {
        let host = try Fixtures.scratch("nogpu")
        try host.add(FakeFunction("0000:00:1f.2", vendor: 0x8086, device: 0xa102, classCode: 0x010601, driver: "ahci", group: 3))
        let report = try ListReport.make(host: try HostContext(root: host.path, pciIDs: Fixtures.pciIDs), scope: .nvidia)
        #expect(report.devices.isEmpty)
        let text = ListText.render(report, style: TextStyle(color: false))
        #expect(text.contains("No NVIDIA GPU found") && text.contains("1 PCI functions scanned") && text.contains("gpuprep list --all"))
    }
}

@Suite struct OddHostTests {
    /// The real snapshot as captured: no config, resource, subsystem or IOMMU files.
    @Test func rawT4SnapshotIsReadable() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-rawt4-\(UUID().uuidString)")
        try Catalog.extractT4Snapshot(data: Fixtures.data, to: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        let report = try ListReport.make(host: try HostContext(root: dir.path, pciIDs: Fixtures.pciIDs), scope: .nvidia)
        let t4 = try #require(report.devices.first?.function)
        #expect(report.devices.count == 1)
        #expect(t4.address.description == "0000:08:00.0" && t4.deviceName == "TU104GL [Tesla T4]")
        #expect(t4.driver == "nvidia" && t4.numaNode == 0 && t4.iommuGroup == nil && t4.subsystemVendorID == nil)
        #expect(t4.modules == nil)   // the snapshot has no module directory
        let all = try ListReport.make(host: try HostContext(root: dir.path, pciIDs: Fixtures.pciIDs), scope: .all)
        #expect(all.devices.count == 225)
    }

    @Test func brokenEntriesLeaveFieldsNullAndTheRestListed() throws {
        let host = try Fixtures.scratch("odd")
        try host.add(FakeFunction("0000:01:00.0", vendor: 0x10de, device: 0x1eb8, classCode: 0x030200, driver: "nvidia", group: 1, numa: 0))
        try host.add(FakeFunction("0000:02:00.0", vendor: 0x10de, device: 0x1eb8, classCode: 0x030200, driver: "nvidia", group: 2, numa: 0))
        try host.add(FakeFunction("0000:03:00.0", vendor: 0x10de, device: 0x1eb8, classCode: 0x030200, driver: nil, group: 3))
        try host.dangle("0000:01:00.0", "driver")              // driver unloaded mid-read
        try host.dangle("0000:01:00.0", "iommu_group")
        try host.setAttribute("0000:01:00.0", "numa_node", nil)
        try host.setAttribute("0000:01:00.0", "driver_override", nil)
        try host.setAttribute("0000:02:00.0", "class", nil)        // unreadable mandatory attribute,
        try host.setAttribute("0000:02:00.0", "uevent", nil)       // and no uevent to say it either
        try host.setAttribute("0000:03:00.0", "sriov_totalvfs", "garbage")
        try host.setAttribute("0000:03:00.0", "numa_node", "-1")
        let discovery = try HostContext(root: host.path, pciIDs: Fixtures.pciIDs)
        let nvidia = try ListReport.make(host: discovery, scope: .nvidia).devices.map(\.function)
        let first = try #require(nvidia.first { $0.address.description == "0000:01:00.0" })
        #expect(first.driver == nil && first.iommuGroup == nil && first.numaNode == nil && first.driverOverride == nil)
        let third = try #require(nvidia.first { $0.address.description == "0000:03:00.0" })
        #expect(third.sriov == nil && third.numaNode == nil)
        // The function without a class cannot be classed as a GPU, but --all still shows it, with why.
        #expect(!nvidia.contains { $0.address.description == "0000:02:00.0" })
        let all = try ListReport.make(host: discovery, scope: .all).devices.map(\.function)
        let second = try #require(all.first { $0.address.description == "0000:02:00.0" })
        #expect(second.vendorID == nil && !second.problems.isEmpty)
    }
}

@Suite struct LspciAgreementTests {
    struct Line { var name: String; var driver: String? }

    /// `lspci -D -nnk` over the same tree, keyed by address.
    func lspci(_ host: String) throws -> [String: Line] {
        let run = try Run("/usr/bin/env", ["lspci", "-A", "linux-sysfs", "-O", "sysfs.path=\(Fixtures.host(host))/sys/bus/pci",
                                           "-i", Fixtures.pciIDs, "-D", "-nnk"])
        #expect(run.status == 0, "lspci failed: \(run.stderr)")
        var lines: [String: Line] = [:]
        var current: String?
        for line in run.stdout.split(separator: "\n") {
            if !line.hasPrefix("\t") {
                let address = String(line.prefix { $0 != " " })    // a VMD domain has five digits or more
                current = address
                lines[address] = Line(name: String(line), driver: nil)
            } else if let address = current, line.hasPrefix("\tKernel driver in use: ") {
                lines[address]?.driver = String(line.dropFirst("\tKernel driver in use: ".count))
            }
        }
        return lines
    }

    @Test(arguments: Catalog.names)
    func namesAndDriversAgree(host: String) throws {
        let expected = try lspci(host)
        let ours = try listReport(host, .all).devices.map(\.function)
        #expect(ours.count == expected.count)
        for function in ours {
            let line = try #require(expected[function.address.description], "lspci does not list \(function.address)")
            #expect(function.driver == line.driver, "driver of \(function.address)")
            let device = String(format: "%04x", function.deviceID ?? 0)
            let ids = "[\(String(format: "%04x", function.vendorID ?? 0)):\(device)]"
            // lspci -nn writes "Device [vvvv:dddd]" where pci.ids has no name, and cuts long lines with "...".
            // Where the pinned pci.ids has no name, lspci may still find one in udev's hwdb (gpuprep
            // with --pci-ids does not look there): then only the ids are compared.
            let theirs = line.name.components(separatedBy: "]: ").dropFirst().joined(separator: "]: ")
            guard function.deviceName != nil else {
                #expect(theirs.contains(ids), "lspci says \(line.name)")
                continue
            }
            let ours = "\(function.vendorName ?? "?") \(function.deviceName ?? "Device") \(ids)"
            if let cut = theirs.range(of: "...") {
                #expect(ours.hasPrefix(theirs[..<cut.lowerBound]), "lspci says \(line.name); gpuprep says \(ours)")
            } else {
                #expect(theirs.hasPrefix(ours), "lspci says \(line.name); gpuprep says \(ours)")
            }
        }
    }
}

/// The NVIDIA view reads /proc/bus/pci/devices, the kernel's one-file list of functions, to
/// rule out the non-NVIDIA ones without opening each; it must never cost a GPU.
@Suite struct ProcInventoryTests {
    /// A GPU in domain 0 and a NIC at the same bus/devfn in domain 1 (the inventory has no
    /// domain), and a NIC elsewhere.
    func twoDomainHost() throws -> FakeHost {
        let host = try Fixtures.scratch("inventory")
        try host.add(FakeFunction("0000:01:00.0", vendor: 0x10de, device: 0x1eb8, classCode: 0x030200, driver: "nvidia", group: 1))
        try host.add(FakeFunction("0001:01:00.0", vendor: 0x10de, device: 0x1eb8, classCode: 0x030200, driver: "nvidia", group: 2))
        try host.add(FakeFunction("0001:02:00.0", vendor: 0x15b3, device: 0x101d, classCode: 0x020000, driver: "mlx5_core", group: 3))
        try host.add(FakeFunction("0000:02:00.0", vendor: 0x15b3, device: 0x101d, classCode: 0x020000, driver: "mlx5_core", group: 4))
        return host
    }

    func nvidiaAddresses(_ host: FakeHost) throws -> [String] {
        try ListReport.make(host: try HostContext(root: host.path, pciIDs: Fixtures.pciIDs), scope: .nvidia)
            .devices.map(\.function.address.description)
    }

    @Test func findsTheGPUsOfEveryDomain() throws {
        let host = try twoDomainHost()
        #expect(try nvidiaAddresses(host) == ["0000:01:00.0", "0001:01:00.0"])
    }

    @Test func aSameSlotInAnotherDomainIsCheckedNotTrusted() throws {
        let host = try twoDomainHost()
        // 0001:02:00.0 shares bus/devfn 02:00.0 with nothing NVIDIA; make the inventory claim an
        // NVIDIA function at 02:00.0 (as another domain's could be): the NICs there are read and left out.
        let inventory = try String(contentsOf: host.root.appendingPathComponent("proc/bus/pci/devices"), encoding: .utf8)
        try host.write("proc/bus/pci/devices", inventory.replacingOccurrences(of: "0200\t15b3101d", with: "0200\t10de1eb8"))
        #expect(try nvidiaAddresses(host) == ["0000:01:00.0", "0001:01:00.0"])
    }

    @Test(arguments: ["stale", "garbled", "missing"])
    func anInventoryThatDisagreesWithSysfsIsNotUsed(kind: String) throws {
        let host = try twoDomainHost()
        switch kind {
        case "stale":   // one line short, and that line the GPU's: the count gives it away
            let inventory = try String(contentsOf: host.root.appendingPathComponent("proc/bus/pci/devices"), encoding: .utf8)
            try host.write("proc/bus/pci/devices", inventory.split(separator: "\n").filter { !$0.hasPrefix("0100\t10de") }.joined(separator: "\n"))
        case "garbled": try host.write("proc/bus/pci/devices", "not an inventory\n\n\n\n")
        default: try FileManager.default.removeItem(at: host.root.appendingPathComponent("proc/bus/pci/devices"))
        }
        #expect(try nvidiaAddresses(host) == ["0000:01:00.0", "0001:01:00.0"])
    }

    @Test func aConsistentInventoryIsTrusted() throws {
        // The point of it: functions it lists as another vendor's are never opened. Here it
        // disagrees with the GPU's own files, and (being consistent in count) wins.
        let host = try twoDomainHost()
        let inventory = try String(contentsOf: host.root.appendingPathComponent("proc/bus/pci/devices"), encoding: .utf8)
        try host.write("proc/bus/pci/devices", inventory.replacingOccurrences(of: "0100\t10de1eb8", with: "0100\t15b31eb8"))
        #expect(try nvidiaAddresses(host) == [])
        // --all never uses it.
        let all = try ListReport.make(host: try HostContext(root: host.path, pciIDs: Fixtures.pciIDs), scope: .all)
        #expect(all.devices.filter { $0.function.isNVIDIA }.count == 2)
    }
}

/// Discovery reads a function's ids, class, subsystem and modalias from its one `uevent` file,
/// and from the attribute files when a tree has none: both must say the same.
@Suite struct UeventTests {
    @Test func uEventAndAttributesAgree() throws {
        let host = try Fixtures.scratch("uevent")
        let functions = [
            FakeFunction("0000:01:00.0", vendor: 0x10de, device: 0x1e84, classCode: 0x030000, subsystem: (0x1462, 0x3734), driver: "nvidia", group: 1),
            FakeFunction("0000:01:00.1", vendor: 0x10de, device: 0x10f8, classCode: 0x040300, subsystem: (0x1462, 0x3734), driver: "snd_hda_intel", group: 1),
            FakeFunction("0000:02:00.0", vendor: 0x8086, device: 0x1539, classCode: 0x020000, driver: nil, group: 2),
        ]
        for function in functions { try host.add(function) }
        let context = { try HostContext(root: host.path, pciIDs: Fixtures.pciIDs) }
        let withUevent = JSONOutput.render(try ListReport.make(host: try context(), scope: .all))
        for function in functions { try host.setAttribute(function.address, "uevent", nil) }
        let withoutUevent = JSONOutput.render(try ListReport.make(host: try context(), scope: .all))
        #expect(withUevent == withoutUevent)
        #expect(withUevent.contains("\"subsystemVendorId\": \"1462\"") && withUevent.contains("\"classCode\": \"040300\""))
    }
}
