import FoundationEssentials
import GPUPrepSystem

/// Turns a YAML document into a `HostLayout`, checking it against the contract's schema: every
/// error names the file, the line and the key, and says what is expected. Two formats are read:
/// gpuprep's own (`version: 1`) and NVIDIA vgpu-device-manager's (`version: v1`, `vgpu-configs`).
public struct LayoutParser {
    public let source: String

    public init(source: String) { self.source = source }

    public func parse(_ document: YAMLNode) throws(GPUPrepError) -> HostLayout {
        if document.isNull { throw fail(document, "the file is empty: it needs at least 'version: 1'") }
        let top = try mapping(document, "the file")
        if top["vgpu-configs"] != nil { return try VGPUDeviceManagerConfig(parser: self).parse(top, document) }
        try allow(top, ["version", "regenerate", "passthrough", "sriov", "vgpus", "profiles"], in: "the file")
        guard let version = top["version"] else { throw fail(document, "the file has no 'version': start it with 'version: 1'") }
        guard version.value.scalar == "1" else {
            throw fail(version.value, "version '\(version.value.scalar ?? "?")' is not one this gpuprep reads: use 'version: 1'")
        }
        var layout = HostLayout(source: source)
        if let regenerate = top["regenerate"] { layout.regenerate = try flag(regenerate.value, "regenerate") }
        let sections = try self.sections(top)
        try noDuplicates(sections)
        layout.passthrough = sections.passthrough ?? []
        layout.sriov = sections.sriov ?? []
        layout.vgpus = sections.vgpus ?? []
        if let profiles = top["profiles"], !profiles.value.isNull {
            for (name, body) in try mapping(profiles.value, "profiles").entries {
                let fields = try mapping(body, "profile '\(name)'")
                try allow(fields, ["passthrough", "sriov", "vgpus"], in: "profile '\(name)'")
                let sections = try self.sections(fields)
                try noDuplicates(sections)
                layout.profiles[name] = HostLayout.Profile(passthrough: sections.passthrough, sriov: sections.sriov, vgpus: sections.vgpus)
            }
        }
        return layout
    }

    func sections(_ fields: Fields) throws(GPUPrepError) -> (passthrough: [HostLayout.Passthrough]?, sriov: [HostLayout.SRIOVEntry]?, vgpus: [HostLayout.VGPUEntry]?) {
        var passthrough: [HostLayout.Passthrough]?
        var sriov: [HostLayout.SRIOVEntry]?
        var vgpus: [HostLayout.VGPUEntry]?
        if let section = fields["passthrough"] {
            passthrough = []
            for item in try list(section.value, "passthrough") {
                let entry = try mapping(item, "a passthrough entry")
                try allow(entry, ["match", "driver", "companions"], in: "a passthrough entry")
                var rule = HostLayout.Passthrough(match: try match(entry, item, allowed: ["address", "vendor", "device"], in: "passthrough"),
                                                  line: item.line)
                if let driver = entry["driver"] {
                    let name = try text(driver.value, "driver")
                    guard name == "auto" || isModuleName(name) else {
                        throw fail(driver.value, "driver '\(name)' is not a module name: use vfio-pci, auto, or a VFIO variant driver's module name")
                    }
                    rule.driver = name
                }
                if let companions = entry["companions"] { rule.companions = try flag(companions.value, "companions") }
                passthrough!.append(rule)
            }
        }
        if let section = fields["sriov"] {
            sriov = []
            for item in try list(section.value, "sriov") {
                let entry = try mapping(item, "an sriov entry")
                try allow(entry, ["match", "vfs"], in: "an sriov entry")
                guard let vfs = entry["vfs"] else { throw fail(item, "this sriov entry has no 'vfs': give a number or max") }
                sriov!.append(HostLayout.SRIOVEntry(match: try match(entry, item, allowed: ["address", "vendor", "device"], in: "sriov"),
                                                    vfs: try count(vfs.value, "vfs"), line: item.line))
            }
        }
        if let section = fields["vgpus"] {
            vgpus = []
            for item in try list(section.value, "vgpus") {
                let entry = try mapping(item, "a vgpus entry")
                try allow(entry, ["match", "type", "count", "uuids", "params"], in: "a vgpus entry")
                guard let type = entry["type"] else { throw fail(item, "this vgpus entry has no 'type': name one, as 'gpuprep types' lists them") }
                guard let number = entry["count"] else { throw fail(item, "this vgpus entry has no 'count': give a number or max") }
                var rule = HostLayout.VGPUEntry(match: try match(entry, item, allowed: ["gpu", "vendor", "device", "parent"], in: "vgpus"),
                                                type: try text(type.value, "type"), count: try count(number.value, "count"), line: item.line)
                if let uuids = entry["uuids"] {
                    for node in try list(uuids.value, "uuids") {
                        guard let uuid = node.scalar.flatMap(UUID.init(uuidString:)) else {
                            throw fail(node, "'\(node.scalar ?? "?")' is not a UUID: expected 8-4-4-4-12 hex digits")
                        }
                        guard !rule.uuids.contains(uuid) else { throw fail(node, "UUID \(uuid.uuidString.lowercased()) is listed twice") }
                        rule.uuids.append(uuid)
                    }
                    guard rule.match.ids.isEmpty else { throw fail(uuids.value, "uuids name single vGPUs: match one gpu or parent, not every device of an id") }
                    if case .exactly(let n) = rule.count, n < rule.uuids.count {
                        throw fail(number.value, "count \(n) is less than the \(rule.uuids.count) UUIDs listed")
                    }
                }
                if let params = entry["params"] {
                    rule.params = []
                    if !params.value.isNull {
                        for (name, value) in try mapping(params.value, "params").entries {
                            let text = value.scalar ?? ""
                            guard VGPUParams.isPlain(name) else { throw fail(params.value, "params: '\(name)' is no vGPU plugin parameter name (letters, digits, '_', '.', '-')") }
                            guard VGPUParams.isPlain(text) else {
                                throw fail(value, "params: \(name) is '\(text)': give one word (letters, digits, '_', '.', '-'), as in frame_rate_limiter: 0")
                            }
                            rule.params!.append(VGPUParam(name: name, value: text))
                        }
                    }
                }
                vgpus!.append(rule)
            }
        }
        return (passthrough, sriov, vgpus)
    }

