import Foundation
import GPUPrepCore
import GPUPrepSystem
import HostFixtures
import Testing

/// dgx-a100-services, which runs as an HGX host does: nvidia-persistenced holds every GPU on nvidia,
/// Fabric Manager the NVSwitches, a QEMU the first GPU's group (see Catalog).
func hgxHost(_ label: String) throws -> FakeHost {
    try Catalog.build("dgx-a100-services", at: FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-hgx-\(label)-\(UUID().uuidString)"),
                      data: Fixtures.data)
}

/// desktop-b550 with GNOME on its host GPU: gnome-shell holds the GT 710's DRM nodes.
func gnomeDesktop(_ label: String) throws -> FakeHost {
    let host = try Catalog.build("desktop-b550", at: FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-gnome-\(label)-\(UUID().uuidString)"),
                                 data: Fixtures.data)
    for node in ["card0", "renderD128"] { try host.write(host.devicePath("0000:04:00.0") + "/drm/\(node)/dev", "226:0\n") }
    try host.addProcess(pid: 2100, name: "gnome-shell", openFiles: ["/dev/dri/card0", "/dev/dri/renderD128"],
                        cgroup: "0::/user.slice/user-1000.slice/session-2.scope")
    return host
}

func jsonObject(_ text: String) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
}

@Suite struct HolderAgreementTests {
    /// conflicts, check and bind name the same processes for the same GPU, in text and JSON.
    @Test(arguments: [("hgx", "0000:0f:00.0", 912, "nvidia-persiste"), ("gnome", "0000:04:00.0", 2100, "gnome-shell")])
    func everyCommandNamesTheSameHolder(_ kind: String, _ gpu: String, _ pid: Int, _ name: String) throws {
        let host = kind == "hgx" ? try hgxHost("agree") : try gnomeDesktop("agree")
        let conflicts = try Run.gpuprep(["conflicts", gpu, "--json", "--root", host.path])
        let entry = try #require((try jsonObject(conflicts.stdout)["conflicts"] as? [[String: Any]])?.first)
        let inUse = (entry["blockers"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "in-use" }
        #expect(!inUse.isEmpty && inUse.allSatisfy { ($0["process"] as? [String: Any])?["pid"] as? Int == pid }, "\(conflicts.stdout)")
        let holders = entry["holders"] as? [[String: Any]] ?? []
        #expect(!holders.isEmpty && holders.allSatisfy { $0["pid"] as? Int == pid && $0["process"] as? String == name }, "\(holders)")
        #expect(try validateSchema(conflicts.stdout, "conflicts.schema.json"))
        let text = try Run.gpuprep(["conflicts", gpu, "--root", host.path])
        #expect(text.stdout.contains("\(name) (pid \(pid)") && !text.stdout.contains("ready for a VM"), "\(text.stdout)")

        let check = try Run.gpuprep(["check", "--json", "--root", host.path])
        let findings = try jsonObject(check.stdout)["checks"] as? [[String: Any]] ?? []
        let held = findings.first { $0["id"] as? String == "gpu.in_use" && $0["device"] as? String == gpu }
        #expect(held?["status"] as? String == "warn" && (held?["summary"] as? String ?? "").contains("\(name) (pid \(pid)"), "\(String(describing: held))")

        let bind = try Run.gpuprep(["bind", gpu, "--dry-run", "--root", host.path])
        #expect(bind.status == 65 && bind.stderr.contains("\(name) (pid \(pid)"), "\(bind.stderr)")
    }

    func validateSchema(_ document: String, _ schema: String) throws -> Bool {
        let run = try SchemaTests().validate(document, against: schema)
        return run.status == 0
    }

    /// The NVSwitches are held by Fabric Manager: bind refuses them, naming it and --release.
    @Test func fabricManagerHoldsTheSwitches() throws {
        let host = try hgxHost("switches")
        let bind = try Run.gpuprep(["bind", "0000:c4:00.0", "--dry-run", "--root", host.path])
        #expect(bind.status == 65, "\(bind.stderr)")
        #expect(bind.stderr.contains("/dev/nvidia-nvswitch0 is open by nv-fabricmanage (pid 913, nvidia-fabricmanager.service)")
                && bind.stderr.contains("--release"), "\(bind.stderr)")
    }

