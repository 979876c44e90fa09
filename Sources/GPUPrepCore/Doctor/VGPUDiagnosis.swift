import GPUPrepSystem

/// Why a GPU offers no vGPU a VM can use, walked in the order the causes arise on a host (the
/// twelve reports of NVIDIA/kubevirt-gpu-device-plugin#78, harvester/harvester#11133 and
/// gpu-operator#1278 among them): the vGPU manager, the GPU's driver, the release's support
/// for the GPU, the board's display mode, the IOMMU and VFs SR-IOV needs, GSP firmware, what
/// fills the GPU, and the manager running.
struct VGPUDiagnosis: GPUDiagnosisWalk {
    static let purpose = Purpose.vgpu
    let host: DoctorHost
    let gpu: PCIFunction

    func run() -> [DiagnosisStep] {
        var chain = DiagnosisChain()
        chain.then(manager)
        chain.then(driver)
        chain.then(supported)
        chain.then(displayMode)
        chain.then(iommu)
        chain.then(vfs)
        chain.then(firmware)
        chain.then(room)
        chain.then(managerRunning)
        return chain.steps
    }

    /// NVIDIA's vGPU manager (the host driver package with nvidia-vgpu-mgr): without it the
    /// ordinary or open driver offers no vGPU at all.
    func manager() -> DiagnosisStep? {
        let unit = HostReadinessChecks.unit("nvidia-vgpu-mgr.service", sysfs)
        let unitPath = HostPath.systemdUnitDirs.map { $0.child("nvidia-vgpu-mgr.service") }.first(where: sysfs.exists) ?? HostPath.systemdUnitDirs[1].child("nvidia-vgpu-mgr.service")
        let evidence = [Evidence(unitPath, unit.present ? "installed" : nil),
                        Evidence(.vgpuManagerBinary, sysfs.exists(.vgpuManagerBinary) ? "installed" : nil)]
        if host.vgpuManagerInstalled {
            return step("manager", .pass, "NVIDIA's vGPU manager is installed", evidence)
        }
        return step("manager", .fail, "NVIDIA's vGPU manager is not installed: the NVIDIA driver here is not the vGPU host driver, and offers no vGPU types",
                    remedy: "install NVIDIA's vGPU host driver for KVM (NVIDIA-Linux-x86_64-<version>-vgpu-kvm.run, or the vGPU manager package of your distribution, from NVIDIA's licensing portal); it ships nvidia-vgpu-mgr.service",
                    evidence)
    }

    func driver() -> DiagnosisStep? {
        let evidence = [Evidence(device.child("driver"), gpu.driver)]
        switch gpu.driver {
        case "nvidia"?:
            return step("driver", .pass, "\(name) is on nvidia", evidence)
        case let driver? where VFIORule.isVFIODriver(driver):
            return step("driver", .fail, "\(name) is on \(driver): passed through whole, it offers no vGPUs",
                        remedy: "gpuprep unbind \(gpu.address) gives it back to nvidia (once no VM uses it)", evidence)
        case "nouveau"?:
            return step("driver", .fail, "nouveau drives \(name): the NVIDIA vGPU host driver cannot claim it",
                        remedy: "printf 'blacklist nouveau\\noptions nouveau modeset=0\\n' > /etc/modprobe.d/blacklist-nouveau.conf, rebuild the initramfs (update-initramfs -u or dracut -f) and reboot", evidence)
        case let driver?:
            return step("driver", .fail, "\(name) is on \(driver), not on nvidia: only the NVIDIA vGPU host driver makes vGPUs",
                        remedy: "gpuprep unbind \(gpu.address)", evidence)
        case nil where host.nvidiaModuleMissing:
            let release = sysfs.kernelRelease() ?? "this kernel"
            return step("driver", .fail, "no driver claims \(name), and there is no nvidia module for the running kernel \(release): the vGPU host driver was built for another kernel",
                        remedy: "build it for this kernel (dkms autoinstall, or run NVIDIA's installer again), or boot the kernel it was built for",
                        evidence + [Evidence(path: HostPath.libModules.string + "/\(release)/modules.dep", value: "no nvidia module")])
        case nil:
            return step("driver", .fail, "no driver claims \(name): the installed NVIDIA driver did not bind it (a release that does not support a GPU leaves it alone)",
                        remedy: "modprobe nvidia, then dmesg | grep -i nvrm says why it did not bind", evidence)
        }
    }

