import GPUPrepSystem

/// The names each stack derives from a device or a vGPU type, exactly as its own code does,
/// so that what gpuprep exports matches what the stack advertises or accepts.
public enum StackNames {
    /// NVIDIA kubevirt-gpu-device-plugin's resource for a PCI device: `nvidia.com/` and the
    /// device's name in pci.ids, upper-cased, `/` and `.` turned into `_`, each run of white
    /// space into one `_`, and anything but letters, digits and `_` dropped; the device id
    /// (`26b9`) when pci.ids lacks it (pkg/device_plugin/device_plugin.go, getDeviceName;
    /// generic_device_plugin.go registers DeviceNamespace "nvidia.com" + "/" + that name).
    public static func kubevirtPCIResource(deviceName: String?, deviceID: UInt16) -> String {
        guard let deviceName, !deviceName.isEmpty else { return "nvidia.com/" + hex(deviceID, 4) }
        var out = ""
        var inSpace = false
        for scalar in deviceName.trimmed().uppercased().unicodeScalars {
            if scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" || scalar == "\u{0C}" {
                if !inSpace { out += "_" }
                inSpace = true
                continue
            }
            inSpace = false
            if scalar == "/" || scalar == "." { out += "_" }
            else if scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_") { out.unicodeScalars.append(scalar) }
        }
        return "nvidia.com/" + out
    }

    /// The same plugin's resource for a vGPU type: its mdev type name with each run of white
    /// space turned into `_` (readVgpuIDFromFileFunc), under `nvidia.com/`.
    public static func kubevirtVGPUResource(typeName: String) -> String {
        "nvidia.com/" + typeName.trimmed().split(whereSeparator: { $0.isWhitespace }).joined(separator: "_")
    }

    /// Nova's custom resource class for a name: `CUSTOM_` and the name with each run of
    /// characters other than ASCII letters and digits turned into `_`, then upper-cased
    /// (os_resource_classes.normalize_name, which Nova uses).
    public static func novaResourceClass(_ name: String) -> String {
        var out = ""
        var inRun = false
        for scalar in name.unicodeScalars {
            if scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)) {
                out.unicodeScalars.append(scalar)
                inRun = false
            } else if !inRun {
                out += "_"
                inRun = true
            }
        }
        return "CUSTOM_" + out.uppercased()
    }

    /// A short lower-case name (`tu104-geforce-rtx-2070-super`) for a Nova alias, valid as a
    /// Proxmox mapping id: a letter, then letters, digits, `-` and `_`, two characters at least
    /// (PVE::JSONSchema::pve_verify_configid, which pve-guest-common's PCI.pm applies).
    public static func slug(_ name: String) -> String {
        var out = ""
        for scalar in name.lowercased().unicodeScalars {
            let keep = scalar.isASCII && (("a"..."z").contains(scalar) || ("0"..."9").contains(scalar))
            if keep { out.unicodeScalars.append(scalar) } else if !out.isEmpty && !out.hasSuffix("-") { out += "-" }
        }
        while out.hasSuffix("-") { out.removeLast() }
        if !(out.unicodeScalars.first.map { ("a"..."z").contains($0) } ?? false) { out = "pci-" + out }
        return out.count < 2 ? out + "-0" : out
    }

    /// A Kubernetes label name or value: letters, digits, `-`, `_` and `.`, starting and
    /// ending with a letter or digit, 63 characters at most.
    public static func label(_ text: String) -> String {
        var out = String(text.unicodeScalars.map { scalar -> Character in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "-_.".unicodeScalars.contains(scalar))
                ? Character(scalar) : "_"
        })
        while let first = out.first, !(first.isLetter || first.isNumber) { out.removeFirst() }
        if out.count > 63 { out = String(out.prefix(63)) }
        while let last = out.last, !(last.isLetter || last.isNumber) { out.removeLast() }
        return out
    }
}
