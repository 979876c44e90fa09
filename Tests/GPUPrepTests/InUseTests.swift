import Foundation
import GPUPrepCore
import GPUPrepSystem
import HostFixtures
import Testing

/// The capacity of each physical GPU, on layouts from real captures: an A2 half full of mixed
/// series, a T4, an L40S on NVIDIA's per-VF interface, and empty V100 and RTX 6000 cards.
@Suite struct CapacityTests {
    func capacity(_ host: String) throws -> [VGPUCapacity] {
        try TypesReport.make(host: try context(host), parent: nil, availableOnly: false).capacity
    }

    func entry(_ list: [VGPUCapacity], _ gpu: String, _ id: String) throws -> VGPUCapacity {
        try #require(list.first { $0.gpu == gpu && $0.id == id })
    }

    @Test func anA2HoldingThreeFourGBvGPUsTakesExactlyOneMore() throws {
        let list = try capacity("vgpu-a2-t4-busy")
        // 13 free VFs each say available_instances=1 for every 4 GB type: one GPU, one more fits.
        for id in ["nvidia-746", "nvidia-751", "nvidia-754"] {
            let e = try entry(list, "0000:08:00.0", id)
            #expect(e.creatable == 1 && e.limitedBy == .framebuffer && e.parents.count == 13, "\(id): \(e)")
            #expect(e.reason == "12 GB of 16 GB in use by 3 vGPUs")
        }
        // Every other size is ruled out by equal-size mode, not by memory (a 1 GB one would fit).
        for id in ["nvidia-742", "nvidia-744", "nvidia-747", "nvidia-748", "nvidia-753", "nvidia-756"] {
            let e = try entry(list, "0000:08:00.0", id)
            #expect(e.creatable == 0 && e.limitedBy == .mode && e.parents.isEmpty, "\(id): \(e)")
        }
        #expect(list.filter { $0.gpu == "0000:08:00.0" }.count == 15)     // one entry per type, not per VF
        let t4 = try entry(list, "0000:3b:00.0", "nvidia-231")
        #expect(t4.creatable == 6 && t4.limitedBy == .framebuffer && t4.reason == "4 GB of 16 GB in use by 2 vGPUs")
        #expect(try entry(list, "0000:3b:00.0", "nvidia-234").limitedBy == .mode)
    }

    @Test func emptyCardsHoldWhatTheirFramebufferAllows() throws {
        let list = try capacity("vgpu-mdev")
        let v100 = try entry(list, "0000:c1:00.0", "nvidia-107")           // GRID V100-4Q on 16 GB
        #expect(v100.creatable == 4 && v100.limitedBy == .framebuffer && v100.framebufferMiB == 4096)
        #expect(try entry(list, "0000:41:00.0", "nvidia-256").creatable == 24)   // RTX6000-1Q on 24 GB
    }

