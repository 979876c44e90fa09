import FoundationEssentials
import GPUPrepSystem

/// Plans vGPU creation and destruction from what the host offers; every check comes before the
/// first write, every write is verified, and each carries its own undo.
public struct VGPUPlanner {
    public let host: HostContext

    public init(host: HostContext) { self.host = host }

    // MARK: create

    /// Where instances go when no single parent is named.
    public enum Placement: String, Sendable, CaseIterable {
        /// Each instance to the GPU with the most room left: load spread across GPUs.
        case spread
        /// Each instance to the GPU with the least room left that still fits one: whole GPUs stay free.
        case pack
    }

    /// Plans `count` vGPUs of a type, within what each physical GPU can still take (see
    /// VGPUCapacityModel): an over-ask is refused with the true number and nothing is made.
    /// `parent` is an mdev parent, a VF, or a physical GPU (then its VFs).
    /// `uuids` (for `apply`) are given to the first mdevs made, in order.
    public func planCreate(type wanted: String, parent: String?, count: Int, uuid: UUID?, uuids: [UUID] = [],
                           placement: Placement = .spread, persist: Bool = false) throws(GPUPrepError) -> (ChangePlan, [VGPUInstance]) {
        guard count >= 1 else { throw GPUPrepError(.usage, "--count must be 1 or more") }
        if uuid != nil && count != 1 { throw GPUPrepError(.usage, "--uuid names one vGPU: use it without --count") }
        let holdings = GPUHoldings.read(host)
        let matching = holdings.types.filter { Self.names(id: $0.id, name: $0.name, wanted) }
        let full = holdings.capacity.filter { Self.names(id: $0.id, name: $0.name, wanted) && (parent == nil || $0.gpu == parent) }
        if matching.isEmpty, !full.isEmpty {
            // Known to GPUs of this model, but every list has shrunk past it: no room anywhere.
            let detail = full.map { "\($0.gpu): 0\($0.reason.map { " (\($0))" } ?? "")" }.joined(separator: "; ")
            throw GPUPrepError(.refused, "only 0 more '\(full[0].name ?? full[0].id)' fit (\(detail)); asked for \(count): nothing was created")
        }
        guard !matching.isEmpty else {
            let known = holdings.capacity.flatMap { [$0.id] + ($0.name.map { [$0] } ?? []) }
            let hint = Suggestion.closest(to: wanted, among: known).map { "; did you mean '\($0)'?" } ?? ""
            throw GPUPrepError(.unknownType, "no parent offers a vGPU type '\(wanted)'\(hint) ('gpuprep types' lists the ids and names)")
        }
        let offers = matching.filter { parent == nil || $0.parent == parent || holdings.gpu(of: $0.parent) == parent }
        if offers.isEmpty, let parent, let room = holdings.capacity.first(where: { $0.gpu == holdings.gpu(of: parent) && Self.names(id: $0.id, name: $0.name, wanted) }) {
            // The type is the GPU's, but it has no room for it now: that is a refusal, with why.
            throw GPUPrepError(.refused, "only 0 more '\(room.name ?? room.id)' fit on \(parent)\(room.reason.map { " (\($0))" } ?? ""); asked for \(count): nothing was created")
        }
        guard !offers.isEmpty else {
            throw GPUPrepError(.unknownType, "\(parent!) does not offer '\(wanted)' now; it is offered by \(Set(matching.map(\.parent)).sorted().joined(separator: ", "))")
        }
        let interface = offers[0].interface
        let typeID = offers[0].id
        let typeName = offers[0].name ?? typeID
        if uuid != nil && interface == .nvidiaVFIO {
            throw GPUPrepError(.usage, "nvidia-vfio vGPUs have no UUID: the VF is the vGPU; drop --uuid")
        }

        // An existing mdev with this UUID: the same one is already there (nothing to do), else a clash.
        if let uuid, let existing = holdings.vgpus.first(where: { $0.uuid == uuid }) {
            if offers.contains(where: { $0.parent == existing.parent && $0.id == existing.type }) {
                var plan = ChangePlan()
                plan.notes.append("\(existing.name) already exists as a \(existing.type) on \(existing.parent): nothing to create")
                if persist { plan.fileChanges = try LayoutStore(host: host).recordVGPUs([existing], created: true) }
                return (plan, [existing])
            }
            throw GPUPrepError(.refused, "UUID \(uuid.uuidString.lowercased()) is in use by a \(existing.type) vGPU on \(existing.parent)")
        }

        // Room per GPU: its capacity, and the parents on it that can make one now.
        struct Room { var gpu: String; var left: Int; var reason: String?; var parents: [(type: VGPUType, left: Int)] }
        var rooms: [Room] = []
        var unknown: [String] = []
        for gpu in Set(offers.map { holdings.gpu(of: $0.parent) }).sorted() {
            let parents = offers.filter { holdings.gpu(of: $0.parent) == gpu }.map { ($0, $0.availableInstances ?? 0) }.filter { $0.1 > 0 }
            let byParents = parents.reduce(0) { $0 + $1.1 }
            let capacity = holdings.capacity.first { $0.gpu == gpu && $0.id == typeID && $0.interface == interface }
            let left = min(byParents, capacity?.creatable ?? byParents)
            if capacity?.creatable == nil && left > 1 { unknown.append(gpu) }
            rooms.append(Room(gpu: gpu, left: left, reason: capacity?.reason, parents: parents))
        }
        let total = rooms.reduce(0) { $0 + $1.left }
        guard total >= count else {
            let detail = rooms.map { "\($0.gpu): \($0.left)\($0.reason.map { " (\($0))" } ?? "")" }.joined(separator: "; ")
            throw GPUPrepError(.refused, "only \(total) more '\(typeName)' fit\(total == 1 ? "s" : "") (\(detail)); asked for \(count): nothing was created")
        }
        var plan = ChangePlan()
        if !unknown.isEmpty {
            plan.warnings.append("how many '\(typeName)' \(unknown.joined(separator: ", ")) can still take is not known: if the kernel refuses one, the ones made are destroyed")
        }
        var planned: [VGPUInstance] = []
        for index in 0..<count {
            let candidates = rooms.indices.filter { rooms[$0].left > 0 }
            let pick = placement == .spread
                ? candidates.max { (rooms[$0].left, -$0) < (rooms[$1].left, -$1) }!
                : candidates.min { (rooms[$0].left, $0) < (rooms[$1].left, $1) }!
            rooms[pick].left -= 1
            // Within a GPU, the parent with most left (mdev on a PF), or the first free VF.
            let slot = rooms[pick].parents.indices.filter { rooms[pick].parents[$0].left > 0 }
                .max { (rooms[pick].parents[$0].left, -$0) < (rooms[pick].parents[$1].left, -$1) }!
            rooms[pick].parents[slot].left -= 1
            let type = rooms[pick].parents[slot].type
            let fixed = uuid.map { [$0] } ?? uuids
            let (steps, instance) = interface == .mdev
                ? createMdev(type, uuid: index < fixed.count ? fixed[index] : UUID())
                : createOnVF(type, gpu: rooms[pick].gpu)
            plan.actions += steps
            planned.append(instance)
        }
        // A card this fills lists no type any more: keep the names its lists give now.
        if interface == .nvidiaVFIO, let record = holdings.recordTypeNamesStep(host) { plan.fileChanges.append(record) }
        if persist { plan.fileChanges += try LayoutStore(host: host).recordVGPUs(planned, created: true) }
        return (plan, planned)
    }

