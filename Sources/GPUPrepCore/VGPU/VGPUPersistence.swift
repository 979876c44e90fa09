import GPUPrepSystem

/// vGPUs and VFs that come back after a reboot.
///
/// - mdev: mdevctl's own definitions, `/etc/mdevctl.d/<parent>/<uuid>` holding
///   `{"mdev_type": ..., "start": "auto", "attrs": []}`, which mdevctl's udev rules (and libvirt)
///   start when the parent appears.
/// - nvidia-vfio and SR-IOV: `/etc/udev/rules.d/62-gpuprep-vgpu.rules`, one rule per device and
///   attribute, run when the nvidia driver binds it: `ATTR{sriov_numvfs}` on the GPU, then
///   `ATTR{nvidia/current_vgpu_type}` on each VF as its driver binds.
public enum VGPUPersistence {
    // MARK: mdevctl

    static func mdevctlPath(parent: String, uuid: String) -> HostPath? {
        guard HostPath.isPlainName(parent), HostPath.isPlainName(uuid) else { return nil }
        return HostPath.mdevctlConfig.child(parent, uuid)
    }

    /// mdevctl's format, as `mdevctl define` writes it.
    static func mdevctlDefinition(type: String) -> String {
        "{\n  \"mdev_type\": \"\(type)\",\n  \"start\": \"auto\",\n  \"attrs\": []\n}\n"
    }

    // MARK: udev rules for nvidia-vfio and SR-IOV

    /// (device, attribute) -> value, from the managed rules file.
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

    static func renderRules(_ rules: [String: [String: String]]) -> String? {
        let lines = rules.keys.sorted().flatMap { device in
            rules[device]!.keys.sorted().map { attribute in
                "ACTION==\"bind\", SUBSYSTEM==\"pci\", KERNEL==\"\(device)\", DRIVER==\"nvidia\", ATTR{\(attribute)}=\"\(rules[device]![attribute]!)\""
            }
        }
        guard !lines.isEmpty else { return nil }
        return """
        # Managed by gpuprep (create/destroy/sriov --persist): when the nvidia driver binds a GPU it
        # enables its VFs, and when it binds a VF it gives it its vGPU type again.

        """ + lines.joined(separator: "\n") + "\n"
    }

    /// The step that brings the rules file to `rules` (none when it already is).
    static func rulesStep(_ rules: [String: [String: String]], files: AtomicFile) -> [Step] {
        let content = renderRules(rules)
        guard files.read(.persistVGPURules) != content else { return [] }
        if let content { return [Step(action: .writeFile, path: .persistVGPURules, value: content, device: nil)] }
        return [Step(action: .removeFile, path: .persistVGPURules, value: "", device: nil)]
    }

    /// Keeps (or forgets, with nil) one device's attribute in the rules.
    static func settingRule(_ host: HostContext, device: String, attribute: String, value: String?) -> [Step] {
        let files = AtomicFile(root: host.root)
        var rules = parseRules(files.read(.persistVGPURules))
        rules[device, default: [:]][attribute] = value
        if rules[device]?.isEmpty == true { rules[device] = nil }
        return rulesStep(rules, files: files)
    }

    /// The file steps that make `instances` (created: true) or their removal (false) last.
    static func steps(for instances: [VGPUInstance], created: Bool, host: HostContext) -> [Step] {
        let files = AtomicFile(root: host.root)
        var steps: [Step] = []
        var rules = parseRules(files.read(.persistVGPURules))
        for instance in instances {
            if let uuid = instance.uuid, let path = mdevctlPath(parent: instance.parent, uuid: uuid.uuidString.lowercased()) {
                let content = created ? mdevctlDefinition(type: instance.type) : nil
                if files.read(path) != content {
                    steps.append(content.map { Step(action: .writeFile, path: path, value: $0, device: nil) }
                                 ?? Step(action: .removeFile, path: path, value: "", device: nil))
                }
            } else if let vf = instance.address {
                let key = vf.description
                rules[key, default: [:]]["nvidia/current_vgpu_type"] = created ? String(instance.type.dropFirst("nvidia-".count)) : nil
                if rules[key]?.isEmpty == true { rules[key] = nil }
            }
        }
        return steps + rulesStep(rules, files: files)
    }
}