    @Test func perVFCardsCountFromTheirModelsTotal() throws {
        let list = try capacity("vgpu-l40s-sriov")
        // 26:00.0 runs one 24Q of 48 GB (the 48Q of the empty card c1:00.0, same model, says 48 GB).
        let busy = try entry(list, "0000:26:00.0", "nvidia-1155")
        #expect(busy.creatable == 1 && busy.limitedBy == .framebuffer && busy.parents == ["0000:26:00.4", "0000:26:00.6", "0000:26:00.7"])
        // Types its own VFs no longer list are still named, with why.
        let small = try entry(list, "0000:26:00.0", "nvidia-1150")
        #expect(small.creatable == 0 && small.limitedBy == .mode)
        // The empty card has one VF: one of anything, whatever its memory allows.
        let fresh = try entry(list, "0000:c1:00.0", "nvidia-1147")
        #expect(fresh.creatable == 1 && fresh.limitedBy == .parents && fresh.reason == "only 1 free VF lists it (the framebuffer has room for 48)")
        // A card with SR-IOV off offers nothing yet, and asked about, says how to turn its VFs on.
        #expect(!list.contains { $0.gpu == "0000:a1:00.0" })
        #expect { try TypesReport.make(host: try context("vgpu-l40s-sriov"), parent: "0000:a1:00.0", availableOnly: false) } throws: {
            ($0 as? GPUPrepError)?.message.contains("'gpuprep sriov enable 0000:a1:00.0'") == true
        }
        // A GPU as parent: its VFs' types and its own capacity.
        let one = try TypesReport.make(host: try context("vgpu-l40s-sriov"), parent: "0000:26:00.0", availableOnly: true)
        #expect(Set(one.types.map(\.parent)) == ["0000:26:00.4", "0000:26:00.6", "0000:26:00.7"] && one.capacity.map(\.id) == ["nvidia-1155"])
    }

    @Test func anUnknowableFigureIsSaidToBeUnknown() throws {
        let (host, kernel) = try vgpuHost("vgpu-l40s-sriov")
        // The only empty card takes a vGPU: no card of the model shows its whole framebuffer any more.
        _ = try apply(try VGPUPlanner(host: try HostContext(root: host.path)).planCreate(type: "nvidia-1152", parent: "0000:c1:00.4",
                                                                                        count: 1, uuid: nil).0, host, kernel)
        // gpuprep saw the empty card list its types when it made that vGPU, and recorded the whole card's size.
        let known = try entry(try TypesReport.make(host: try HostContext(root: host.path), parent: nil, availableOnly: false).capacity, "0000:26:00.0", "nvidia-1155")
        #expect(known.creatable == 1 && known.limitedBy == .framebuffer && known.reason == "24 GB of 48 GB in use by 1 vGPU")
        // A host where gpuprep never saw an empty card (no record, no NVIDIA catalogue): unknown, and said so.
        try FileManager.default.removeItem(at: host.root.appendingPathComponent("var/lib/gpuprep/vgpu-types"))
        let list = try TypesReport.make(host: try HostContext(root: host.path), parent: nil, availableOnly: false).capacity
        let e = try entry(list, "0000:26:00.0", "nvidia-1155")
        #expect(e.creatable == nil && e.limitedBy == nil && e.reason?.hasPrefix("between 1 and 3") == true)
        // Planning within the kernel's count still works, and says what is not known.
        let (plan, _) = try VGPUPlanner(host: try HostContext(root: host.path)).planCreate(type: "nvidia-1155", parent: nil, count: 2, uuid: nil)
        #expect(plan.warnings.first?.contains("is not known") == true)
        #expect(throws: GPUPrepError.self) { try VGPUPlanner(host: try HostContext(root: host.path)).planCreate(type: "nvidia-1155", parent: nil, count: 4, uuid: nil) }
    }

    @Test func aKernelOfferingAnotherSizeMeansMixedSizeMode() throws {
        let (host, _) = try vgpuHost("vgpu-a2-t4-busy")
        // The kernel offers T4-4Q beside two T4-2Q: the GPU is in mixed-size mode, memory decides.
        try host.write("sys/class/mdev_bus/0000:3b:00.0/mdev_supported_types/nvidia-232/available_instances", "3")
        let list = try TypesReport.make(host: try HostContext(root: host.path), parent: nil, availableOnly: false).capacity
        let q4 = try entry(list, "0000:3b:00.0", "nvidia-232")
        #expect(q4.creatable == 3 && q4.limitedBy == .framebuffer)
        #expect(try entry(list, "0000:3b:00.0", "nvidia-230").limitedBy != .mode)
    }

    @Test func framebufferSizesFromNamesFollowNVIDIAsNaming() {
        #expect(VGPUCapacityModel.framebufferMiB(name: "NVIDIA L40S-24Q") == 24 * 1024)
        #expect(VGPUCapacityModel.framebufferMiB(name: "GRID T4-1B") == 1024)
        #expect(VGPUCapacityModel.framebufferMiB(name: "NVIDIA A100-1-5C") == nil)     // MIG-backed: slices, not a size
        #expect(VGPUCapacityModel.framebufferMiB(name: "GRID V100-2B4") == nil)
        #expect(VGPUCapacityModel.framebufferMiB(name: "mtty-2") == nil)
        #expect(VGPUCapacityModel.framebufferMiB(name: "NVIDIA L40S-Q") == nil)
    }

    @Test func availableOnlyKeepsWhatTheGPUCanTake() throws {
        let report = try TypesReport.make(host: try context("vgpu-a2-t4-busy"), parent: "0000:08:00.0", availableOnly: true)
        // 13 VFs x 3 types, not 13 x 15; and the GPU's three 4 GB types once each.
        #expect(report.types.count == 39 && Set(report.types.map(\.id)) == ["nvidia-746", "nvidia-751", "nvidia-754"])
        #expect(report.capacity.map(\.id) == ["nvidia-746", "nvidia-751", "nvidia-754"])
        let text = VGPUText.types(report, style: TextStyle(color: false))
        #expect(text.contains("nvidia-746  NVIDIA A2-4Q  mdev       4 GB         1     13 (0000:08:00.7, ...)  framebuffer: 12 GB of 16 GB in use by 3 vGPUs"))
    }
}

