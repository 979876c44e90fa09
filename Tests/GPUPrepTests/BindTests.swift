import Foundation
import GPUPrepCore
import GPUPrepSystem
import HostFixtures
import Testing

/// A host made for binding: a GPU with three companions, a boot VGA GPU, a GPU sharing its
/// group with a USB controller of another slot, a GPU in use through its DRM node, and a
/// device without a driver. vfio-pci is loaded.
func bindHost(_ label: String) throws -> (FakeHost, SimulatedKernel) {
    let host = try Fixtures.scratch("bind-\(label)")
    var native: [String: String] = [:]
    func add(_ address: String, _ device: UInt16, _ cls: UInt32, _ driver: String?, group: Int, vga: Bool = false) throws {
        var f = FakeFunction(address, vendor: device == 0x11e8 ? 0x1234 : 0x10de, device: device, classCode: cls,
                             driver: driver, group: group)
        if vga { f.bootVGA = true }
        try host.add(f)
        native[address] = driver
    }
    try add("0000:01:00.0", 0x1e84, 0x030000, "nouveau", group: 1)
    try add("0000:01:00.1", 0x10f8, 0x040300, "snd_hda_intel", group: 1)
    try add("0000:01:00.2", 0x1ad8, 0x0c0330, "xhci_hcd", group: 1)
    try add("0000:01:00.3", 0x1ad9, 0x0c8000, "nvidia-gpu", group: 1)
    try add("0000:02:00.0", 0x128b, 0x030000, "nouveau", group: 2, vga: true)
    try add("0000:04:00.0", 0x1eb8, 0x030200, "nvidia", group: 4)
    var usb = FakeFunction("0000:05:00.0", vendor: 0x1b21, device: 0x1242, classCode: 0x0c0330, driver: "xhci_hcd", group: 4)
    usb.bootVGA = nil
    try host.add(usb)
    native[usb.address] = "xhci_hcd"
    try add("0000:06:00.0", 0x1eb8, 0x030200, "nvidia", group: 6)
    try host.mkdir(host.devicePath("0000:06:00.0") + "/drm/card1")
    try host.addProcess(pid: 777, name: "Xorg", openFiles: ["/dev/dri/card1"])
    try add("0000:07:00.0", 0x11e8, 0x00ff00, nil, group: 7)
    let kernel = SimulatedKernel(host: host, nativeDrivers: native)
    try kernel.loadModule("vfio_pci")
    return (host, kernel)
}

let gpuCard = ["0000:01:00.0", "0000:01:00.1", "0000:01:00.2", "0000:01:00.3"]

func planBind(_ host: FakeHost, bind addresses: [String], force: Bool = false, companions: Bool = true,
          driver: DriverChoice = .vfioPCI) throws(GPUPrepError) -> ChangePlan {
    let planner = try BindPlanner(host: try HostContext(root: host.path))
    return try planner.planBind(addresses.compactMap(PCIAddress.init), driver: driver, companions: companions, force: force)
}

func apply(_ plan: ChangePlan, _ host: FakeHost, _ kernel: SimulatedKernel) throws -> ChangeOutcome {
    var applier = Applier(writer: kernel, sysfs: Sysfs(root: try HostRoot(host.path)))
    applier.verifyTimeoutMilliseconds = 100
    return applier.apply(plan)
}

