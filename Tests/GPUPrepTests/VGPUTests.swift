import Foundation
import GPUPrepCore
import GPUPrepSystem
import HostFixtures
import Testing

func vgpuHost(_ name: String) throws -> (FakeHost, SimulatedKernel) {
    let host = try Catalog.build(name, at: FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-vgpu-\(UUID().uuidString)"),
                                 data: Fixtures.data)
    return (host, SimulatedKernel(host: host, nativeDrivers: [:]))
}

@Suite struct VGPUTypeTests {
    @Test func mdevTypesFromTheRealLists() throws {
        let report = try TypesReport.make(host: try context("vgpu-mdev"), parent: nil, availableOnly: false)
        #expect(report.types.count == 4 + 17)
        let q4 = try #require(report.types.first { $0.id == "nvidia-107" })
        #expect(q4.name == "GRID V100-4Q" && q4.parent == "0000:c1:00.0" && q4.interface == .mdev && q4.availableInstances == 4)
        #expect(q4.properties == ["num_heads": "4", "frl_config": "60", "framebuffer": "4096M", "max_resolution": "7680x4320", "max_instance": "4"])
        let only = try TypesReport.make(host: try context("vgpu-mdev"), parent: "0000:41:00.0", availableOnly: false)
        #expect(only.types.map(\.id) == ["nvidia-256", "nvidia-257", "nvidia-258", "nvidia-259"])
        #expect(throws: GPUPrepError.self) { try TypesReport.make(host: try context("vgpu-mdev"), parent: "0000:99:00.0", availableOnly: false) }
    }

    @Test func nvidiaVFListsShrinkAndCount() throws {
        let types = try TypesReport.make(host: try context("vgpu-l40s-sriov"), parent: nil, availableOnly: false).types
        // The real capture: 23 types on the fresh card's VF; the busy VF lists none (header only).
        #expect(types.filter { $0.parent == "0000:c1:00.4" }.count == 23)
        #expect(types.filter { $0.parent == "0000:26:00.5" }.isEmpty)
        #expect(types.filter { $0.id == "nvidia-1155" }.map(\.parent) == ["0000:26:00.4", "0000:26:00.6", "0000:26:00.7", "0000:c1:00.4"])
        #expect(types.allSatisfy { $0.interface == .nvidiaVFIO && $0.id.hasPrefix("nvidia-") })
        // Four VFs list the 24Q, three of them free, but the 48 GB card that runs one has room for one more.
        let report = try TypesReport.make(host: try context("vgpu-l40s-sriov"), parent: nil, availableOnly: false)
        let text = VGPUText.types(report, style: TextStyle(color: false))
        #expect(text.contains("nvidia-1155  NVIDIA L40S-24Q  nvidia-vfio  24 GB        1     3 (0000:26:00.4, ...)  framebuffer: 24 GB of 48 GB in use by 1 vGPU"))
    }

    @Test func aRunningVGPUIsNamedFromAnotherVFsList() throws {
        let vgpus = VGPUsReport.make(host: try context("vgpu-l40s-sriov")).vgpus
        #expect(vgpus.count == 1)
        #expect(vgpus[0].address?.description == "0000:26:00.5" && vgpus[0].parent == "0000:26:00.0")
        #expect(vgpus[0].type == "nvidia-1155" && vgpus[0].typeName == "NVIDIA L40S-24Q" && vgpus[0].uuid == nil)
    }

    @Test(arguments: ["vgpu-mdev", "vgpu-l40s-sriov", "desktop-b550", "vgpu-a2-t4-busy"])
    func golden(host: String) throws {
        let types = try TypesReport.make(host: try context(host), parent: nil, availableOnly: false)
        try expectGolden(JSONOutput.render(types), "types/\(host).json")
        try expectGolden(VGPUText.types(types, style: TextStyle(color: false)).replacingOccurrences(of: Fixtures.host(host), with: "<root>"),
                         "types/\(host).txt")
        try expectGolden(JSONOutput.render(VGPUsReport.make(host: try context(host))), "vgpus/\(host).json")
    }
}

@Suite struct VGPUCreateTests {
    func planner(_ host: FakeHost) throws -> VGPUPlanner { VGPUPlanner(host: try HostContext(root: host.path)) }

