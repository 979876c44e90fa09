import GPUPrepSystem

/// `apply` from start to end: wait (at boot) for what the layout needs, plan every entry, and
/// unless only checking or planning, carry the entries out one by one under the host lock, each
/// planned on the host as the one before left it, all in one transaction: a failure anywhere
/// puts back everything done before it.
public struct ApplyRun {
    public let planner: ApplyPlanner
    public let session: ChangeSession
    /// `--check`: change nothing; the report's `changed` says whether the host differs.
    public var check = false
    /// `--boot`: wait, up to `waitSeconds`, for the devices, drivers and vGPU types to appear.
    public var boot = false
    public var waitSeconds = 120
    /// After VFs are enabled, how long their vGPU types may take to appear (NVIDIA's vGPU
    /// manager lists them once the VF's driver has probed).
    public var settleSeconds = 15
    /// `--regenerate` (with --persist): rebuild the initramfs once the files it carries changed.
    public var regenerate = false
    /// Told what is being waited for (at boot), as it happens.
    public var progress: (String) -> Void = { _ in }
    /// The most rounds of `max` on one entry (a GPU has at most 32 VFs; a host, a few hundred).
    static let maxFillRounds = 1024

    public init(planner: ApplyPlanner, session: ChangeSession) {
        self.planner = planner
        self.session = session
    }

    public func run() throws(GPUPrepError) -> ApplyReport {
        var host = try session.openChecked()
        if boot { host = try waitForHost(host) }
        var report = ApplyReport(layout: planner.layout, dryRun: session.dryRun, check: check)
        report.before = LayoutState.read(planner, host: host)
        do throws(GPUPrepError) { try preview(host, into: &report) } catch {
            // For --check a layout the host cannot be taken to is a difference, said in the report.
            guard check, error.code == .refused else { throw error }
            report.refused.append(error.message)
        }
        if check || session.dryRun { session.noteChangeInProgress(host) }
        guard !check && !session.dryRun && report.changed else { return report }

        let lock = try session.takeLock(host)
        defer { withExtendedLifetime(lock) {} }
        host = try session.open()
        report.before = LayoutState.read(planner, host: host)
        (report.plan, report.created, report.destroyed, report.pending) = (ChangePlan(), [], [], [])
        let applier = session.applier(host)
        var transaction = Transaction()
        var vfsChanged = Set<String>()
        var failed = false
        for work in planner.work {
            let part: ApplyPlanner.Part
            do throws(GPUPrepError) {
                host = try session.open()
                part = try plan(work, host: &host, settlingOn: vfsChanged)
            } catch {
                applier.rollBack(&transaction, reason: error.message)
                break
            }
            report.plan.merge(part.plan)
            guard !part.plan.isEmpty else { continue }
            let stopping = part.plan.releases.filter { release in !transaction.released.contains { $0.unit == release.unit } }
            if !applier.release(stopping, in: &transaction) { applier.rollBack(&transaction); break }
            if !applier.carryOut(part.plan, in: &transaction) { applier.rollBack(&transaction); break }
            report.created += part.created
            report.destroyed += part.destroyed
            vfsChanged.formUnion(part.vfsChanging)
            // `max` where a card's room was known one at a time: again, on the host as this left
            // it, until nothing more is planned (bounded: a VF holds one vGPU at most).
            if case .addVGPUs(let entry) = work, entry.count == .max, !part.created.isEmpty {
                var rounds = 0
                while rounds < Self.maxFillRounds {
                    rounds += 1
                    let more: ApplyPlanner.Part
                    do throws(GPUPrepError) {
                        host = try session.open()
                        more = try planner.plan(work, host: host)
                    } catch {
                        // What was made is what fits so far: `max` ends here, said, not undone.
                        report.plan.warnings.append("\(planner.layout.source):\(entry.line): max '\(entry.type)' stopped after \(report.created.count) made: \(error.message)")
                        break
                    }
                    guard !more.created.isEmpty else { break }
                    report.plan.merge(more.plan)
                    if !applier.carryOut(more.plan, in: &transaction) { applier.rollBack(&transaction); failed = true; break }
                    report.created += more.created
                }
                if failed { break }
            }
        }
        applier.rollBackIfInterrupted(&transaction)
        applier.startReleased(&transaction)
        if regenerate {
            // A missing program was refused by the preview, before anything was written.
            try? report.plan.addRegeneration(host)
            applier.regenerate(report.plan.regeneration, in: &transaction)
        }
        report.outcome = applier.finish(transaction)
        if report.outcome?.failure != nil { report.created = []; report.destroyed = [] }
        if let now = try? session.open() { report.after = LayoutState.read(planner, host: now) }
        return report
    }

