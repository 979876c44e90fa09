import GPUPrepSystem

/// What depends on a device: what a change to its driver, or to its VFs, would destroy or take
/// from a VM. A GPU's VFs go when it leaves its driver (the driver's remove disables SR-IOV) or
/// when `sriov_numvfs` changes, and with them the vGPUs they carry and the VMs they are given to.
public struct Dependents: Sendable {
    public let holdings: GPUHoldings
    let functions: [PCIFunction]
    let openFiles: OpenFiles
    let sysfs: Sysfs

    public init(host: HostContext, functions: [PCIFunction], openFiles: OpenFiles) {
        holdings = GPUHoldings.read(host, openFiles: openFiles, withCapacity: false)
        self.functions = functions
        self.openFiles = openFiles
        sysfs = host.sysfs
    }

    /// What goes when the device leaves its driver (`vfsOnly`: when only its VFs go, as when
    /// `sriov_numvfs` changes), one reason per kind, each naming every instance and holder.
    public func reasons(for address: PCIAddress, vfsOnly: Bool = false) -> [String] {
        var reasons: [String] = []
        let vgpus = holdings.vgpus(on: address).filter { !vfsOnly || $0.address != nil || $0.parent != address.description }
        if !vgpus.isEmpty {
            let list = vgpus.map { vgpu in
                let place = vgpu.uuid != nil && vgpu.parent != address.description ? " on \(vgpu.parent)" : ""
                let users = vgpu.holders.isEmpty ? "" : ", used by " + vgpu.holders.map(\.described).joined(separator: ", ")
                return "\(vgpu.name) (\(vgpu.typeName ?? vgpu.type)\(place)\(users))"
            }
            let what = vfsOnly ? "removing its VFs" : "taking it from its driver"
            reasons.append("\(address) carries \(vgpus.count) vGPU\(vgpus.count == 1 ? "" : "s"): \(list.joined(separator: ", ")); \(what) destroys \(vgpus.count == 1 ? "it" : "them"): destroy \(vgpus.count == 1 ? "it" : "them") first ('gpuprep destroy --all --parent \(address)')")
        }
        // VFs given to VMs: on a VFIO driver, or held through VFIO. One a VM holds goes back
        // only once that VM is shut down ('gpuprep unbind' refuses it while it runs).
        var users: [Holder] = []
        var idle: [PCIAddress] = []
        let held = functions.filter { $0.physicalFunction == address }.compactMap { vf -> String? in
            let holders = openFiles.vfioHolders(group: vf.iommuGroup, device: HostPath.sysBusPCIDevices.child(vf.address.description), sysfs: sysfs)
            let onVFIO = vf.driver.map(VFIORule.isVFIODriver) ?? false
            guard onVFIO || !holders.isEmpty else { return nil }
            if holders.isEmpty { idle.append(vf.address) }
            users += holders.filter { holder in !users.contains { $0.process.pid == holder.process.pid } }
            var seen = Set<Int>()
            let names = holders.map(\.process).filter { seen.insert($0.pid).inserted }.map(\.described)
            return "\(vf.address) (on \(vf.driver ?? "no driver")\(names.isEmpty ? "" : ", used by " + names.joined(separator: ", ")))"
        }
        if !held.isEmpty {
            let steps = [users.isEmpty ? nil : users.advice,
                         idle.isEmpty ? nil : "give \(idle.map(\.description).joined(separator: ", ")) back ('gpuprep unbind \(idle.map(\.description).joined(separator: " "))')"]
                .compactMap { $0 }.joined(separator: "; ")
            reasons.append("\(address)'s VF\(held.count == 1 ? "" : "s") \(held.joined(separator: ", ")) \(held.count == 1 ? "is" : "are") assigned through VFIO and would be removed: \(steps) first")
        }
        return reasons
    }
}