    /// One device (or GPU and type) said twice would be applied twice, each undoing the other.
    func noDuplicates(_ sections: (passthrough: [HostLayout.Passthrough]?, sriov: [HostLayout.SRIOVEntry]?, vgpus: [HostLayout.VGPUEntry]?)) throws(GPUPrepError) {
        /// `said` names what an entry sets: "the VF count of 0000:26:00.0 is".
        func check<T>(_ entries: [T], _ said: (T) -> String, line: (T) -> Int) throws(GPUPrepError) {
            var seen: [String: Int] = [:]
            for entry in entries {
                let k = said(entry)
                if let first = seen[k] {
                    throw GPUPrepError(.badConfig, "\(source):\(line(entry)): \(k) already given at line \(first): keep one entry")
                }
                seen[k] = line(entry)
            }
        }
        func name(_ m: HostLayout.Match) -> String {
            m.address?.description ?? m.parent ?? m.ids.map(\.description).joined(separator: ",")
        }
        try check(sections.passthrough ?? [], { "the driver of \(name($0.match)) is" }, line: \.line)
        try check(sections.sriov ?? [], { "the VF count of \(name($0.match)) is" }, line: \.line)
        try check(sections.vgpus ?? [], { "the '\($0.type)' vGPUs on \(name($0.match)) are" }, line: \.line)
    }

