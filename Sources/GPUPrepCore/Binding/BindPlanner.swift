import GPUPrepSystem

/// What one device will go through.
public struct DeviceChange: Sendable {
    public var function: PCIFunction
    /// The driver it is on now, and the one it is meant to end on (nil: none, or "whatever
    /// host driver claims it" when unbinding).
    public var from: String?
    public var to: String?
    public var steps: [Step]
}

/// Every write and check of a bind or unbind, in order, decided before the first write.
public struct ChangePlan: Sendable {
    public var moduleLoads: [Step] = []
    public var devices: [DeviceChange] = []
    /// Steps not tied to a device's driver (vGPU creation and removal), undone by their own `undo`.
    public var actions: [Step] = []
    /// Configuration files for --persist, written after every device is verified.
    public var fileChanges: [Step] = []
    /// What --force let through, said to the user.
    public var warnings: [String] = []
    /// What the user should know that is not a warning (a vGPU that already exists).
    public var notes: [String] = []
    /// Services stopped before the change and started again after it, whatever happens
    /// (--release, --release-display): see ServiceRelease.
    public var releases: [ServiceRelease] = []
    /// --regenerate: the host's own programs that rebuild what boots from the files written,
    /// run once the change is done (never rolled back: see Regeneration).
    public var regeneration: [Step] = []

    public init() {}

    /// Every step in the order it is carried out: services released, the change, services back,
    /// then the regeneration.
    public var steps: [Step] { releases.map(\.stop) + changeSteps + releases.reversed().map(\.start) + regeneration }
    /// The change itself, without the services it stops and starts.
    public var changeSteps: [Step] { moduleLoads + devices.flatMap(\.steps) + actions + fileChanges }
    /// Nothing to change (then no service is stopped either) and nothing to regenerate.
    public var isEmpty: Bool { changeSteps.isEmpty && regeneration.isEmpty }

    /// The safety checks' verdict: no reason, nothing to say; with --force, each becomes a
    /// warning; without, the change is refused with every reason at once (exit 65).
    public mutating func refuse(_ reasons: [String], unless force: Bool) throws(GPUPrepError) {
        guard !reasons.isEmpty else { return }
        guard force else { throw GPUPrepError(.refused, reasons.joined(separator: "; ") + " (--force goes ahead anyway)") }
        warnings += reasons.map { "forced: " + $0 }
    }
}

/// Plans bind and unbind from a snapshot of the host; pure apart from reading that snapshot.
public struct BindPlanner {
    public let host: HostContext
    public let functions: [PCIFunction]
    let byAddress: [PCIAddress: PCIFunction]
    let openFiles: OpenFiles
    /// Who holds each function's nodes.
    public let holders: DeviceHolders
    /// The vGPUs and VF assignments that a driver change would destroy.
    let dependents: Dependents
    /// Which holders the change may stop and start again (--release, --release-display).
    public var release = ReleaseChoice()

    public init(host: HostContext) throws(GPUPrepError) {
        self.host = host
        functions = try PCIDiscovery(host: host).functions(.all, headerTypes: true)
        byAddress = Dictionary(uniqueKeysWithValues: functions.map { ($0.address, $0) })
        openFiles = OpenFiles.scan(host)
        holders = DeviceHolders(files: openFiles, sysfs: host.sysfs)
        dependents = Dependents(host: host, functions: functions, openFiles: openFiles)
    }

    // MARK: bind