    @Test func createAndDestroyMdevThroughTheKernel() throws {
        let (host, kernel) = try vgpuHost("vgpu-mdev")
        let (plan, planned) = try planner(host).planCreate(type: "GRID V100-4Q", parent: nil, count: 3, uuid: nil)
        #expect(planned.count == 3 && planned.allSatisfy { $0.parent == "0000:c1:00.0" && $0.type == "nvidia-107" })
        let outcome = try apply(plan, host, kernel)
        #expect(outcome.failure == nil)
        let vgpus = VGPUDiscovery(host: try HostContext(root: host.path)).instances()
        #expect(Set(vgpus.compactMap(\.uuid)) == Set(planned.compactMap(\.uuid)))
        #expect(vgpus.allSatisfy { $0.typeName == "GRID V100-4Q" && $0.parent == "0000:c1:00.0" })
        let (gone, _) = try planner(host).planDestroy([], all: true, parent: nil, force: false)
        #expect(try apply(gone, host, kernel).failure == nil)
        #expect(VGPUDiscovery(host: try HostContext(root: host.path)).instances().isEmpty)
        #expect(try TypesReport.make(host: try HostContext(root: host.path), parent: "0000:c1:00.0", availableOnly: false)
                    .types.first { $0.id == "nvidia-107" }?.availableInstances == 4)
    }

    @Test func overAskAndBadInputChangeNothing() throws {
        let (host, _) = try vgpuHost("vgpu-mdev")
        let p = try planner(host)
        #expect { try p.planCreate(type: "nvidia-109", parent: nil, count: 2, uuid: nil) } throws: {
            ($0 as? GPUPrepError)?.code == .refused && ($0 as? GPUPrepError)?.message.contains("only 1 more") == true
        }
        #expect { try p.planCreate(type: "GRID Z-1Q", parent: nil, count: 1, uuid: nil) } throws: { ($0 as? GPUPrepError)?.code == .unknownType }
        #expect { try p.planCreate(type: "nvidia-256", parent: "0000:c1:00.0", count: 1, uuid: nil) } throws: {
            ($0 as? GPUPrepError)?.message.contains("offered by 0000:41:00.0") == true
        }
        #expect { try p.planCreate(type: "nvidia-256", parent: nil, count: 2, uuid: UUID()) } throws: { ($0 as? GPUPrepError)?.code == .usage }
        #expect { try p.planCreate(type: "nvidia-256", parent: nil, count: 0, uuid: nil) } throws: { ($0 as? GPUPrepError)?.code == .usage }
        #expect { try p.planDestroy(["0000:99:00.0"], all: false, parent: nil, force: false) } throws: { ($0 as? GPUPrepError)?.code == .unknownDevice }
        #expect { try p.planDestroy(["nonsense"], all: false, parent: nil, force: false) } throws: { ($0 as? GPUPrepError)?.code == .usage }
    }

    /// Instance 3 of 4 fails at the kernel (EINVAL on create): the two made are destroyed.
    @Test func aFailurePartWayDestroysWhatWasMade() throws {
        let (host, kernel) = try vgpuHost("vgpu-mdev")
        let (plan, _) = try planner(host).planCreate(type: "nvidia-256", parent: nil, count: 4, uuid: nil)
        kernel.failingWrite = (3, EINVAL)
        let outcome = try apply(plan, host, kernel)
        #expect(outcome.failure?.code == .applyFailed)
        #expect(outcome.rollback.filter { $0.step.action == .write }.count == 2)
        #expect(VGPUDiscovery(host: try HostContext(root: host.path)).instances().isEmpty)
        #expect(try TypesReport.make(host: try HostContext(root: host.path), parent: "0000:41:00.0", availableOnly: false)
                    .types.first { $0.id == "nvidia-256" }?.availableInstances == 24)
    }

    @Test func aDeviceThatNeverAppearsIsReported() throws {
        let (host, kernel) = try vgpuHost("vgpu-mdev")
        kernel.mdevNeverAppears = true
        let (plan, _) = try planner(host).planCreate(type: "nvidia-256", parent: nil, count: 1, uuid: nil)
        let outcome = try apply(plan, host, kernel)
        #expect(outcome.failure?.message.contains("did not appear") == true)
    }

    @Test func aRemoveTheKernelRefusesIsMadeAgain() throws {
        let (host, kernel) = try vgpuHost("vgpu-mdev")
        _ = try apply(try planner(host).planCreate(type: "nvidia-256", parent: nil, count: 2, uuid: nil).0, host, kernel)
        let before = Set(VGPUDiscovery(host: try HostContext(root: host.path)).instances().compactMap(\.uuid))
        let (plan, _) = try planner(host).planDestroy([], all: true, parent: nil, force: false)
        kernel.failingWrite = (kernel.writes.count + 2, EBUSY)     // the second remove is refused
        let outcome = try apply(plan, host, kernel)
        #expect(outcome.failure?.code == .applyFailed)
        #expect(Set(VGPUDiscovery(host: try HostContext(root: host.path)).instances().compactMap(\.uuid)) == before)
    }

    @Test func nvidiaVFIOCreatePlacesOnTheEmptiestGPUAndDestroys() throws {
        let (host, kernel) = try vgpuHost("vgpu-l40s-sriov")
        // 26:00.0 (48 GB) runs one 24Q: one more fits there, and one on c1:00.0's only VF; not two on 26:00.0.
        let (plan, planned) = try planner(host).planCreate(type: "NVIDIA L40S-24Q", parent: nil, count: 2, uuid: nil)
        #expect(planned.map { $0.address?.description } == ["0000:26:00.4", "0000:c1:00.4"])
        #expect(try apply(plan, host, kernel).failure == nil)
        let vgpus = VGPUDiscovery(host: try HostContext(root: host.path)).instances()
        #expect(vgpus.map { $0.address?.description } == ["0000:26:00.4", "0000:26:00.5", "0000:c1:00.4"])
        // The driver's own answer: a VF that carries a vGPU lists no type.
        #expect(VGPUDiscovery(host: try HostContext(root: host.path)).creatable(PCIAddress("26:00.4")!).isEmpty)
        // The card is full: NVIDIA's driver empties every free VF's list too (the simulation does not).
        for vf in ["0000:26:00.6", "0000:26:00.7"] { try host.addNVIDIAVGPUFiles(vf, creatable: "ID    : vGPU Name\n", current: "0") }
        #expect { try self.planner(host).planCreate(type: "nvidia-1155", parent: "0000:26:00.0", count: 1, uuid: nil) } throws: {
            ($0 as? GPUPrepError)?.code == .refused && ($0 as? GPUPrepError)?.message.contains("only 0 more") == true
        }
        let (gone, _) = try planner(host).planDestroy(["26:00.4"], all: false, parent: nil, force: false)
        #expect(try apply(gone, host, kernel).failure == nil)
        #expect(VGPUDiscovery(host: try HostContext(root: host.path)).currentType(PCIAddress("26:00.4")!) == 0)
        #expect { try self.planner(host).planCreate(type: "nvidia-1155", parent: nil, count: 1, uuid: UUID()) } throws: {
            ($0 as? GPUPrepError)?.message.contains("no UUID") == true
        }
    }
}