    /// Plans every entry on the host as it is, without changing it: vGPUs for a GPU whose VFs are
    /// still to change can only be planned once they exist, and are said to be pending.
    func preview(_ host: HostContext, into report: inout ApplyReport) throws(GPUPrepError) {
        var after = report.before
        var vfsChanging = Set<String>()
        for work in planner.work {
            if case .addVGPUs(let entry) = work {
                let targets = try planner.vgpuTargets(entry, host: host)
                let waiting = targets.filter { vfsChanging.contains($0) }
                if !waiting.isEmpty {
                    report.pending.append("\(planner.layout.source):\(entry.line): \(entry.count) '\(entry.type)' on \(waiting.joined(separator: ", ")), planned once the VFs are there")
                    if case .exactly(let n) = entry.count { for target in waiting { after.vgpus[target, default: [:]][entry.type] = n } }
                    continue
                }
            }
            let part = try planner.plan(work, host: host)
            report.plan.merge(part.plan)
            vfsChanging.formUnion(part.vfsChanging)
            for change in part.plan.devices { after.passthrough[change.function.address.description] = .some(change.to) }
            if case .setVFs(let entry) = work {
                let functions = try planner.readings.functions(host)
                for gpu in part.vfsChanging {
                    let total = functions.first { $0.address.description == gpu }?.sriov?.totalVFs ?? 0
                    if case .exactly(let n) = entry.vfs { after.sriov[gpu] = n } else { after.sriov[gpu] = total }
                }
            }
            if case .addVGPUs(let entry) = work {
                for made in part.created { after.vgpus[target(of: made, entry, host), default: [:]][entry.type, default: 0] += 1 }
                if entry.count == .max {
                    let holdings = planner.readings.holdings(host)
                    for target in try planner.vgpuTargets(entry, host: host) where planner.roomIsUnknown(for: entry.type, on: target, holdings) {
                        report.pending.append("\(planner.layout.source):\(entry.line): max '\(entry.type)' on \(target): at least the \(part.created.filter { self.target(of: $0, entry, host) == target }.count) planned; how many more fit is known only once they are made (no empty card of its model and no catalogue tells its total), so apply makes one at a time until the card lists the type no more")
                    }
                }
            }
            if case .removeVGPUs(let entry) = work {
                for gone in part.destroyed { after.vgpus[target(of: gone, entry, host), default: [:]][entry.type, default: 0] -= 1 }
            }
            report.created += part.created
            report.destroyed += part.destroyed
        }
        report.after = after
        if regenerate { try report.plan.addRegeneration(host) }
    }

    /// The key a vGPU is counted under: the entry's parent, or its GPU (an nvidia-vfio vGPU's
    /// parent is its GPU already).
    func target(of vgpu: VGPUInstance, _ entry: HostLayout.VGPUEntry, _ host: HostContext) -> String {
        if let parent = entry.match.parent { return parent }
        return vgpu.uuid == nil ? vgpu.parent : planner.readings.holdings(host).gpu(of: vgpu.parent)
    }

    /// Plans one entry; vGPUs on a GPU whose VFs were just enabled (or, at boot, on any GPU:
    /// NVIDIA's vGPU manager may still be starting) may need their types to appear first, so a
    /// type not offered yet is waited for, bounded.
    func plan(_ work: ApplyPlanner.Work, host: inout HostContext, settlingOn changed: Set<String>) throws(GPUPrepError) -> ApplyPlanner.Part {
        guard case .addVGPUs(let entry) = work else { return try planner.plan(work, host: host) }
        if !boot {
            let targets = try planner.vgpuTargets(entry, host: host)
            if Set(targets).isDisjoint(with: changed) { return try planner.plan(work, host: host) }
        }
        var waited = 0
        while true {
            do throws(GPUPrepError) { return try planner.plan(work, host: host) } catch {
                guard error.code == .unknownType || error.code == .refused, waited < (boot ? waitSeconds : settleSeconds) * 1000 else { throw error }
                if waited == 0 { progress("waiting for the VFs' vGPU types ('\(entry.type)') to appear") }
                pause(milliseconds: 250)
                waited += 250
                host = try session.open()
            }
        }
    }

