/// The human view of `gpuprep check`: one line per finding, then the remedies in order.
public enum CheckText {
    public static func render(_ report: CheckReport, style: TextStyle) -> String {
        var table = Table(columns: ["STATUS", "CHECK", "DEVICE", "FINDING"])
        for finding in report.findings {
            let tone: Tone = switch finding.status { case .pass: .good; case .warn: .warn; case .fail: .bad; case .skip: .dim }
            table.add([Cell(finding.status.rawValue.uppercased(), tone), Cell(finding.id),
                       Cell(finding.device?.short ?? "-", finding.device == nil ? .dim : .plain), Cell(finding.summary)])
        }
        var out = "Checks of \(report.root)"
        if let loader = report.bootLoader { out += " (boot loader: \(loader))" }
        out += "\n\n" + table.render(style)
        // One line per distinct remedy, naming every finding it settles.
        var remedies: [(remedy: String, ids: [String])] = []
        for finding in report.findings where finding.status == .fail || finding.status == .warn {
            guard let remedy = finding.remedy else { continue }
            let id = finding.id + (finding.device.map { " \($0.short)" } ?? "")
            if let index = remedies.firstIndex(where: { $0.remedy == remedy }) { remedies[index].ids.append(id) }
            else { remedies.append((remedy, [id])) }
        }
        if !remedies.isEmpty {
            out += "\nTo do:\n"
            for (index, item) in remedies.enumerated() {
                out += "  \(index + 1). [\(item.ids.joined(separator: ", "))] \(item.remedy)\n"
            }
        }
        let warnings = report.count(.warn)
        out += "\n\(report.count(.pass)) passed, \(warnings) warning\(warnings == 1 ? "" : "s"), \(report.count(.fail)) failed, \(report.count(.skip)) skipped.\n"
        return out
    }
}