@Suite struct SRIOVTests {
    @Test func enableVerifiesAndDisableGuardsVGPUs() throws {
        let (host, kernel) = try vgpuHost("vgpu-l40s-sriov")
        let planner = SRIOVPlanner(host: try HostContext(root: host.path))
        let a1 = PCIAddress("a1:00.0")!
        let enable = try planner.planEnable(a1, count: 8)
        #expect(enable.actions.map(\.shell) == ["echo 8 > /sys/bus/pci/devices/0000:a1:00.0/sriov_numvfs",
                                                 "check /sys/bus/pci/devices/0000:a1:00.0/sriov_numvfs reads 8",
                                                 "check /sys/bus/pci/devices/0000:a1:00.0/virtfn7 exists"])
        #expect(try apply(enable, host, kernel).failure == nil)
        #expect(try SRIOVPlanner(host: try HostContext(root: host.path)).planEnable(a1, count: 8).isEmpty)
        // A different count goes through 0, as the kernel requires.
        let more = try SRIOVPlanner(host: try HostContext(root: host.path)).planEnable(a1, count: nil)
        #expect(more.actions.filter { $0.action == .write }.map(\.value) == ["0", "32"])
        #expect(try apply(more, host, kernel).failure == nil)
        #expect(throws: GPUPrepError.self) { try planner.planEnable(a1, count: 33) }
        // 26:00.0's VF 26:00.5 runs a vGPU: disabling is refused, unless forced.
        #expect { try planner.planDisable(PCIAddress("26:00.0")!, force: false) } throws: {
            ($0 as? GPUPrepError)?.message.contains("0000:26:00.5") == true
        }
        #expect(try planner.planDisable(PCIAddress("26:00.0")!, force: true).warnings.count == 1)
        #expect { try planner.planEnable(PCIAddress("25:01.0")!, count: nil) } throws: { ($0 as? GPUPrepError)?.message.contains("not SR-IOV capable") == true }
    }

    @Test func aRefusedEnableIsReported() throws {
        let (host, kernel) = try vgpuHost("vgpu-l40s-sriov")
        kernel.failingWrite = (1, EINVAL)
        let outcome = try apply(try SRIOVPlanner(host: try HostContext(root: host.path)).planEnable(PCIAddress("a1:00.0")!, count: 4), host, kernel)
        #expect(outcome.failure?.code == .applyFailed && outcome.failure?.message.contains("Invalid argument") == true)
    }
}

