import FoundationEssentials
import GPUPrepSystem

/// The layout file on a host (`/etc/gpuprep/gpuprep.yaml` under the root): read, and changed by
/// the single commands' `--persist`, which record what they did in it (the file is the one
/// source of truth for boot) and make sure the unit that applies it at boot is there.
public struct LayoutStore {
    public let host: HostContext
    public var environment: [String: String] = ProcessInfo.processInfo.environment

    public init(host: HostContext) { self.host = host }

    /// The layout file under a root, nil when there is none.
    public static func load(root: HostRoot, environment: [String: String] = ProcessInfo.processInfo.environment) throws(GPUPrepError) -> HostLayout? {
        guard let text = try text(root: root) else { return nil }
        return try LayoutFile.parse(text, shown: HostPath.layoutFile.string, environment: environment)
    }

    static func text(root: HostRoot) throws(GPUPrepError) -> String? {
        try LayoutFile.hostText(root: root)
    }

    /// The file steps that record a change: the layout as `change` leaves it, the boot unit and
    /// its enabling link. A host without the file starts from what earlier versions' --persist
    /// wrote (udev rules, mdevctl definitions), so nothing persisted before is lost.
    public func record(_ change: (inout HostLayout) -> Void) throws(GPUPrepError) -> [Step] {
        var steps: [Step] = []
        var layout: HostLayout
        let existing = try Self.text(root: host.root)
        if let text = existing {
            layout = try LayoutFile.parse(text, shown: HostPath.layoutFile.string, environment: environment)
            guard layout.defaultProfile == nil else {
                throw GPUPrepError(.refused, "\(HostPath.layoutFile) is a vgpu-device-manager file: gpuprep does not rewrite it; change it yourself, or leave out --persist")
            }
            guard LayoutWriter.render(layout) == text else {
                throw GPUPrepError(.refused, "\(HostPath.layoutFile) has comments or formatting that rewriting it would lose: add the entry to it yourself, or leave out --persist")
            }
        } else {
            (layout, steps) = migrated()
        }
        change(&layout)
        let content = LayoutWriter.render(layout)
        if existing != content { steps.insert(Step(action: .writeFile, path: .layoutFile, value: content, device: nil), at: 0) }
        return steps + BootUnit.installSteps(host: host)
    }

    /// What the --persist files of gpuprep before `apply` hold, as a layout, and the removal of
    /// the vGPU rules whose job the boot unit takes over (the binding rules stay: they make vfio
    /// claim the devices before their host drivers, and are written from the layout too).
    func migrated() -> (HostLayout, [Step]) {
        var layout = HostLayout(source: HostPath.layoutFile.string)
        let files = AtomicFile(root: host.root)
        for binding in PersistentBindings.parse(files.read(.persistUdevRules)) {
            layout.passthrough.append(HostLayout.Passthrough(match: .init(address: binding.address), driver: binding.driver, companions: false))
        }
        var steps: [Step] = []
        let rules = LegacyVGPUPersistence.parseRules(files.read(.persistVGPURules))
        if !rules.isEmpty { steps.append(Step(action: .removeFile, path: .persistVGPURules, value: "", device: nil)) }
        let holdings = GPUHoldings.read(host, withCapacity: false)
        for device in rules.keys.sorted() {
            guard let address = PCIAddress(device) else { continue }
            if let count = rules[device]?["sriov_numvfs"].flatMap({ Int($0) }) {
                layout.sriov.append(HostLayout.SRIOVEntry(match: .init(address: address), vfs: .exactly(count)))
            }
            if let type = rules[device]?["nvidia/current_vgpu_type"] {
                let gpu = host.sysfs.linkName(HostPath.sysBusPCIDevices.child(device, "physfn")).flatMap { PCIAddress($0) } ?? address
                Self.add(&layout, gpu: gpu, parent: nil, type: "nvidia-" + type, uuid: nil)
            }
        }
        for parent in (host.sysfs.list(.mdevctlConfig) ?? []).sorted() where HostPath.isPlainName(parent) {
            for name in (host.sysfs.list(HostPath.mdevctlConfig.child(parent)) ?? []).sorted() {
                let definition = HostPath.mdevctlConfig.child(parent, name)
                let text = files.read(definition)
                guard let uuid = UUID(uuidString: name), HostPath.isPlainName(name),
                      let type = LegacyVGPUPersistence.mdevctlType(text) else { continue }
                // From now on the boot unit makes it: mdevctl keeps the definition, started by hand only.
                if let manual = LegacyVGPUPersistence.manualDefinition(text) {
                    steps.append(Step(action: .writeFile, path: definition, value: manual, device: nil))
                }
                // A parent that is not there now (a VF of a GPU whose VFs are off) has no known
                // GPU: keying it by the VF would make an entry apply can never meet.
                let isPCI = PCIAddress(parent) != nil
                guard !isPCI || host.sysfs.exists(HostPath.sysBusPCIDevices.child(parent)) else { continue }
                let gpu = PCIAddress(holdings.gpu(of: parent))
                Self.add(&layout, gpu: gpu, parent: gpu == nil ? parent : nil, type: type, uuid: uuid)
            }
        }
        for gpu in Set(layout.vgpus.compactMap(\.match.address)) { Self.addVFCount(&layout, gpu: gpu, host: host) }
        return (layout, steps)
    }

