/// The human view of `gpuprep doctor`: per GPU, the steps it walked, and the cause with its
/// evidence and remedy.
public enum DoctorText {
    public static func render(_ report: DoctorReport, style: TextStyle) -> String {
        guard !report.diagnoses.isEmpty || !report.notDiagnosed.isEmpty else { return "No NVIDIA GPU on \(report.root): nothing to diagnose ('gpuprep list --all' shows every device).\n" }
        var out = ""
        for diagnosis in report.diagnoses {
            let gpu = diagnosis.gpu
            out += style.paint("\(gpu.address) \(gpu.deviceName ?? "")".trimmed(), .strong)
            out += " for \(diagnosis.purpose.rawValue)" + (diagnosis.chosen.map { " (chosen: \($0); --for to choose)" } ?? "") + "\n"
            for step in diagnosis.steps {
                let (mark, tone): (String, Tone) = switch step.finding.status {
                case .pass: ("ok  ", .good)
                case .warn: ("warn", .warn)
                case .fail: ("FAIL", .bad)
                case .skip: ("skip", .dim)
                }
                out += "  " + style.paint(mark, tone) + "  " + step.finding.summary + "\n"
                guard step.finding.status == .fail || step.finding.status == .warn else { continue }
                for evidence in step.evidence {
                    out += "          " + style.paint("\(evidence.path): \(evidence.value ?? "(absent)")", .dim) + "\n"
                }
                if let remedy = step.finding.remedy { out += "          fix: \(remedy)\n" }
            }
            if diagnosis.cause == nil { out += "  " + style.paint("no cause found", .good) + ": ready for \(diagnosis.purpose.rawValue)\n" }
            out += "\n"
        }
        for gpu in report.notDiagnosed {
            out += "\(gpu.address) \(gpu.deviceName ?? "")".trimmed() + ": the host's console GPU (boot VGA on \(gpu.driver ?? "no driver")), not diagnosed; name it to diagnose it\n\n"
        }
        let causes = report.causes.count
        out += causes == 0 ? "No cause found.\n" : "\(causes) cause\(causes == 1 ? "" : "s") found (exit status 1).\n"
        return out
    }
}
