import FoundationEssentials

/// Writes a layout as gpuprep's own YAML: block style, every string quoted, one entry per
/// match, in the file's order. `--persist` records changes by rewriting the file in this form,
/// and only a file already in this form (so no comment or formatting of an admin's is lost).
public enum LayoutWriter {
    public static let header = """
    # The host's GPU layout: 'gpuprep apply' takes the host to it, and gpuprep-apply.service
    # does at every boot. Written by gpuprep's --persist; edit it freely (then 'gpuprep apply --check').

    """

    public static func render(_ layout: HostLayout) -> String {
        var out = header + "version: 1\n"
        if let regenerate = layout.regenerate { out += "regenerate: \(regenerate)\n" }
        out += sections(passthrough: layout.passthrough, sriov: layout.sriov, vgpus: layout.vgpus, indent: "")
        if !layout.profiles.isEmpty {
            out += "profiles:\n"
            for name in layout.profiles.keys.sorted() {
                let profile = layout.profiles[name]!
                out += "  \(quote(name)):\n"
                out += sections(passthrough: profile.passthrough, sriov: profile.sriov, vgpus: profile.vgpus, indent: "    ")
            }
        }
        return out
    }

    static func sections(passthrough: [HostLayout.Passthrough]?, sriov: [HostLayout.SRIOVEntry]?, vgpus: [HostLayout.VGPUEntry]?,
                         indent: String) -> String {
        var out = ""
        if let passthrough, !passthrough.isEmpty || !indent.isEmpty {
            out += indent + "passthrough:" + (passthrough.isEmpty ? " []\n" : "\n")
            for entry in passthrough {
                out += indent + "  - match: \(match(entry.match))\n"
                out += indent + "    driver: \(quote(entry.driver))\n"
                if !entry.companions { out += indent + "    companions: false\n" }
            }
        }
        if let sriov, !sriov.isEmpty || !indent.isEmpty {
            out += indent + "sriov:" + (sriov.isEmpty ? " []\n" : "\n")
            for entry in sriov {
                out += indent + "  - match: \(match(entry.match))\n"
                out += indent + "    vfs: \(entry.vfs)\n"
            }
        }
        if let vgpus, !vgpus.isEmpty || !indent.isEmpty {
            out += indent + "vgpus:" + (vgpus.isEmpty ? " []\n" : "\n")
            for entry in vgpus {
                out += indent + "  - match: \(match(entry.match, gpu: true))\n"
                out += indent + "    type: \(quote(entry.type))\n"
                out += indent + "    count: \(entry.count)\n"
                if !entry.uuids.isEmpty {
                    out += indent + "    uuids:\n" + entry.uuids.map { indent + "      - \"\($0.uuidString.lowercased())\"\n" }.joined()
                }
                if let params = entry.params {
                    out += indent + "    params:" + (params.isEmpty ? " {}\n" : "\n") + params.map { indent + "      \(quote($0.name)): \(quote($0.value))\n" }.joined()
                }
            }
        }
        return out
    }

    static func match(_ match: HostLayout.Match, gpu: Bool = false) -> String {
        if let address = match.address { return "{\(gpu ? "gpu" : "address"): \(quote(address.description))}" }
        if let parent = match.parent { return "{parent: \(quote(parent))}" }
        let id = match.ids.first ?? HostLayout.PCIIDPair(vendor: 0, device: 0)
        return "{vendor: \(quote(hex(id.vendor, 4))), device: \(quote(hex(id.device, 4)))}"
    }

    /// A double-quoted YAML string: JSON's escapes are YAML's too.
    static func quote(_ text: String) -> String { Quote.json(text) }
}