    /// A GPU whose vGPUs live on its VFs gets them back at boot only with its VFs: its VF count
    /// now, unless the layout already sets one (none for a GPU without SR-IOV or without VFs).
    static func addVFCount(_ layout: inout HostLayout, gpu: PCIAddress, host: HostContext) {
        let match = HostLayout.Match(address: gpu)
        guard !layout.sriov.contains(where: { $0.match == match }) else { return }
        let device = HostPath.sysBusPCIDevices.child(gpu.description)
        guard let total = host.sysfs.read(device.child("sriov_totalvfs")).flatMap({ Int($0) }), total > 0,
              let now = host.sysfs.read(device.child("sriov_numvfs")).flatMap({ Int($0) }) ?? (host.sysfs.list(device)?.count { $0.hasPrefix("virtfn") }),
              now > 0 else { return }
        layout.sriov.append(HostLayout.SRIOVEntry(match: match, vfs: now == total ? .max : .exactly(now)))
    }

    // MARK: what each command records

    /// Adds one vGPU (of `type`, on a GPU or a non-PCI parent) to the entry for that GPU and type.
    static func add(_ layout: inout HostLayout, gpu: PCIAddress?, parent: String?, type: String, uuid: UUID?) {
        let match = gpu.map { HostLayout.Match(address: $0) } ?? HostLayout.Match(parent: parent)
        if let index = layout.vgpus.firstIndex(where: { $0.match == match && $0.type == type }) {
            if case .exactly(let n) = layout.vgpus[index].count { layout.vgpus[index].count = .exactly(n + 1) }
            if let uuid { layout.vgpus[index].uuids.append(uuid) }
        } else {
            layout.vgpus.append(HostLayout.VGPUEntry(match: match, type: type, count: .exactly(1), uuids: uuid.map { [$0] } ?? []))
        }
    }

    /// `create --persist` and `destroy --persist`: the vGPUs counted into (or out of) their entries.
    public func recordVGPUs(_ instances: [VGPUInstance], created: Bool) throws(GPUPrepError) -> [Step] {
        let holdings = GPUHoldings.read(host, withCapacity: false)
        return try record { layout in
            for instance in instances {
                let gpuName = holdings.gpu(of: instance)
                let gpu = PCIAddress(gpuName)
                let match = gpu.map { HostLayout.Match(address: $0) } ?? HostLayout.Match(parent: gpuName)
                let index = layout.vgpus.firstIndex { entry in
                    entry.match == match && VGPUPlanner.names(id: instance.type, name: instance.typeName, entry.type)
                }
                if created {
                    if let index, let uuid = instance.uuid, layout.vgpus[index].uuids.contains(uuid) { continue }   // recorded already
                    if index == nil {
                        // Counted from what is there, so the entry holds the GPU's vGPUs of this type, new and old.
                        let there = holdings.vgpus.filter { holdings.gpu(of: $0) == gpuName && $0.type == instance.type && $0 != instance }
                        layout.vgpus.append(HostLayout.VGPUEntry(match: match, type: instance.typeName ?? instance.type, count: .exactly(there.count),
                                                                 uuids: there.compactMap(\.uuid)))
                    }
                    if let gpu { Self.addVFCount(&layout, gpu: gpu, host: host) }
                    let at = index ?? layout.vgpus.count - 1
                    if case .exactly(let n) = layout.vgpus[at].count { layout.vgpus[at].count = .exactly(n + 1) }
                    if let uuid = instance.uuid, !layout.vgpus[at].uuids.contains(uuid) { layout.vgpus[at].uuids.append(uuid) }
                } else if let index {
                    if case .exactly(let n) = layout.vgpus[index].count { layout.vgpus[index].count = .exactly(max(0, n - 1)) }
                    layout.vgpus[index].uuids.removeAll { $0 == instance.uuid }
                    if layout.vgpus[index].count == .exactly(0) { layout.vgpus.remove(at: index) }
                }
            }
        }
    }

    /// `sriov enable --persist` (a count, or nil: all) and `sriov disable --persist` (remove).
    public func recordVFs(_ gpu: PCIAddress, count: HostLayout.Count?) throws(GPUPrepError) -> [Step] {
        try record { layout in
            let match = HostLayout.Match(address: gpu)
            layout.sriov.removeAll { $0.match == match }
            if let count { layout.sriov.append(HostLayout.SRIOVEntry(match: match, vfs: count)) }
        }
    }

    /// `bind --persist` (each device with its driver) and `unbind --persist` (driver nil: removed).
    public func recordBindings(_ addresses: [PCIAddress], driver: String?, companions: Bool) throws(GPUPrepError) -> [Step] {
        try record { layout in
            for address in addresses {
                layout.passthrough.removeAll { $0.match == HostLayout.Match(address: address) }
                if let driver {
                    layout.passthrough.append(HostLayout.Passthrough(match: .init(address: address), driver: driver, companions: companions))
                }
            }
        }
    }
}