    /// `persist`: also the early binding files, and (`recordInLayout`) the entry in the layout file.
    /// `nextBoot`: only those files (the guides' "ids in vfio-pci options, then reboot"), the
    /// running drivers left as they are; what holds a device now does not stop it (the early
    /// binding takes the device at boot, before a display server or daemon can open it).
    public func planBind(_ addresses: [PCIAddress], driver choice: DriverChoice, companions: Bool,
                         force: Bool, persist: Bool = false, recordInLayout: Bool = true,
                         nextBoot: Bool = false) throws(GPUPrepError) -> ChangePlan {
        let targets = try devices(addresses, companions: companions)
        var plan = ChangePlan()
        let moving = Set(targets.map(\.address))
        var modules: [String: ResolvedDriver] = [:]
        var persistent: [PersistentBinding] = []
        var refusals: [String] = []
        var groupsSaid = Set<Int>()     // a group left unusable is said once, not once per function in it
        let recorded = persist || nextBoot ? recordedBindings() : []
        for function in targets {
            let module = DriverResolver.module(for: choice, function: function, modalias: function.modalias, kmod: host.kmod())
            let driver: ResolvedDriver
            if let known = modules[module] { driver = known } else { driver = try DriverResolver.resolve(module: module, sysfs: host.sysfs) }
            modules[module] = driver
            // Once a device is on VFIO its host driver can no longer be read from it: keep what was recorded.
            let known = recorded.first { $0.address == function.address }?.hostModules ?? []
            let hosts = try known + hostModules(function, excluding: driver.module).filter { !known.contains($0) }
            persistent.append(PersistentBinding(address: function.address, driver: driver.driver, module: driver.module,
                                                hostModules: hosts))
            if function.driver == driver.driver && function.driverOverride == driver.driver { continue }   // already there
            refusals += unsafeBindReasons(function, moving: moving, plan: &plan, groupsSaid: &groupsSaid, live: !nextBoot)
            plan.devices.append(DeviceChange(function: function, from: function.driver, to: driver.driver,
                                             steps: Self.bindSteps(function, to: driver.driver)))
        }
        if let fabric = NVLinkFabric(functions), let split = fabric.bindWarning(moving: Set(plan.devices.map(\.function.address))) {
            plan.warnings.append(split)
        }
        // Every reason for every device at once, so that one run tells the whole story.
        try plan.refuse(refusals, unless: force)
        if nextBoot {
            let moving = plan.devices.map { "\($0.function.address) (\($0.from ?? "no driver") now)" }
            if !moving.isEmpty {
                plan.notes.append("at the next boot \(moving.joined(separator: ", ")) bind\(moving.count == 1 ? "s" : "") to \(plan.devices[0].to ?? "its VFIO driver"), before any host driver: reboot to apply it ('gpuprep check' shows it pending until then)")
            }
            // Nothing of the running host changes: no device step, and so no module load.
            plan.devices = []
        }
        for driver in modules.values.sorted(by: { $0.module < $1.module })
        where !driver.loaded && plan.devices.contains(where: { $0.to == driver.driver }) {
            plan.moduleLoads.append(Step(action: .loadModule, path: nil, value: driver.module, device: nil))
            // A module loads only into the running kernel: a run on a --root tree stops at this step.
            if !host.root.isLiveHost {
                plan.warnings.append("\(driver.module) is not loaded in \(host.root.display), and gpuprep loads modules only into the running kernel: under --root the real run stops at 'modprobe \(driver.module)' (load it on that host first)")
            }
        }
        if persist || nextBoot {
            let kept = recorded.filter { old in !persistent.contains { $0.address == old.address } }
            let early = PersistentBindings.plan(to: kept + persistent, files: AtomicFile(root: host.root))
            plan.fileChanges = early.steps
            plan.notes += early.notes
            plan.warnings += early.warnings
            if recordInLayout { plan.fileChanges += try LayoutStore(host: host).recordBindings(addresses, driver: choice.text, companions: companions) }
        }
        return plan
    }

    /// What is recorded in the persistent rules file now.
    func recordedBindings() -> [PersistentBinding] {
        PersistentBindings.parse(AtomicFile(root: host.root).read(.persistUdevRules))
    }

    /// The modules that could drive a function on the host (libkmod's matches for its modalias),
    /// else the module of the driver it is on.
    /// They go into a `softdep` line of modprobe.d: a name from the tree that no module can have
    /// (a new line would start a second statement) is refused, naming where it came from.
    func hostModules(_ f: PCIFunction, excluding vfio: String) throws(GPUPrepError) -> [String] {
        var candidates = f.modules ?? []
        var source = "the tree's module indexes (modules.alias) for \(f.address)"
        if candidates.isEmpty, let driver = f.driver,
           let module = host.sysfs.linkName(HostPath.sysBusPCIDrivers.child(driver, "module")) {
            candidates = [module]
            source = HostPath.sysBusPCIDrivers.child(driver, "module").string
        }
        if let bad = candidates.first(where: { !DriverResolver.isDriverName($0) }) {
            throw GPUPrepError(.unknownDevice, "\(source) names a module '\(bad.shownAsName)' no kernel module can have (letters, digits, '_' and '-' only): the tree is damaged or hostile; nothing was changed")
        }
        return candidates.filter { $0 != vfio && !VFIORule.isVFIODriver($0) }
    }

    /// The kernel's sequence: the override names the driver (vfio-pci has no id table, so its
    /// `bind` refuses any device not named so), the current driver lets go, and a probe lets the
    /// kernel match the device again, this time to the override. A probe reports success even
    /// when nothing bound, hence the check of the `driver` link.
    static func bindSteps(_ f: PCIFunction, to driver: String) -> [Step] {
        var steps: [Step] = []
        if f.driverOverride != driver { steps.append(.write(PCIPaths.driverOverride(f.address), driver, device: f.address)) }
        if f.driver != driver {
            if let current = f.driver { steps.append(.write(PCIPaths.unbind(current), f.address.description, device: f.address)) }
            steps.append(.write(.sysBusPCIDriversProbe, f.address.description, device: f.address))
        }
        steps.append(Step(action: .verify, path: PCIPaths.driverLink(f.address), value: driver, device: f.address))
        return steps
    }

