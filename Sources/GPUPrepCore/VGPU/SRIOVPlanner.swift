import GPUPrepSystem

/// Enabling and disabling SR-IOV VFs (what NVIDIA's `sriov-manage -e` does), planned and verified.
public struct SRIOVPlanner {
    public let host: HostContext
    /// NVIDIA's sriov-manage, when it is installed on the live host (never one in a --root tree).
    public var sriovManage: HostPath?
    /// Which holders of the GPU the change may stop and start again (--release).
    public var release = ReleaseChoice()

    public init(host: HostContext) {
        self.host = host
        sriovManage = host.root.isLiveHost && host.sysfs.isExecutable(.sriovManage) ? .sriovManage : nil
    }

    /// The VFs enabled now. While the kernel holds the device past the read deadline, they are
    /// counted from their virtfnN links, which read without the lock: a busy PF is never taken
    /// for one without VFs.
    func numVFs(_ address: PCIAddress) -> Int? {
        let device = HostPath.sysBusPCIDevices.child(address.description)
        switch host.sysfs.readLocked(device.child("sriov_numvfs")) {
        case .value(let count): return Int(count)
        case .busy: return (host.sysfs.list(device) ?? []).count { $0.hasPrefix("virtfn") }
        case .unreadable: return nil
        }
    }

    func totalVFs(_ address: PCIAddress) throws(GPUPrepError) -> Int {
        guard host.sysfs.exists(HostPath.sysBusPCIDevices.child(address.description)) else {
            throw GPUPrepError(.unknownDevice, "no PCI function \(address) on \(host.root.display): run 'gpuprep list' to see the GPUs")
        }
        guard let total = host.sysfs.read(HostPath.sysBusPCIDevices.child(address.description, "sriov_totalvfs")).flatMap({ Int($0) }), total > 0 else {
            throw GPUPrepError(.refused, "\(address) is not SR-IOV capable (no sriov_totalvfs)")
        }
        return total
    }

    /// Enables `count` VFs (all by default). The kernel takes a new count only from 0, so a
    /// different count goes through 0 first.
    public func planEnable(_ address: PCIAddress, count: Int?, force: Bool = false, persist: Bool = false) throws(GPUPrepError) -> ChangePlan {
        let total = try totalVFs(address)
        let wanted = count ?? total
        guard (1...total).contains(wanted) else { throw GPUPrepError(.usage, "--count must be between 1 and \(total) for \(address)") }
        let current = numVFs(address) ?? 0
        var plan = ChangePlan()
        if current != wanted {
            let openFiles = OpenFiles.scan(host)
            try plan.refuse(heldThroughVFIO(address, openFiles: openFiles), unless: force)
            holdersOfTheDriver(address, plan: &plan, openFiles: openFiles)
        }
        if persist {
            plan.fileChanges = try LayoutStore(host: host).recordVFs(address, count: count.map { .exactly($0) } ?? .max)
        }
        guard current != wanted else { return plan }
        if current != 0 {
            let disable = try planDisable(address, force: force)
            plan.actions += disable.actions
            plan.warnings += disable.warnings
        }
        let path = HostPath.sysBusPCIDevices.child(address.description, "sriov_numvfs")
        var write = Step.write(path, String(wanted), device: address)
        // NVIDIA asks that its GPUs' VFs be enabled with sriov-manage (some driver releases
        // refuse a raw sriov_numvfs write); it enables all of them, so a smaller count is
        // written directly. Either way the count and the last VF are checked after.
        if let tool = sriovManage, wanted == total {
            write = .run(tool, ["-e", address.description], attempts: 3, device: address)
            plan.notes.append("VFs enabled with NVIDIA's \(tool) (-e), as NVIDIA asks")
        } else if let tool = sriovManage {
            plan.notes.append("\(tool) enables every VF; for \(wanted) of \(total), sriov_numvfs is written directly")
        }
        write.undo = [.write(path, "0", device: address), Step(action: .verifyValue, path: path, value: "0", device: address)]
        plan.actions += [write, Step(action: .verifyValue, path: path, value: String(wanted), device: address),
                         Step(action: .verifyExists, path: HostPath.sysBusPCIDevices.child(address.description, "virtfn\(wanted - 1)"),
                              value: "", device: address)]
        return plan
    }

    /// A PF on a VFIO driver whose device a process (a VM) holds belongs to that VM: its VF
    /// count is not the host's to change (bind and unbind refuse it the same way).
    /// `openFiles`: a scan of /proc already made (scanned here when needed otherwise).
    func heldThroughVFIO(_ address: PCIAddress, openFiles: OpenFiles? = nil) -> [String] {
        let device = HostPath.sysBusPCIDevices.child(address.description)
        guard let driver = host.sysfs.linkName(device.child("driver")), VFIORule.isVFIODriver(driver) else { return [] }
        let group = host.sysfs.linkName(device.child("iommu_group")).flatMap { Int($0) }
        let holders = (openFiles ?? OpenFiles.scan(host)).vfioHolders(group: group, device: device, sysfs: host.sysfs)
        guard !holders.isEmpty else { return [] }
        return ["\(address) is on \(driver) and in use by \(holders.map(\.process.described).joined(separator: ", ")): it belongs to that VM, and its VFs are not the host's to change; \(holders.advice), then 'gpuprep unbind \(address)'"]
    }

    /// Processes holding the GPU through NVIDIA's driver (/dev/nvidiaN): NVIDIA documents that
    /// sriov-manage then fails with "Cannot obtain unbindLock" (shared/notes/vgpu-and-stacks.md).
    /// NVIDIA's services among them are stopped for the change with --release; the others are said.
    func holdersOfTheDriver(_ address: PCIAddress, plan: inout ChangePlan, openFiles: OpenFiles) {
        guard host.sysfs.linkName(HostPath.sysBusPCIDevices.child(address.description, "driver")) == "nvidia" else { return }
        let held = DeviceHolders(files: openFiles, sysfs: host.sysfs).holders(at: address)
        let kept = plan.release(held, release, sysfs: host.sysfs)
        if !kept.isEmpty {
            plan.warnings.append("\(address) is in use: \(kept.described); NVIDIA's driver may refuse to change its VFs while it is (\"Cannot obtain unbindLock\"): \(kept.advice)")
        }
    }

    /// Disables the VFs; refused while a VF carries a vGPU or a VM holds one, unless forced.
    public func planDisable(_ address: PCIAddress, force: Bool, persist: Bool = false) throws(GPUPrepError) -> ChangePlan {
        _ = try totalVFs(address)
        let current = numVFs(address) ?? 0
        var plan = ChangePlan()
        if persist { plan.fileChanges = try LayoutStore(host: host).recordVFs(address, count: nil) }
        guard current != 0 else { return plan }
        let openFiles = OpenFiles.scan(host)
        try plan.refuse(heldThroughVFIO(address, openFiles: openFiles), unless: force)
        holdersOfTheDriver(address, plan: &plan, openFiles: openFiles)
        // The VFs go, and with them their vGPUs and the VMs they are given to.
        let functions = try PCIDiscovery(host: host).functions(.all)
        try plan.refuse(Dependents(host: host, functions: functions, openFiles: openFiles).reasons(for: address, vfsOnly: true),
                        unless: force)
        let path = HostPath.sysBusPCIDevices.child(address.description, "sriov_numvfs")
        var write = Step.write(path, "0", device: address)
        write.undo = [.write(path, String(current), device: address)]
        plan.actions += [write, Step(action: .verifyValue, path: path, value: "0", device: address)]
        return plan
    }
}