@Suite struct BindPlanTests {
    @Test func stepsFollowTheKernelsSequence() throws {
        let (host, _) = try bindHost("steps")
        let plan = try planBind(host, bind: ["0000:01:00.0"])
        #expect(plan.devices.map(\.function.address.description) == gpuCard)
        #expect(plan.devices.map(\.from) == ["nouveau", "snd_hda_intel", "xhci_hcd", "nvidia-gpu"])
        #expect(plan.devices[0].steps.map(\.shell) == [
            "echo vfio-pci > /sys/bus/pci/devices/0000:01:00.0/driver_override",
            "echo 0000:01:00.0 > /sys/bus/pci/drivers/nouveau/unbind",
            "echo 0000:01:00.0 > /sys/bus/pci/drivers_probe",
            "check /sys/bus/pci/devices/0000:01:00.0/driver -> vfio-pci",
        ])
        #expect(plan.moduleLoads.isEmpty)                // vfio_pci is loaded
        // Without its companions the card's group stays on host drivers: refused, unless forced.
        #expect(throws: GPUPrepError.self) { try planBind(host, bind: ["0000:01:00.0"], companions: false) }
        let alone = try planBind(host, bind: ["0000:01:00.0"], force: true, companions: false)
        #expect(alone.devices.count == 1 && alone.warnings.contains { $0.contains("IOMMU group 1") })
    }

    @Test func aDeviceWithoutDriverNeedsNoUnbind() throws {
        let (host, _) = try bindHost("nodriver")
        let steps = try planBind(host, bind: ["0000:07:00.0"]).steps.map(\.action)
        #expect(steps == [.write, .write, .verify])       // override, probe, check
    }

    @Test func missingModuleIsLoadedFirst() throws {
        let host = try Fixtures.scratch("bind-module")
        try host.add(FakeFunction("0000:09:00.0", vendor: 0x10de, device: 0x1eb8, classCode: 0x030200, driver: "nvidia", group: 9))
        let plan = try planBind(host, bind: ["0000:09:00.0"])
        #expect(plan.moduleLoads.map(\.shell) == ["modprobe vfio_pci"])
        #expect(plan.steps.first?.action == .loadModule)
    }

    @Test func bootVGAIsRefusedUnlessForced() throws {
        let (host, _) = try bindHost("vga")
        #expect { try planBind(host, bind: ["0000:02:00.0"]) } throws: { ($0 as? GPUPrepError)?.code == .refused && ($0 as? GPUPrepError)?.message.contains("boot VGA") == true }
        let forced = try planBind(host, bind: ["0000:02:00.0"], force: true)
        #expect(forced.devices.count == 1 && forced.warnings.contains { $0.contains("boot VGA") })
    }

    @Test func aGroupLeftUnusableIsRefusedNamingTheBlocker() throws {
        let (host, _) = try bindHost("group")
        #expect { try planBind(host, bind: ["0000:04:00.0"]) } throws: {
            let error = $0 as? GPUPrepError
            return error?.code == .refused && error?.message.contains("0000:05:00.0") == true && error?.message.contains("IOMMU group 4") == true
        }
        // Named together, the group is whole: allowed, and the USB controller is not taken silently otherwise.
        let both = try planBind(host, bind: ["0000:04:00.0", "0000:05:00.0"])
        #expect(both.devices.map(\.function.address.description) == ["0000:04:00.0", "0000:05:00.0"])
    }

    @Test func aDeviceInUseIsRefused() throws {
        let (host, _) = try bindHost("busy")
        #expect { try planBind(host, bind: ["0000:06:00.0"]) } throws: {
            ($0 as? GPUPrepError)?.message.contains("/dev/dri/card1 is open by Xorg (pid 777)") == true
        }
    }

    @Test func unknownAddressAndBadDriverName() throws {
        let (host, _) = try bindHost("bad")
        #expect { try planBind(host, bind: ["0000:42:00.0"]) } throws: { ($0 as? GPUPrepError)?.code == .unknownDevice }
        #expect { try DriverChoice("../../etc/x") } throws: { ($0 as? GPUPrepError)?.code == .usage }
        #expect { try DriverChoice("vfio pci") } throws: { ($0 as? GPUPrepError)?.code == .usage }
        #expect(try DriverChoice("mlx5_vfio_pci") == .named("mlx5_vfio_pci"))
    }
}

@Suite struct ApplyTests {
    @Test func bindThenUnbindIsVerifiedAndIdempotent() throws {
        let (host, kernel) = try bindHost("apply")
        let before = kernel.state(gpuCard)
        let outcome = try apply(try planBind(host, bind: ["0000:01:00.0"]), host, kernel)
        #expect(outcome.failure == nil)
        #expect(outcome.records.allSatisfy { $0.done })
        #expect(kernel.state(gpuCard) == gpuCard.map { "\($0) vfio-pci vfio-pci" })
        #expect(outcome.devices.map(\.to) == ["vfio-pci", "vfio-pci", "vfio-pci", "vfio-pci"])
        #expect(try planBind(host, bind: ["0000:01:00.0"]).isEmpty)          // already there: nothing to do

        let planner = try BindPlanner(host: try HostContext(root: host.path))
        let back = try apply(try planner.planUnbind([PCIAddress("01:00.0")!], companions: true, force: false), host, kernel)
        #expect(back.failure == nil)
        #expect(kernel.state(gpuCard) == before)
        let again = try BindPlanner(host: try HostContext(root: host.path)).planUnbind([PCIAddress("01:00.0")!], companions: true, force: false)
        #expect(again.isEmpty)
    }

