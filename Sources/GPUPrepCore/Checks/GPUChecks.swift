import GPUPrepSystem

/// Per-GPU findings: boot VGA, reset, its IOMMU group; and vGPU display readiness.
enum GPUChecks {
    /// `holders`: a scan of /proc a caller already made (nil: one is made here).
    static func run(_ s: HostSnapshot, holders scanned: DeviceHolders? = nil) -> [Finding] {
        var findings: [Finding] = []
        let holders = scanned ?? DeviceHolders.scan(s.host)
        for gpu in s.gpus {
            let name = gpu.deviceName ?? "the GPU"
            let servesVFs = s.topology.functions.contains { $0.physicalFunction == gpu.address && $0.vgpuInterface != nil }
            findings.append(driver(gpu, name, variant: s.variantDriver(for: gpu), servesVFs: servesVFs))
            if let held = inUse(gpu, name, s, holders) { findings.append(held) }
            if gpu.bootVGA {
                findings.append(Finding("gpu.boot_vga", .warn, "\(name) is the boot VGA device: the console runs on it, and passing it through takes the console away",
                                        remedy: "pass another GPU through, or keep a serial/SSH console and bind it with --force", device: gpu.address))
            }
            findings.append(reset(s, gpu))
            findings.append(group(s, gpu))
            if let rom = rom(s, gpu) { findings.append(rom) }
        }
        if let fabric = NVLinkFabric(s.topology.functions) { findings.append(Self.fabric(fabric)) }
        findings.append(display(s))
        return findings
    }

    /// Whether the GPU's ROM has a UEFI image, for a UEFI (OVMF) VM; nil when it was not read
    /// (the live host without --rom, or no ROM attribute).
    static func rom(_ s: HostSnapshot, _ gpu: PCIFunction) -> Finding? {
        let name = gpu.deviceName ?? "the GPU"
        guard let read = ExpansionROM.read(s.host, gpu.address, enable: s.readROMs) else { return nil }
        guard let rom = read.rom else {
            return Finding("gpu.rom", .warn, "\(name): \(read.problem ?? "its ROM cannot be read")",
                           remedy: "read it where it is not the boot VGA device, or give the VM a ROM file with a UEFI image (libvirt <rom file=.../>, Proxmox romfile=)", device: gpu.address)
        }
        let images = rom.images.map(\.name).joined(separator: ", ")
        if rom.hasUEFI {
            return Finding("gpu.rom", .pass, "\(name)'s ROM has a UEFI image (\(images)): a UEFI (OVMF) VM shows its output from the start", device: gpu.address)
        }
        return Finding("gpu.rom", .warn, "\(name)'s ROM has no UEFI image (\(images)): a UEFI (OVMF) VM shows nothing on it until the guest's driver loads",
                       remedy: "use a BIOS (SeaBIOS) VM for it, or give the VM a ROM file with a UEFI image (the card vendor's UEFI VBIOS; libvirt <rom file=.../>, Proxmox romfile=)", device: gpu.address)
    }

    /// Whether the GPU can be reset between VMs (reset_method, Linux 5.15+).
    static func reset(_ s: HostSnapshot, _ gpu: PCIFunction) -> Finding {
        let name = gpu.deviceName ?? "the GPU"
        switch s.host.sysfs.read(HostPath.sysBusPCIDevices.child(gpu.address.description, "reset_method")) {
        case nil where !s.kernelReportsResetMethods:
            return Finding("gpu.reset", .skip, "\(name): this kernel does not report reset methods (reset_method appeared in 5.15)", device: gpu.address)
        case nil, ""?:
            // Since 5.15 the kernel hides reset_method from a device that has no reset method.
            return Finding("gpu.reset", .warn, "\(name) has no reset method: a VM that stops may leave it unusable until the host reboots",
                           remedy: "prefer a slot whose bridge supports secondary bus reset, or a GPU with FLR", device: gpu.address)
        case let methods?:
            return Finding("gpu.reset", .pass, "\(name) can be reset (\(methods.split(separator: " ").joined(separator: ", ")))", device: gpu.address)
        }
    }

    /// Who holds the GPU (or its card's other functions), as bind and conflicts say it: a VM
    /// holding a GPU on VFIO is the GPU in use as meant; anything else holds it from a VM.
    static func inUse(_ gpu: PCIFunction, _ name: String, _ s: HostSnapshot, _ holders: DeviceHolders) -> Finding? {
        let held = holders.cardHolders(gpu, among: s.topology.functions).map(\.holder)
        guard !held.isEmpty else { return nil }
        if held.allSatisfy({ $0.role == .vm }), gpu.driver.map(VFIORule.isVFIODriver) == true {
            return Finding("gpu.in_use", .pass, "\(name) is given to a running VM: \(held.described)", device: gpu.address)
        }
        return Finding("gpu.in_use", .warn, "\(name) is in use: \(held.described); 'gpuprep bind' refuses it until that lets go",
                       remedy: held.advice, device: gpu.address)
    }

