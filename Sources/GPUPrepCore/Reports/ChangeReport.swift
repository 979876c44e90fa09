/// The result of a mutating command (bind, unbind): every step, whether it was done, and where
/// each device ended up (schema version 1).
public struct ChangeReport: Encodable, Sendable {
    public var command: String
    public var dryRun: Bool
    public var plan: ChangePlan
    /// Nil for a dry run.
    public var outcome: ChangeOutcome?

    /// For `check --fix`: the unified diff of the edits, and what to run afterwards.
    public var diff: String?
    public var next: String?
    /// For `create` and `destroy`: the vGPUs made or removed (planned ones for a dry run).
    public var vgpus: [VGPUInstance]?

    public init(command: String, dryRun: Bool, plan: ChangePlan, outcome: ChangeOutcome?, diff: String? = nil, next: String? = nil) {
        self.command = command; self.dryRun = dryRun; self.plan = plan; self.outcome = outcome; self.diff = diff; self.next = next
    }

    public var devices: [DeviceResult] {
        outcome?.devices ?? plan.devices.map { DeviceResult(address: $0.function.address, from: $0.from, to: $0.to) }
    }

    var records: [StepRecord] { outcome?.records ?? plan.steps.map { StepRecord(step: $0, done: false) } }

    enum Keys: String, CodingKey { case schemaVersion, dryRun, steps, devices, rollback, warnings, notes, error, diff, next, created, destroyed, releases }
    enum StepKeys: String, CodingKey { case action, path, value, done, error, output }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(1, forKey: .schemaVersion)
        try c.encode(dryRun, forKey: .dryRun)
        try Self.encode(records, into: c.nestedUnkeyedContainer(forKey: .steps))
        try Self.encode(outcome?.rollback ?? [], into: c.nestedUnkeyedContainer(forKey: .rollback))
        try c.encode(devices, forKey: .devices)
        try c.encode(plan.warnings, forKey: .warnings)
        try c.encode(plan.notes + (outcome?.notes ?? []), forKey: .notes)
        try c.encode(outcome?.failure?.message, forKey: .error)
        try c.encode(diff, forKey: .diff)
        try c.encode(next, forKey: .next)
        // --release: the services stopped for the change and what each held.
        if !plan.releases.isEmpty { try c.encode(plan.releases, forKey: .releases) }
        if let vgpus {
            // Created or destroyed only when the whole change went through, and only what it made:
            // a vGPU that already existed is not created again.
            let done = outcome?.failure == nil && !plan.actions.isEmpty ? vgpus.map(InstanceJSON.init) : []
            try c.encode(done, forKey: command == "destroy" ? .destroyed : .created)
        }
    }

    static func encode(_ records: [StepRecord], into list: UnkeyedEncodingContainer) throws {
        var list = list
        for record in records {
            var s = list.nestedContainer(keyedBy: StepKeys.self)
            try s.encode(record.step.action, forKey: .action)
            try s.encode(record.step.path?.string, forKey: .path)
            try s.encode(record.step.value, forKey: .value)
            try s.encode(record.done, forKey: .done)
            try s.encode(record.error, forKey: .error)
            if record.step.action == .run && !record.output.isEmpty { try s.encode(record.output, forKey: .output) }
        }
    }
}
