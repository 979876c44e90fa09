import CKmod
import Glibc

/// libkmod over the host's module directory and modprobe configuration, both under the root:
/// `<root>/lib/modules/<release>` and `<root>/{etc,run,usr/local/lib,lib}/modprobe.d`.
public final class Kmod {
    private let context: OpaquePointer
    /// The module directory in use, as a host path string (for messages).
    public let moduleDirectory: String

    /// Wraps kmod_new and kmod_load_resources. Fails when the module directory does not exist.
    public init(root: HostRoot, release: String) throws(SystemError) {
        let directory = try HostPath.libModules.appending(release)
        moduleDirectory = directory.string
        let sysfs = Sysfs(root: root)
        guard sysfs.exists(directory) else {
            throw .libkmod("no module directory \(directory.string) for kernel \(release)")
        }
        let configPaths = HostPath.modprobeConfigDirs.map { root.path($0) }
        let cStrings = configPaths.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        var argv: [UnsafePointer<CChar>?] = cStrings.map { UnsafePointer($0) } + [nil]
        guard let made = argv.withUnsafeMutableBufferPointer({ kmod_new(root.path(directory), $0.baseAddress) }) else {
            throw .libkmod("cannot open \(directory.string)")
        }
        context = made
        kmod_set_log_priority(context, 0)   // libkmod logs to stderr by default: keep the output ours
        _ = kmod_load_resources(context)    // optional: lookups fall back to reading the indexes
    }

    deinit { kmod_unref(context) }

    /// The modules whose aliases match `alias` (a modalias such as `pci:v000010DEd...`), as
    /// `modprobe --resolve-alias` and `lspci -k` find them. Wraps kmod_module_new_from_lookup.
    public func modules(matching alias: String) -> [String] {
        var list: OpaquePointer?
        guard kmod_module_new_from_lookup(context, alias, &list) >= 0, let list else { return [] }
        defer { kmod_module_unref_list(list) }
        var names: [String] = []
        var entry: OpaquePointer? = list
        while let current = entry {
            if let module = kmod_module_get_module(current) {
                if let name = kmod_module_get_name(module) { names.append(String(cString: name)) }
                kmod_module_unref(module)
            }
            entry = kmod_list_next(list, current)
        }
        return names
    }
}
