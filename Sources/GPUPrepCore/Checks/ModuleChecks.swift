import GPUPrepSystem

/// Kernel modules, through libkmod against the host's module directory and modprobe configuration.
enum ModuleChecks {
    static func run(_ s: HostSnapshot) -> [Finding] {
        guard let kmod = s.host.kmod() else {
            let where_ = HostPath.libModules.string + (s.host.kernelRelease.map { "/" + $0 } ?? "")
            return [Finding("modules.vfio", .skip, "no module directory \(where_) to read"),
                    Finding("modules.nouveau", .skip, "no module directory \(where_) to read")]
        }
        return [vfio(s, kmod), nouveau(s, kmod), vgpuHostDriver(s)] + [VGAArbitration.finding(s)].compactMap { $0 }
    }

    /// Loaded: /sys/module/<name>, or the PCI driver it registers (a built-in vfio-pci may have
    /// no /sys/module entry, while /sys/bus/pci/drivers/vfio-pci holds its devices).
    static func loaded(_ s: HostSnapshot, _ name: String) -> Bool {
        let module = name.replacing("-", with: "_")
        return s.host.sysfs.exists(HostPath.sysModule.child(module))
            || s.host.sysfs.exists(HostPath.sysBusPCIDrivers.child(DriverResolver.driverNames[module] ?? module))
    }

    static func vfio(_ s: HostSnapshot, _ kmod: Kmod) -> Finding {
        let names = ["vfio", "vfio_iommu_type1", "vfio_pci"]
        let missing = names.filter { kmod.availability($0) == .missing && !loaded(s, $0) }
        if !missing.isEmpty {
            return Finding("modules.vfio", .fail, "the kernel has no \(missing.joined(separator: ", ")) module",
                           remedy: "install the kernel's VFIO modules (they ship with distribution kernels; a custom kernel needs CONFIG_VFIO_PCI)")
        }
        let notLoaded = names.filter { !loaded(s, $0) && kmod.availability($0) != .builtin }
        if !notLoaded.isEmpty {
            return Finding("modules.vfio", .warn, "\(notLoaded.joined(separator: ", ")) available but not loaded",
                           remedy: "modprobe vfio-pci (gpuprep bind loads it when needed; 'gpuprep bind --persist' loads it at boot)")
        }
        return Finding("modules.vfio", .pass, "vfio, vfio_iommu_type1 and vfio_pci are loaded")
    }

    static func nouveau(_ s: HostSnapshot, _ kmod: Kmod) -> Finding {
        let blacklisted = kmod.blacklist().contains("nouveau")
        let bound = s.gpus.filter { $0.driver == "nouveau" }
        let blacklistRemedy = kmod.availability("nouveau") == .builtin
            ? "add modprobe.blacklist=nouveau nouveau.modeset=0 to the kernel command line and reboot (nouveau is built into this kernel: modprobe.d cannot stop it)"
            : "gpuprep check --fix (writes \(HostPath.nouveauBlacklist)), then rebuild the initramfs (\(NouveauBlacklist.rebuild(s.host.sysfs) ?? "update-initramfs -u or dracut -f")) and reboot"
        if let gpu = bound.first(where: { !$0.bootVGA }) {
            return Finding("modules.nouveau", .fail, "nouveau drives \(gpu.address): it holds the GPU that vfio-pci or the NVIDIA vGPU host driver needs",
                           remedy: "gpuprep bind \(gpu.address) (for this GPU), or " + blacklistRemedy)
        }
        if let gpu = bound.first {
            return Finding("modules.nouveau", .warn, "nouveau drives the boot VGA GPU \(gpu.address) (the host's console): fine for the host, but it will also claim any other NVIDIA GPU at boot",
                           remedy: "gpuprep bind --persist the GPUs meant for VMs, so vfio-pci claims them first")
        }
        if loaded(s, "nouveau") {
            return Finding("modules.nouveau", .warn, "nouveau is loaded", remedy: "modprobe -r nouveau, and " + blacklistRemedy)
        }
        if kmod.availability("nouveau") == .missing {
            return Finding("modules.nouveau", .pass, "nouveau is not installed")
        }
        if !blacklisted {
            return Finding("modules.nouveau", .warn, "nouveau is not blacklisted: it will claim NVIDIA GPUs at boot", remedy: blacklistRemedy)
        }
        return Finding("modules.nouveau", .pass, "nouveau is blacklisted and not loaded")
    }

    static func vgpuHostDriver(_ s: HostSnapshot) -> Finding {
        let parents = s.topology.functions.filter { $0.vgpuInterface != nil }
        // Counted per physical GPU (a VF and its PF are one card), and mdev parents that are no
        // PCI device (KubeVirt's fake provider registers one named nvidia) counted too.
        let gpus = Set(parents.map { ($0.physicalFunction ?? $0.address).description }).sorted()
        let others = VGPUDiscovery(host: s.host).mdevParents().filter { PCIAddress($0) == nil }.sorted()
        if !gpus.isEmpty || !others.isEmpty {
            var kinds = Set(parents.compactMap { $0.vgpuInterface?.rawValue })
            if !others.isEmpty { kinds.insert("mdev") }
            let on = (gpus.isEmpty ? [] : ["\(gpus.count) GPU\(gpus.count == 1 ? "" : "s") (\(gpus.first!)\(gpus.count > 1 ? ", ..." : ""))"])
                + (others.isEmpty ? [] : ["the non-PCI mdev parent\(others.count == 1 ? "" : "s") \(others.joined(separator: ", "))"])
            return Finding("modules.vgpu", .pass, "vGPUs are offered (\(kinds.sorted().joined(separator: ", "))) on \(on.joined(separator: " and "))")
        }
        return Finding("modules.vgpu", .skip, "no vGPU interface on this host (fine for passthrough; for vGPU install NVIDIA's vGPU host driver and enable SR-IOV: NVIDIA's sriov-manage -e ALL)")
    }
}
