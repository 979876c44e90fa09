import Foundation
import GPUPrepCore
import GPUPrepSystem
import HostFixtures
import Testing

/// vGPU 17+ (NVIDIA's per-VF interface) from creation to reboot, on the simulated kernel acting
/// out NVIDIA's driver (SimulatedNVIDIA): lists that shrink as a card fills, VFs made and removed,
/// types that come late, and reboots that take every VF and vGPU away.
@Suite struct VGPULifecycleTests {
    /// The L40S sample host, its cards acted out as NVIDIA's driver does: 26:00.0 with 4 VFs
    /// (one running a 24Q), a1:00.0 with SR-IOV off, c1:00.0 with one free VF.
    func l40sHost() throws -> (FakeHost, SimulatedKernel) {
        let (host, kernel) = try vgpuHost("vgpu-l40s-sriov")
        kernel.nvidiaCard = try .l40s()
        for pf in ["0000:26:00.0", "0000:c1:00.0"] { try kernel.relist(pf, card: kernel.nvidiaCard!) }
        return (host, kernel)
    }

    func listed(_ host: FakeHost, _ vf: String) -> [Int] {
        VGPUDiscovery.creatableTypes((try? String(contentsOf: host.root.appendingPathComponent(host.devicePath(vf) + "/nvidia/creatable_vgpu_types"),
                                                  encoding: .utf8)) ?? "").map(\.id)
    }

    func running(_ host: FakeHost, on gpu: String) throws -> [String?] {
        GPUHoldings.read(try HostContext(root: host.path)).vgpus.filter { $0.parent == gpu }.map(\.typeName)
    }

    /// `apply` through the library on the simulated kernel, as the command and the boot unit run it.
    func run(_ layout: HostLayout, _ host: FakeHost, _ kernel: SimulatedKernel, persist: Bool = false, boot: Bool = false,
             check: Bool = false, dryRun: Bool = false, file: (String, String)? = nil, profile: String? = nil,
             wait: Int = 20, onOpen: ((Int) throws -> Void)? = nil) throws(GPUPrepError) -> ApplyReport {
        let root = host.path
        var opens = 0
        var session = ChangeSession(command: "apply", dryRun: dryRun || check) { () throws(GPUPrepError) in
            opens += 1
            do { try onOpen?(opens) } catch { throw GPUPrepError(.system, "\(error)") }
            return try HostContext(root: root)
        }
        session.writer = { _ in kernel }
        var planner = ApplyPlanner(layout: layout, persist: persist)
        planner.persistedFile = file
        planner.profile = profile
        var run = ApplyRun(planner: planner, session: session)
        run.check = check
        run.boot = boot
        run.waitSeconds = wait
        return try run.run()
    }

    /// What the host's own file says, applied as the boot unit does.
    func boot(_ host: FakeHost, _ kernel: SimulatedKernel, profile: String? = nil, wait: Int = 20,
              onOpen: ((Int) throws -> Void)? = nil) throws -> ApplyReport {
        let layout = try #require(try LayoutStore.load(root: try HostRoot(host.path))).choosing(profile: profile)
        return try run(layout, host, kernel, boot: true, wait: wait, onOpen: onOpen)
    }

    // MARK: names on a full host