    /// The NVLink fabric, said once: its GPUs and switches go to VMs together.
    static func fabric(_ fabric: NVLinkFabric) -> Finding {
        let onVFIO = { (f: PCIFunction) in f.driver.map(VFIORule.isVFIODriver) ?? false }
        let gpusOut = fabric.gpus.filter(onVFIO).count, switchesOut = fabric.switches.filter(onVFIO).count
        let split = (gpusOut > 0 && switchesOut < fabric.switches.count && switchesOut > 0)
            || (switchesOut > 0 && gpusOut == 0)
        if split {
            return Finding("gpu.nvlink_fabric", .warn, "the NVLink fabric is split: \(gpusOut) of \(fabric.gpus.count) GPUs and \(switchesOut) of \(fabric.switches.count) NVSwitches are on VFIO drivers",
                           remedy: fabric.models)
        }
        return Finding("gpu.nvlink_fabric", .pass, fabric.summary)
    }

    /// Which driver holds the GPU, and what that means for a VM.
    /// `variant`: the VFIO variant module that matches the GPU (libkmod), if one does: bind needs
    /// --driver auto to use it (the Grace Hopper GPUs need nvgrace_gpu_vfio_pci).
    static func driver(_ gpu: PCIFunction, _ name: String, variant: String?, servesVFs: Bool = false) -> Finding {
        let bind = variant.map { "gpuprep bind \(gpu.address) --driver auto moves it to \($0), the VFIO variant driver that matches it" }
            ?? "gpuprep bind \(gpu.address) moves it to vfio-pci"
        guard let driver = gpu.driver else {
            return Finding("gpu.driver", .pass, "\(name) has no driver: \(bind.replacing("moves it to", with: "gives it to"))", device: gpu.address)
        }
        if VFIORule.isVFIODriver(driver) {
            return Finding("gpu.driver", .pass, "\(name) is on \(driver): ready to be given to a VM", device: gpu.address)
        }
        let use = driver == "nvidia" ? (gpu.vgpuInterface != nil ? "the NVIDIA vGPU host driver: it shares the GPU as vGPUs"
                                        : servesVFs ? "the NVIDIA vGPU host driver: it shares the GPU as vGPUs on its VFs" : "the NVIDIA driver: the host uses it")
            : "a host driver"
        return Finding("gpu.driver", .pass, "\(name) is on \(driver), \(use); for passthrough, \(bind)", device: gpu.address)
    }

    /// Viable once the card is on vfio-pci: only devices of other slots count against it here.
    static func group(_ s: HostSnapshot, _ gpu: PCIFunction) -> Finding {
        let name = gpu.deviceName ?? "the GPU"
        guard let group = s.topology.group(gpu.iommuGroup) else {
            return Finding("gpu.iommu_group", .skip, "\(name) has no IOMMU group (see iommu.enabled)", device: gpu.address)
        }
        let others = group.blockers.filter { $0.address.slot != gpu.address.slot }
        if others.isEmpty {
            return Finding("gpu.iommu_group", .pass, "\(name) is alone in IOMMU group \(group.id) with its own functions", device: gpu.address)
        }
        return Finding("gpu.iommu_group", .fail, "\(name) shares IOMMU group \(group.id) with \(others.map { "\($0.address) (\($0.driver ?? "?"))" }.joined(separator: ", ")), which stay on host drivers",
                       remedy: "gpuprep conflicts \(gpu.address) explains the group and what to do", device: gpu.address)
    }

    /// A vGPU with display=on needs OpenGL in the VMM: a render node and EGL.
    static func display(_ s: HostSnapshot) -> Finding {
        guard s.topology.functions.contains(where: { $0.vgpuInterface != nil }) else {
            return Finding("vgpu.display", .skip, "no vGPU interface on this host")
        }
        let sysfs = s.host.sysfs
        let render = (sysfs.list(.devDRIDir) ?? []).contains { $0.hasPrefix("renderD") }
        let egl = HostPath.libraryDirs.contains { sysfs.exists($0.child("libEGL.so.1")) }
        if render && egl { return Finding("vgpu.display", .pass, "a render node and EGL are present for vGPU display=on") }
        let missing = [render ? nil : "a render node (/dev/dri/renderD*)", egl ? nil : "EGL (libEGL.so.1)"].compactMap { $0 }
        return Finding("vgpu.display", .warn, "missing \(missing.joined(separator: " and ")): vGPUs work, but display=on (OpenGL in QEMU) will not",
                       remedy: "install libegl1 (Debian/Ubuntu) or mesa-libEGL (RHEL), and a DRM driver for a render node; or run vGPUs with display=off")
    }
}
