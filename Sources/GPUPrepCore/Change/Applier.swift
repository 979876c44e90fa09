import GPUPrepSystem

/// A step as carried out: whether it was done, and why not.
public struct StepRecord: Sendable {
    public var step: Step
    public var done: Bool
    public var error: String?
    /// What a program the step ran printed (regeneration), line by line.
    public var output: [String] = []
}

/// Where a device ended up.
public struct DeviceResult: Sendable, Encodable {
    public var address: PCIAddress
    public var from: String?
    public var to: String?

    enum Keys: String, CodingKey { case address, from, to }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(address, forKey: .address)
        try c.encode(from, forKey: .from)
        try c.encode(to, forKey: .to)
    }
}

/// What applying a plan did.
public struct ChangeOutcome: Sendable {
    public var records: [StepRecord] = []
    public var rollback: [StepRecord] = []
    public var devices: [DeviceResult] = []
    /// Nil when every step was done and verified.
    public var failure: GPUPrepError?
    /// What the user should know of how it went (regeneration not run under --root).
    public var notes: [String] = []
}

/// What a change has done so far, across the plans it carries out, so that a failure in any of
/// them puts back all of it.
public struct Transaction {
    public var outcome = ChangeOutcome()
    var plans: [ChangePlan] = []
    var touched: [(address: PCIAddress, override: String?, driver: String?)] = []
    /// Files and links as they were before the change wrote them (nil: absent).
    var replacedFiles: [(path: HostPath, old: String?, wasLink: Bool)] = []
    var undoable: [Step] = []
    /// Directories the change made for its files, outermost first (removed again by a rollback).
    var createdDirectories: [HostPath] = []
    /// Devices with a write still blocked in the kernel, and what that leaves.
    var blocked: [PCIAddress: String] = [:]
    /// Services stopped for the change (ServiceRelease), in the order they were stopped.
    var released: [ServiceRelease] = []
    var failure: String?

    public init() {}
}

/// Carries out a plan through a `HostWriter`, re-reading the host after each probe, and on the
/// first failure puts every device it touched back as it found it, in reverse order.
public struct Applier {
    public let writer: HostWriter
    public let sysfs: Sysfs
    /// How long to wait for a probe to bind (drivers may probe asynchronously).
    public var verifyTimeoutMilliseconds = 3000
    /// Who holds a device, in words, for a write that blocks (see OpenFiles.describeHolders).
    public var describeHolders: (PCIAddress) -> String? = { _ in nil }

    public init(writer: HostWriter, sysfs: Sysfs) {
        self.writer = writer
        self.sysfs = sysfs
    }

    /// Applies one plan; on the first failure puts back everything it did.
    public func apply(_ plan: ChangePlan) -> ChangeOutcome {
        var transaction = Transaction()
        if !release(plan.releases, in: &transaction) {
            transaction.outcome.records += plan.changeSteps.map { StepRecord(step: $0, done: false) }
            rollBack(&transaction)
        } else if !carryOut(plan, in: &transaction) {
            rollBack(&transaction)
        } else {
            rollBackIfInterrupted(&transaction)
        }
        startReleased(&transaction)
        regenerate(plan.regeneration, in: &transaction)
        return finish(transaction)
    }

    /// --regenerate, once the change is done (and its services are back): the host's programs in
    /// order, each one try, with what it printed kept. A failure or an interruption stops there
    /// and is said with what is left to run; nothing is rolled back, since the files written are
    /// right and what the failed program made is its own to redo. Under --root, nothing is run.
    public func regenerate(_ steps: [Step], in t: inout Transaction) {
        guard t.outcome.failure == nil, !steps.isEmpty else { return }
        guard writer.runsPrograms else {
            t.outcome.records += steps.map { StepRecord(step: $0, done: false) }
            t.outcome.notes.append("not run under --root (programs run only on the live host): \(steps.map(\.shell).joined(separator: "; "))")
            return
        }
        for (index, step) in steps.enumerated() {
            var problem: String?
            var output: [String] = []
            if let signal = Interruption.received {
                problem = "interrupted by \(signal)"
            } else if let path = step.path, let program = step.program {
                do { output = try writer.run(path, program) } catch { problem = error.message }
            }
            guard let problem else {
                t.outcome.records.append(StepRecord(step: step, done: true, output: output))
                continue
            }
            t.outcome.records.append(StepRecord(step: step, done: false, error: problem))
            t.outcome.records += steps.dropFirst(index + 1).map { StepRecord(step: $0, done: false) }
            let left = steps.dropFirst(index).map { "'\($0.shell)'" }.joined(separator: ", then ")
            t.outcome.failure = GPUPrepError(.regenerateFailed, "the change is done and its files are kept, but '\(step.shell)' failed (\(problem)): the next boot does not have it yet; fix that, then run \(left), and reboot")
            return
        }
    }