    /// Whether a type answers to what the user typed: its id, its name, or its name without the
    /// vendor prefix NVIDIA's vgpu-device-manager leaves out (`T4-4Q` for `GRID T4-4Q`).
    static func names(id: String, name: String?, _ wanted: String) -> Bool {
        guard id != wanted else { return true }
        guard let name = name?.lowercased() else { return false }
        let asked = wanted.lowercased()
        return name == asked || name.hasSuffix(" " + asked)
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

    func createOnVF(_ type: VGPUType, gpu: String) -> ([Step], VGPUInstance) {
        let number = String(type.id.dropFirst("nvidia-".count))
        let current = HostPath.sysBusPCIDevices.child(type.parent, "nvidia", "current_vgpu_type")
        var write = Step.write(current, number)
        write.undo = [.write(current, "0"), Step(action: .verifyValue, path: current, value: "0", device: nil)]
        let verify = Step(action: .verifyValue, path: current, value: number, device: nil)
        // The value read back is what was written; what the driver did shows in the VF's own
        // list: a VF that carries a vGPU can take no other, so its creatable_vgpu_types names none.
        let made = Step(action: .verifyListsNone, path: HostPath.sysBusPCIDevices.child(type.parent, "nvidia", "creatable_vgpu_types"),
                        value: "", device: nil)
        return ([write, verify, made], VGPUInstance(uuid: nil, address: PCIAddress(type.parent), parent: gpu,
                                              interface: .nvidiaVFIO, type: type.id, typeName: type.name, iommuGroup: nil))
    }

    // MARK: destroy

    /// Destroys the named vGPUs (UUIDs or VF addresses), or all (of one parent). A vGPU a VM holds
    /// (its /dev/vfio/N open) is refused unless forced. Each removal's undo makes it again.
    public func planDestroy(_ names: [String], all: Bool, parent: String?, force: Bool,
                            persist: Bool = false) throws(GPUPrepError) -> (ChangePlan, [VGPUInstance]) {
        let holdings = GPUHoldings.read(host, openFiles: OpenFiles.scan(host), withCapacity: false)
        let existing = holdings.vgpus
        var targets: [VGPUInstance] = []
        if all {
            if !names.isEmpty { throw GPUPrepError(.usage, "--all and named vGPUs exclude each other: give one or the other") }
            targets = existing.filter { parent == nil || $0.parent == parent || $0.address?.description == parent || holdings.gpu(of: $0) == parent }
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
                // Named twice is one vGPU to destroy, not a second removal that must fail.
                if !targets.contains(match) { targets.append(match) }
            }
        }
        var plan = ChangePlan()
        // A VM using a vGPU holds its VFIO files; every one in use is named at once.
        let busy = targets.filter { !$0.holders.isEmpty }.map { target in
            "\(target.name) is in use by \(target.holders.map(\.described).joined(separator: ", "))"
        }
        if !busy.isEmpty {
            try plan.refuse([busy.joined(separator: "; ") + "; shut \(busy.count == 1 ? "that VM" : "those VMs") down first"], unless: force)
        }
        for target in targets { plan.actions += destroySteps(target) }
        if persist { plan.fileChanges = try LayoutStore(host: host).recordVGPUs(targets, created: false) }
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