    /// A fault at each write, with each errno the kernel uses, leaves every device as it was.
    @Test(arguments: [EACCES, EBUSY, ENODEV])
    func everyFailedWriteIsRolledBack(errno: Int32) throws {
        let writes = try planBind(try bindHost("count").0, bind: ["0000:01:00.0"]).steps.filter { $0.action == .write }.count
        #expect(writes == 12)
        for index in 1...writes {
            let (host, kernel) = try bindHost("fault-\(errno)-\(index)")
            let before = kernel.state(gpuCard)
            kernel.failingWrite = (index, errno)
            let outcome = try apply(try planBind(host, bind: ["0000:01:00.0"]), host, kernel)
            let failure = try #require(outcome.failure, "write \(index)")
            #expect(failure.code == .applyFailed, "write \(index): \(failure.message)")
            #expect(failure.message.contains("rolled back") || failure.message.contains("nothing had changed"))
            #expect(kernel.state(gpuCard) == before, "write \(index) with errno \(errno)")
            #expect(outcome.records.filter { !$0.done && $0.error != nil }.count == 1)
        }
    }

    @Test func aProbeThatBindsNothingIsCaughtAndRolledBack() throws {
        let (host, kernel) = try bindHost("nothing")
        let before = kernel.state(gpuCard)
        kernel.probeBindsNothing = true
        let outcome = try apply(try planBind(host, bind: ["0000:01:00.0"]), host, kernel)
        #expect(outcome.failure?.message.contains("bound nothing") == true)
        #expect(kernel.state(gpuCard) == before)
        #expect(!outcome.rollback.isEmpty && outcome.rollback.allSatisfy { $0.done })
    }

    @Test func aRollbackThatFailsSaysWhatIsLeft() throws {
        let (host, kernel) = try bindHost("stuck")
        kernel.probeBindsNothing = true
        // The rollback's re-bind to nouveau fails too: the kernel refuses every write from the 5th on.
        final class Refusing: HostWriter, @unchecked Sendable {
            let inner: SimulatedKernel
            var count = 0
            init(_ inner: SimulatedKernel) { self.inner = inner }
            func write(_ path: HostPath, _ value: String) throws(SystemError) {
                count += 1
                if count >= 5 { throw .io(path: path.string, errno: EIO) }
                try inner.write(path, value)
            }
            func loadModule(_ name: String) throws(SystemError) { try inner.loadModule(name) }
            func replaceFile(_ path: HostPath, _ content: String?) throws(SystemError) { try inner.replaceFile(path, content) }
            func makeLink(_ path: HostPath, to target: String) throws(SystemError) { try inner.makeLink(path, to: target) }
            func backUp(_ source: HostPath, to backup: HostPath) throws(SystemError) { try inner.backUp(source, to: backup) }
            func run(_ program: HostPath, _ run: ProgramRun) throws(SystemError) -> [String] { try inner.run(program, run) }
            var runsPrograms: Bool { true }
        }
        var applier = Applier(writer: Refusing(kernel), sysfs: Sysfs(root: try HostRoot(host.path)))
        applier.verifyTimeoutMilliseconds = 100
        let outcome = applier.apply(try planBind(host, bind: ["0000:01:00.0"]))
        #expect(outcome.failure?.code == .rollbackFailed)
        #expect(outcome.failure?.message.contains("rollback incomplete: 0000:01:00.0 is on no driver, was on nouveau") == true)
    }

    @Test func unbindRefusesADeviceAVMHolds() throws {
        let (host, kernel) = try bindHost("vm")
        _ = try apply(try planBind(host, bind: ["0000:01:00.0"]), host, kernel)
        try host.addProcess(pid: 4242, name: "qemu-system-x86", openFiles: ["/dev/vfio/1"])
        let planner = try BindPlanner(host: try HostContext(root: host.path))
        #expect { try planner.planUnbind([PCIAddress("01:00.0")!], companions: true, force: false) } throws: {
            ($0 as? GPUPrepError)?.message.contains("qemu-system-x86 (pid 4242)") == true
        }
    }

    @Test func theLockSerialisesRuns() throws {
        let host = try Fixtures.scratch("lock")
        let root = try HostRoot(host.path)
        let first = try HostLock(root: root, path: .lockFile, timeout: 0)
        #expect(throws: SystemError.locked(path: "/run/gpuprep.lock")) { try HostLock(root: root, path: .lockFile, timeout: 0.3) }
        withExtendedLifetime(first) {}
    }
}