    /// NVIDIA's catalogue lists every GPU model the release supports for vGPU.
    func supported() -> DiagnosisStep? {
        guard let deviceID = gpu.deviceID else { return nil }
        let model = "10de:" + hex(deviceID, 4)
        guard let bytes = sysfs.readBytes(.nvidiaVGPUConfig) else {
            return step("supported", .skip, "no \(HostPath.nvidiaVGPUConfig) to say whether this release supports \(model)", [Evidence(.nvidiaVGPUConfig, nil)])
        }
        let models = NVIDIAVGPUConfig.parse(bytes).keys
        guard !models.isEmpty else { return nil }
        if models.contains(model) {
            return step("supported", .pass, "this vGPU release supports \(name) (\(model) in its catalogue)", [Evidence(.nvidiaVGPUConfig, "lists \(model)")])
        }
        return step("supported", .fail, "this vGPU release does not support \(name): its catalogue lists \(models.count) GPU model\(models.count == 1 ? "" : "s"), not \(model)",
                    remedy: "install a vGPU release that supports \(name) (NVIDIA's vGPU release notes list the GPUs of each release), or pass the GPU through instead",
                    [Evidence(.nvidiaVGPUConfig, "lists \(models.sorted().joined(separator: ", "))")])
    }

    /// Workstation boards ship with their display outputs on, and vGPU needs them off: in
    /// display mode the board is a VGA controller (class 0300) with a small BAR1; NVIDIA's
    /// Display Mode Selector Tool switches it to physical_display_disabled (a 3D controller,
    /// class 0302). NVIDIA vGPU User Guide, "Switching the Mode of a GPU that Supports Multiple
    /// Display Modes"; the boards: RTX A5000 2231, RTX A5500 2233, RTX A6000 2230, A40 2235,
    /// L40 26b5, L40S 26b9, RTX 5000 Ada 26b2, RTX 6000 Ada 26b1.
    static let displayModeBoards: Set<UInt16> = [0x2230, 0x2231, 0x2233, 0x2235, 0x26b1, 0x26b2, 0x26b5, 0x26b9]

    func displayMode() -> DiagnosisStep? {
        guard let deviceID = gpu.deviceID, Self.displayModeBoards.contains(deviceID), let classCode = gpu.classCode else { return nil }
        let evidence = [Evidence(device.child("class"), "0x" + hex(classCode, 6))]
        if classCode >> 8 == 0x0300 {
            return step("display_mode", .fail, "\(name) is in display mode (a VGA controller, class 0300): vGPU needs its display outputs off",
                        remedy: "switch it with NVIDIA's Display Mode Selector Tool: displaymodeselector --gpumode physical_display_disabled, then reboot", evidence)
        }
        return step("display_mode", .pass, "\(name) is in displayless mode (a 3D controller), as vGPU needs", evidence)
    }

    /// SR-IOV VFs (how Ampere and later GPUs carry vGPUs) need the IOMMU.
    func iommu() -> DiagnosisStep? {
        guard (gpu.sriov?.totalVFs ?? 0) > 0 else { return nil }
        let units = sysfs.list(.sysClassIOMMU) ?? []
        let evidence = [Evidence(.sysClassIOMMU, units.isEmpty ? "empty" : units.sorted().joined(separator: " ")),
                        Evidence(.procCmdline, sysfs.read(.procCmdline))]
        if host.snapshot.iommuActive { return step("iommu", .pass, "the IOMMU is on, as SR-IOV VFs need", evidence) }
        return step("iommu", .fail, "the kernel runs without an IOMMU: \(name) makes vGPUs on SR-IOV VFs, which need it",
                    remedy: Checks.enabled(host.snapshot).remedy, evidence)
    }

    /// vGPU 17 and later make vGPUs on VFs (NVIDIA's per-VF files, no mdev); with the VFs off the
    /// GPU lists nothing anywhere, and mdevctl types shows nothing.
    func vfs() -> DiagnosisStep? {
        guard let sriov = gpu.sriov, sriov.totalVFs > 0 else {
            if gpu.vgpuInterface == .mdev { return step("interface", .pass, "\(name) offers vGPUs over mdev", [Evidence(device.child("mdev_supported_types"), "present")]) }
            return nil
        }
        let evidence = [Evidence(device.child("sriov_numvfs"), String(sriov.numVFs)), Evidence(device.child("sriov_totalvfs"), String(sriov.totalVFs)),
                        Evidence(device.child("mdev_supported_types"), gpu.vgpuInterface == .mdev ? "present" : nil)]
        if gpu.vgpuInterface == .mdev { return step("interface", .pass, "\(name) offers vGPUs over mdev on the GPU itself", evidence) }
        if sriov.numVFs == 0 {
            return step("vfs", .fail, "\(name)'s SR-IOV VFs are off: it makes vGPUs on VFs (vGPU 17+: NVIDIA's per-VF files, not mdev), so it lists no type anywhere",
                        remedy: "gpuprep sriov enable \(gpu.address) --persist (then 'gpuprep types --parent \(gpu.address)')", evidence)
        }
        let interface = host.functions.first { $0.physicalFunction == gpu.address && $0.vgpuInterface != nil }?.vgpuInterface?.rawValue ?? "no vGPU interface yet"
        return step("vfs", .pass, "\(sriov.numVFs) of \(sriov.totalVFs) VFs are enabled (\(interface))", evidence)
    }

