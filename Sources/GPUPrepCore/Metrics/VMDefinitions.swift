import GPUPrepSystem

/// The devices the host's defined VMs name, whether or not they run: a vGPU that no VM holds
/// but a VM names is idle (waiting for its VM); one that nothing names is orphaned.
/// - libvirt: each domain's XML in /etc/libvirt/qemu names a host device in its hostdev
///   `<source>`: `<address uuid='…'/>` for an mdev, `<address domain='0x0000' bus='0x26'
///   slot='0x00' function='0x4'/>` for a PCI device (libvirt's formatdomain "Host device
///   assignment"). Addresses outside `<source>` are the guest's own and are not read.
/// - Proxmox VE: `hostpciN: 0000:26:00.4,…` lines in /etc/pve/qemu-server/VMID.conf
///   (qemu-server's "hostpci[n]" option; a mapping name is resolved by Proxmox, not here).
public struct VMDefinitions: Sendable {
    public var uuids: Set<String> = []
    public var addresses: Set<PCIAddress> = []

    public init() {}

    public static func read(_ sysfs: Sysfs) -> VMDefinitions {
        var found = VMDefinitions()
        for name in (sysfs.list(.libvirtDomains) ?? []).sorted() where name.hasSuffix(".xml") && HostPath.isPlainName(name) {
            guard let text = sysfs.readWhole(HostPath.libvirtDomains.child(name)) else { continue }
            found.addLibvirt(text)
        }
        for name in (sysfs.list(.proxmoxVMs) ?? []).sorted() where name.hasSuffix(".conf") && HostPath.isPlainName(name) {
            guard let text = sysfs.readWhole(HostPath.proxmoxVMs.child(name)) else { continue }
            found.addProxmox(text)
        }
        return found
    }

    /// Whether a defined VM names this vGPU (its mdev UUID, or its VF for NVIDIA's per-VF vGPUs).
    public func names(_ vgpu: VGPUInstance) -> Bool {
        if let uuid = vgpu.uuid { return uuids.contains(uuid.uuidString.lowercased()) }
        return vgpu.address.map(addresses.contains) ?? false
    }

    public mutating func addLibvirt(_ xml: String) {
        var rest = Substring(xml)
        while let open = rest.firstRange(of: "<source>") {
            let body = rest[open.upperBound...]
            let end = body.firstRange(of: "</source>")?.lowerBound ?? body.endIndex
            var source = body[..<end]
            while let tag = source.firstRange(of: "<address") {
                let close = source[tag.upperBound...].firstIndex(of: ">") ?? source.endIndex
                let attributes = Self.attributes(source[tag.upperBound..<close])
                if let uuid = attributes["uuid"] { uuids.insert(uuid.lowercased()) }
                if let bus = attributes["bus"], let slot = attributes["slot"], let function = attributes["function"] {
                    func field(_ text: String, _ width: Int) -> String? {
                        guard let value = Int(text.hasPrefix("0x") ? String(text.dropFirst(2)) : text, radix: 16) else { return nil }
                        let hex = String(value, radix: 16)
                        return String(repeating: "0", count: max(0, width - hex.count)) + hex
                    }
                    let domain = attributes["domain"].flatMap { field($0, 4) } ?? "0000"
                    if let b = field(bus, 2), let s = field(slot, 2), let f = field(function, 1),
                       let address = PCIAddress("\(domain):\(b):\(s).\(f)") { addresses.insert(address) }
                }
                source = source[close...]
            }
            rest = body[end...]
        }
    }

    public mutating func addProxmox(_ conf: String) {
        for line in conf.split(separator: "\n") {
            // A snapshot section ([name]) repeats the VM's options as they were: the current
            // configuration is the part before the first one.
            if line.hasPrefix("[") { break }
            guard line.hasPrefix("hostpci"), let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].trimmed()
            let first = value.split(separator: ",").first.map(String.init) ?? ""
            // One address or several (`01:00.0;02:00.0`); `01:00` is every function of a slot.
            for part in first.split(separator: ";") {
                let text = part.contains(".") ? String(part) : String(part) + ".0"
                if let address = PCIAddress(text.lowercased()) { addresses.insert(address) }
            }
        }
    }

    /// `name='value'` and `name="value"` pairs of one tag.
    static func attributes(_ tag: Substring) -> [String: String] {
        var result: [String: String] = [:]
        var rest = tag
        while let equals = rest.firstIndex(of: "=") {
            let name = rest[..<equals].split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).last.map(String.init) ?? ""
            let afterEquals = rest[rest.index(after: equals)...]
            guard let quote = afterEquals.first, quote == "'" || quote == "\"" else { break }
            let valueStart = afterEquals.index(after: afterEquals.startIndex)
            guard let valueEnd = afterEquals[valueStart...].firstIndex(of: quote) else { break }
            result[name] = String(afterEquals[valueStart..<valueEnd])
            rest = afterEquals[afterEquals.index(after: valueEnd)...]
        }
        return result
    }
}
