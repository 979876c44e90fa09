/// The result of `gpuprep iommu` (schema version 1).
public struct IOMMUReport: Encodable, Sendable {
    public var root: String
    public var topology: IOMMUTopology
    /// Only groups that hold an NVIDIA function.
    public var nvidiaOnly: Bool

    public var groups: [IOMMUGroup] { nvidiaOnly ? topology.groups.filter(\.hasNVIDIA) : topology.groups }

    public static func make(host: HostContext, nvidiaOnly: Bool) throws(GPUPrepError) -> IOMMUReport {
        IOMMUReport(root: host.root.display, topology: try IOMMUTopology.read(host), nvidiaOnly: nvidiaOnly)
    }

    enum Keys: String, CodingKey { case schemaVersion, enabled, groups }
    enum GroupKeys: String, CodingKey { case id, devices, viable, blockers, vgpus }
    enum DeviceKeys: String, CodingKey {
        case address, classCode, className, vendorId, deviceId, vendorName, deviceName, driver, bridge, blocksVFIO
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(1, forKey: .schemaVersion)
        try c.encode(topology.enabled, forKey: .enabled)
        var list = c.nestedUnkeyedContainer(forKey: .groups)
        for group in groups {
            var g = list.nestedContainer(keyedBy: GroupKeys.self)
            try g.encode(group.id, forKey: .id)
            try g.encode(group.viable, forKey: .viable)
            try g.encode(group.blockers.map(\.address), forKey: .blockers)
            try g.encode(group.vgpus.map(InstanceJSON.init), forKey: .vgpus)
            var devices = g.nestedUnkeyedContainer(forKey: .devices)
            for f in group.members {
                var d = devices.nestedContainer(keyedBy: DeviceKeys.self)
                try d.encode(f.address, forKey: .address)
                try d.encode(f.classCode.map { hex($0, 6) }, forKey: .classCode)
                try d.encode(f.className, forKey: .className)
                try d.encode(f.vendorID.map { hex($0, 4) }, forKey: .vendorId)
                try d.encode(f.deviceID.map { hex($0, 4) }, forKey: .deviceId)
                try d.encode(f.vendorName, forKey: .vendorName)
                try d.encode(f.deviceName, forKey: .deviceName)
                try d.encode(f.driver, forKey: .driver)
                try d.encode(f.isBridgeHeader, forKey: .bridge)
                try d.encode(VFIORule.blocksGroup(f), forKey: .blocksVFIO)
            }
        }
    }
}

/// The result of `gpuprep conflicts` (schema version 1).
public struct ConflictsReport: Encodable, Sendable {
    public var root: String
    public var analysis: ConflictAnalysis

    public var hasConflicts: Bool { analysis.conflicts.contains { !$0.blockers.isEmpty } }

    public static func make(host: HostContext, devices: [PCIAddress]) throws(GPUPrepError) -> ConflictsReport {
        ConflictsReport(root: host.root.display, analysis: try ConflictAnalysis.analyze(host, devices: devices))
    }

    enum Keys: String, CodingKey { case schemaVersion, conflicts, warnings }
    enum ConflictKeys: String, CodingKey { case device, deviceName, group, assignable, blockers, explanation, nextStep, holders }
    enum BlockerKeys: String, CodingKey { case kind, address, uuid, driver, reason, process }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(1, forKey: .schemaVersion)
        try c.encode(analysis.warnings, forKey: .warnings)
        var list = c.nestedUnkeyedContainer(forKey: .conflicts)
        for conflict in analysis.conflicts {
            var e = list.nestedContainer(keyedBy: ConflictKeys.self)
            try e.encode(conflict.device.address, forKey: .device)
            try e.encode(conflict.device.deviceName, forKey: .deviceName)
            try e.encode(conflict.group, forKey: .group)
            try e.encode(conflict.blockers.isEmpty, forKey: .assignable)
            try e.encode(conflict.explanation, forKey: .explanation)
            try e.encode(conflict.nextStep, forKey: .nextStep)
            try e.encode(conflict.holders, forKey: .holders)
            var blockers = e.nestedUnkeyedContainer(forKey: .blockers)
            for blocker in conflict.blockers {
                var b = blockers.nestedContainer(keyedBy: BlockerKeys.self)
                try b.encode(blocker.kind, forKey: .kind)
                try b.encode(blocker.address, forKey: .address)
                try b.encode(blocker.uuid?.uuidString.lowercased(), forKey: .uuid)
                try b.encode(blocker.driver, forKey: .driver)
                try b.encode(blocker.reason, forKey: .reason)
                try b.encode(blocker.process, forKey: .process)
            }
        }
    }
}