    /// Once no VF of the host lists L40S-24Q, the layout that names it still matches: the name
    /// comes from what gpuprep recorded when it made the vGPU, or from NVIDIA's catalogue.
    @Test func aFullHostIsMatchedByName() throws {
        let (host, kernel) = try l40sHost()
        defer { try? FileManager.default.removeItem(at: host.root) }
        // The one free VF of the other card takes a whole-card vGPU (by hand, not by gpuprep).
        try kernel.write(HostPath.sysBusPCIDevices.child("0000:c1:00.4", "nvidia", "current_vgpu_type"), "1156")
        let text = "version: 1\nvgpus:\n  - match: {gpu: \"0000:26:00.0\"}\n    type: L40S-24Q\n    count: 2\n"
        let made = try applyLayout(text, on: host, kernel)
        #expect(made.failure == nil && made.created.count == 1)
        // Every VF of the host now lists only its header.
        for vf in ["0000:26:00.4", "0000:26:00.5", "0000:26:00.6", "0000:26:00.7", "0000:c1:00.4"] { #expect(listed(host, vf) == [], "\(vf)") }
        #expect(try running(host, on: "0000:26:00.0") == ["NVIDIA L40S-24Q", "NVIDIA L40S-24Q"])
        let again = try applyLayout(text, on: host, kernel, check: true)
        #expect(!again.changed && again.refused.isEmpty, "\(again.refused)")
        // The full card: none more, said as such (its total is not known: gpuprep never saw an empty card).
        let full = try #require(GPUHoldings.read(try HostContext(root: host.path)).capacity.first { $0.gpu == "0000:26:00.0" && $0.id == "nvidia-1155" })
        #expect(full.name == "NVIDIA L40S-24Q" && full.creatable == 0 && full.limitedBy == .parents
                && full.reason == "no free VF lists it: the card is full, or its vGPUs leave no room of this size", "\(full)")

        // Without gpuprep's record, NVIDIA's catalogue names them (ids as the real one gives them).
        try FileManager.default.removeItem(at: host.root.appendingPathComponent("var/lib/gpuprep/vgpu-types"))
        #expect(try running(host, on: "0000:26:00.0") == [nil, nil], "no list, no record, no catalogue: the name is not known")
        try host.write("usr/share/nvidia/vgpu/vgpuConfig.xml", Self.catalogue)
        #expect(try running(host, on: "0000:26:00.0") == ["NVIDIA L40S-24Q", "NVIDIA L40S-24Q"])
        #expect(try !applyLayout(text, on: host, kernel, check: true).changed)
        // The catalogue also knows the card's total (its largest type): full is now a framebuffer figure.
        let known = try #require(GPUHoldings.read(try HostContext(root: host.path)).capacity.first { $0.gpu == "0000:26:00.0" && $0.id == "nvidia-1155" })
        #expect(known.creatable == 0 && known.limitedBy == .framebuffer && known.reason == "48 GB of 48 GB in use by 2 vGPUs", "\(known)")
    }

    /// An excerpt in the shape of NVIDIA's vgpuConfig.xml (element and attribute names as NVIDIA's
    /// vgpu-config generator reads them; the L40S device id and type ids are real, the
    /// framebuffer and subsystem values are made up for the test).
    static let catalogue = """
    <?xml version="1.0" encoding="UTF-8"?>
    <vgpuconfig>
      <version>1.0</version>
      <!-- types -->
      <vgpuType id="1155" name="NVIDIA L40S-24Q" class="Quadro">
        <devId vendorId="0x10DE" deviceId="0x26B9" subsystemVendorId="0x10DE" subsystemId="0x1882"/>
        <framebuffer>0x5F8000000</framebuffer>
        <numHeads>4</numHeads>
      </vgpuType>
      <vgpuType id="1156" name="NVIDIA L40S-48Q" class="Quadro">
        <devId vendorId="0x10DE" deviceId="0x26B9" subsystemVendorId="0x10DE" subsystemId="0x1883"/>
        <framebuffer>0xBF0000000</framebuffer>
      </vgpuType>
      <vgpuType id="1153" name="NVIDIA L40S-12Q" class="Quadro">
        <devId vendorId="0x10DE" deviceId="0x26B9" subsystemVendorId="0x10DE" subsystemId="0x1880"/>
        <framebuffer>0x2F8000000</framebuffer>
      </vgpuType>
      <pgpu>
        <devId vendorId="0x10DE" deviceId="0x26B9" subsystemVendorId="0x10DE" subsystemId="0x0"/>
        <supportedVgpu vgpuId="1153"><maxVgpus>4</maxVgpus></supportedVgpu>
        <supportedVgpu vgpuId="1155"><maxVgpus>2</maxVgpus><digest type="signature">AAAA</digest></supportedVgpu>
        <supportedVgpu vgpuId="1156"><maxVgpus>1</maxVgpus></supportedVgpu>
      </pgpu>
    </vgpuconfig>
    """

