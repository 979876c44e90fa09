import FoundationEssentials
import GPUPrepSystem

/// Plans `apply`: the host from what it is to what the layout says, one entry at a time, each
/// planned on the host as the entries before it left it (so capacity is judged on what is really
/// there) by the same planners, and so with the same refusals, as bind, sriov, create and destroy.
///
/// Order (dependency order, removals in reverse): vGPUs beyond a count go first, then bindings,
/// then VF counts (a GPU's vGPU 17+ types live on its VFs), then the vGPUs still missing.
/// Nothing the layout does not mention is removed.
public struct ApplyPlanner {
    public let layout: HostLayout
    /// Also make it hold at boot: the early binding files of the passthrough devices (so vfio
    /// claims them before their host drivers) and gpuprep-apply.service, enabled.
    public var persist = false
    /// `--next-boot` (implies persist): see `work`.
    public var nextBoot = false
    /// With --persist: the file applied when it is not the host's own (`-f FILE`), installed as
    /// the host's, so that the boot unit applies what was applied.
    public var persistedFile: (text: String, shown: String)?
    /// The profile chosen, which the boot unit then chooses too.
    public var profile: String?
    /// Which holders the change may stop and start again (--release, --release-display).
    public var release = ReleaseChoice()
    let readings = HostReadings()

    public init(layout: HostLayout, persist: Bool = false) {
        self.layout = layout
        self.persist = persist
    }

    public enum Work: Sendable {
        case removeVGPUs(HostLayout.VGPUEntry)
        case bind(HostLayout.Passthrough)
        case setVFs(HostLayout.SRIOVEntry)
        case addVGPUs(HostLayout.VGPUEntry)
        /// With --persist: the boot unit.
        case installBootUnit

        public var line: Int {
            switch self {
            case .removeVGPUs(let e), .addVGPUs(let e): return e.line
            case .bind(let e): return e.line
            case .setVFs(let e): return e.line
            case .installBootUnit: return 0
            }
        }
    }

    /// What one entry needs now.
    public struct Part: Sendable {
        public var plan = ChangePlan()
        public var created: [VGPUInstance] = []
        public var destroyed: [VGPUInstance] = []
        /// GPUs whose VF count this part changes (the vGPUs on them are planned once they exist).
        public var vfsChanging: [String] = []
    }

    /// Every entry, in the order they are planned and applied. `--next-boot`: only what the next
    /// boot reads (the passthrough devices' early binding, the layout file and its boot unit,
    /// which makes the VFs and vGPUs at that boot); the running host is left as it is.
    public var work: [Work] {
        if nextBoot { return layout.passthrough.map(Work.bind) + [.installBootUnit] }
        return layout.vgpus.map(Work.removeVGPUs) + layout.passthrough.map(Work.bind) + layout.sriov.map(Work.setVFs) + layout.vgpus.map(Work.addVGPUs)
            + (persist ? [.installBootUnit] : [])
    }

    /// Plans one entry on the host as it is now.
    public func plan(_ work: Work, host: HostContext) throws(GPUPrepError) -> Part {
        do throws(GPUPrepError) {
            switch work {
            case .bind(let entry): return try bind(entry, host: host)
            case .setVFs(let entry): return try setVFs(entry, host: host)
            case .removeVGPUs(let entry): return try vgpus(entry, host: host, adding: false)
            case .addVGPUs(let entry): return try vgpus(entry, host: host, adding: true)
            case .installBootUnit:
                var part = Part()
                if let profile, !BootUnit.isUnitWord(profile) {
                    throw GPUPrepError(.refused, "profile '\(profile)' cannot be named in the boot unit (letters, digits, '.', '_' and '-' only): rename it to persist it")
                }
                part.plan.fileChanges = try installLayoutSteps(host) + BootUnit.installSteps(host: host, profile: .some(profile))
                if nextBoot && !(layout.sriov.isEmpty && layout.vgpus.isEmpty) {
                    part.plan.notes.append("the file's VFs and vGPUs are made at the next boot, by gpuprep-apply.service (nothing changes on the running host)")
                }
                return part
            }
        } catch {
            // The single commands' messages, with the line of the entry that asked.
            if error.message.hasPrefix(layout.source) { throw error }
            throw GPUPrepError(error.code, "\(layout.source):\(work.line): \(error.message)")
        }
    }

    /// `apply -f FILE --persist`: FILE becomes the host's layout file, unless the host's is one an
    /// admin wrote (not in gpuprep's own form) that says something else: that is refused.
    func installLayoutSteps(_ host: HostContext) throws(GPUPrepError) -> [Step] {
        guard let file = persistedFile else { return [] }
        let existing = try LayoutStore.text(root: host.root)
        guard existing != file.text else { return [] }
        if let existing {
            let ours = (try? LayoutFile.parse(existing, shown: HostPath.layoutFile.string)).map { LayoutWriter.render($0) == existing } ?? false
            guard ours else {
                throw GPUPrepError(.refused, "\(HostPath.layoutFile) was written by hand and says something else than \(file.shown): --persist would replace it; merge \(file.shown) into it yourself (then 'gpuprep apply --persist'), or leave out --persist")
            }
        }
        return [Step(action: .writeFile, path: .layoutFile, value: file.text, device: nil)]
    }