    /// Stops the services the change releases, each checked to have let go of what it held;
    /// false (with the failure recorded) when one cannot be stopped or still holds it.
    public func release(_ releases: [ServiceRelease], in t: inout Transaction) -> Bool {
        for release in releases {
            if let error = forward(release.stop, &t) ?? letGo(release) {
                t.outcome.records.append(StepRecord(step: release.stop, done: false, error: error))
                t.failure = error
                // A unit that failed to stop may be half down: it is started again too.
                t.released.append(release)
                return false
            }
            t.outcome.records.append(StepRecord(step: release.stop, done: true))
            t.released.append(release)
        }
        return true
    }

    /// Nil once no process of the release holds its node any more (systemctl stop waits for
    /// the unit's processes, but a process outside it, started by hand, may linger).
    func letGo(_ release: ServiceRelease) -> String? {
        var waited = 0
        while true {
            let still = release.holders.filter(isStillHeld)
            if still.isEmpty { return nil }
            if waited >= verifyTimeoutMilliseconds {
                return "\(still.described) still, after 'systemctl stop \(release.unit)'"
            }
            pause(milliseconds: 50)
            waited += 50
        }
    }

    func isStillHeld(_ holder: Holder) -> Bool {
        let fds = HostPath.proc.child(String(holder.process.pid), "fd")
        return (sysfs.list(fds) ?? []).contains { sysfs.linkTarget(fds.child($0)) == holder.path }
    }

    /// Starts again, in reverse order, every service the change stopped: after the change, or
    /// after its rollback, or after an interruption. One that does not start is said, with the
    /// command that starts it, and the host is not called as it was.
    public func startReleased(_ t: inout Transaction) {
        guard !t.released.isEmpty else { return }
        let failed = t.outcome.failure != nil
        var unstarted: [String] = []
        for release in t.released.reversed() {
            let error = perform(release.start)
            let record = StepRecord(step: release.start, done: error == nil, error: error)
            if failed { t.outcome.rollback.append(record) } else { t.outcome.records.append(record) }
            if let error { unstarted.append("\(release.unit) is stopped and could not be started again (\(error)): start it with 'systemctl start \(release.unit)'") }
        }
        t.released = []
        guard !unstarted.isEmpty else { return }
        let before = t.outcome.failure.map { $0.message + "; " } ?? "the change is done; "
        t.outcome.failure = GPUPrepError(.rollbackFailed, before + unstarted.joined(separator: "; "))
    }

    /// A signal that came during the last step (which is finished, never cut) asked to stop as
    /// much as one before it: the change is rolled back and said so, like any other interruption.
    public func rollBackIfInterrupted(_ t: inout Transaction) {
        guard t.outcome.failure == nil, let signal = Interruption.received else { return }
        rollBack(&t, reason: "interrupted by \(signal) during the last step")
    }

    /// Carries out a plan as part of a transaction that may span several plans (`apply`'s
    /// phases); false on the first failure, which is recorded with every step after it.
    public func carryOut(_ plan: ChangePlan, in t: inout Transaction) -> Bool {
        t.plans.append(plan)
        var failure: String?
        let start = t.outcome.records.count

        for step in plan.moduleLoads {
            if let error = forward(step, &t) {
                t.outcome.records.append(StepRecord(step: step, done: false, error: error))
                failure = error
                break
            }
            t.outcome.records.append(StepRecord(step: step, done: true))
        }
        if failure == nil {
            devices: for change in plan.devices {
                let address = change.function.address
                if !t.touched.contains(where: { $0.address == address }) {
                    t.touched.append((address, currentOverride(address), currentDriver(address)))
                }
                for step in change.steps {
                    if let error = forward(step, &t) {
                        t.outcome.records.append(StepRecord(step: step, done: false, error: error))
                        failure = error
                        break devices
                    }
                    t.outcome.records.append(StepRecord(step: step, done: true))
                    if !step.undo.isEmpty { t.undoable.append(step) }
                }
            }
        }
        if failure == nil {
            for step in plan.actions {
                if let error = forward(step, &t) {
                    t.outcome.records.append(StepRecord(step: step, done: false, error: error))
                    failure = error
                    break
                }
                t.outcome.records.append(StepRecord(step: step, done: true))
                if !step.undo.isEmpty { t.undoable.append(step) }
            }
        }
        if failure == nil {
            for step in plan.fileChanges {
                guard let path = step.path else { continue }
                // A file is written through its link (AtomicFile), so what it held is what to put
                // back; a link made or removed is put back as the link it was.
                let oldLink = step.action == .writeFile ? nil : sysfs.linkTarget(path)
                let old = oldLink ?? AtomicFile(root: sysfs.root).read(path)
                let existed = sysfs.exists(path) || oldLink != nil
                let missing = missingDirectories(above: path)
                if let error = forward(step, &t) {
                    t.outcome.records.append(StepRecord(step: step, done: false, error: error))
                    failure = error
                    break
                }
                t.createdDirectories += missing.filter { sysfs.exists($0) && !t.createdDirectories.contains($0) }
                // A backup that was there already was left alone: nothing to put back.
                if !(step.action == .backUp && existed), !t.replacedFiles.contains(where: { $0.path == path }) {
                    t.replacedFiles.append((path, old, oldLink != nil))
                }
                t.outcome.records.append(StepRecord(step: step, done: true))
            }
        }
        // Steps after the failure are listed as not done, so the plan reads whole.
        let doneCount = t.outcome.records.count - start
        for step in plan.changeSteps.dropFirst(doneCount) { t.outcome.records.append(StepRecord(step: step, done: false)) }
        t.failure = failure
        return failure == nil
    }

