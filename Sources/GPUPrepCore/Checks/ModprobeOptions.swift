import GPUPrepSystem

/// `options MODULE PARAM=VALUE` lines of modprobe's configuration (modprobe.d(5)), where an
/// option a module gets at load time is set: NVIDIA's NVreg_ parameters, vfio_iommu_type1's
/// allow_unsafe_interrupts. Files are read in modprobe's directory order; the first file of a
/// name wins, as modprobe lets /etc override /lib.
enum ModprobeOptions {
    /// The lines that give `module` the option `parameter` (with any value), with their file.
    static func lines(_ sysfs: Sysfs, module: String, parameter: String) -> [(path: String, line: String, value: String)] {
        var seen = Set<String>()
        var found: [(String, String, String)] = []
        let wanted = module.replacing("-", with: "_")
        for dir in HostPath.modprobeConfigDirs {
            for name in (sysfs.list(dir) ?? []).sorted() where name.hasSuffix(".conf") && HostPath.isPlainName(name) && seen.insert(name).inserted {
                guard let text = sysfs.readWhole(dir.child(name)) else { continue }
                for line in text.split(separator: "\n") {
                    let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                    guard words.count >= 3, words[0] == "options", words[1].replacing("-", with: "_") == wanted else { continue }
                    for word in words.dropFirst(2) where word.hasPrefix(parameter + "=") {
                        found.append((dir.child(name).string, String(line), String(word.dropFirst(parameter.count + 1))))
                    }
                }
            }
        }
        return found
    }

    /// Whether a bool parameter's value turns it on, as the kernel parses it (kstrtobool,
    /// lib/kstrtox.c: a first character of y, Y, t, T or 1, or "on").
    static func isOn(_ value: String) -> Bool {
        guard let first = value.first else { return false }
        return "yYtT1".contains(first) || value.lowercased() == "on"
    }
}