    /// At boot: waits until every function the layout names by address is there, every GPU whose
    /// VFs it sets is on a driver (NVIDIA enables VFs only once its driver has the GPU), and every
    /// mdev parent it names exists; gives up after `waitSeconds` and plans with what there is.
    func waitForHost(_ first: HostContext) throws(GPUPrepError) -> HostContext {
        var host = first
        var waited = 0
        var said = ""
        while true {
            let missing = missingForBoot(host)
            if missing.isEmpty { return host }
            if waited >= waitSeconds * 1000 {
                progress("gave up waiting after \(waitSeconds) s for: \(missing.joined(separator: "; "))")
                return host
            }
            let now = missing.joined(separator: "; ")
            if now != said { progress("waiting for: \(now)"); said = now }
            pause(milliseconds: 500)
            waited += 500
            host = try session.open()
        }
    }

    func missingForBoot(_ host: HostContext) -> [String] {
        let sysfs = host.sysfs
        var missing: [String] = []
        func device(_ address: PCIAddress) -> HostPath { HostPath.sysBusPCIDevices.child(address.description) }
        func bound(_ address: PCIAddress) -> Bool { sysfs.linkName(device(address).child("driver")) != nil }
        // GPUs named by id (or index) are waited on once they are there: a driver on each.
        let all = (try? planner.readings.functions(host)) ?? []
        func needsDriver(_ match: HostLayout.Match) {
            if let address = match.address {
                if !sysfs.exists(device(address)) { missing.append("\(address) to appear") }
                else if !bound(address) { missing.append("a driver to bind \(address)") }
                return
            }
            guard match.parent == nil else { return }
            for f in (try? planner.functions(match, all, host: host)) ?? [] where !bound(f.address) {
                missing.append("a driver to bind \(f.address)")
            }
        }
        for entry in planner.layout.passthrough {
            if let address = entry.match.address, !sysfs.exists(device(address)) { missing.append("\(address) to appear") }
        }
        for entry in planner.layout.sriov { needsDriver(entry.match) }
        var holdings: GPUHoldings?
        // The GPUs whose VFs this file sets itself: applied after the wait, not waited for.
        let settingVFs = Set(planner.layout.sriov.flatMap { (try? planner.functions($0.match, all, host: host)) ?? [] }.map(\.address))
        for entry in planner.layout.vgpus {
            if let parent = entry.match.parent, HostPath.isPlainName(parent), !sysfs.exists(HostPath.sysClassMdevBus.child(parent)) {
                missing.append("mdev parent \(parent)")
            }
            needsDriver(entry.match)
            guard entry.match.parent == nil else { continue }
            // Whoever enables the VFs (this file, nvidia-sriov.service, Proxmox's
            // pve-nvidia-sriov@ALL.service), and however late NVIDIA's vGPU manager lists the
            // types: each GPU's VFs, then its types listed (or already running).
            let known = holdings ?? planner.readings.holdings(host)
            holdings = known
            for f in (try? planner.functions(entry.match, all, host: host)) ?? [] where bound(f.address) && !settingVFs.contains(f.address) {
                missing += Self.notReadyForVGPUs(f, type: entry.type, known, sysfs: sysfs)
            }
        }
        return Array(Set(missing)).sorted()
    }

    /// What a GPU still lacks before an entry's vGPUs can be planned on it: its VFs, on an
    /// SR-IOV GPU on nvidia that is no mdev parent itself (its vGPUs live on VFs); then types
    /// listed by its parents (or vGPUs running: a full card lists nothing). A GPU whose lists name
    /// other types but not this one is ready: the type not fitting is the plan's to say.
    static func notReadyForVGPUs(_ gpu: PCIFunction, type: String, _ holdings: GPUHoldings, sysfs: Sysfs) -> [String] {
        let name = gpu.address.description
        let isMdevParent = sysfs.exists(HostPath.sysClassMdevBus.child(name))
        if gpu.driver == "nvidia", (gpu.sriov?.totalVFs ?? 0) > 0, !isMdevParent,
           (sysfs.list(HostPath.sysBusPCIDevices.child(name))?.contains { $0.hasPrefix("virtfn") } ?? false) == false {
            return ["the VFs of \(name) (enabled by this file, nvidia-sriov.service or pve-nvidia-sriov@ALL.service)"]
        }
        let listed = holdings.types.contains { holdings.gpu(of: $0.parent) == name }
        let running = holdings.vgpus.contains { holdings.gpu(of: $0) == name }
        if !listed && !running && (gpu.driver == "nvidia" || isMdevParent) {
            return ["NVIDIA's vGPU manager to list the vGPU types of \(name) ('\(type)')"]
        }
        return []
    }
}
