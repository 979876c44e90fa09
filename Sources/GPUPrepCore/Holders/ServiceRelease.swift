import GPUPrepSystem

/// Which holders a change may stop and start again: NVIDIA's services (`--release`) and the
/// display manager (`--release-display`). A VM and an unknown process are never among them.
public struct ReleaseChoice: Sendable, Equatable {
    public var services: Bool
    public var display: Bool
    public init(services: Bool = false, display: Bool = false) { self.services = services; self.display = display }

    /// The unit to stop for a holder, if this choice lets the change stop it.
    func unit(for holder: Holder) -> String? {
        switch holder.role {
        case let .service(unit) where services: return unit
        // The display manager's alias, which every display manager's unit installs
        // (`Alias=display-manager.service`): stopping it ends the display server it started.
        case .display where display: return "display-manager.service"
        default: return nil
        }
    }
}

/// A service stopped for a change and started again after it: before the first step, and after
/// the last one or the rollback, also when the change failed or was interrupted. The user
/// asked for it (--release); what it held is said in the plan.
public struct ServiceRelease: Sendable, Equatable, Encodable {
    public var unit: String
    /// What it holds that the change needs.
    public var holders: [Holder]
    /// The systemctl the steps run.
    public var systemctl: HostPath

    public var stop: Step { .run(systemctl, ["stop", unit]) }
    public var start: Step { .run(systemctl, ["start", unit]) }

    enum Keys: String, CodingKey { case unit, holders }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(unit, forKey: .unit)
        try c.encode(holders, forKey: .holders)
    }

    /// systemctl as a shell finds it on the live host (PATH, as sudo sets it), else systemd's
    /// own place; under --root only shown, never run.
    static func systemctl(_ sysfs: Sysfs) -> HostPath {
        (sysfs.root.isLiveHost ? Subprocess.findOnPath("systemctl") : nil) ?? .systemctl
    }
}

extension ChangePlan {
    /// Takes the holders `choice` lets this change stop and start again into the plan's
    /// releases, and returns the others: those refuse the change.
    mutating func release(_ holders: [Holder], _ choice: ReleaseChoice, sysfs: Sysfs) -> [Holder] {
        var kept: [Holder] = []
        for holder in holders {
            guard let unit = choice.unit(for: holder) else { kept.append(holder); continue }
            if let index = releases.firstIndex(where: { $0.unit == unit }) {
                if !releases[index].holders.contains(holder) { releases[index].holders.append(holder) }
            } else {
                releases.append(ServiceRelease(unit: unit, holders: [holder], systemctl: ServiceRelease.systemctl(sysfs)))
                notes.append("\(unit) is stopped for the change (\(holder.described)) and started again after it, also if it fails")
            }
        }
        return kept
    }
}