    /// --release plans systemctl around the change, and the GPUs leaving their NVSwitches are warned of.
    @Test func releaseIsPlannedAroundTheChange() throws {
        let host = try hgxHost("release-plan")
        let run = try Run.gpuprep(["bind", "0000:0f:00.0", "0000:47:00.0", "--dry-run", "--release", "--json", "--root", host.path])
        #expect(run.status == 0, "\(run.stderr)")
        let report = try jsonObject(run.stdout)
        let steps = (report["steps"] as? [[String: Any]] ?? []).map { "\($0["action"] ?? "") \($0["value"] ?? "")" }
        #expect(steps.first == "run stop nvidia-persistenced.service" && steps.last == "run start nvidia-persistenced.service", "\(steps)")
        let releases = report["releases"] as? [[String: Any]] ?? []
        #expect(releases.map { $0["unit"] as? String } == ["nvidia-persistenced.service"])
        #expect((report["warnings"] as? [String] ?? []).contains { $0.contains("NVLink fabric") && $0.contains("full passthrough") }, "\(report["warnings"] ?? "")")
        let text = try Run.gpuprep(["bind", "0000:0f:00.0", "--dry-run", "--release", "--root", host.path])
        #expect(text.stdout.contains("1. /usr/bin/systemctl stop nvidia-persistenced.service"), "\(text.stdout)")
        #expect(try validateSchema(run.stdout, "change.schema.json"))
    }

    /// A VM is never released: --release does not let a change take what a VM holds.
    @Test func aVMIsNeverReleased() throws {
        let host = try hgxHost("vm")
        let run = try Run.gpuprep(["unbind", "0000:07:00.0", "--dry-run", "--release", "--release-display", "--root", host.path])
        #expect(run.status == 65 && run.stderr.contains("qemu-system-x86 (pid 4242)") && run.stderr.contains("stop the VM"), "\(run.stderr)")
    }

    /// The display server needs its own flag: --release leaves it, --release-display stops the display manager.
    @Test func theDisplayServerIsReleasedOnlyWhenAsked() throws {
        let (host, _) = try bindHost("display-release")
        let services = try Run.gpuprep(["bind", "0000:06:00.0", "--dry-run", "--release", "--root", host.path])
        #expect(services.status == 65 && services.stderr.contains("Xorg (pid 777)") && services.stderr.contains("--release-display"), "\(services.stderr)")
        let display = try Run.gpuprep(["bind", "0000:06:00.0", "--dry-run", "--release-display", "--root", host.path])
        #expect(display.status == 0 && display.stdout.contains("systemctl stop display-manager.service"), "\(display.stdout)\(display.stderr)")
    }

    /// A VF a VM holds goes back when that VM is shut down: the refusal names it, not 'unbind'.
    @Test func aVFHeldByAVMNamesTheVM() throws {
        let host = try Catalog.build("vgpu-l40s-sriov", at: FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-vf-vm-\(UUID().uuidString)"),
                                     data: Fixtures.data)
        try host.bind("0000:26:00.6", to: "vfio-pci", replacing: "nvidia")
        try host.addProcess(pid: 4343, name: "qemu-system-x86", openFiles: ["/dev/vfio/34"],
                            arguments: ["/usr/bin/qemu-system-x86_64", "-name", "guest=win11,debug-threads=on"])
        let disable = try Run.gpuprep(["sriov", "disable", "0000:26:00.0", "--dry-run", "--root", host.path])
        #expect(disable.status == 65 && disable.stderr.contains("shut VM win11 down") && !disable.stderr.contains("('gpuprep unbind')"), "\(disable.stderr)")
        let conflicts = try Run.gpuprep(["conflicts", "0000:26:00.6", "--root", host.path])
        #expect(conflicts.stdout.contains("VM win11"), "\(conflicts.stdout)")
    }
}