/// Placement within capacity: over-asks refused with the true number, spread and pack.
@Suite struct PlacementTests {
    func planner(_ host: FakeHost) throws -> VGPUPlanner { VGPUPlanner(host: try HostContext(root: host.path)) }

    @Test func anOverAskOnTheA2IsRefusedWithTheTrueNumber() throws {
        let (host, kernel) = try vgpuHost("vgpu-a2-t4-busy")
        #expect { try self.planner(host).planCreate(type: "NVIDIA A2-4Q", parent: nil, count: 5, uuid: nil) } throws: {
            let e = $0 as? GPUPrepError
            return e?.code == .refused && e?.message.contains("only 1 more 'NVIDIA A2-4Q' fits") == true && e?.message.contains("asked for 5") == true
        }
        // An 8 GB type cannot join 4 GB ones.
        #expect { try self.planner(host).planCreate(type: "nvidia-747", parent: nil, count: 1, uuid: nil) } throws: {
            ($0 as? GPUPrepError)?.message.contains("equal-size") == true
        }
        // One fits; then the card is full, whatever its free VFs still say.
        let (plan, made) = try planner(host).planCreate(type: "A2-4Q", parent: nil, count: 1, uuid: nil)    // NVIDIA's name without the vendor
        #expect(made.map(\.parent) == ["0000:08:00.7"])
        #expect(try apply(plan, host, kernel).failure == nil)
        #expect { try self.planner(host).planCreate(type: "nvidia-754", parent: nil, count: 1, uuid: nil) } throws: {
            ($0 as? GPUPrepError)?.message.contains("only 0 more") == true && ($0 as? GPUPrepError)?.message.contains("16 GB of 16 GB in use") == true
        }
    }

    /// A second, empty T4 beside the one holding two T4-2Q.
    func twoT4s() throws -> FakeHost {
        let (host, _) = try vgpuHost("vgpu-a2-t4-busy")
        try host.add(FakeFunction("0000:5e:00.0", vendor: 0x10de, device: 0x1eb8, classCode: 0x030200, subsystem: (0x10de, 0x12a2),
                                  driver: "nvidia", group: 50, numa: 1))
        try host.addMdevTypes("0000:5e:00.0", [(230, 1), (231, 2), (232, 4)].map { id, gb in
            FakeMdevType(id: "nvidia-\(id)", name: "GRID T4-\(gb)Q",
                         description: "num_heads=4, frl_config=60, framebuffer=\(gb * 1024)M, max_resolution=7680x4320, max_instance=\(16 / gb)",
                         available: 16 / gb)
        })
        return host
    }

    @Test func spreadGoesWhereMostRoomIsAndPackFillsTheFullest() throws {
        let host = try twoT4s()
        let (_, spread) = try planner(host).planCreate(type: "GRID T4-2Q", parent: nil, count: 4, uuid: nil)
        #expect(spread.map(\.parent) == ["0000:5e:00.0", "0000:5e:00.0", "0000:3b:00.0", "0000:5e:00.0"])
        let (_, pack) = try planner(host).planCreate(type: "GRID T4-2Q", parent: nil, count: 4, uuid: nil, placement: .pack)
        #expect(pack.allSatisfy { $0.parent == "0000:3b:00.0" })
        // 6 + 8 fit in all; the refusal says so per GPU.
        #expect { try self.planner(host).planCreate(type: "GRID T4-2Q", parent: nil, count: 15, uuid: nil) } throws: {
            let m = ($0 as? GPUPrepError)?.message ?? ""
            return m.contains("only 14 more") && m.contains("0000:3b:00.0: 6") && m.contains("0000:5e:00.0: 8")
        }
    }

    @Test func aGPUAsParentPlacesOnItsVFs() throws {
        let (host, _) = try vgpuHost("vgpu-a2-t4-busy")
        let (_, made) = try planner(host).planCreate(type: "nvidia-751", parent: "0000:08:00.0", count: 1, uuid: nil)
        #expect(made.first?.parent == "0000:08:00.7")
    }

    @Test func anExistingUUIDIsANoOpThatSaysSo() throws {
        let host = Fixtures.host("vgpu-a2-t4-busy")
        let run = try Run.gpuprep(["create", "--root", host, "--type", "nvidia-746", "--uuid", "5f3a6c1e-2b7d-4e8a-9c10-3d2e1f0a4b51", "--json"])
        #expect(run.status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        #expect((json?["created"] as? [Any])?.isEmpty == true && (json?["notes"] as? [String])?.first?.contains("already exists") == true)
    }

    @Test func anNVIDIAVFIOCreateTheDriverIgnoresIsUndone() throws {
        let (host, kernel) = try vgpuHost("vgpu-l40s-sriov")
        kernel.vgpuTypeIgnored = true
        let (plan, _) = try planner(host).planCreate(type: "nvidia-1155", parent: "0000:26:00.6", count: 1, uuid: nil)
        let outcome = try apply(plan, host, kernel)
        #expect(outcome.failure?.message.contains("still lists types") == true)
        #expect(VGPUDiscovery(host: try HostContext(root: host.path)).currentType(PCIAddress("26:00.6")!) == 0)
    }
}