@Suite struct BindCLITests {
    @Test func dryRunChangesNothingAndPrintsEveryWrite() throws {
        let (host, kernel) = try bindHost("cli-dry")
        let before = kernel.state(gpuCard + ["0000:07:00.0"])
        let run = try Run.gpuprep(["bind", "--root", host.path, "--dry-run", "01:00.0"])
        #expect(run.status == 0)
        #expect(run.stdout.contains("1. echo vfio-pci > /sys/bus/pci/devices/0000:01:00.0/driver_override"))
        #expect(run.stdout.contains("16. check /sys/bus/pci/devices/0000:01:00.3/driver -> vfio-pci"))
        #expect(kernel.state(gpuCard + ["0000:07:00.0"]) == before)
        #expect(!host.exists("run/gpuprep.lock"))
        let json = try Run.gpuprep(["bind", "--root", host.path, "--dry-run", "--json", "01:00.0"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(document["dryRun"] as? Bool == true && (document["steps"] as? [Any])?.count == 16)
    }

    @Test func refusalsHaveTheirExitStatus() throws {
        let (host, _) = try bindHost("cli-refuse")
        let vga = try Run.gpuprep(["bind", "--root", host.path, "02:00.0"])
        #expect(vga.status == 65 && vga.stderr.contains("boot VGA"))
        let bad = try Run.gpuprep(["bind", "--root", host.path, "--driver", "../evil", "01:00.0"])
        #expect(bad.status == 64)
        let unknown = try Run.gpuprep(["bind", "--root", host.path, "42:00.0"])
        #expect(unknown.status == 66)
        let none = try Run.gpuprep(["bind", "--root", host.path])
        #expect(none.status == 64)
    }

    @Test func theLiveHostNeedsRoot() throws {
        // As an unprivileged user, on the live host: refused before anything is read or written.
        let run = try Run("/usr/bin/env", ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", Run.gpuprep,
                                           "bind", "0000:00:00.0"])
        #expect(run.status == 77, "\(run.stderr)")
        #expect(run.stderr.contains("needs root"))
    }

    @Test func withoutAKernelTheProbeBindsNothingAndIsRolledBack() throws {
        // A host tree under --root has no kernel behind it: the write lands in a file and no driver
        // binds, which is the failure the verification exists for.
        let (host, kernel) = try bindHost("cli-nokernel")
        let before = kernel.state(gpuCard)
        let run = try Run.gpuprep(["bind", "--root", host.path, "01:00.0"])
        #expect(run.status == 74)
        #expect(run.stderr.contains("bound nothing") && run.stderr.contains("rolled back"))
        #expect(run.stdout.contains("Rollback:"))
        #expect(kernel.state(gpuCard) == before)
    }
}

@Suite struct PersistTests {
    func planner(_ host: FakeHost) throws -> BindPlanner { try BindPlanner(host: try HostContext(root: host.path)) }
    func file(_ host: FakeHost, _ path: String) -> String? {
        try? String(contentsOf: host.root.appendingPathComponent(path), encoding: .utf8)
    }