@Suite struct IOMMUOffTests {
    /// A host booted with the IOMMU off still has vfio's own groups for its mdev vGPUs: no IOMMU.
    @Test func mdevGroupsAreNotAnIOMMU() throws {
        let host = try Catalog.build("vgpu-a2-t4-busy", at: FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-iommu-off-\(UUID().uuidString)"),
                                     data: Fixtures.data)
        let fm = FileManager.default
        for name in try fm.contentsOfDirectory(atPath: host.root.appendingPathComponent("sys/bus/pci/devices").path) {
            try? fm.removeItem(atPath: host.root.appendingPathComponent(host.devicePath(name) + "/iommu_group").path)
        }
        try? fm.removeItem(at: host.root.appendingPathComponent("sys/class/iommu"))
        try host.setRunningCommandLine("BOOT_IMAGE=/boot/vmlinuz root=/dev/sda1 ro amd_iommu=off")
        let check = try Run.gpuprep(["check", "--json", "--root", host.path])
        let findings = try jsonObject(check.stdout)["checks"] as? [[String: Any]] ?? []
        let enabled = findings.first { $0["id"] as? String == "iommu.enabled" }
        #expect(enabled?["status"] as? String == "fail" && (enabled?["summary"] as? String ?? "").contains("vfio's own"), "\(String(describing: enabled))")
        let iommu = try Run.gpuprep(["iommu", "--json", "--root", host.path])
        #expect(try jsonObject(iommu.stdout)["enabled"] as? Bool == false, "\(iommu.stdout)")
        let text = try Run.gpuprep(["iommu", "--root", host.path])
        #expect(text.stdout.hasPrefix("The IOMMU is off") && text.stdout.contains("mdev vGPUs"), "\(text.stdout)")
    }
}

/// --release against the simulated kernel and systemd: bindHost's 06:00.0 is held by
/// nvidia-persistenced (/dev/nvidia1) and by Xorg (/dev/dri/card1) under the display manager.
@Suite struct ReleaseTests {
    func heldHost(_ label: String) throws -> (FakeHost, SimulatedKernel, ChangePlan) {
        let (host, kernel) = try bindHost(label)
        try host.write("proc/driver/nvidia/gpus/0000:06:00.0/information", "Device Minor: \t 1\n")
        try host.addProcess(pid: 912, name: "nvidia-persistenced", openFiles: ["/dev/nvidia1", "/dev/nvidiactl"],
                            cgroup: "0::/system.slice/nvidia-persistenced.service")
        try host.write("proc/777/cgroup", "0::/system.slice/display-manager.service\n")
        var planner = try BindPlanner(host: try HostContext(root: host.path))
        planner.release = ReleaseChoice(services: true, display: true)
        let plan = try planner.planBind([PCIAddress("0000:06:00.0")!], driver: .vfioPCI, companions: true, force: false)
        return (host, kernel, plan)
    }

    /// In the order their nodes are found: the DRM nodes first.
    var units: [String] { ["display-manager.service", "nvidia-persistenced.service"] }

