import GPUPrepSystem

/// Bindings that survive a reboot, per device (by address, never by vendor:device, which would
/// claim every identical card):
///
/// - `/etc/udev/rules.d/61-gpuprep-vfio.rules`: one rule per device that writes its
///   `driver_override` when the kernel adds it at boot. It runs before udev's own
///   80-drivers.rules loads drivers by modalias, so the host driver no longer matches it.
/// - `/etc/modules-load.d/gpuprep-vfio.conf`: the VFIO modules, loaded early by
///   systemd-modules-load; a driver that registers probes the devices whose override names it.
/// - `/etc/modprobe.d/gpuprep-vfio.conf`: `softdep HOST pre: VFIO` for the modules that could
///   drive these devices, so the VFIO module is in place before any of them.
///
/// - the initramfs: the same rule, softdeps and modules, through its builder's hook or
///   configuration file (see InitramfsBuilder), for a host driver that loads there.
///
/// The rules file is the record: each rule follows a comment naming the device, its driver and
/// modules.
public struct PersistentBinding: Sendable, Equatable {
    public var address: PCIAddress
    public var driver: String
    public var module: String
    /// Modules that could drive the device on the host (its modalias's matches).
    public var hostModules: [String]
}

public enum PersistentBindings {
    static let marker = "# gpuprep-device "

    /// The bindings recorded in the rules file's content.
    public static func parse(_ rules: String?) -> [PersistentBinding] {
        (rules ?? "").split(separator: "\n").compactMap { line in
            guard line.hasPrefix(marker) else { return nil }
            var fields: [String: String] = [:]
            for part in line.dropFirst(marker.count).split(separator: " ") {
                let pair = part.split(separator: "=", maxSplits: 1)
                if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
            }
            guard let address = fields["address"].flatMap(PCIAddress.init), let driver = fields["driver"],
                  let module = fields["module"], DriverResolver.isDriverName(driver), DriverResolver.isDriverName(module) else { return nil }
            // Records are parsed, never copied: a name that is no driver's or module's (a quote, a
            // `RUN+=`) is no record, so it is never written back into a live rule.
            let hosts = (fields["host"] ?? "").split(separator: ",").map(String.init).filter(DriverResolver.isDriverName)
            return PersistentBinding(address: address, driver: driver, module: module, hostModules: hosts)
        }
    }

    /// The files for a set of bindings (nil: no file at all): the three on the root file system,
    /// and one for each initramfs builder that takes one.
    public static func contents(for bindings: [PersistentBinding], builders: [InitramfsBuilder] = []) -> [(HostPath, String?)] {
        let sorted = bindings.sorted { $0.address < $1.address }
        let initramfs = builders.compactMap { builder in builder.managedFile.map { ($0, builder.content(for: sorted)) } }
        guard !sorted.isEmpty else {
            return [(.persistUdevRules, nil), (.persistModulesLoad, nil), (.persistModprobe, nil)] + initramfs
        }
        var rules = """
        # Managed by gpuprep (bind/unbind --persist). Each device below gets its driver_override when
        # the kernel adds it at boot, before udev loads drivers for it (80-drivers.rules).
        # Remove a device with 'gpuprep unbind --persist ADDRESS' rather than by hand.

        """
        for b in sorted {
            rules += "\(marker)address=\(b.address) driver=\(b.driver) module=\(b.module) host=\(b.hostModules.joined(separator: ","))\n"
            rules += "ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"\(b.address)\", ATTR{driver_override}=\"\(b.driver)\"\n"
        }
        let modules = Array(Set(sorted.map(\.module))).sorted()
        let load = "# Managed by gpuprep: the VFIO drivers of the devices in \(HostPath.persistUdevRules)\n"
            + modules.map { $0 + "\n" }.joined()
        var softdeps: [String: Set<String>] = [:]
        for b in sorted { for host in b.hostModules where host != b.module { softdeps[host, default: []].insert(b.module) } }
        let modprobe = "# Managed by gpuprep: load the VFIO drivers before the host drivers of the devices they take\n"
            + softdeps.keys.sorted().map { "softdep \($0) pre: \(softdeps[$0]!.sorted().joined(separator: " "))\n" }.joined()
        return [(.persistUdevRules, rules), (.persistModulesLoad, load), (.persistModprobe, modprobe)] + initramfs
    }

    /// Steps that bring the files from what they are to what `bindings` needs (none when equal),
    /// and what to tell of the initramfs when they change.
    static func plan(to bindings: [PersistentBinding], files: AtomicFile) -> (steps: [Step], notes: [String], warnings: [String]) {
        let builders = InitramfsBuilder.installed(Sysfs(root: files.root))
        let steps: [Step] = contents(for: bindings, builders: builders).compactMap { path, content in
            let current = files.read(path)
            guard current != content else { return nil }
            if let content { return Step(action: .writeFile, path: path, value: content, device: nil) }
            return Step(action: .removeFile, path: path, value: "", device: nil)
        }
        guard !steps.isEmpty else { return ([], [], []) }
        let advice = builders.map { $0.advice(for: bindings) }
        return (steps, advice.compactMap(\.note), advice.compactMap(\.warning))
    }
}
