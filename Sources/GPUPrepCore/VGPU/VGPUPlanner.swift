import FoundationEssentials
import GPUPrepSystem

/// Plans vGPU creation and destruction from what the host offers; every check comes before the
/// first write, every write is verified, and each carries its own undo.
public struct VGPUPlanner {
    public let host: HostContext
    let discovery: VGPUDiscovery

    public init(host: HostContext) {
        self.host = host
        discovery = VGPUDiscovery(host: host)
    }

    // MARK: create

    /// Placement without --parent: each instance goes to the parent with the most room left (so
    /// mdev instances spread across GPUs); for nvidia-vfio, to a free VF of the GPU with the most
    /// free VFs offering the type.
    public func planCreate(type wanted: String, parent: String?, count: Int, uuid: UUID?,
                           persist: Bool = false) throws(GPUPrepError) -> (ChangePlan, [VGPUInstance]) {
        guard count >= 1 else { throw GPUPrepError(.usage, "--count must be 1 or more") }
        if uuid != nil && count != 1 { throw GPUPrepError(.usage, "--uuid names one vGPU: use it without --count") }
        let all = discovery.types()
        let matching = all.filter { $0.id == wanted || $0.name?.lowercased() == wanted.lowercased() }
        guard !matching.isEmpty else {
            throw GPUPrepError(.unknownType, "no parent offers a vGPU type '\(wanted)': run 'gpuprep types' for the ids and names")
        }
        let offers = matching.filter { parent == nil || $0.parent == parent }
        guard !offers.isEmpty else {
            throw GPUPrepError(.unknownType, "\(parent!) does not offer '\(wanted)' now; it is offered by \(Set(matching.map(\.parent)).sorted().joined(separator: ", "))")
        }
        let interface = offers[0].interface
        if uuid != nil && interface == .nvidiaVFIO {
            throw GPUPrepError(.usage, "nvidia-vfio vGPUs have no UUID: the VF is the vGPU; drop --uuid")
        }

        // An existing mdev with this UUID: the same one is already there (nothing to do), else a clash.
        if let uuid, let existing = discovery.instances().first(where: { $0.uuid == uuid }) {
            if offers.contains(where: { $0.parent == existing.parent && $0.id == existing.type }) {
                var plan = ChangePlan()
                if persist { plan.fileChanges = VGPUPersistence.steps(for: [existing], created: true, host: host) }
                return (plan, [existing])
            }
            throw GPUPrepError(.refused, "UUID \(uuid.uuidString.lowercased()) is in use by a \(existing.type) vGPU on \(existing.parent)")
        }

        var room = offers.map { (type: $0, left: $0.availableInstances ?? 0) }
        let total = room.reduce(0) { $0 + $1.left }
        guard total >= count else {
            let detail = room.map { "\($0.type.parent): \($0.left)" }.joined(separator: ", ")
            throw GPUPrepError(.refused, "only \(total) more '\(offers[0].name ?? offers[0].id)' can be made (\(detail)); asked for \(count): nothing was created")
        }
        var plan = ChangePlan()
        var planned: [VGPUInstance] = []
        for index in 0..<count {
            let pick: Int
            if interface == .nvidiaVFIO {
                // Each VF holds one: prefer the GPU (physical function) with the most free VFs left.
                var freeByPF: [String: Int] = [:]
                for r in room where r.left > 0 { freeByPF[physfn(r.type.parent), default: 0] += 1 }
                pick = room.indices.filter { room[$0].left > 0 }
                    .max { (freeByPF[physfn(room[$0].type.parent)]!, -$0) < (freeByPF[physfn(room[$1].type.parent)]!, -$1) }!
            } else {
                pick = room.indices.max { (room[$0].left, -$0) < (room[$1].left, -$1) }!
            }
            room[pick].left -= 1
            let type = room[pick].type
            let (steps, instance) = interface == .mdev
                ? createMdev(type, uuid: index == 0 && uuid != nil ? uuid! : UUID())
                : createOnVF(type)
            plan.actions += steps
            planned.append(instance)
        }
        if persist { plan.fileChanges = VGPUPersistence.steps(for: planned, created: true, host: host) }
        return (plan, planned)
    }

    func physfn(_ vf: String) -> String {
        host.sysfs.linkName(HostPath.sysBusPCIDevices.child(vf, "physfn")) ?? vf
    }

