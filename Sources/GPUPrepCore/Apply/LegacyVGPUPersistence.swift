import GPUPrepSystem

/// What gpuprep's `--persist` wrote for vGPUs before the layout file, read once into it (see
/// LayoutStore.migrated), so that nothing persisted then is lost:
///
/// - mdev: mdevctl's own definitions, `/etc/mdevctl.d/<parent>/<uuid>` holding
///   `{"mdev_type": ..., "start": "auto", "attrs": []}`.
/// - nvidia-vfio and SR-IOV: `/etc/udev/rules.d/62-gpuprep-vgpu.rules`, one rule per device and
///   attribute, run when the nvidia driver binds it: `ATTR{sriov_numvfs}` on the GPU,
///   `ATTR{nvidia/current_vgpu_type}` on each VF.
public enum LegacyVGPUPersistence {
    /// (device, attribute) -> value, from the rules file; anything else in it is ignored.
    public static func parseRules(_ text: String?) -> [String: [String: String]] {
        var rules: [String: [String: String]] = [:]
        for line in (text ?? "").split(separator: "\n") where !line.hasPrefix("#") {
            guard let kernel = field(line, "KERNEL==\""), PCIAddress(kernel) != nil,
                  let open = line.firstRange(of: "ATTR{"), let close = line[open.upperBound...].firstIndex(of: "}") else { continue }
            let attribute = String(line[open.upperBound..<close])
            guard attribute == "sriov_numvfs" || attribute == "nvidia/current_vgpu_type",
                  let value = field(line[close...], "=\""), Int(value) != nil else { continue }
            rules[kernel, default: [:]][attribute] = value
        }
        return rules
    }

    static func field(_ line: Substring, _ prefix: String) -> String? {
        guard let start = line.firstRange(of: prefix) else { return nil }
        let rest = line[start.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }

    /// The definition with `"start": "auto"` made `"manual"`, nil when it does not start
    /// automatically: once the layout file holds a vGPU, the boot unit makes it, and mdevctl
    /// must not make it too (nor make again at boot one that `destroy --persist` removed).
    static func manualDefinition(_ text: String?) -> String? {
        guard let text, let key = text.firstRange(of: "\"start\"") else { return nil }
        let rest = text[key.upperBound...]
        guard let open = rest.firstIndex(of: "\""), rest[..<open].allSatisfy({ $0 == " " || $0 == ":" || $0 == "\n" || $0 == "\t" }) else { return nil }
        let valueStart = rest.index(after: open)
        guard let close = rest[valueStart...].firstIndex(of: "\""), rest[valueStart..<close] == "auto" else { return nil }
        return String(text[..<valueStart]) + "manual" + String(text[close...])
    }

    /// The type in an mdevctl definition (`{"mdev_type": "nvidia-256", ...}`), nil when it has
    /// none that could be a type id.
    static func mdevctlType(_ text: String?) -> String? {
        guard let text, let key = text.firstRange(of: "\"mdev_type\"") else { return nil }
        let rest = text[key.upperBound...].drop { $0 == " " || $0 == ":" || $0 == "\n" || $0 == "\t" }
        guard rest.first == "\"" else { return nil }
        let value = rest.dropFirst().prefix { $0 != "\"" }
        return HostPath.isPlainName(String(value)) ? String(value) : nil
    }
}
