/// The human view of bind and unbind: the plan as shell commands, or what happened.
public enum ChangeText {
    public static func render(_ report: ChangeReport, style: TextStyle) -> String {
        if report.command == "fix" { return renderFix(report, style: style) }
        if report.vgpus != nil { return renderVGPUs(report, style: style) }
        let body = renderBindings(report, style: style) + regeneration(report.plan, report.outcome, style: style)
        // What is left to do (rebuild the initramfs), after the plan or the result; not after a failure.
        guard report.outcome.map(succeeded) ?? true, !report.plan.isEmpty else { return body }
        return body + (report.plan.notes + (report.outcome?.notes ?? [])).map { style.paint("note: ", .dim) + $0 + "\n" }.joined()
    }

    /// Done, though a program --regenerate ran may have failed after it.
    static func succeeded(_ outcome: ChangeOutcome) -> Bool {
        outcome.failure == nil || outcome.failure?.code == .regenerateFailed
    }

    /// --regenerate's programs as they ran: each command, marked, with the last lines it printed.
    static func regeneration(_ plan: ChangePlan, _ outcome: ChangeOutcome?, style: TextStyle) -> String {
        guard let outcome, succeeded(outcome) else { return "" }
        var out = ""
        for record in outcome.records where plan.regeneration.contains(record.step) && (record.done || record.error != nil) {
            let mark = record.done ? style.paint("ran", .good) : style.paint("FAILED", .bad)
            out += "[\(mark)] \(record.step.shell)\(record.error.map { "  (\($0))" } ?? "")\n"
            let shown = record.output.suffix(20)
            if shown.count < record.output.count { out += style.paint("  | ... (\(record.output.count - shown.count) lines before)\n", .dim) }
            for line in shown { out += style.paint("  | ", .dim) + line + "\n" }
        }
        return out
    }