    func createMdev(_ type: VGPUType, uuid: UUID) -> ([Step], VGPUInstance) {
        let name = uuid.uuidString.lowercased()
        let device = HostPath.sysBusMdevDevices.child(name)
        var write = Step.write(HostPath.sysClassMdevBus.child(type.parent, "mdev_supported_types", type.id, "create"), name)
        write.undo = [.write(device.child("remove"), "1"), Step(action: .verifyAbsent, path: device, value: "", device: nil)]
        let verify = Step(action: .verifyExists, path: device, value: "", device: nil)
        return ([write, verify], VGPUInstance(uuid: uuid, address: nil, parent: type.parent, interface: .mdev, type: type.id,
                                              typeName: type.name, iommuGroup: nil))
    }

    func createOnVF(_ type: VGPUType) -> ([Step], VGPUInstance) {
        let number = String(type.id.dropFirst("nvidia-".count))
        let current = HostPath.sysBusPCIDevices.child(type.parent, "nvidia", "current_vgpu_type")
        var write = Step.write(current, number)
        write.undo = [.write(current, "0"), Step(action: .verifyValue, path: current, value: "0", device: nil)]
        let verify = Step(action: .verifyValue, path: current, value: number, device: nil)
        return ([write, verify], VGPUInstance(uuid: nil, address: PCIAddress(type.parent), parent: physfn(type.parent),
                                              interface: .nvidiaVFIO, type: type.id, typeName: type.name, iommuGroup: nil))
    }

    // MARK: destroy

    /// Destroys the named vGPUs (UUIDs or VF addresses), or all (of one parent). A vGPU a VM holds
    /// (its /dev/vfio/N open) is refused unless forced. Each removal's undo makes it again.
    public func planDestroy(_ names: [String], all: Bool, parent: String?, force: Bool,
                            persist: Bool = false) throws(GPUPrepError) -> (ChangePlan, [VGPUInstance]) {
        let existing = discovery.instances()
        var targets: [VGPUInstance] = []
        if all {
            if !names.isEmpty { throw GPUPrepError(.usage, "--all and named vGPUs exclude each other: give one or the other") }
            targets = existing.filter { parent == nil || $0.parent == parent || $0.address?.description == parent }
        } else {
            if names.isEmpty { throw GPUPrepError(.usage, "name the vGPUs to destroy (UUIDs or VF addresses), or use --all") }
            for name in names {
                let uuid = UUID(uuidString: name)
                let address = PCIAddress(name.lowercased())
                guard uuid != nil || address != nil else {
                    throw GPUPrepError(.usage, "'\(name)' is neither a UUID nor a PCI address")
                }
                guard let match = existing.first(where: { (uuid != nil && $0.uuid == uuid) || (address != nil && $0.address == address) }) else {
                    throw GPUPrepError(.unknownDevice, "no vGPU \(name) on \(host.root.display): run 'gpuprep vgpus' to see them")
                }
                targets.append(match)
            }
        }
        let files = OpenFiles.scan(host)
        var plan = ChangePlan()
        for target in targets {
            if let group = target.iommuGroup {
                let holders = files.groupHolders(group)
                if !holders.isEmpty {
                    let who = holders.map { "\($0.name) (pid \($0.pid))" }.joined(separator: ", ")
                    let reason = "\(target.uuid?.uuidString.lowercased() ?? target.address?.description ?? "?") is in use: /dev/vfio/\(group) is open by \(who); shut that VM down first"
                    if force { plan.warnings.append("forced: " + reason) } else { throw GPUPrepError(.refused, reason + " (--force goes ahead anyway)") }
                }
            }
            plan.actions += destroySteps(target)
        }
        if persist { plan.fileChanges = VGPUPersistence.steps(for: targets, created: false, host: host) }
        return (plan, targets)
    }

    func destroySteps(_ target: VGPUInstance) -> [Step] {
        if let uuid = target.uuid {
            let name = uuid.uuidString.lowercased()
            let device = HostPath.sysBusMdevDevices.child(name)
            var remove = Step.write(device.child("remove"), "1")
            if HostPath.isPlainName(target.parent) && HostPath.isPlainName(target.type) {
                remove.undo = [.write(HostPath.sysClassMdevBus.child(target.parent, "mdev_supported_types", target.type, "create"), name),
                               Step(action: .verifyExists, path: device, value: "", device: nil)]
            }
            return [remove, Step(action: .verifyAbsent, path: device, value: "", device: nil)]
        }
        guard let vf = target.address else { return [] }
        let current = HostPath.sysBusPCIDevices.child(vf.description, "nvidia", "current_vgpu_type")
        var clear = Step.write(current, "0")
        clear.undo = [.write(current, String(target.type.dropFirst("nvidia-".count)))]
        return [clear, Step(action: .verifyValue, path: current, value: "0", device: nil)]
    }
}