    @Test func nvidiasCatalogueIsRead() {
        let models = NVIDIAVGPUConfig.parse(Array(Self.catalogue.utf8))
        let l40s = models["10de:26b9"] ?? []
        #expect(l40s.map(\.id).sorted() == [1153, 1155, 1156])
        #expect(l40s.first { $0.id == 1155 } == VGPUCatalogue.Entry(id: 1155, name: "NVIDIA L40S-24Q", framebufferMiB: 24 * 1024, maxInstances: 2))
        // Not this shape: no types, no crash.
        #expect(NVIDIAVGPUConfig.parse(Array("<vgpuType id=\"x\" name=\"a\"".utf8)).isEmpty)
        #expect(NVIDIAVGPUConfig.parse(Array("not xml at all".utf8)).isEmpty)
    }

    // MARK: max

    /// With no empty card of the model left and nothing that tells a card's total, `max` cannot
    /// be known ahead: the dry run says so, and the run makes one at a time until the card lists
    /// the type no more, with no rollback.
    @Test func maxFillsACardOneAtATimeWhenItsTotalIsUnknown() throws {
        let (host, kernel) = try l40sHost()
        defer { try? FileManager.default.removeItem(at: host.root) }
        try kernel.write(HostPath.sysBusPCIDevices.child("0000:c1:00.4", "nvidia", "current_vgpu_type"), "1156")
        try kernel.enableAllVFs("0000:a1:00.0")
        let first = SimulatedKernel.vfAddress("0000:a1:00.0", 0)
        try kernel.write(HostPath.sysBusPCIDevices.child(first, "nvidia", "current_vgpu_type"), "1153")
        let file = try layout("version: 1\nvgpus:\n  - match: {gpu: \"0000:a1:00.0\"}\n    type: L40S-12Q\n    count: max\n")

        let preview = try run(file, host, kernel, dryRun: true)
        #expect(preview.created.count == 1 && preview.pending.contains { $0.contains("known only once they are made") }, "\(preview.pending)")
        let report = try run(file, host, kernel)
        #expect(report.failure == nil && report.outcome?.rollback.isEmpty == true, "\(String(describing: report.failure)) \(report.pending)")
        #expect(report.created.count == 3, "48 GB holds four 12 GB vGPUs, one was there: \(report.plan.warnings)")
        #expect(host.virtualFunctions(of: "0000:a1:00.0").allSatisfy { listed(host, $0).isEmpty })
        #expect(try !run(file, host, kernel, check: true).changed)
    }

    /// Where the card's total is known (an empty card of the model lists its whole-card type),
    /// `max` is planned whole, and the dry run and the run agree.
    @Test func maxOnAKnownCardIsPlannedWhole() throws {
        let (host, kernel) = try l40sHost()
        defer { try? FileManager.default.removeItem(at: host.root) }
        let file = try layout("version: 1\nsriov:\n  - match: {address: \"0000:a1:00.0\"}\n    vfs: 8\nvgpus:\n  - match: {gpu: \"0000:26:00.0\"}\n    type: L40S-24Q\n    count: max\n")
        let preview = try run(file, host, kernel, dryRun: true)
        #expect(preview.created.count == 1 && preview.pending.isEmpty)
        let report = try run(file, host, kernel)
        #expect(report.failure == nil && report.created.count == 1 && host.virtualFunctions(of: "0000:a1:00.0").count == 8)
    }

    // MARK: boot

