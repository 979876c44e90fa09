import GPUPrepSystem

/// What else a VFIO or vGPU host needs: iommufd, and NVIDIA's vGPU manager and VFs.
enum HostReadinessChecks {
    static func run(_ s: HostSnapshot) -> [Finding] {
        [iommufd(s)] + vgpuHost(s) + nextBoot(s)
    }

    /// Devices bound at the next boot (`bind --next-boot`, or --persist on a device that left its
    /// driver since): the early binding is written, the running driver is another one. Pending
    /// until the reboot, as a configured but unbooted command line is.
    static func nextBoot(_ s: HostSnapshot) -> [Finding] {
        let recorded = PersistentBindings.parse(AtomicFile(root: s.host.root).read(.persistUdevRules))
        return recorded.compactMap { binding in
            guard let function = s.topology.functions.first(where: { $0.address == binding.address }), function.driver != binding.driver else { return nil }
            return Finding("device.next_boot", .warn,
                           "\(binding.address) binds to \(binding.driver) at the next boot (\(HostPath.persistUdevRules)), on \(function.driver ?? "no driver") now: reboot pending",
                           remedy: "reboot (or 'gpuprep bind \(binding.address)' now, if nothing holds it)", device: binding.address)
        }
    }

    /// iommufd (Linux 6.2+, CONFIG_IOMMUFD: /dev/iommu) and VFIO's per-device files on it
    /// (6.6+, CONFIG_VFIO_DEVICE_CDEV: /dev/vfio/devices/vfioN, named in each bound device's
    /// vfio-dev/). QEMU 9.0 and later can open a device through them (`-object iommufd`);
    /// VFIO groups (/dev/vfio/N) keep working either way, so this is never a failure.
    static func iommufd(_ s: HostSnapshot) -> Finding {
        let sysfs = s.host.sysfs
        let config = s.host.kernelRelease.flatMap { sysfs.readWhole(HostPath.boot.child("config-\($0)")) }
        func configured(_ option: String) -> Bool {
            config?.split(separator: "\n").contains { $0 == "\(option)=y" || $0 == "\(option)=m" } ?? false
        }
        let iommufd = sysfs.exists(.devIOMMU) || configured("CONFIG_IOMMUFD")
        let cdev = sysfs.exists(.devVFIODevices) || configured("CONFIG_VFIO_DEVICE_CDEV")
        switch (iommufd, cdev) {
        case (true, true):
            return Finding("iommu.iommufd", .pass, "iommufd and VFIO's per-device files are available: QEMU 9.0+ can use them (-object iommufd); VFIO groups work as well")
        case (true, false):
            return Finding("iommu.iommufd", .pass, "iommufd is available (/dev/iommu), but VFIO's per-device files are not (CONFIG_VFIO_DEVICE_CDEV, Linux 6.6+): VMs use VFIO groups (/dev/vfio/N)")
        default:
            return Finding("iommu.iommufd", .skip, "no iommufd (Linux 6.2+ with CONFIG_IOMMUFD): VMs use VFIO groups (/dev/vfio/N), which is all passthrough needs")
        }
    }