    /// Why binding `f` is unsafe (empty: it is not); a device without an IOMMU group is only warned of.
    /// `live: false` (a binding at the next boot): what holds it or depends on it now is no reason.
    func unsafeBindReasons(_ f: PCIFunction, moving: Set<PCIAddress>, plan: inout ChangePlan, groupsSaid: inout Set<Int>,
                           live: Bool = true) -> [String] {
        var reasons: [String] = []
        if f.bootVGA {
            reasons.append("\(f.address) is the boot VGA device: the console runs on it and goes dark when it leaves \(f.driver ?? "its driver") (fine with another console, e.g. serial or SSH)")
        }
        if let group = f.iommuGroup {
            let stranded = functions.filter { $0.iommuGroup == group && !moving.contains($0.address) && VFIORule.blocksGroup($0) }
            if !stranded.isEmpty, groupsSaid.insert(group).inserted {
                let list = stranded.map { "\($0.address) (\($0.className ?? "device") on \($0.driver ?? "?"))" }.joined(separator: ", ")
                reasons.append("binding \(f.address) would leave IOMMU group \(group) unusable: \(list) stay\(stranded.count == 1 ? "s" : "") on the host, and VFIO takes a group whole (name \(stranded.count == 1 ? "it" : "them") too to pass \(stranded.count == 1 ? "it" : "them") to the same VM)")
            }
        } else {
            plan.warnings.append("\(f.address) has no IOMMU group: vfio-pci can bind it, but no VM can use it until the IOMMU is on")
        }
        // The VFs go with their PF's driver (its remove disables SR-IOV), and with them every
        // vGPU this GPU could still take: said even when none is in use.
        if let vfs = f.sriov?.numVFs, vfs > 0 {
            plan.notes.append("\(f.address)'s \(vfs) VF\(vfs == 1 ? "" : "s") go\(vfs == 1 ? "es" : "") with it: leaving \(f.driver ?? "its driver") disables SR-IOV, and the host can make no vGPU on it until it is back on nvidia with its VFs enabled")
        }
        guard live else { return reasons }
        let busy = plan.release(holders.holders(f), release, sysfs: host.sysfs)
        if !busy.isEmpty {
            reasons.append("\(f.address) is in use: \(busy.described); \(busy.advice)")
        }
        reasons += dependents.reasons(for: f.address)
        return reasons
    }

    // MARK: unbind

    /// Back to the host: clear the override, let the VFIO driver go, probe, and check that the
    /// device left it (the host driver that claims it, if any, is the kernel's choice).
    public func planUnbind(_ addresses: [PCIAddress], companions: Bool, force: Bool,
                           persist: Bool = false) throws(GPUPrepError) -> ChangePlan {
        let targets = try devices(addresses, companions: companions)
        var plan = ChangePlan()
        if persist {
            let leaving = Set(targets.map(\.address))
            let kept = recordedBindings().filter { !leaving.contains($0.address) }
            let early = PersistentBindings.plan(to: kept, files: AtomicFile(root: host.root))
            plan.fileChanges = early.steps
                + (try LayoutStore(host: host).recordBindings(targets.map(\.address), driver: nil, companions: companions))
            plan.notes += early.notes
            plan.warnings += early.warnings
        }
        var reasons: [String] = []
        for f in targets {
            let onVFIO = f.driver.map { VFIORule.isVFIODriver($0) || $0 == "pci-stub" } ?? false
            guard onVFIO || f.driverOverride != nil else { continue }   // already with the host
            let busy = plan.release(holders.holders(f), release, sysfs: host.sysfs)
            if !busy.isEmpty {
                reasons.append("\(f.address) is in use: \(busy.described); \(busy.advice)")
            }
            if onVFIO { reasons += dependents.reasons(for: f.address) }
            var steps: [Step] = []
            if f.driverOverride != nil { steps.append(.write(PCIPaths.driverOverride(f.address), "", device: f.address)) }
            if let current = f.driver, onVFIO {
                steps.append(.write(PCIPaths.unbind(current), f.address.description, device: f.address))
                steps.append(.write(.sysBusPCIDriversProbe, f.address.description, device: f.address))
                steps.append(Step(action: .verify, path: PCIPaths.driverLink(f.address), value: "!" + current, device: f.address))
            }
            plan.devices.append(DeviceChange(function: f, from: f.driver, to: nil, steps: steps))
        }
        try plan.refuse(reasons, unless: force)
        return plan
    }

    // MARK: devices

    /// The named functions, each followed by the other functions of its card (same slot),
    /// unless companions are not wanted. Unknown addresses are an error.
    func devices(_ addresses: [PCIAddress], companions: Bool) throws(GPUPrepError) -> [PCIFunction] {
        for address in addresses where byAddress[address] == nil {
            throw GPUPrepError(.unknownDevice, "no PCI function \(address) on \(host.root.display): run 'gpuprep list --all' to see the addresses")
        }
        return Self.devices(addresses.compactMap { byAddress[$0] }, companions: companions, among: functions)
    }

    /// `functions`, each followed by the other functions of its card among `all` (a GPU's
    /// audio, USB and UCSI functions), each once.
    static func devices(_ named: [PCIFunction], companions: Bool, among all: [PCIFunction]) -> [PCIFunction] {
        var result: [PCIFunction] = []
        var seen = Set<PCIAddress>()
        for function in named {
            var group = [function]
            if companions && function.kind == .gpu {
                group += all.filter { $0.address.slot == function.address.slot && $0.address != function.address && $0.physicalFunction == nil }
            }
            for f in group where !seen.contains(f.address) {
                seen.insert(f.address)
                result.append(f)
            }
        }
        return result
    }
}