    /// Every --persist comes back after a reboot: sriov, create (with the VFs its vGPUs live on,
    /// recorded though only create was asked), destroy.
    @Test func everyPersistComesBackAfterAReboot() throws {
        let (host, kernel) = try l40sHost()
        defer { try? FileManager.default.removeItem(at: host.root) }
        #expect(try apply(try SRIOVPlanner(host: try HostContext(root: host.path)).planEnable(PCIAddress("a1:00.0")!, count: 8, persist: true), host, kernel).failure == nil)
        let (twelves, _) = try VGPUPlanner(host: try HostContext(root: host.path)).planCreate(type: "L40S-12Q", parent: "0000:a1:00.0", count: 2, uuid: nil, persist: true)
        #expect(try apply(twelves, host, kernel).failure == nil)
        let (more, _) = try VGPUPlanner(host: try HostContext(root: host.path)).planCreate(type: "L40S-24Q", parent: "0000:26:00.0", count: 1, uuid: nil, persist: true)
        #expect(try apply(more, host, kernel).failure == nil)
        let (gone, _) = try VGPUPlanner(host: try HostContext(root: host.path)).planDestroy([SimulatedKernel.vfAddress("0000:a1:00.0", 1)], all: false,
                                                                                            parent: nil, force: false, persist: true)
        #expect(try apply(gone, host, kernel).failure == nil)
        let recorded = try #require(try LayoutStore.load(root: try HostRoot(host.path)))
        #expect(recorded.sriov.map { "\($0.match.address!) \($0.vfs)" } == ["0000:a1:00.0 8", "0000:26:00.0 4"])

        try kernel.reboot()
        #expect(host.virtualFunctions(of: "0000:26:00.0").isEmpty && host.virtualFunctions(of: "0000:a1:00.0").isEmpty)
        let report = try boot(host, kernel)
        #expect(report.failure == nil, "\(String(describing: report.failure))")
        #expect(host.virtualFunctions(of: "0000:26:00.0").count == 4 && host.virtualFunctions(of: "0000:a1:00.0").count == 8)
        #expect(try running(host, on: "0000:26:00.0") == ["NVIDIA L40S-24Q", "NVIDIA L40S-24Q"])
        #expect(try running(host, on: "0000:a1:00.0") == ["NVIDIA L40S-12Q"])
        #expect(try !boot(host, kernel).changed, "a second boot apply finds nothing to do")
    }

    /// `apply -f FILE --persist` makes FILE what the boot unit applies (with the profile chosen),
    /// and refuses to replace a host file an admin wrote.
    @Test func applyFilePersistIsWhatBootApplies() throws {
        let (host, kernel) = try l40sHost()
        defer { try? FileManager.default.removeItem(at: host.root) }
        let text = """
        # the site's layout
        version: 1
        sriov:
          - match: {address: "0000:a1:00.0"}
            vfs: 4
        profiles:
          small:
            vgpus:
              - match: {gpu: "0000:a1:00.0"}
                type: L40S-12Q
                count: 2
        """
        let file = try layout(text, source: "site.yaml").choosing(profile: "small")
        let report = try run(file, host, kernel, persist: true, file: (text, "site.yaml"), profile: "small")
        #expect(report.failure == nil && report.created.count == 2)
        let files = AtomicFile(root: try HostRoot(host.path))
        #expect(files.read(.layoutFile) == text)
        #expect(files.read(.applyUnit)?.contains("ExecStart=\(BootUnit.binary) apply --boot --wait 120 --profile small\n") == true)

        try kernel.reboot()
        #expect(try boot(host, kernel, profile: "small").failure == nil)
        #expect(try running(host, on: "0000:a1:00.0") == ["NVIDIA L40S-12Q", "NVIDIA L40S-12Q"])

        // A host file an admin wrote, saying something else: refused, nothing written.
        try host.write("etc/gpuprep/gpuprep.yaml", "# mine\nversion: 1\nsriov: [{match: {address: 26:00.0}, vfs: 4}]\n")
        let writes = kernel.writes.count
        let refused = #expect(throws: GPUPrepError.self) { try run(file, host, kernel, persist: true, file: (text, "site.yaml"), profile: "small") }
        #expect(refused?.code == .refused && refused?.message.contains("was written by hand") == true)
        #expect(kernel.writes.count == writes)
    }