    /// NVIDIA's vGPU manager service, the SR-IOV VFs a per-VF (vGPU 17+) host makes vGPUs on,
    /// and NVIDIA's own SR-IOV unit, which enables VFs at boot as gpuprep's rule does.
    static func vgpuHost(_ s: HostSnapshot) -> [Finding] {
        let sysfs = s.host.sysfs
        let manager = unit("nvidia-vgpu-mgr.service", sysfs)
        let interfaces = Set(s.topology.functions.compactMap(\.vgpuInterface))
        guard !interfaces.isEmpty || manager.present else {
            return [Finding("vgpu.manager", .skip, "no NVIDIA vGPU host driver (no vGPU interface, no nvidia-vgpu-mgr.service): fine for passthrough")]
        }
        var findings: [Finding] = []
        if !manager.present {
            findings.append(Finding("vgpu.manager", .warn, "vGPUs are offered but there is no nvidia-vgpu-mgr.service: NVIDIA's vGPU manager must run for a VM to start a vGPU",
                                    remedy: "install the vGPU manager from NVIDIA's vGPU host driver package (it ships nvidia-vgpu-mgr.service)"))
        } else if !manager.enabled {
            findings.append(Finding("vgpu.manager", .warn, "nvidia-vgpu-mgr.service is installed but not enabled: after a reboot no VM can start a vGPU",
                                    remedy: "systemctl enable --now nvidia-vgpu-mgr"))
        } else if let pid = HostProcess.running("nvidia-vgpu-mgr", sysfs).first {
            findings.append(Finding("vgpu.manager", .pass, "nvidia-vgpu-mgr.service is enabled and running (pid \(pid))"))
        } else {
            findings.append(Finding("vgpu.manager", .warn, "nvidia-vgpu-mgr.service is enabled but not running: a VM started with a vGPU fails until it runs",
                                    remedy: "systemctl start nvidia-vgpu-mgr (journalctl -u nvidia-vgpu-mgr says why it stopped)"))
        }
        // A GPU on nvidia with SR-IOV but no VFs, on a host that makes vGPUs on VFs.
        if interfaces.contains(.nvidiaVFIO) || interfaces.isEmpty {
            let off = s.gpus.filter { $0.driver == "nvidia" && ($0.sriov?.totalVFs ?? 0) > 0 && $0.sriov?.numVFs == 0 }
            // NVIDIA's unit, or Proxmox VE's (pve-nvidia-sriov@ALL.service, from its "NVIDIA vGPU on Proxmox VE" guide).
            let theirs = otherSRIOVUnits.map { (name: $0, state: unit($0, sysfs)) }.first { $0.state.enabled }
            if let first = off.first {
                findings.append(Finding("vgpu.vfs", .warn, "\(off.map(\.address.description).joined(separator: ", ")) \(off.count == 1 ? "has" : "have") SR-IOV but no VFs: vGPU 17+ makes vGPUs on VFs, and they are gone after every reboot",
                                        remedy: "gpuprep sriov enable \(first.address) --persist (each such GPU)", device: first.address))
            } else if let theirs, gpuprepSetsVFsAtBoot(sysfs) {
                let owner = theirs.name.hasPrefix("pve-") ? "Proxmox VE's" : "NVIDIA's"
                findings.append(Finding("vgpu.vfs", .warn, "\(owner) \(theirs.name) and gpuprep (\(HostPath.layoutFile), applied at boot) both enable VFs at boot, and race",
                                        remedy: "keep one: systemctl disable \(theirs.name), or 'gpuprep sriov disable --persist' for each GPU (gpuprep-apply.service waits for VFs another unit enables)"))
            } else if interfaces.contains(.nvidiaVFIO) {
                findings.append(Finding("vgpu.vfs", .pass, "every NVIDIA GPU with SR-IOV has its VFs enabled"))
            }
        }
        return findings
    }

    /// The units of others that enable NVIDIA VFs at boot.
    static let otherSRIOVUnits = ["nvidia-sriov.service", "pve-nvidia-sriov@ALL.service"]

    /// Whether gpuprep enables VFs at boot: its unit applies a layout that sets VF counts (or
    /// the udev rules of gpuprep before the layout file do).
    static func gpuprepSetsVFsAtBoot(_ sysfs: Sysfs) -> Bool {
        if sysfs.exists(.persistVGPURules) { return true }
        guard unit("gpuprep-apply.service", sysfs).enabled, let layout = try? LayoutStore.load(root: sysfs.root) else { return false }
        return !layout.sriov.isEmpty || layout.profiles.values.contains { !($0.sriov ?? []).isEmpty }
    }

    /// Whether a systemd unit is installed (in any unit directory) and enabled (wanted by the
    /// multi-user target).
    static func unit(_ name: String, _ sysfs: Sysfs) -> (present: Bool, enabled: Bool) {
        let present = HostPath.systemdUnitDirs.contains { sysfs.exists($0.child(name)) }
        let enabled = sysfs.linkTarget(HostPath.systemdEnabledDir.child(name)) != nil || sysfs.exists(HostPath.systemdEnabledDir.child(name))
        return (present, enabled)
    }
}