    /// Puts back, in reverse order, everything the transaction did, and records the failure
    /// (`reason`, or the failed step's) with what was restored or could not be.
    public func rollBack(_ t: inout Transaction, reason: String? = nil) {
        let failure = reason ?? t.failure ?? "the change failed"
        var unrestored: [String] = []
        var undone = 0
        for step in t.undoable.reversed() {
            // Nothing to undo when the undo's closing check already holds (a create that made
            // nothing): not counted as undone, since nothing was.
            if let device = step.device, t.blocked[device] != nil { continue }
            if let last = step.undo.last, [.verifyAbsent, .verifyExists, .verifyValue].contains(last.action),
               let path = last.path, isMet(last, at: path) {
                continue
            }
            var ok = true
            for undo in step.undo {
                let error = perform(undo)
                t.outcome.rollback.append(StepRecord(step: undo, done: error == nil, error: error))
                if error != nil { ok = false; unrestored.append(error!); break }
            }
            if ok { undone += 1 }
        }
        for file in t.replacedFiles.reversed() {
            let step = file.old.map { Step(action: file.wasLink ? .link : .writeFile, path: file.path, value: $0, device: nil) }
                ?? Step(action: .removeFile, path: file.path, value: "", device: nil)
            let error = perform(step)
            t.outcome.rollback.append(StepRecord(step: step, done: error == nil, error: error))
            if error != nil { unrestored.append("\(file.path) could not be restored") }
        }
        // The directories made for those files, innermost first; one left not empty stays.
        for directory in t.createdDirectories.reversed() where sysfs.list(directory)?.isEmpty == true {
            let step = Step(action: .removeFile, path: directory, value: "", device: nil)
            let error = perform(step)
            t.outcome.rollback.append(StepRecord(step: step, done: error == nil, error: error))
        }
        // A device whose write is still blocked is left to the kernel: a write to put it back
        // would block as well. What it leaves is said instead.
        for (address, left) in t.blocked.sorted(by: { $0.key < $1.key }) { unrestored.append(left); _ = address }
        for original in t.touched.reversed() where t.blocked[original.address] == nil {
            let (records, problem) = restore(original.address, override: original.override, driver: original.driver)
            t.outcome.rollback += records
            if let problem { unrestored.append(problem) }
        }
        let restoredList = (t.touched.filter { t.blocked[$0.address] == nil }.map { "\($0.address) on \($0.driver ?? "no driver")" } + t.replacedFiles.map { "\($0.path) as it was" }
            + (undone > 0 ? ["\(undone) step\(undone == 1 ? "" : "s") undone"] : []))
            .joined(separator: ", ")
        if !t.blocked.isEmpty {
            let rolled = restoredList.isEmpty ? "" : "; rolled back: \(restoredList)"
            t.outcome.failure = GPUPrepError(.blocked, "\(failure)\(rolled); left: \(unrestored.joined(separator: "; "))")
        } else if unrestored.isEmpty {
            let rolled = t.touched.isEmpty && t.replacedFiles.isEmpty && undone == 0 ? "nothing had changed" : "rolled back: \(restoredList)"
            t.outcome.failure = GPUPrepError(.applyFailed, "\(failure); \(rolled)")
        } else {
            t.outcome.failure = GPUPrepError(.rollbackFailed, "\(failure); rollback incomplete: \(unrestored.joined(separator: "; "))")
        }
        t.undoable = []
        t.replacedFiles = []
        t.createdDirectories = []
        t.touched = []
        t.blocked = [:]
    }