    @Test func bindPersistWritesPerDeviceRulesAndEarlyLoading() throws {
        let (host, kernel) = try bindHost("persist")
        let plan = try planner(host).planBind([PCIAddress("01:00.0")!], driver: .vfioPCI, companions: true, force: false, persist: true)
        // The early binding files, the layout file that records it, and the unit that applies that at boot.
        #expect(plan.fileChanges.map(\.path?.string) == ["/etc/udev/rules.d/61-gpuprep-vfio.rules",
                                                          "/etc/modules-load.d/gpuprep-vfio.conf", "/etc/modprobe.d/gpuprep-vfio.conf",
                                                          "/etc/gpuprep/gpuprep.yaml", "/etc/systemd/system/gpuprep-apply.service",
                                                          "/etc/systemd/system/multi-user.target.wants/gpuprep-apply.service"])
        let outcome = try apply(plan, host, kernel)
        #expect(outcome.failure == nil)
        let rules = try #require(file(host, "etc/udev/rules.d/61-gpuprep-vfio.rules"))
        for address in gpuCard {
            #expect(rules.contains("ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"\(address)\", ATTR{driver_override}=\"vfio-pci\"\n"))
        }
        #expect(!rules.contains("10de"), "by address, never by vendor:device")
        #expect(file(host, "etc/modules-load.d/gpuprep-vfio.conf")?.hasSuffix("\nvfio_pci\n") == true)
        let softdeps = try #require(file(host, "etc/modprobe.d/gpuprep-vfio.conf"))
        #expect(softdeps.contains("softdep nouveau pre: vfio_pci\n") && softdeps.contains("softdep snd_hda_intel pre: vfio_pci\n"))
        let recorded = try #require(try LayoutStore.load(root: try HostRoot(host.path)))
        #expect(recorded.passthrough == [HostLayout.Passthrough(match: .init(address: PCIAddress("0000:01:00.0")), driver: "vfio-pci", companions: true)])
        #expect(file(host, "etc/gpuprep/gpuprep.yaml")?.hasSuffix("passthrough:\n  - match: {address: \"0000:01:00.0\"}\n    driver: \"vfio-pci\"\n") == true)
        #expect(file(host, "etc/systemd/system/gpuprep-apply.service")?.contains(" apply --boot --wait 120\n") == true)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: host.path + "/etc/systemd/system/multi-user.target.wants/gpuprep-apply.service")
                == "/etc/systemd/system/gpuprep-apply.service")
        // Again: the files are right, nothing to do.
        #expect(try planner(host).planBind([PCIAddress("01:00.0")!], driver: .vfioPCI, companions: true, force: false, persist: true).isEmpty)
        // No temporary files left beside them.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: host.root.appendingPathComponent("etc/udev/rules.d").path)
        #expect(leftovers == ["61-gpuprep-vfio.rules"])
    }

    @Test func unbindPersistRemovesOnlyItsDevices() throws {
        let (host, kernel) = try bindHost("unpersist")
        _ = try apply(try planner(host).planBind([PCIAddress("01:00.0")!, PCIAddress("07:00.0")!], driver: .vfioPCI,
                                                 companions: true, force: false, persist: true), host, kernel)
        _ = try apply(try planner(host).planUnbind([PCIAddress("01:00.0")!], companions: true, force: false, persist: true), host, kernel)
        let rules = try #require(file(host, "etc/udev/rules.d/61-gpuprep-vfio.rules"))
        #expect(rules.contains("KERNEL==\"0000:07:00.0\"") && !rules.contains("KERNEL==\"0000:01:00"))
        _ = try apply(try planner(host).planUnbind([PCIAddress("07:00.0")!], companions: true, force: false, persist: true), host, kernel)
        #expect(file(host, "etc/udev/rules.d/61-gpuprep-vfio.rules") == nil)
        #expect(file(host, "etc/modules-load.d/gpuprep-vfio.conf") == nil && file(host, "etc/modprobe.d/gpuprep-vfio.conf") == nil)
    }

    /// A host driver in the initramfs claims the device before the root's udev rule can act:
    /// with initramfs-tools, a hook puts the rule, the softdeps and the VFIO modules in the
    /// image, and the plan says how to rebuild it; unbinding the last device takes it away.
    @Test func initramfsToolsGetsAHookThatCarriesTheEarlyBinding() throws {
        let (host, kernel) = try bindHost("initramfs-tools")
        try host.write("usr/sbin/mkinitramfs", "#!/bin/sh\n")
        let plan = try planner(host).planBind([PCIAddress("01:00.0")!], driver: .vfioPCI, companions: true, force: false, persist: true)
        #expect(plan.fileChanges.contains { $0.path == .persistInitramfsToolsHook })
        #expect(plan.notes.contains { $0.contains("rebuild the initramfs (initramfs-tools) with the early binding") && $0.hasSuffix(": update-initramfs -u -k all") },
                "\(plan.notes)")
        #expect(try apply(plan, host, kernel).failure == nil)
        let path = host.root.appendingPathComponent("etc/initramfs-tools/hooks/gpuprep-vfio").path
        let hook = try String(contentsOfFile: path, encoding: .utf8)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o755, "a hook is run")
        #expect(hook.hasPrefix("#!/bin/sh\n") && hook.contains("PREREQ=\"udev\""))
        #expect(hook.contains("for module in vfio vfio_iommu_type1 vfio_pci; do manual_add_modules \"$module\"; done"))
        #expect(hook.contains("cp -p /etc/udev/rules.d/61-gpuprep-vfio.rules \"$DESTDIR/lib/udev/rules.d/\""))
        #expect(hook.contains("cp -p /etc/modprobe.d/gpuprep-vfio.conf \"$DESTDIR/etc/modprobe.d/\""))
        // The shell reads it; and as initramfs-tools runs hooks: `prereqs` first.
        let syntax = try Run("/bin/sh", ["-n", path])
        #expect(syntax.status == 0, "\(syntax.stderr)")
        let prereqs = try Run("/bin/sh", [path, "prereqs"])
        #expect(prereqs.status == 0 && prereqs.stdout == "udev\n")
        // Nothing changes: nothing to rebuild.
        let again = try planner(host).planBind([PCIAddress("01:00.0")!], driver: .vfioPCI, companions: true, force: false, persist: true)
        #expect(again.isEmpty && again.notes.isEmpty)
        // The last device leaves: the hook goes, and the rebuild is said again.
        let unbind = try planner(host).planUnbind([PCIAddress("01:00.0")!], companions: true, force: false, persist: true)
        #expect(unbind.notes.contains { $0.contains("without the early binding") })
        #expect(try apply(unbind, host, kernel).failure == nil)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    /// dracut reads its configuration as bash: the modules and files it adds, read by bash.
    @Test func dracutGetsAConfigurationFileThatBashReads() throws {
        let (host, kernel) = try bindHost("dracut")
        try host.write("etc/dracut.conf", "")
        let plan = try planner(host).planBind([PCIAddress("07:00.0")!], driver: .named("mlx5_vfio_pci"), companions: true, force: false, persist: true)
        #expect(plan.notes.contains { $0.hasSuffix(": dracut --regenerate-all -f") }, "\(plan.notes)")
        #expect(plan.fileChanges.contains { $0.path == .persistDracutConf })
        #expect(plan.fileChanges.allSatisfy { $0.path != .persistInitramfsToolsHook }, "initramfs-tools is not installed")
        _ = try apply(plan, host, kernel)
        let conf = host.root.appendingPathComponent("etc/dracut.conf.d/61-gpuprep-vfio.conf").path
        let read = try Run("/bin/bash", ["-c", "add_drivers=''; install_items=''; . \"$1\"; echo \"$add_drivers|$install_items\"", "bash", conf])
        #expect(read.stdout == " vfio vfio_iommu_type1 vfio_pci mlx5_vfio_pci | /etc/udev/rules.d/61-gpuprep-vfio.rules /etc/modprobe.d/gpuprep-vfio.conf \n",
                "\(read.stdout) \(read.stderr)")
    }

    /// mkinitcpio's one configuration file is the administrator's: not edited, but what to add is said.
    @Test func mkinitcpioIsToldNotEdited() throws {
        let (host, _) = try bindHost("mkinitcpio")
        try host.write("etc/mkinitcpio.conf", "MODULES=()\n")
        let plan = try planner(host).planBind([PCIAddress("01:00.0")!], driver: .vfioPCI, companions: true, force: false, persist: true)
        #expect(plan.warnings.contains { $0.contains("add vfio vfio_iommu_type1 vfio_pci to MODULES=()") && $0.hasSuffix("then run mkinitcpio -P") }, "\(plan.warnings)")
        #expect(plan.fileChanges.allSatisfy { !($0.path?.string.hasPrefix("/etc/mkinitcpio") ?? false) })
    }

    /// No initramfs builder installed: no file for one, and nothing said.
    @Test func noInitramfsBuilderNoInitramfsFile() throws {
        let (host, _) = try bindHost("no-initramfs")
        let plan = try planner(host).planBind([PCIAddress("01:00.0")!], driver: .vfioPCI, companions: true, force: false, persist: true)
        #expect(plan.notes.allSatisfy { !$0.contains("initramfs") } && plan.warnings.allSatisfy { !$0.contains("initramfs") })
    }

    @Test func aFileThatCannotBeWrittenRollsBackDevicesAndFiles() throws {
        let (host, kernel) = try bindHost("persist-fail")
        let before = kernel.state(gpuCard)
        kernel.failingFile = "/etc/modprobe.d/gpuprep-vfio.conf"
        let outcome = try apply(try planner(host).planBind([PCIAddress("01:00.0")!], driver: .vfioPCI, companions: true,
                                                           force: false, persist: true), host, kernel)
        #expect(outcome.failure?.code == .applyFailed)
        #expect(kernel.state(gpuCard) == before)
        #expect(file(host, "etc/udev/rules.d/61-gpuprep-vfio.rules") == nil)       // written, then taken back
        #expect(file(host, "etc/modules-load.d/gpuprep-vfio.conf") == nil)
    }

    @Test func aRewriteKeepsModeAndOtherDevices() throws {
        let (host, kernel) = try bindHost("persist-mode")
        _ = try apply(try planner(host).planBind([PCIAddress("07:00.0")!], driver: .vfioPCI, companions: true, force: false, persist: true), host, kernel)
        let path = host.root.appendingPathComponent("etc/udev/rules.d/61-gpuprep-vfio.rules").path
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        _ = try apply(try planner(host).planBind([PCIAddress("01:00.0")!], driver: .vfioPCI, companions: true, force: false, persist: true), host, kernel)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(PersistentBindings.parse(file(host, "etc/udev/rules.d/61-gpuprep-vfio.rules")).map(\.address.description)
                == ["0000:01:00.0", "0000:01:00.1", "0000:01:00.2", "0000:01:00.3", "0000:07:00.0"])
    }

    @Test(arguments: ["", "garbage\n", "# gpuprep-device address=../../x driver=vfio-pci module=vfio_pci host=\n",
                      "# gpuprep-device address=0000:01:00.0 driver=../x module=vfio_pci host=\n"])
    func hostileRulesFilesYieldNothingUnsafe(text: String) {
        #expect(PersistentBindings.parse(text).isEmpty)
    }
}