    // MARK: matching

    /// The functions an entry names. An address that is not on the host is an error; ids and
    /// indexes that match nothing are not (one file serves hosts with different cards).
    func functions(_ match: HostLayout.Match, _ all: [PCIFunction], host: HostContext) throws(GPUPrepError) -> [PCIFunction] {
        if let address = match.address {
            guard let function = all.first(where: { $0.address == address }) else {
                throw GPUPrepError(.unknownDevice, "no PCI function \(address) on \(host.root.display): run 'gpuprep list --all' to see the addresses")
            }
            return [function]
        }
        var chosen = all.filter { $0.physicalFunction == nil }
        if match.nvidiaGPUs || match.index != nil {
            // vgpu-device-manager counts the NVIDIA GPUs in address order, then applies its filter
            // (cmd/nvidia-vgpu-dm/assert/assert.go:200-216).
            let gpus = chosen.filter { $0.vendorID == PCIIDs.nvidia && $0.kind == .gpu }.sorted { $0.address < $1.address }
            chosen = match.index.map { $0 < gpus.count ? [gpus[$0]] : [] } ?? gpus
        }
        if !match.ids.isEmpty {
            chosen = chosen.filter { f in match.ids.contains { $0.matches(f) } }
        }
        return chosen
    }

    // MARK: bindings

    func bind(_ entry: HostLayout.Passthrough, host: HostContext) throws(GPUPrepError) -> Part {
        var planner = try readings.bindPlanner(host)
        planner.release = release
        let targets = try functions(entry.match, planner.functions, host: host)
        var part = Part()
        guard !targets.isEmpty else {
            part.plan.notes.append("\(layout.source):\(entry.line): no device matches \(describe(entry.match)) on this host")
            return part
        }
        part.plan = try planner.planBind(targets.map(\.address), driver: try DriverChoice(entry.driver), companions: entry.companions, force: false,
                                         persist: persist || nextBoot, recordInLayout: false, nextBoot: nextBoot)
        return part
    }

    // MARK: VFs

    func setVFs(_ entry: HostLayout.SRIOVEntry, host: HostContext) throws(GPUPrepError) -> Part {
        let all = try readings.functions(host)
        var part = Part()
        var planner = SRIOVPlanner(host: host)
        planner.release = release
        for target in try functions(entry.match, all, host: host) {
            if entry.onlyWhereCapable && ((target.sriov?.totalVFs ?? 0) == 0 || (target.sriov?.numVFs ?? 0) > 0) { continue }
            // A vgpu-device-manager file names GPUs by index or as all of them: one passed through
            // whole is not the host's to make vGPUs on. Held by a VM, that is refused with the
            // VM's name (SRIOVPlanner); otherwise it is left as it is, and said so.
            if entry.onlyWhereCapable, let driver = target.driver, VFIORule.isVFIODriver(driver),
               planner.heldThroughVFIO(target.address).isEmpty {
                part.plan.notes.append("\(layout.source):\(entry.line): \(target.address) is on \(driver) (passed through whole): left as it is, no vGPUs made on it")
                continue
            }
            let plan: ChangePlan
            switch entry.vfs {
            case .max: plan = try planner.planEnable(target.address, count: nil)
            case .exactly(0): plan = try planner.planDisable(target.address, force: false)
            case .exactly(let n): plan = try planner.planEnable(target.address, count: n)
            }
            if !plan.isEmpty { part.vfsChanging.append(target.address.description) }
            part.plan.merge(plan)
        }
        return part
    }

    // MARK: vGPUs

    /// Where an entry's vGPUs go: each matched GPU, or the named parent.
    func vgpuTargets(_ entry: HostLayout.VGPUEntry, host: HostContext) throws(GPUPrepError) -> [String] {
        if let parent = entry.match.parent { return [parent] }
        let all = try readings.functions(host)
        var targets = try functions(entry.match, all, host: host)
        // The GPUs a vgpu-device-manager selection takes are those on a host driver: one on a
        // VFIO driver is passed through whole (see setVFs, which says so).
        if entry.match.nvidiaGPUs || entry.match.index != nil {
            targets = targets.filter { !($0.driver.map(VFIORule.isVFIODriver) ?? false) }
        }
        return targets.map(\.address.description)
    }

