/// The human view of bind and unbind: the plan as shell commands, or what happened.
public enum ChangeText {
    public static func render(_ report: ChangeReport, style: TextStyle) -> String {
        if report.command == "fix" { return renderFix(report, style: style) }
        var out = ""
        for warning in report.plan.warnings { out += style.paint("warning: ", .warn) + warning + "\n" }
        if report.plan.isEmpty {
            return out + "Nothing to do: every device named is already \(report.command == "bind" ? "on its VFIO driver" : "with the host").\n"
        }
        if report.dryRun {
            out += "Plan (dry run: nothing is written):\n"
            for (index, step) in report.plan.steps.enumerated() { out += "  \(index + 1). \(step.shell)\n" }
            out += "\n"
            for change in report.plan.devices {
                out += "  \(change.function.address)  \(change.from ?? "no driver") -> \(change.to ?? "host driver")\n"
            }
            return out
        }
        guard let outcome = report.outcome else { return out }
        if outcome.failure != nil {
            out += "Steps:\n"
            for record in outcome.records {
                let mark = record.done ? style.paint("done", .good) : style.paint(record.error == nil ? "not run" : "FAILED", record.error == nil ? .dim : .bad)
                out += "  [\(mark)] \(record.step.shell)\(record.error.map { "  (\($0))" } ?? "")\n"
            }
            if !outcome.rollback.isEmpty {
                out += "Rollback:\n"
                for record in outcome.rollback {
                    out += "  [\(record.done ? style.paint("done", .good) : style.paint("FAILED", .bad))] \(record.step.shell)\(record.error.map { "  (\($0))" } ?? "")\n"
                }
            }
            return out
        }
        for device in outcome.devices {
            out += "\(device.address)  \(device.from ?? "no driver") -> \(style.paint(device.to ?? "no driver", .good))\n"
        }
        let verb = report.command == "bind" ? "bound" : "returned to the host"
        out += "\(outcome.devices.count) device\(outcome.devices.count == 1 ? "" : "s") \(verb), each checked through its driver link.\n"
        return out
    }

    /// `check --fix`: the diff, where the backup is, and what to run next.
    static func renderFix(_ report: ChangeReport, style: TextStyle) -> String {
        var out = ""
        if report.plan.isEmpty {
            if let next = report.next { return "The boot loader manages its own configuration; run:\n  \(next)\n" }
            return "Nothing to fix: the boot loader already configures the IOMMU arguments.\n"
        }
        out += report.diff ?? ""
        if report.dryRun { return out + (report.next.map { "\nThen run: \($0)\n" } ?? "") }
        if let failure = report.outcome?.failure { return out + "\n" + style.paint("not changed: ", .bad) + failure.message + "\n" }
        let backups = report.plan.fileChanges.compactMap(\.path).filter { $0.string.hasSuffix(".gpuprep-bak") }
        out += "\nWritten. The previous version is kept as \(backups.map(\.string).joined(separator: ", ")).\n"
        if let next = report.next { out += "Now run '\(next)' and reboot.\n" } else { out += "Reboot to use it.\n" }
        return out
    }
}