    /// The outcome, with where each device the plans moved ended up.
    public func finish(_ t: Transaction) -> ChangeOutcome {
        var outcome = t.outcome
        var seen = Set<PCIAddress>()
        for change in t.plans.flatMap(\.devices) where seen.insert(change.function.address).inserted {
            let address = change.function.address
            outcome.devices.append(DeviceResult(address: address, from: change.from, to: currentDriver(address)))
        }
        return outcome
    }

    /// Does a step of the change itself (not of a rollback): not once a signal asked to stop,
    /// and with a write still blocked at its deadline recorded with what holds its device.
    func forward(_ step: Step, _ t: inout Transaction) -> String? {
        if let signal = Interruption.received { return "interrupted by \(signal) before: \(step.shell)" }
        if step.action == .write, let path = step.path {
            do { try writer.write(path, step.value.isEmpty ? "\n" : step.value) } catch {
                guard case .blocked = error else { return writeFailure(step, path, error) }
                let device = step.device
                let holders = device.flatMap(describeHolders)
                let state = device.map { blockedState($0, step, t) }
                if let device {
                    t.blocked[device] = "\(state ?? ""), until the kernel ends the blocked write"
                        + (holders == nil ? "" : " when that holder lets go") + "; then check it with: gpuprep list \(device)"
                }
                return error.message + (holders.map { ": \($0)" } ?? "")
            }
            return nil
        }
        return perform(step)
    }

    func writeFailure(_ step: Step, _ path: HostPath, _ error: SystemError) -> String {
        "writing '\(step.value)' to \(path) failed: \(error.message.split(separator: ": ", omittingEmptySubsequences: false).last.map(String.init) ?? error.message)"
    }

    /// The directories above `path` that do not exist yet, outermost first.
    func missingDirectories(above path: HostPath) -> [HostPath] {
        var missing: [HostPath] = []
        var directory = path.parent
        while directory.string != "/" && !sysfs.exists(directory) {
            missing.insert(directory, at: 0)
            directory = directory.parent
        }
        return missing
    }

    /// Does one step; returns what went wrong, or nil.
    func perform(_ step: Step) -> String? {
        switch step.action {
        case .loadModule:
            do { try writer.loadModule(step.value) } catch { return error.message }
            return nil
        case .write:
            guard let path = step.path else { return "a write without a path" }
            // An empty value clears an attribute; the kernel wants a newline for that.
            do { try writer.write(path, step.value.isEmpty ? "\n" : step.value) } catch { return writeFailure(step, path, error) }
            return nil
        case .verify:
            guard let address = step.device else { return nil }
            return verify(address, expectation: step.value)
        case .verifyExists, .verifyAbsent, .verifyValue, .verifyListsNone:
            guard let path = step.path else { return nil }
            return verifyPath(path, step)
        case .run:
            guard let path = step.path, let program = step.program else { return "a program without a path" }
            do { _ = try writer.run(path, program) } catch { return error.message }
            return nil
        case .backUp:
            guard let path = step.path, let source = path.backedUpFile else { return "a backup without a path" }
            do { try writer.backUp(source, to: path) } catch { return "backing up \(step.value) failed: \(error.message)" }
            return nil
        case .link:
            guard let path = step.path else { return "a link without a path" }
            do { try writer.makeLink(path, to: step.value) } catch { return "linking \(path) failed: \(error.message)" }
            return nil
        case .writeFile, .removeFile:
            guard let path = step.path else { return "a file change without a path" }
            do { try writer.replaceFile(path, step.action == .writeFile ? step.value : nil) } catch {
                return "\(step.action == .writeFile ? "writing" : "removing") \(path) failed: \(error.message.split(separator: ": ", omittingEmptySubsequences: false).last.map(String.init) ?? error.message)"
            }
            return nil
        }
    }

    /// Polls the `driver` link until it meets the expectation (`name`, `none`, or `!name`).
    func verify(_ address: PCIAddress, expectation: String) -> String? {
        var waited = 0
        while true {
            let driver = currentDriver(address)
            let met: Bool
            if expectation.hasPrefix("!") { met = driver != String(expectation.dropFirst()) }
            else if expectation == "none" { met = driver == nil }
            else { met = driver == expectation }
            if met { return nil }
            if waited >= verifyTimeoutMilliseconds {
                if expectation.hasPrefix("!") {
                    return "\(address) is still on \(expectation.dropFirst()) after unbind and probe"
                }
                return "\(address) is on \(driver ?? "no driver") after the probe, not \(expectation): the kernel reported success but bound nothing"
            }
            pause(milliseconds: 50)
            waited += 50
        }
    }