    func vgpus(_ entry: HostLayout.VGPUEntry, host: HostContext, adding: Bool) throws(GPUPrepError) -> Part {
        var part = Part()
        let planner = VGPUPlanner(host: host)
        let holdings = readings.holdings(host)
        for target in try vgpuTargets(entry, host: host) {
            let byParent = entry.match.parent != nil
            let existing = held(entry, on: target, holdings)
            // A listed UUID must be this entry's vGPU, or not exist yet.
            for uuid in entry.uuids {
                if let other = holdings.vgpus.first(where: { $0.uuid == uuid }), !existing.contains(other) {
                    throw GPUPrepError(.refused, "UUID \(uuid.uuidString.lowercased()) is in use by a \(other.type) vGPU on \(other.parent), not a '\(entry.type)' on \(target)")
                }
            }
            let missing = entry.uuids.filter { uuid in !existing.contains { $0.uuid == uuid } }
            if adding {
                var wanted: Int
                switch entry.count {
                case .exactly(let n): wanted = n - existing.count
                case .max: wanted = room(for: entry.type, on: target, byParent: byParent, holdings)
                }
                wanted = max(wanted, missing.count)
                if let params = entry.params {
                    part.plan.actions += try VGPUParams.steps(params, made: [], existing: existing, sysfs: host.sysfs)
                }
                guard wanted > 0 else { continue }
                let (plan, made) = try planner.planCreate(type: entry.type, parent: target, count: wanted, uuid: nil, uuids: missing)
                part.plan.merge(plan)
                part.created += made
                if let params = entry.params {
                    part.plan.actions += try VGPUParams.steps(params, made: made, existing: [], sysfs: host.sysfs)
                }
            } else {
                // Room is kept for the listed UUIDs still to make; the listed stay; of the others
                // the last by name (UUID, or VF address) go; a vGPU a VM uses is refused, as
                // destroy refuses it.
                guard case .exactly(let n) = entry.count, existing.count > n - missing.count else { continue }
                let removable = existing.filter { v in !entry.uuids.contains { $0 == v.uuid } }.sorted { $0.name < $1.name }
                let extra = removable.suffix(min(removable.count, existing.count - (n - missing.count)))
                guard !extra.isEmpty else { continue }
                let (plan, gone) = try planner.planDestroy(extra.map(\.name), all: false, parent: nil, force: false)
                part.plan.merge(plan)
                part.destroyed += gone
            }
        }
        return part
    }

    /// The vGPUs of an entry's type that a target holds: on the named parent (or that VF), or
    /// anywhere on the GPU.
    func held(_ entry: HostLayout.VGPUEntry, on target: String, _ holdings: GPUHoldings) -> [VGPUInstance] {
        let byParent = entry.match.parent != nil
        return holdings.vgpus.filter { v in
            (byParent ? (v.parent == target || v.address?.description == target) : holdings.gpu(of: v) == target)
                && VGPUPlanner.names(id: v.type, name: v.typeName, entry.type)
        }
    }

    /// How many more of a type fit on a GPU (or parent) now: its capacity where known, else what
    /// its parents say they can still make.
    func room(for type: String, on target: String, byParent: Bool, _ holdings: GPUHoldings) -> Int {
        let offers = holdings.types.filter { t in
            VGPUPlanner.names(id: t.id, name: t.name, type) && (byParent ? t.parent == target : holdings.gpu(of: t.parent) == target)
        }
        let byParents = offers.reduce(0) { $0 + ($1.availableInstances ?? 0) }
        guard !byParent, let capacity = holdings.capacity.first(where: { $0.gpu == target && VGPUPlanner.names(id: $0.id, name: $0.name, type) })
        else { return byParents }
        // Unknown (a per-VF card whose total nothing tells): one now, and `apply` reads the lists
        // again after it, as NVIDIA's device manager does, until the card lists the type no more.
        guard let creatable = capacity.creatable else { return min(1, byParents) }
        return min(creatable, byParents)
    }

    /// Whether `max` of an entry on a target is only known one vGPU at a time (see room).
    func roomIsUnknown(for type: String, on target: String, _ holdings: GPUHoldings) -> Bool {
        holdings.capacity.contains { $0.gpu == target && VGPUPlanner.names(id: $0.id, name: $0.name, type) && $0.creatable == nil }
    }

    func describe(_ match: HostLayout.Match) -> String {
        if let address = match.address { return address.description }
        if let parent = match.parent { return parent }
        var parts: [String] = []
        if let index = match.index { parts.append("NVIDIA GPU #\(index)") } else if match.nvidiaGPUs { parts.append("every NVIDIA GPU") }
        if !match.ids.isEmpty { parts.append(match.ids.map(\.description).joined(separator: " or ")) }
        return parts.joined(separator: " ")
    }
}

extension ChangePlan {
    /// Adds another plan's steps and words after this one's (a device or module named twice is
    /// planned once).
    public mutating func merge(_ other: ChangePlan) {
        for load in other.moduleLoads where !moduleLoads.contains(where: { $0.value == load.value }) { moduleLoads.append(load) }
        for change in other.devices where !devices.contains(where: { $0.function.address == change.function.address }) { devices.append(change) }
        actions += other.actions
        fileChanges += other.fileChanges.filter { !fileChanges.contains($0) }
        warnings += other.warnings
        notes += other.notes
        for release in other.releases {
            if let index = releases.firstIndex(where: { $0.unit == release.unit }) {
                releases[index].holders += release.holders.filter { !releases[index].holders.contains($0) }
            } else {
                releases.append(release)
            }
        }
    }
}
