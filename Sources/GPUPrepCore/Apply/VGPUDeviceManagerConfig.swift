/// NVIDIA vgpu-device-manager's configuration file, read as it is
/// (github.com/NVIDIA/vgpu-device-manager, api/spec/v1/spec.go and helpers.go):
///
/// ```yaml
/// version: v1
/// vgpu-configs:
///   LABEL:
///     - devices: all            # or [0, 2]: indexes of the NVIDIA GPUs, in address order
///       device-filter: "0x1EB810DE"   # optional, "0xDDDDVVVV" or a list of them
///       vgpu-devices: {"T4-4Q": 2}    # type names without the GRID / NVIDIA prefix
/// ```
///
/// Each label becomes a profile (`--profile LABEL`, `default` when none is named, as the
/// device manager does). `devices` counts the NVIDIA GPUs (PFs) only. Counts are per GPU. An
/// SR-IOV GPU (Ampere and later) makes its vGPUs on VFs, which the device manager enables
/// itself where none are: each entry also asks for all VFs of the GPUs it names that have
/// SR-IOV and no VFs yet (a GPU with some VFs keeps them). Unlike the device manager, gpuprep removes no vGPU of a
/// type the label does not name ("nothing the file does not mention is removed").
struct VGPUDeviceManagerConfig {
    let parser: LayoutParser

    func parse(_ top: LayoutParser.Fields, _ document: YAMLNode) throws(GPUPrepError) -> HostLayout {
        try parser.allow(top, ["version", "vgpu-configs"], in: "a vgpu-device-manager file")
        guard let version = top["version"], version.value.scalar == "v1" else {
            throw parser.fail(top["version"]?.value ?? document, "a vgpu-device-manager file needs 'version: v1'")
        }
        var layout = HostLayout(source: parser.source)
        let configs = try parser.mapping(top["vgpu-configs"]!.value, "vgpu-configs")
        guard !configs.entries.isEmpty else { throw parser.fail(top["vgpu-configs"]!.value, "vgpu-configs names no configuration") }
        for (label, body) in configs.entries {
            var sriov: [HostLayout.SRIOVEntry] = []
            var vgpus: [HostLayout.VGPUEntry] = []
            let specs = try parser.list(body, label)
            guard !specs.isEmpty else { throw parser.fail(body, "configuration '\(label)' has no entry") }
            for spec in specs {
                let fields = try parser.mapping(spec, "an entry of '\(label)'")
                try parser.allow(fields, ["devices", "device-filter", "vgpu-devices"], in: "an entry of '\(label)'")
                guard let devices = fields["devices"] else { throw parser.fail(spec, "this entry of '\(label)' has no 'devices': give all or a list of GPU indexes") }
                guard let wanted = fields["vgpu-devices"] else { throw parser.fail(spec, "this entry of '\(label)' has no 'vgpu-devices'") }
                let ids = try filter(fields["device-filter"]?.value)
                var matches: [HostLayout.Match] = []
                if devices.value.scalar == "all" {
                    matches = [HostLayout.Match(ids: ids, nvidiaGPUs: true)]
                } else if let indexes = devices.value.sequence {
                    for index in indexes {
                        guard let number = index.scalar.flatMap({ Int($0) }), number >= 0 else {
                            throw parser.fail(index, "'\(index.scalar ?? "?")' is not a GPU index (0, 1, ...)")
                        }
                        matches.append(HostLayout.Match(ids: ids, index: number))
                    }
                } else {
                    throw parser.fail(devices.value, "'devices' is '\(devices.value.scalar ?? "?")': give all or a list of GPU indexes")
                }
                let types = try parser.mapping(wanted.value, "vgpu-devices")
                for match in matches {
                    sriov.append(HostLayout.SRIOVEntry(match: match, vfs: .max, onlyWhereCapable: true, line: spec.line))
                    for (type, count) in types.entries {
                        guard let number = count.scalar.flatMap({ Int($0) }), number >= 0 else {
                            throw parser.fail(count, "the count of '\(type)' is '\(count.scalar ?? "?")': give a whole number")
                        }
                        vgpus.append(HostLayout.VGPUEntry(match: match, type: type, count: .exactly(number), line: count.line))
                    }
                }
            }
            layout.profiles[label] = HostLayout.Profile(passthrough: [], sriov: sriov, vgpus: vgpus)
        }
        layout.defaultProfile = "default"
        return layout
    }

    /// "0xDDDDVVVV" (device in the high half, as the device manager's types.DeviceID writes it),
    /// or "0xDDDDVVVV:0xSSSSVVVV" with the subsystem (pkg/types/device.go NewDeviceIDFromString,
    /// merged in 2026: A16 and A2 share 0x25B6 and differ by subsystem); one or a list.
    func filter(_ node: YAMLNode?) throws(GPUPrepError) -> [HostLayout.PCIIDPair] {
        guard let node, !node.isNull else { return [] }
        let items = node.sequence ?? [node]
        var ids: [HostLayout.PCIIDPair] = []
        for item in items {
            let parts = (item.scalar ?? "").lowercased().split(separator: ":", omittingEmptySubsequences: false)
            let values = parts.map { part -> UInt32? in
                var text = part.trimmed()
                if text.hasPrefix("0x") { text.removeFirst(2) }
                return text.count == 8 ? UInt32(text, radix: 16) : nil
            }
            guard (1...2).contains(values.count), values.allSatisfy({ $0 != nil }) else {
                throw parser.fail(item, "device-filter '\(item.scalar ?? "?")' is not 0xDDDDVVVV or 0xDDDDVVVV:0xSSSSVVVV (device id then vendor id, optionally the subsystem's, e.g. 0x25B610DE:0x14A910DE)")
            }
            let device = values[0]!, subsystem = values.count == 2 ? values[1] : nil
            ids.append(HostLayout.PCIIDPair(vendor: UInt16(device & 0xffff), device: UInt16(device >> 16),
                                            subsystemVendor: subsystem.map { UInt16($0 & 0xffff) }, subsystemDevice: subsystem.map { UInt16($0 >> 16) }))
        }
        return ids
    }
}