    /// At boot the VFs may be enabled by another unit, and the types listed a moment later: both
    /// are waited for, bounded, whoever enables them.
    @Test func bootWaitsForLateVFsAndLateTypes() throws {
        let (host, kernel) = try l40sHost()
        defer { try? FileManager.default.removeItem(at: host.root) }
        try host.write("etc/gpuprep/gpuprep.yaml", LayoutWriter.render(try layout("version: 1\nvgpus:\n  - match: {gpu: \"0000:a1:00.0\"}\n    type: L40S-12Q\n    count: 2\n")))
        kernel.typesLateAtBoot = true
        try kernel.reboot()
        let started = Date()
        let report = try boot(host, kernel) { opens in
            if opens == 3 { try kernel.enableAllVFs("0000:a1:00.0") }   // nvidia-sriov.service, a second late
            if opens == 6 { try kernel.listTypes() }                     // the vGPU manager, later still
        }
        #expect(report.failure == nil && report.created.count == 2, "\(String(describing: report.failure))")
        #expect(Date().timeIntervalSince(started) < 15)
        // Nobody enables them: the wait ends at --wait, and the plan says what is missing.
        try kernel.reboot()
        let alone = try? boot(host, kernel, wait: 1)
        #expect(alone?.created.isEmpty ?? true)
    }

    // MARK: vgpu-device-manager files

    /// `devices: all` is the NVIDIA GPUs, VFs are enabled only where there are none, and a GPU
    /// a VM holds is refused with the VM's name, not reconfigured.
    @Test func deviceManagerFilesDoWhatTheDeviceManagerWould() throws {
        let (host, kernel) = try l40sHost()
        defer { try? FileManager.default.removeItem(at: host.root) }
        let file = try layout("version: v1\nvgpu-configs:\n  default:\n    - devices: all\n      vgpu-devices:\n        \"L40S-24Q\": 1\n")
            .choosing(profile: nil)
        // A fourth L40S, passed through whole to a running VM.
        var passed = FakeFunction("0000:e1:00.0", vendor: 0x10de, device: 0x26b9, classCode: 0x030200, subsystem: (0x10de, 0x1851),
                                  driver: "vfio-pci", group: 70, numa: 1)
        passed.sriovTotalVFs = 32
        try host.add(passed)
        try host.addProcess(pid: 7070, name: "qemu-system-x86", openFiles: ["/dev/vfio/vfio", "/dev/vfio/70"],
                            arguments: ["/usr/bin/qemu-system-x86_64", "-name", "guest=win11-cad,debug-threads=on"])
        let refused = #expect(throws: GPUPrepError.self) { try run(file, host, kernel) }
        #expect(refused?.code == .refused && refused?.message.contains("0000:e1:00.0 is on vfio-pci and in use by") == true
                && refused?.message.contains("win11-cad") == true, "\(String(describing: refused?.message))")
        #expect(kernel.writes.isEmpty)