    /// GSP firmware: NVIDIA's `information` file says `GPU Firmware: N/A` when it is not
    /// running; the vGPU manager then finds no parent on GPUs that need it (gpu-operator#1278).
    /// Said only when nothing is listed: it is a cause of that symptom, not a finding of its own.
    func firmware() -> DiagnosisStep? {
        guard host.types(of: gpu).isEmpty && host.vgpus(of: gpu).isEmpty else { return nil }
        let file = HostPath.proc.child("driver", "nvidia", "gpus", gpu.address.description, "information")
        guard let line = sysfs.readWhole(file)?.split(separator: "\n").first(where: { $0.hasPrefix("GPU Firmware:") }) else { return nil }
        let value = line.dropFirst("GPU Firmware:".count).trimmed()
        var evidence = [Evidence(file, "GPU Firmware: \(value)")]
        guard value == "N/A" else { return step("firmware", .pass, "GSP firmware \(value) is running", evidence) }
        let setting = host.modprobeSetting(module: "nvidia", "NVreg_EnableGpuFirmware", value: "0")
        if let setting { evidence.append(Evidence(path: setting.path, value: setting.line)) }
        return step("firmware", .fail, "GSP firmware is not running on \(name) (GPU Firmware: N/A), and the GPU lists no vGPU type: NVIDIA's vGPU manager needs it",
                    remedy: setting.map { "remove NVreg_EnableGpuFirmware=0 from \($0.path), rebuild the initramfs and reboot" }
                        ?? "load nvidia without NVreg_EnableGpuFirmware=0 (and with the GSP firmware files of this driver release in /lib/firmware/nvidia), then reboot",
                    evidence)
    }

    /// Types listed and room for more, or what fills the GPU.
    func room() -> DiagnosisStep? {
        let capacity = host.holdings.capacity.filter { $0.gpu == gpu.address.description }
        let free = capacity.filter { ($0.creatable ?? 0) > 0 }
        let vgpus = host.vgpus(of: gpu)
        let evidence = [Evidence(path: host.typesPath(of: gpu), value: "\(host.types(of: gpu).count) type\(host.types(of: gpu).count == 1 ? "" : "s") listed, \(vgpus.count) vGPU\(vgpus.count == 1 ? "" : "s")")]
        if !free.isEmpty {
            let shown = free.prefix(3).map { "\($0.creatable!) × \($0.name ?? $0.id)" }.joined(separator: ", ")
            return step("room", .pass, "\(name) can take more vGPUs: \(shown)\(free.count > 3 ? ", ..." : "")", evidence)
        }
        if !vgpus.isEmpty {
            var kinds: [String: Int] = [:]
            for v in vgpus { kinds[v.typeName ?? v.type, default: 0] += 1 }
            let holding = kinds.keys.sorted().map { "\(kinds[$0]!) × \($0)" }.joined(separator: ", ")
            let unused = vgpus.filter { $0.held.isEmpty && !host.definitions.names($0) }
            let reason = capacity.compactMap(\.reason).first.map { ": \($0)" } ?? ""
            return step("room", .fail, "\(name) is full: it holds \(holding)\(reason)",
                        remedy: unused.first.map { "destroy a vGPU no VM holds or names (\(unused.count) here): gpuprep destroy \($0.name)" }
                            ?? "every vGPU on it is used by a VM: make vGPUs on another GPU, or shut a VM down and destroy its vGPU",
                        evidence)
        }
        return step("room", .fail, "the driver lists no vGPU type for \(name), and nothing above explains it",
                    remedy: "journalctl -u nvidia-vgpu-mgr and dmesg | grep -i nvrm say why; 'gpuprep capture' makes a report of this host for a bug report",
                    evidence)
    }

    /// Types are listed, but a VM can start a vGPU only while nvidia-vgpu-mgr runs.
    func managerRunning() -> DiagnosisStep? {
        let evidence = [Evidence(path: HostPath.proc.string + "/*/comm", value: host.vgpuManagerRunning ? "nvidia-vgpu-mgr" : nil)]
        if host.vgpuManagerRunning { return step("manager_running", .pass, "nvidia-vgpu-mgr is running", evidence) }
        return step("manager_running", .fail, "nvidia-vgpu-mgr is not running: the types are listed, but a VM started with a vGPU fails",
                    remedy: "systemctl enable --now nvidia-vgpu-mgr.service (journalctl -u nvidia-vgpu-mgr says why it stopped)", evidence)
    }
}
