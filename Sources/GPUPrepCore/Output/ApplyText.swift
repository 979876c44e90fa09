/// The human view of `apply`: what differs, then the plan, or what was done.
public enum ApplyText {
    public static func render(_ report: ApplyReport, style: TextStyle) -> String {
        var out = report.plan.warnings.map { style.paint("warning: ", .warn) + $0 + "\n" }.joined()
        out += report.plan.notes.map { style.paint("note: ", .dim) + $0 + "\n" }.joined()
        let changes = report.before.changes(to: report.after)
        if report.outcome == nil && !report.changed {
            return out + "The host matches \(report.source): nothing to do.\n"
        }
        if let outcome = report.outcome, let failure = outcome.failure, !ChangeText.succeeded(outcome) {
            out += ChangeText.failedSteps(outcome, style: style)
            return out + style.paint("not applied: ", .bad) + failure.message + "\n"
        }
        let heading = report.outcome != nil ? "Changed:" : report.check ? "Differs from \(report.source):" : "Would change (dry run: nothing is written):"
        out += heading + "\n" + changes.map { "  \($0)\n" }.joined()
        for pending in report.pending { out += "  pending: \(pending)\n" }
        for reason in report.refused { out += "  " + style.paint("cannot be met: ", .bad) + reason + "\n" }
        if report.outcome == nil {
            // What the counts do not show: which vGPUs (a listed UUID made, another removed).
            if changes.isEmpty {
                for v in report.created { out += "  + \(v.name)  \(v.typeName ?? v.type)  on \(v.parent)\n" }
                for v in report.destroyed { out += "  - \(v.name)  \(v.typeName ?? v.type)  on \(v.parent)\n" }
            }
            if !report.check && !report.plan.isEmpty {
                out += "Plan:\n"
                for (index, step) in report.plan.steps.enumerated() { out += "  \(index + 1). \(step.shell)\n" }
            }
            return out
        }
        for v in report.created { out += "created \(v.name)  \(v.typeName ?? v.type)  on \(v.parent)\n" }
        for v in report.destroyed { out += "destroyed \(v.name)  \(v.typeName ?? v.type)  on \(v.parent)\n" }
        let done = report.outcome?.records.filter { $0.done && !report.plan.regeneration.contains($0.step) }.count ?? 0
        out += "Done: \(done) step\(done == 1 ? "" : "s"), each checked.\n"
        out += ChangeText.regeneration(report.plan, report.outcome, style: style)
        return out + (report.outcome?.notes ?? []).map { style.paint("note: ", .dim) + $0 + "\n" }.joined()
    }
}