/// What depends on a device: bind, unbind, sriov and destroy refuse to destroy vGPUs or take
/// devices from the VMs that hold them; conflicts and vgpus say who holds what.
@Suite struct InUseTests {
    func refusal(_ body: () throws -> Any) -> String? {
        do { _ = try body(); return nil } catch let error as GPUPrepError { return error.code == .refused ? error.message : "code \(error.code)" } catch { return "\(error)" }
    }

    @Test func bindRefusesWhatCarriesVGPUsAndNamesEveryOne() throws {
        let planner = try BindPlanner(host: try context("vgpu-a2-t4-busy"))
        let driver = try DriverChoice("vfio-pci")
        // The A2 (through its VFs), a VF that is an mdev parent, and the T4: all reasons in one message.
        let message = try #require(refusal { try planner.planBind([PCIAddress("08:00.0")!, PCIAddress("08:00.5")!, PCIAddress("3b:00.0")!],
                                                                driver: driver, companions: true, force: false) })
        #expect(message.contains("0000:08:00.0 carries 3 vGPUs") && message.contains("0000:08:00.5 carries 1 vGPU")
                && message.contains("0000:3b:00.0 carries 2 vGPUs"))
        #expect(message.contains("qemu-system-x86 (pid 4242, VM render-01)") && message.contains("qemu-system-x86 (pid 5151, VM desk-07)"))
        // A free VF of the same card is no one's: it may go.
        #expect(try planner.planBind([PCIAddress("08:01.0")!], driver: driver, companions: true, force: false).devices.count == 1)
        let forced = try planner.planBind([PCIAddress("3b:00.0")!], driver: driver, companions: true, force: true)
        #expect(forced.warnings.contains { $0.hasPrefix("forced: 0000:3b:00.0 carries 2 vGPUs") } && forced.devices.count == 1)
    }

    @Test func anAdaPFWhoseVFRunsAPerVFvGPUIsRefused() throws {
        let planner = try BindPlanner(host: try context("vgpu-l40s-sriov"))
        let message = try #require(refusal { try planner.planBind([PCIAddress("26:00.0")!], driver: try DriverChoice("vfio-pci"), companions: true, force: false) })
        #expect(message.contains("0000:26:00.0 carries 1 vGPU: 0000:26:00.5 (NVIDIA L40S-24Q)"))
        #expect(refusal { try planner.planBind([PCIAddress("26:00.5")!], driver: try DriverChoice("vfio-pci"), companions: true, force: false) }?
                    .contains("0000:26:00.5 carries 1 vGPU") == true)
    }

    @Test func sriovRefusesToRemoveVFsThatCarryVGPUsOrAreAssigned() throws {
        let (host, _) = try vgpuHost("vgpu-a2-t4-busy")
        let a2 = PCIAddress("08:00.0")!
        let planner = SRIOVPlanner(host: try HostContext(root: host.path))
        #expect(refusal { try planner.planDisable(a2, force: false) }?.contains("removing its VFs destroys them") == true)
        // A new count goes through 0: the same refusal.
        #expect(refusal { try planner.planEnable(a2, count: 8) }?.contains("carries 3 vGPUs") == true)
        #expect(try planner.planDisable(a2, force: true).warnings.count == 1)
        // The T4 has no SR-IOV; its vGPUs are on the PF and do not stop a VF change of another card.
        #expect(refusal { try planner.planDisable(PCIAddress("3b:00.0")!, force: false) }?.contains("not SR-IOV capable") == true)
    }

    @Test func aVFGivenToAVMThroughVFIOIsNotRemoved() throws {
        let (host, _) = try vgpuHost("vgpu-l40s-sriov")
        try host.bind("0000:26:00.6", to: "vfio-pci", replacing: "nvidia")
        try host.addProcess(pid: 777, name: "qemu-system-x86", openFiles: ["/dev/vfio/34"], arguments: ["qemu-system-x86_64", "-name", "guest=train-3"])
        let message = try #require(refusal { try SRIOVPlanner(host: try HostContext(root: host.path)).planDisable(PCIAddress("26:00.0")!, force: false) })
        #expect(message.contains("0000:26:00.5 (NVIDIA L40S-24Q)"))
        #expect(message.contains("0000:26:00.6 (on vfio-pci, used by qemu-system-x86 (pid 777, VM train-3))"))
        // Unbinding the VF itself is refused while the VM holds it, naming the VM.
        let unbind = try #require(refusal { try BindPlanner(host: try HostContext(root: host.path)).planUnbind([PCIAddress("26:00.6")!], companions: false, force: false) })
        #expect(unbind.contains("/dev/vfio/34 is open by qemu-system-x86 (pid 777, VM train-3)"))
    }

    @Test func conflictsReportVGPUBlockers() throws {
        let analysis = try ConflictAnalysis.analyze(try context("vgpu-a2-t4-busy"), devices: [])
        let a2 = try #require(analysis.conflicts.first { $0.device.address.description == "0000:08:00.0" })
        #expect(a2.blockers.filter { $0.kind == .vgpu }.map { $0.address?.description } == ["0000:08:00.4", "0000:08:00.5", "0000:08:00.6"])
        let held = try #require(a2.blockers.first { $0.uuid?.uuidString.lowercased() == "7b5c8e3a-4d9f-4a0c-9e32-5f4a3b2c6d73" })
        #expect(held.process?.vm == "render-01" && held.reason.contains("VM render-01"))
        let t4 = try #require(analysis.conflicts.first { $0.device.address.description == "0000:3b:00.0" })
        #expect(t4.blockers.filter { $0.kind == .vgpu }.count == 2 && t4.blockers.allSatisfy { $0.address == nil })
        #expect(t4.nextStep?.contains("gpuprep destroy --all --parent 0000:3b:00.0") == true)
        // A VF that is an mdev parent is not "ready for a VM".
        let vf = try ConflictAnalysis.analyze(try context("vgpu-a2-t4-busy"), devices: [PCIAddress("08:00.4")!]).conflicts[0]
        #expect(vf.blockers.map(\.kind) == [.vgpu])
        // A free VF of the same card is.
        #expect(try ConflictAnalysis.analyze(try context("vgpu-a2-t4-busy"), devices: [PCIAddress("08:01.0")!]).conflicts[0].blockers.isEmpty)
    }

    @Test func vgpusNameTheirHoldersByGroupOrDeviceFile() throws {
        let vgpus = VGPUsReport.make(host: try context("vgpu-a2-t4-busy")).vgpus
        #expect(vgpus.map { $0.holders.map(\.described) } == [[], [], ["qemu-system-x86 (pid 4242, VM render-01)"],
                                                              ["qemu-system-x86 (pid 5151, VM desk-07)"], []])
    }

    @Test func destroyRefusesEveryVGPUInUseAtOnce() throws {
        let planner = VGPUPlanner(host: try context("vgpu-a2-t4-busy"))
        let message = try #require(refusal { try planner.planDestroy([], all: true, parent: nil, force: false) })
        #expect(message.contains("7b5c8e3a-4d9f-4a0c-9e32-5f4a3b2c6d73 is in use by qemu-system-x86 (pid 4242, VM render-01)")
                && message.contains("8c6d9f4b-5e0a-4b1d-8f43-6a5b4c3d7e84 is in use by qemu-system-x86 (pid 5151, VM desk-07)"))
        // The A2's free ones by its GPU address; a vGPU named twice is removed once.
        let (plan, targets) = try planner.planDestroy(["5f3a6c1e-2b7d-4e8a-9c10-3d2e1f0a4b51", "5F3A6C1E-2B7D-4E8A-9C10-3D2E1F0A4B51"],
                                                      all: false, parent: nil, force: false)
        #expect(targets.count == 1 && plan.actions.filter { $0.action == .write }.count == 1)
        #expect(refusal { try planner.planDestroy([], all: true, parent: "0000:08:00.0", force: false) }?.contains("render-01") == true)
    }

    @Test(arguments: [
        (["qemu-system-x86_64", "-name", "guest=win11,debug-threads=on"], "win11"),
        (["qemu-system-x86_64", "-name", "plain"], "plain"),
        (["qemu-system-x86_64", "-name", "guest=a,,b,debug-threads=on"], "a,b"),
        (["qemu-system-x86_64", "-machine", "q35"], nil),
        (["qemu-system-x86_64", "-name"], nil),
        (["sleep", "30"], nil),
    ] as [([String], String?)])
    func theVMNameComesFromQEMUsNameOption(arguments: [String], vm: String?) throws {
        let host = try Fixtures.scratch("vmname")
        try host.mkdir("sys/bus/pci/devices")
        try host.addProcess(pid: 9, name: "qemu", openFiles: ["/dev/vfio/7"], arguments: arguments)
        let files = OpenFiles.scan(try HostContext(root: host.path))
        #expect(files.groupHolders(7).map(\.vm) == [vm])
    }
}