        // The VM gone, the GPU passed through is left as it is; the others get what the file says.
        try FileManager.default.removeItem(at: host.root.appendingPathComponent("proc/7070"))
        let report = try run(file, host, kernel)
        #expect(report.failure == nil, "\(String(describing: report.failure))")
        #expect(report.plan.notes.contains { $0.contains("0000:e1:00.0 is on vfio-pci (passed through whole)") })
        #expect(host.virtualFunctions(of: "0000:a1:00.0").count == 32, "no VFs: enabled")
        #expect(host.virtualFunctions(of: "0000:26:00.0").count == 4, "4 VFs and a vGPU: kept, not redone")
        #expect(!kernel.writes.contains { $0.path.contains("0000:25:01.0") || $0.path.contains("0000:e1:00.0") })
        #expect(try running(host, on: "0000:a1:00.0") == ["NVIDIA L40S-24Q"])
    }

    // MARK: the single commands

    /// Binding a GPU with VFs says that they, and its vGPU capacity, go with it.
    @Test func bindingAPFSaysItsVFsGo() throws {
        let (host, _) = try l40sHost()
        defer { try? FileManager.default.removeItem(at: host.root) }
        let plan = try BindPlanner(host: try HostContext(root: host.path)).planBind([PCIAddress("c1:00.0")!], driver: try DriverChoice("vfio-pci"),
                                                                                  companions: true, force: false)
        #expect(plan.notes.contains { $0.hasPrefix("0000:c1:00.0's 1 VF goes with it: leaving nvidia disables SR-IOV") }, "\(plan.notes)")
    }

    /// sriov on a PF a VM holds through vfio-pci is refused, naming the VM.
    @Test func sriovRefusesAPFAVMHolds() throws {
        let (host, kernel) = try l40sHost()
        defer { try? FileManager.default.removeItem(at: host.root) }
        var passed = FakeFunction("0000:e1:00.0", vendor: 0x10de, device: 0x26b9, classCode: 0x030200, driver: "vfio-pci", group: 70)
        passed.sriovTotalVFs = 32
        try host.add(passed)
        try host.addProcess(pid: 7070, name: "qemu-system-x86", openFiles: ["/dev/vfio/70"], arguments: ["qemu-system-x86_64", "-name", "guest=cad"])
        let error = #expect(throws: GPUPrepError.self) { try SRIOVPlanner(host: try HostContext(root: host.path)).planEnable(PCIAddress("e1:00.0")!, count: nil) }
        #expect(error?.code == .refused && error?.message.contains("cad") == true)
        #expect(kernel.writes.isEmpty)
        // Nor is it advised: `types` says it is passed through, not "enable its VFs".
        let types = #expect(throws: GPUPrepError.self) { try TypesReport.make(host: try HostContext(root: host.path), parent: "0000:e1:00.0", availableOnly: false) }
        #expect(types?.message.contains("is on vfio-pci, passed through whole") == true && types?.message.contains("sriov enable") == false)
    }
}

/// The same, as a user runs the commands.
@Suite struct VGPULifecycleCLITests {
    /// `apply --check` on a layout the host cannot be taken to: a difference (exit 1), with the
    /// refusal in the JSON, not an error exit that monitoring would take for a broken check.
    @Test func checkReportsARefusalAsADifference() throws {
        let (host, _) = try vgpuHost("vgpu-l40s-sriov")
        defer { try? FileManager.default.removeItem(at: host.root) }
        let file = host.root.appendingPathComponent("three.yaml")
        try "version: 1\nvgpus:\n  - match: {gpu: \"0000:26:00.0\"}\n    type: L40S-24Q\n    count: 3\n".write(to: file, atomically: true, encoding: .utf8)
        let run = try Run.gpuprep(["apply", "--check", "--json", "-f", file.path, "--root", host.path])
        #expect(run.status == 1, "\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(report["changed"] as? Bool == true)
        #expect((report["refused"] as? [String])?.first?.contains("only 1 more 'NVIDIA L40S-24Q' fits") == true, "\(report["refused"] ?? "")")
        let text = try Run.gpuprep(["apply", "--check", "-f", file.path, "--root", host.path])
        #expect(text.status == 1 && text.stdout.contains("cannot be met: "))
    }

    @Test func parentsAreCheckedAndExplained() throws {
        let (host, _) = try vgpuHost("vgpu-l40s-sriov")
        defer { try? FileManager.default.removeItem(at: host.root) }
        let malformed = try Run.gpuprep(["create", "--type", "L40S-24Q", "--parent", "41:00.9", "--dry-run", "--root", host.path])
        #expect(malformed.status == 64 && malformed.stderr.contains("'41:00.9' is not a PCI address"), "\(malformed.stderr)")
        let busy = try Run.gpuprep(["types", "--parent", "0000:26:00.5", "--root", host.path])
        #expect(busy.status == 66 && busy.stderr.contains("carries the vGPU") && busy.stderr.contains("--parent 0000:26:00.0"), "\(busy.stderr)")
        // Every VF but the one of the other card busy: a GPU with no room is a refusal with why (65).
        let full = try Run.gpuprep(["create", "--type", "L40S-48Q", "--parent", "0000:26:00.0", "--dry-run", "--root", host.path])
        #expect(full.status == 65 && full.stderr.contains("only 0 more 'NVIDIA L40S-48Q' fit on 0000:26:00.0"), "\(full.stderr)")
    }
}