    func isMet(_ step: Step, at path: HostPath) -> Bool {
        switch step.action {
        case .verifyExists: return sysfs.exists(path)
        case .verifyAbsent: return !sysfs.exists(path)
        case .verifyListsNone:
            return sysfs.read(path).map { VGPUDiscovery.creatableTypes($0).isEmpty } ?? false
        default: return sysfs.read(path) == step.value
        }
    }

    /// Polls a path until it exists, is gone, or reads the value the step names.
    func verifyPath(_ path: HostPath, _ step: Step) -> String? {
        var waited = 0
        while true {
            if isMet(step, at: path) { return nil }
            if waited >= verifyTimeoutMilliseconds {
                switch step.action {
                case .verifyExists: return "\(path) did not appear: the kernel accepted the write but made nothing"
                case .verifyAbsent: return "\(path) is still there"
                case .verifyListsNone: return "\(path) still lists types: the driver took the value but made no vGPU on that VF"
                default: return "\(path) reads \(sysfs.read(path) ?? "nothing"), not \(step.value)"
                }
            }
            pause(milliseconds: 50)
            waited += 50
        }
    }

    /// Puts a device back: its old override, off whatever it is on now, onto its old driver.
    func restore(_ address: PCIAddress, override: String?, driver: String?) -> ([StepRecord], String?) {
        var records: [StepRecord] = []
        func attempt(_ step: Step) -> Bool {
            let error = perform(step)
            records.append(StepRecord(step: step, done: error == nil, error: error))
            return error == nil
        }
        if currentOverride(address) != override {
            _ = attempt(.write(PCIPaths.driverOverride(address), override ?? "", device: address))
        }
        let now = currentDriver(address)
        if now != driver {
            if let now { _ = attempt(.write(PCIPaths.unbind(now), address.description, device: address)) }
            if let driver, !attempt(.write(PCIPaths.bind(driver), address.description, device: address)) {
                _ = attempt(.write(.sysBusPCIDriversProbe, address.description, device: address))
            }
        }
        let ok = attempt(Step(action: .verify, path: PCIPaths.driverLink(address), value: driver ?? "none", device: address))
        return (records, ok ? nil : "\(address) is on \(currentDriver(address) ?? "no driver"), was on \(driver ?? "no driver")")
    }

    func currentDriver(_ address: PCIAddress) -> String? { sysfs.linkName(PCIPaths.driverLink(address)) }

    /// Where a device stands while a write to it is blocked. The driver link reads without the
    /// device's lock; driver_override does not (driver_override_show takes device_lock,
    /// drivers/pci/pci-sysfs.c), and the blocked write holds it: the override is the one this
    /// change last wrote. An unbind drops the driver link before it calls the driver's remove,
    /// where vfio-pci waits (__device_release_driver, drivers/base/dd.c).
    func blockedState(_ address: PCIAddress, _ step: Step, _ t: Transaction) -> String {
        let override = "driver_override \(overrideWritten(address, t) ?? "(none)")"
        guard let path = step.path else { return "\(address) is on \(currentDriver(address) ?? "no driver") with \(override)" }
        if path.string.hasSuffix("/unbind") {
            return "\(address) is leaving \(path.parent.string.split(separator: "/").last.map(String.init) ?? "its driver") (its driver link is already gone) with \(override)"
        }
        if path == .sysBusPCIDriversProbe || path.string.hasSuffix("/bind") {
            return "\(address) is being probed, with \(override)"
        }
        return "\(address) is on \(currentDriver(address) ?? "no driver") with \(override)"
    }

    /// A device's driver_override as this transaction left it: the last value it wrote there,
    /// else what the device had before.
    func overrideWritten(_ address: PCIAddress, _ t: Transaction) -> String? {
        let path = PCIPaths.driverOverride(address)
        if let last = t.outcome.records.last(where: { $0.done && $0.step.action == .write && $0.step.path == path }) {
            return last.step.value.isEmpty ? nil : last.step.value
        }
        return t.touched.first(where: { $0.address == address })?.override
    }

    /// driver_override now; nil when none is set (or when the kernel holds the device past the
    /// read deadline: a write to it would then block, and be reported as such).
    func currentOverride(_ address: PCIAddress) -> String? {
        guard let value = sysfs.readLocked(PCIPaths.driverOverride(address)).text, !value.isEmpty, value != "(null)" else { return nil }
        return value
    }
}