    /// bind and unbind: the plan, or where each device ended up, or what failed and was undone.
    static func renderBindings(_ report: ChangeReport, style: TextStyle) -> String {
        var out = ""
        for warning in report.plan.warnings { out += style.paint("warning: ", .warn) + warning + "\n" }
        if report.plan.isEmpty {
            switch report.command {
            case "bind": return out + "Nothing to do: every device named is already on its VFIO driver.\n"
            case "unbind": return out + "Nothing to do: every device named is already with the host.\n"
            default: return out + "Nothing to do: it is already so.\n"
            }
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
        if !succeeded(outcome) { return out + failedSteps(outcome, style: style) }
        for device in outcome.devices {
            out += "\(device.address)  \(device.from ?? "no driver") -> \(style.paint(device.to ?? "no driver", .good))\n"
        }
        if outcome.devices.isEmpty {
            let writes = outcome.records.filter { $0.done && $0.step.action == .write }.count
            if writes == 0 && !outcome.records.contains(where: { $0.done && [.writeFile, .removeFile, .link].contains($0.step.action) }) {
                return out      // only the regeneration ran: said below
            }
            let files = outcome.records.filter { $0.done && [.writeFile, .removeFile, .link].contains($0.step.action) }.count
            let parts = [writes > 0 ? "\(writes) write\(writes == 1 ? "" : "s")" : nil,
                         files > 0 ? "\(files) file\(files == 1 ? "" : "s") written or removed" : nil].compactMap { $0 }
            return out + "Done: \(parts.isEmpty ? "nothing to change" : parts.joined(separator: " and ")), each checked.\n"
        }
        let verb = report.command == "bind" ? "bound" : "returned to the host"
        out += "\(outcome.devices.count) device\(outcome.devices.count == 1 ? "" : "s") \(verb), each checked through its driver link.\n"
        return out
    }

    /// A failed change: every step, done, failed or not run, then what the rollback did.
    static func failedSteps(_ outcome: ChangeOutcome, style: TextStyle) -> String {
        var out = "Steps:\n"
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

    /// `check --fix`: the diff, where the backup is, and what to run next.
    static func renderFix(_ report: ChangeReport, style: TextStyle) -> String {
        // Notes (what --fix wrote beside the boot loader, or left and why) come last.
        let notes = report.plan.notes.map { style.paint("note: ", .dim) + $0 + "\n" }.joined()
        if report.plan.isEmpty {
            if let next = report.next { return "The boot loader manages its own configuration; run:\n  \(next)\n" + notes }
            return "Nothing to fix: the boot configuration already has the IOMMU arguments (if the running kernel lacks them, reboot: see 'gpuprep check').\n" + notes
        }
        var out = report.diff ?? ""
        if report.dryRun {
            let runs = report.plan.regeneration.map { "\nThen run: \($0.shell)" }.joined()
            return out + runs + (runs.isEmpty ? "" : "\n") + (report.next.map { "\nThen run: \($0)\n" } ?? "") + notes
        }
        if let outcome = report.outcome, !succeeded(outcome), let failure = outcome.failure {
            return out + "\n" + style.paint("not changed: ", .bad) + failure.message + "\n"
        }
        let outcomeNotes = (report.outcome?.notes ?? []).map { style.paint("note: ", .dim) + $0 + "\n" }.joined()
        let backups = report.plan.fileChanges.compactMap(\.path).filter { $0.string.hasSuffix(".gpuprep-bak") }
        if !report.plan.fileChanges.isEmpty {
            out += backups.isEmpty ? "\nWritten.\n" : "\nWritten. The previous version is kept as \(backups.map(\.string).joined(separator: ", ")).\n"
        }
        out += regeneration(report.plan, report.outcome, style: style)
        if report.outcome?.failure != nil { return out + notes + outcomeNotes }
        if let next = report.next { out += "Now run '\(next)' and reboot.\n" } else { out += "Reboot to use it.\n" }
        return out + notes + outcomeNotes
    }

    /// `create` and `destroy`: the plan, or the vGPUs made or removed, or what failed and was undone.
    static func renderVGPUs(_ report: ChangeReport, style: TextStyle) -> String {
        var out = report.plan.warnings.map { style.paint("warning: ", .warn) + $0 + "\n" }.joined()
        let vgpus = report.vgpus ?? []
        let verb = report.command == "destroy" ? "destroyed" : "created"
        if report.plan.actions.isEmpty {
            // Nothing to make or remove: say what is already so, and any boot definition written.
            let files = report.plan.fileChanges.count
            let persisted = files == 0 ? "" : report.dryRun ? " Boot definitions to write: \(files)." : report.outcome?.failure == nil
                ? " Boot definitions written: \(files)." : " Writing its boot definition failed: \(report.outcome!.failure!.message)"
            if report.command == "create", let existing = vgpus.first {
                return out + "Nothing to do: \(existing.name) already exists as a \(existing.type) on \(existing.parent).\(persisted)\n"
            }
            return out + "Nothing to do: no vGPU to \(report.command).\(persisted)\n"
        }
        if report.dryRun {
            out += "Plan (dry run: nothing is written):\n"
            for (index, step) in report.plan.steps.enumerated() { out += "  \(index + 1). \(step.shell)\n" }
            return out
        }
        if let outcome = report.outcome, outcome.failure != nil {
            for record in outcome.records where record.done || record.error != nil {
                out += "  [\(record.done ? style.paint("done", .good) : style.paint("FAILED", .bad))] \(record.step.shell)\(record.error.map { "  (\($0))" } ?? "")\n"
            }
            for record in outcome.rollback {
                out += "  [\(record.done ? style.paint("undone", .warn) : style.paint("UNDO FAILED", .bad))] \(record.step.shell)\(record.error.map { "  (\($0))" } ?? "")\n"
            }
            return out
        }
        for v in vgpus {
            out += "\(verb) \(v.uuid?.uuidString.lowercased() ?? v.address?.description ?? "?")  \(v.type)\(v.typeName.map { " (\($0))" } ?? "")  on \(v.parent)\n"
        }
        return out + "\(vgpus.count) vGPU\(vgpus.count == 1 ? "" : "s") \(verb), each checked in sysfs.\n"
    }
}