    @Test func servicesAreStoppedForTheChangeAndStartedAfter() throws {
        let (host, kernel, plan) = try heldHost("release-ok")
        #expect(plan.releases.map(\.unit) == units)
        let outcome = try apply(plan, host, kernel)
        #expect(outcome.failure == nil, "\(String(describing: outcome.failure))")
        #expect(kernel.programs.map { $0.split(separator: " ").dropFirst().joined(separator: " ") }
                == units.map { "stop \($0)" } + units.reversed().map { "start \($0)" })
        #expect(host.driver(of: "0000:06:00.0") == "vfio-pci")
        #expect(host.exists("proc/912/fd") && host.exists("proc/777/fd"), "both services run again")
    }

    @Test func aFailedChangeStillStartsThemAgain() throws {
        let (host, kernel, plan) = try heldHost("release-fail")
        kernel.failingWrite = (index: 2, errno: EIO)     // the unbind from nvidia
        let outcome = try apply(plan, host, kernel)
        #expect(outcome.failure?.code == .applyFailed, "\(String(describing: outcome.failure))")
        #expect(kernel.programs.suffix(2).map { $0.hasSuffix("start display-manager.service") || $0.hasSuffix("start nvidia-persistenced.service") } == [true, true])
        #expect(host.driver(of: "0000:06:00.0") == "nvidia")
        #expect(host.exists("proc/912/fd") && host.exists("proc/777/fd"))
        #expect(outcome.rollback.contains { $0.step.value == "start nvidia-persistenced.service" && $0.done })
    }

    @Test func aServiceThatKeepsTheDeviceStopsTheChange() throws {
        let (host, kernel, plan) = try heldHost("release-held")
        kernel.stopLeavesProcesses = true
        var applier = Applier(writer: kernel, sysfs: Sysfs(root: try HostRoot(host.path)))
        applier.verifyTimeoutMilliseconds = 100
        let outcome = applier.apply(plan)
        #expect(outcome.failure?.code == .applyFailed
                && outcome.failure!.message.contains("/dev/dri/card1 is open by Xorg (pid 777, display-manager.service) still, after 'systemctl stop display-manager.service'")
                && outcome.failure!.message.contains("nothing had changed"), "\(String(describing: outcome.failure))")
        #expect(kernel.writes.isEmpty, "no device was touched")
        #expect(kernel.programs.map { $0.split(separator: " ").dropFirst().joined(separator: " ") }
                == ["stop display-manager.service", "start display-manager.service"], "the next service is not stopped; the first is started again")
    }

    /// apply --release: the same stop and start around a layout's changes, as one transaction.
    @Test func applyReleasesAroundItsChanges() throws {
        let (host, kernel, _) = try heldHost("release-apply")
        let root = host.path
        var session = ChangeSession(command: "apply", dryRun: false) { () throws(GPUPrepError) in try HostContext(root: root) }
        session.writer = { _ in kernel }
        var planner = ApplyPlanner(layout: try layout("version: 1\npassthrough:\n  - match: {address: \"0000:06:00.0\"}\n"))
        planner.release = ReleaseChoice(services: true, display: true)
        let report = try ApplyRun(planner: planner, session: session).run()
        #expect(report.outcome?.failure == nil, "\(String(describing: report.outcome?.failure))")
        #expect(kernel.programs.map { $0.split(separator: " ").dropFirst().joined(separator: " ") }
                == units.map { "stop \($0)" } + units.reversed().map { "start \($0)" })
        #expect(host.driver(of: "0000:06:00.0") == "vfio-pci" && host.exists("proc/912/fd") && host.exists("proc/777/fd"))
        // Without --release the same file is refused, naming both holders.
        let (held, heldKernel, _) = try heldHost("release-apply-refused")
        var plain = ChangeSession(command: "apply", dryRun: false) { () throws(GPUPrepError) in try HostContext(root: held.path) }
        plain.writer = { _ in heldKernel }
        #expect(throws: GPUPrepError.self) {
            _ = try ApplyRun(planner: ApplyPlanner(layout: try layout("version: 1\npassthrough:\n  - match: {address: \"0000:06:00.0\"}\n")), session: plain).run()
        }
        #expect(heldKernel.programs.isEmpty && held.driver(of: "0000:06:00.0") == "nvidia")
    }

    @Test func aServiceThatDoesNotStartAgainIsSaid() throws {
        let (host, kernel, plan) = try heldHost("release-nostart")
        kernel.systemctlFails = "start nvidia-persistenced.service"
        let outcome = try apply(plan, host, kernel)
        #expect(outcome.failure?.code == .rollbackFailed, "\(String(describing: outcome.failure))")
        #expect(outcome.failure?.message.contains("the change is done; nvidia-persistenced.service is stopped and could not be started again") == true
                && outcome.failure?.message.contains("'systemctl start nvidia-persistenced.service'") == true, "\(String(describing: outcome.failure))")
        #expect(host.driver(of: "0000:06:00.0") == "vfio-pci")
    }
}

@Suite struct HolderRoleTests {
    func role(_ name: String, unit: String? = nil, vm: String? = nil) -> HolderRole {
        Holder(path: "/dev/nvidia0", process: HostProcess(pid: 1, name: name, vm: vm, unit: unit)).role
    }

    /// Daemons started by hand are known by their 15-byte comm; a VM by its guest name; the rest is left alone.
    @Test func rolesFollowWhatTheKernelShows() {
        #expect(role("nvidia-persiste") == .service(unit: "nvidia-persistenced.service"))
        #expect(role("nv-fabricmanage") == .service(unit: "nvidia-fabricmanager.service"))
        #expect(role("dcgm", unit: "nvidia-dcgm.service") == .other, "a service gpuprep does not know is never stopped")
        #expect(role("gdm-wayland-ses") == .display)
        #expect(role("Xorg", unit: "session-c1.scope") == .display)
        #expect(role("qemu-system-x86", vm: "win11") == .vm)
        #expect(role("nvidia-persistenced-x") == .other)
        #expect(HostProcess(pid: 1, name: "x").unit == nil)
    }
}