@Suite struct AutoDriverTests {
    /// libkmod picks the variant driver whose vfio_pci: alias names the device over vfio_pci's catch-all.
    @Test func autoPrefersTheMostSpecificVariantDriver() throws {
        let host = try Fixtures.scratch("auto")
        try host.add(FakeFunction("0000:09:00.0", vendor: 0x10de, device: 0x2941, classCode: 0x030200, driver: "nvidia", group: 9))
        try host.add(FakeFunction("0000:0a:00.0", vendor: 0x10de, device: 0x1eb8, classCode: 0x030200, driver: "nvidia", group: 10))
        try host.addModules([
            FakeModule("vfio_pci", aliases: ["vfio_pci:v*d*sv*sd*bc*sc*i*"]),
            FakeModule("nvgrace_gpu_vfio_pci", aliases: ["vfio_pci:v000010DEd00002941sv*sd*bc*sc*i*",
                                                         "vfio_pci:v000010DEd00002342sv*sd*bc*sc*i*"]),
            FakeModule("nvidia", aliases: ["pci:v000010DEd*sv*sd*bc03sc02i00"]),
        ])
        let planner = try BindPlanner(host: try HostContext(root: host.path))
        let grace = try planner.planBind([PCIAddress("09:00.0")!], driver: .auto, companions: true, force: false)
        #expect(grace.moduleLoads.map(\.value) == ["nvgrace_gpu_vfio_pci"])
        // The driver registers as its module's name (KBUILD_MODNAME), and that is what
        // driver_override must hold: a dashed name would match no driver, and bind nothing.
        #expect(grace.devices.first?.to == "nvgrace_gpu_vfio_pci")
        #expect(grace.devices.first?.steps.first?.shell == "echo nvgrace_gpu_vfio_pci > /sys/bus/pci/devices/0000:09:00.0/driver_override")
        let t4 = try planner.planBind([PCIAddress("0a:00.0")!], driver: .auto, companions: true, force: false)
        #expect(t4.moduleLoads.map(\.value) == ["vfio_pci"] && t4.devices.first?.to == "vfio-pci")
    }
}
