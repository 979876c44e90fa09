/// The result of `apply` (schema version 1): the contract's `changed`, `steps`, `devices`,
/// `created`, `destroyed` and `diff`, with the single commands' `rollback`, `warnings`, `notes`
/// and `error`.
public struct ApplyReport: Sendable, Encodable {
    public var source: String
    public var dryRun: Bool
    public var check: Bool
    /// Every entry's plan, merged in order (what was applied, or would be).
    public var plan = ChangePlan()
    public var outcome: ChangeOutcome?
    public var created: [VGPUInstance] = []
    public var destroyed: [VGPUInstance] = []
    /// vGPUs that can only be planned once the VFs they go on exist.
    public var pending: [String] = []
    /// `--check`: why the host cannot be taken to the layout (a refusal, a layout that does not
    /// fit), which is a difference too (exit 1), not an error.
    public var refused: [String] = []
    public var before = LayoutState()
    public var after = LayoutState()

    public init(layout: HostLayout, dryRun: Bool, check: Bool) {
        source = layout.source
        self.dryRun = dryRun
        self.check = check
    }

    /// Whether the host differs from the layout (before a change), or was changed by it.
    public var changed: Bool {
        if let outcome { return outcome.failure == nil && outcome.records.contains { $0.done } }
        return !plan.isEmpty || !pending.isEmpty || !refused.isEmpty
    }

    public var failure: GPUPrepError? { outcome?.failure }

    enum Keys: String, CodingKey { case schemaVersion, file, dryRun, check, changed, steps, rollback, devices, created, destroyed, pending, refused, warnings, notes, error, diff, releases }
    enum DiffKeys: String, CodingKey { case before, after }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(1, forKey: .schemaVersion)
        try c.encode(source, forKey: .file)
        try c.encode(dryRun, forKey: .dryRun)
        try c.encode(check, forKey: .check)
        try c.encode(changed, forKey: .changed)
        try ChangeReport.encode(outcome?.records ?? plan.steps.map { StepRecord(step: $0, done: false) }, into: c.nestedUnkeyedContainer(forKey: .steps))
        try ChangeReport.encode(outcome?.rollback ?? [], into: c.nestedUnkeyedContainer(forKey: .rollback))
        try c.encode(outcome?.devices ?? plan.devices.map { DeviceResult(address: $0.function.address, from: $0.from, to: $0.to) }, forKey: .devices)
        try c.encode(created.map(InstanceJSON.init), forKey: .created)
        try c.encode(destroyed.map(InstanceJSON.init), forKey: .destroyed)
        try c.encode(pending, forKey: .pending)
        try c.encode(refused, forKey: .refused)
        try c.encode(plan.warnings, forKey: .warnings)
        try c.encode(plan.notes + (outcome?.notes ?? []), forKey: .notes)
        if !plan.releases.isEmpty { try c.encode(plan.releases, forKey: .releases) }
        try c.encode(outcome?.failure?.message, forKey: .error)
        var diff = c.nestedContainer(keyedBy: DiffKeys.self, forKey: .diff)
        try diff.encode(before, forKey: .before)
        try diff.encode(after, forKey: .after)
    }
}