    func match(_ entry: Fields, _ item: YAMLNode, allowed: [String], in section: String) throws(GPUPrepError) -> HostLayout.Match {
        guard let node = entry["match"] else {
            throw fail(item, "this \(section) entry has no 'match': give {\(allowed[0]): ...}\(allowed.contains("vendor") ? " or {vendor: ..., device: ...}" : "")")
        }
        let fields = try mapping(node.value, "match")
        try allow(fields, allowed, in: "match")
        var match = HostLayout.Match()
        for key in ["address", "gpu"] {
            guard let value = fields[key] else { continue }
            let written = try text(value.value, key)
            guard let address = PCIAddress(written.lowercased()) else {
                throw fail(value.value, "'\(written)' is not a PCI address: expected DDDD:BB:DD.F or BB:DD.F in hex, e.g. 0000:3b:00.0")
            }
            match.address = address
        }
        if fields["vendor"] != nil || fields["device"] != nil {
            guard let vendor = fields["vendor"], let device = fields["device"] else {
                throw fail(node.value, "match needs both 'vendor' and 'device' (4 hex digits each, as 'lspci -nn' shows them)")
            }
            match.ids = [HostLayout.PCIIDPair(vendor: try id(vendor.value, "vendor"), device: try id(device.value, "device"))]
        }
        if let parent = fields["parent"] {
            let name = try text(parent.value, "parent")
            guard HostPath.isPlainName(name) else { throw fail(parent.value, "parent '\(name)' is not a parent's name (mtty, or an address)") }
            match.parent = PCIAddress(name.lowercased())?.description ?? name
        }
        let given = [match.address != nil, !match.ids.isEmpty, match.parent != nil].filter { $0 }.count
        guard given == 1 else {
            throw fail(node.value, given == 0 ? "match names nothing: give one of \(allowed.joined(separator: ", "))"
                                              : "match gives more than one way to choose devices: keep one of them")
        }
        return match
    }

    // MARK: values

    /// A mapping's keys and values in file order, with lookup by key.
    struct Fields {
        var entries: [(String, YAMLNode)]
        var keys: [(String, YAMLNode)]
        subscript(_ key: String) -> (key: YAMLNode, value: YAMLNode)? {
            guard let index = entries.firstIndex(where: { $0.0 == key }) else { return nil }
            return (keys[index].1, entries[index].1)
        }
    }

    func mapping(_ node: YAMLNode, _ what: String) throws(GPUPrepError) -> Fields {
        guard let pairs = node.pairs else { throw fail(node, "\(what) must be a mapping (key: value lines)") }
        var entries: [(String, YAMLNode)] = []
        var keys: [(String, YAMLNode)] = []
        for pair in pairs {
            guard let key = pair.key.scalar else { throw fail(pair.key, "a key in \(what) is not a plain word") }
            entries.append((key, pair.value))
            keys.append((key, pair.key))
        }
        return Fields(entries: entries, keys: keys)
    }

    func allow(_ fields: Fields, _ known: [String], in what: String) throws(GPUPrepError) {
        for (index, entry) in fields.entries.enumerated() where !known.contains(entry.0) {
            let hint = Suggestion.closest(to: entry.0, among: known).map { "; did you mean '\($0)'?" } ?? ""
            throw fail(fields.keys[index].1, "unknown key '\(entry.0)' in \(what)\(hint) (known: \(known.joined(separator: ", ")))")
        }
    }

    func list(_ node: YAMLNode, _ key: String) throws(GPUPrepError) -> [YAMLNode] {
        if node.isNull { return [] }
        guard let items = node.sequence else { throw fail(node, "'\(key)' must be a list (lines starting with '- ')") }
        return items
    }

    func text(_ node: YAMLNode, _ key: String) throws(GPUPrepError) -> String {
        guard let value = node.scalar, !node.isNull else { throw fail(node, "'\(key)' needs a value") }
        return value
    }

    func count(_ node: YAMLNode, _ key: String) throws(GPUPrepError) -> HostLayout.Count {
        let value = try text(node, key)
        if value == "max" { return .max }
        guard let number = Int(value), number >= 0 else { throw fail(node, "'\(key)' is '\(value)': give a whole number (0 or more) or max") }
        return .exactly(number)
    }

    func flag(_ node: YAMLNode, _ key: String) throws(GPUPrepError) -> Bool {
        switch try text(node, key).lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw fail(node, "'\(key)' is '\(node.scalar ?? "")': give true or false")
        }
    }

    func id(_ node: YAMLNode, _ key: String) throws(GPUPrepError) -> UInt16 {
        var value = try text(node, key).lowercased()
        if value.hasPrefix("0x") { value.removeFirst(2) }
        guard value.count == 4, let number = UInt16(value, radix: 16) else {
            throw fail(node, "\(key) '\(node.scalar ?? "")' is not 4 hex digits (as 'lspci -nn' shows it, e.g. 10de)")
        }
        return number
    }

    func isModuleName(_ name: String) -> Bool {
        !name.isEmpty && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
    }

    func fail(_ node: YAMLNode, _ message: String) -> GPUPrepError {
        GPUPrepError(.badConfig, "\(source)\(node.line > 0 ? ":\(node.line)" : ""): \(message)")
    }
}