@Suite struct VGPUPersistTests {
    func read(_ host: FakeHost, _ path: String) -> String? {
        try? String(contentsOf: host.root.appendingPathComponent(path), encoding: .utf8)
    }

    func layout(_ host: FakeHost) throws -> HostLayout? { try LayoutStore.load(root: try HostRoot(host.path)) }

    /// create --persist records the vGPU, with its UUID (VMs name an mdev by it), in the layout
    /// file the boot unit applies; destroy --persist takes it out again.
    @Test func createAndDestroyAreRecordedInTheLayout() throws {
        let (host, kernel) = try vgpuHost("vgpu-mdev")
        let uuid = UUID(uuidString: "8a4b5c6d-1e2f-4a3b-9c8d-7e6f5a4b3c2d")!
        let (plan, _) = try VGPUPlanner(host: try HostContext(root: host.path)).planCreate(type: "nvidia-256", parent: nil, count: 1, uuid: uuid, persist: true)
        #expect(try apply(plan, host, kernel).failure == nil)
        let recorded = try layout(host)?.vgpus
        #expect(recorded == [HostLayout.VGPUEntry(match: .init(address: PCIAddress("0000:41:00.0")), type: "GRID RTX6000-1Q",
                                                 count: .exactly(1), uuids: [uuid])], "\(String(describing: recorded))")
        // The same UUID again, persisted: nothing to do at all.
        #expect(try VGPUPlanner(host: try HostContext(root: host.path)).planCreate(type: "nvidia-256", parent: nil, count: 1, uuid: uuid, persist: true).0.isEmpty)
        // A second one of the type counts into the same entry.
        let (more, made) = try VGPUPlanner(host: try HostContext(root: host.path)).planCreate(type: "nvidia-256", parent: "0000:41:00.0", count: 1, uuid: nil, persist: true)
        #expect(try apply(more, host, kernel).failure == nil)
        #expect(try layout(host)?.vgpus.first?.uuids == [uuid, made[0].uuid!] && layout(host)?.vgpus.first?.count == .exactly(2))
        for gone in [uuid, made[0].uuid!] {
            let (plan, _) = try VGPUPlanner(host: try HostContext(root: host.path)).planDestroy([gone.uuidString], all: false, parent: nil, force: false, persist: true)
            #expect(try apply(plan, host, kernel).failure == nil)
        }
        #expect(try layout(host)?.vgpus == [])
    }

    @Test func nvidiaVFIOAndSRIOVAreRecorded() throws {
        let (host, kernel) = try vgpuHost("vgpu-l40s-sriov")
        _ = try apply(try SRIOVPlanner(host: try HostContext(root: host.path)).planEnable(PCIAddress("a1:00.0")!, count: 4, persist: true), host, kernel)
        let (plan, _) = try VGPUPlanner(host: try HostContext(root: host.path)).planCreate(type: "nvidia-1155", parent: "0000:26:00.4", count: 1, uuid: nil, persist: true)
        #expect(try apply(plan, host, kernel).failure == nil)
        let recorded = try #require(try layout(host))
        // a1:00.0's count as sriov recorded it; 26:00.0's 4 VFs too, since its vGPUs live on them.
        #expect(recorded.sriov.map(\.vfs) == [.exactly(4), .exactly(4)]
                && recorded.sriov.map { $0.match.address?.description } == ["0000:a1:00.0", "0000:26:00.0"])
        // The 24Q already running on the card is counted in, so the entry holds the GPU's two.
        #expect(recorded.vgpus.map(\.type) == ["NVIDIA L40S-24Q"] && recorded.vgpus.first?.count == .exactly(2))
        #expect(read(host, "etc/udev/rules.d/62-gpuprep-vgpu.rules") == nil)
        let (gone, _) = try VGPUPlanner(host: try HostContext(root: host.path)).planDestroy(["26:00.4"], all: false, parent: nil, force: false, persist: true)
        #expect(try apply(gone, host, kernel).failure == nil)
        _ = try apply(try SRIOVPlanner(host: try HostContext(root: host.path)).planDisable(PCIAddress("a1:00.0")!, force: false, persist: true), host, kernel)
        #expect(try layout(host)?.sriov.map { $0.match.address?.description } == ["0000:26:00.0"] && layout(host)?.vgpus.first?.count == .exactly(1))
    }

    /// What --persist wrote before the layout file (udev rules, mdevctl definitions) is read into
    /// it the first time it is written, and the vGPU rules it replaces are removed.
    @Test func earlierPersistenceIsMigrated() throws {
        let (host, kernel) = try vgpuHost("vgpu-l40s-sriov")
        try host.write("etc/udev/rules.d/62-gpuprep-vgpu.rules", """
        # Managed by gpuprep (create/destroy/sriov --persist)
        ACTION=="bind", SUBSYSTEM=="pci", KERNEL=="0000:26:00.0", DRIVER=="nvidia", ATTR{sriov_numvfs}="4"
        ACTION=="bind", SUBSYSTEM=="pci", KERNEL=="0000:26:00.5", DRIVER=="nvidia", ATTR{nvidia/current_vgpu_type}="1155"

        """)
        try host.write("etc/mdevctl.d/mtty/0b5e0b5e-0000-4000-8000-000000000001", "{\n  \"mdev_type\": \"mtty-2\",\n  \"start\": \"auto\"\n}\n")
        // A definition on a VF that is not there now (its GPU's VFs are off): its GPU is not known.
        try host.write("etc/mdevctl.d/0000:26:01.7/1c5e1c5e-0000-4000-8000-000000000002", "{\"mdev_type\": \"nvidia-1155\", \"start\": \"auto\", \"attrs\": []}\n")
        try host.write("etc/udev/rules.d/61-gpuprep-vfio.rules", "# gpuprep-device address=0000:c1:00.4 driver=vfio-pci module=vfio_pci host=nvidia\n")
        let plan = try SRIOVPlanner(host: try HostContext(root: host.path)).planEnable(PCIAddress("a1:00.0")!, count: 2, persist: true)
        #expect(try apply(plan, host, kernel).failure == nil)
        let recorded = try #require(try layout(host))
        #expect(recorded.passthrough.map(\.match.address?.description) == ["0000:c1:00.4"] && recorded.passthrough[0].companions == false)
        #expect(recorded.sriov.map { "\($0.match.address!) \($0.vfs)" } == ["0000:26:00.0 4", "0000:a1:00.0 2"])
        #expect(recorded.vgpus == [
            HostLayout.VGPUEntry(match: .init(address: PCIAddress("0000:26:00.0")), type: "nvidia-1155", count: .exactly(1)),
            HostLayout.VGPUEntry(match: .init(parent: "mtty"), type: "mtty-2", count: .exactly(1),
                                 uuids: [UUID(uuidString: "0b5e0b5e-0000-4000-8000-000000000001")!]),
        ])
        #expect(read(host, "etc/udev/rules.d/62-gpuprep-vgpu.rules") == nil)
        // From now on the boot unit makes them: mdevctl keeps its definitions, made manual, so
        // that it does not make them too (nor again one that destroy --persist removes).
        #expect(read(host, "etc/mdevctl.d/mtty/0b5e0b5e-0000-4000-8000-000000000001") == "{\n  \"mdev_type\": \"mtty-2\",\n  \"start\": \"manual\"\n}\n")
        #expect(read(host, "etc/mdevctl.d/0000:26:01.7/1c5e1c5e-0000-4000-8000-000000000002") == "{\"mdev_type\": \"nvidia-1155\", \"start\": \"manual\", \"attrs\": []}\n")
    }

    /// A file an admin wrote (comments, formatting) is not rewritten: the change is refused whole.
    @Test func aHandWrittenLayoutIsNotRewritten() throws {
        let (host, kernel) = try vgpuHost("vgpu-l40s-sriov")
        let mine = "# mine\nversion: 1\nsriov: [{match: {address: 26:00.0}, vfs: 4}]\n"
        try host.write("etc/gpuprep/gpuprep.yaml", mine)
        let error = #expect(throws: GPUPrepError.self) {
            try SRIOVPlanner(host: try HostContext(root: host.path)).planEnable(PCIAddress("a1:00.0")!, count: 2, persist: true)
        }
        #expect(error?.code == .refused && error?.message.contains("has comments or formatting that rewriting it would lose") == true)
        #expect(read(host, "etc/gpuprep/gpuprep.yaml") == mine && kernel.writes.isEmpty)
    }

    @Test(arguments: ["", "KERNEL==\"../x\", ATTR{sriov_numvfs}=\"4\"", "KERNEL==\"0000:01:00.0\", ATTR{../../x}=\"1\"",
                      "KERNEL==\"0000:01:00.0\", ATTR{sriov_numvfs}=\"4; rm -rf /\""])
    func hostileRulesAreIgnored(text: String) {
        #expect(LegacyVGPUPersistence.parseRules(text).isEmpty)
    }
}
