import CKmod
import CShims
import Glibc

/// libkmod over the host's module directory and modprobe configuration, both under the root:
/// `<root>/lib/modules/<release>` and `<root>/{etc,run,usr/local/lib,lib}/modprobe.d`.
public final class Kmod {
    private let context: OpaquePointer
    /// The module directory in use, as a host path string (for messages).
    public let moduleDirectory: String

    private let root: HostRoot
    private let directoryPath: HostPath

    /// Wraps kmod_new and kmod_load_resources (libkmod is loaded on first use: CShims/gpuprep_kmod.c).
    /// Fails when the module directory does not exist, libkmod cannot be loaded, or a file libkmod
    /// would open is a FIFO, a device or a link out of the root (`.notRegular`: KmodInputs).
    public init(root: HostRoot, release: String) throws(SystemError) {
        let directory = try HostPath.libModules.appending(release)
        moduleDirectory = directory.string
        self.root = root
        directoryPath = directory
        let sysfs = Sysfs(root: root)
        guard sysfs.exists(directory) else {
            throw .libkmod("no module directory \(directory.string) for kernel \(release)")
        }
        if let hostile = KmodInputs.firstHostile(root: root, moduleDirectory: directory) {
            throw .notRegular(path: hostile.path, kind: hostile.kind)
        }
        let configPaths = HostPath.modprobeConfigDirs.map { root.path($0) }
        let cStrings = configPaths.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        var argv: [UnsafePointer<CChar>?] = cStrings.map { UnsafePointer($0) } + [nil]
        guard let made = argv.withUnsafeMutableBufferPointer({ gp_kmod_new(root.path(directory), $0.baseAddress) }) else {
            guard gp_kmod_loaded() else { throw .libkmod("libkmod.so.2 cannot be loaded: install libkmod (apt-get install libkmod2)") }
            throw .libkmod("cannot open \(directory.string)")
        }
        context = made
        gp_kmod_set_log_priority(context, 0)   // libkmod logs to stderr by default: keep the output ours
        _ = gp_kmod_load_resources(context)    // optional: lookups fall back to reading the indexes
    }

    deinit { gp_kmod_unref(context) }

    /// The modules whose aliases match `alias` (a modalias such as `pci:v000010DEd...`), as
    /// `modprobe --resolve-alias` and `lspci -k` find them, each once: libkmod lists a module
    /// once per alias of it that matches (snd_hda_intel matches by class and by id), and
    /// lspci -k removes the repeats too. Wraps kmod_module_new_from_lookup.
    public func modules(matching alias: String) -> [String] {
        var list: OpaquePointer?
        guard gp_kmod_module_new_from_lookup(context, alias, &list) >= 0, let list else { return [] }
        defer { gp_kmod_module_unref_list(list) }
        var names: [String] = []
        var entry: OpaquePointer? = list
        while let current = entry {
            if let module = gp_kmod_module_get_module(current) {
                if let name = gp_kmod_module_get_name(module).map({ String(cString: $0) }), !names.contains(name) { names.append(name) }
                gp_kmod_module_unref(module)
            }
            entry = gp_kmod_list_next(list, current)
        }
        return names
    }

    /// Of the modules matching `alias`, the one whose own alias pattern matches it with the most
    /// literal characters (a VFIO variant driver's `vfio_pci:v000010DEd00002941...` beats
    /// vfio_pci's `vfio_pci:v*d*sv*sd*bc*sc*i*`).
    public func mostSpecificModule(matching alias: String) -> String? {
        var best: (module: String, score: Int)?
        for module in modules(matching: alias) {
            for pattern in aliases(ofModule: module) where fnmatch(pattern, alias, 0) == 0 {
                let score = pattern.filter { $0 != "*" && $0 != "?" }.count
                if best == nil || score > best!.score { best = (module, score) }
            }
        }
        return best?.module
    }

    /// The `alias=` entries of a module's .modinfo. Wraps kmod_module_get_info.
    public func aliases(ofModule name: String) -> [String] {
        var module: OpaquePointer?
        guard gp_kmod_module_new_from_name(context, name, &module) >= 0, let module else { return [] }
        defer { gp_kmod_module_unref(module) }
        // kmod_module_get_info opens the module file libkmod's index names: only a regular file inside the root.
        guard let file = gp_kmod_module_get_path(module).map({ String(cString: $0) }),
              KmodInputs.isSafeModuleFile(root: root, moduleDirectory: directoryPath, path: file) else { return [] }
        var info: OpaquePointer?
        guard gp_kmod_module_get_info(module, &info) >= 0, let info else { return [] }
        defer { gp_kmod_module_info_free_list(info) }
        var aliases: [String] = []
        var entry: OpaquePointer? = info
        while let current = entry {
            if let key = gp_kmod_module_info_get_key(current), String(cString: key) == "alias",
               let value = gp_kmod_module_info_get_value(current) {
                aliases.append(String(cString: value))
            }
            entry = gp_kmod_list_next(info, current)
        }
        return aliases
    }

    /// Loads a module and what it depends on, as `modprobe NAME` does (honouring modprobe.d,
    /// and a blacklist only for aliases). Wraps kmod_module_probe_insert_module.
    public func load(_ name: String) throws(SystemError) {
        var module: OpaquePointer?
        guard gp_kmod_module_new_from_name(context, name, &module) >= 0, let module else {
            throw .libkmod("no module named \(name)")
        }
        defer { gp_kmod_module_unref(module) }
        let result = gp_kmod_module_probe_insert_module(module, UInt32(KMOD_PROBE_APPLY_BLACKLIST_ALIAS_ONLY.rawValue), nil)
        if result < 0 { throw .libkmod("cannot load \(name): \(String(cString: strerror(-result)))") }
    }

    public enum Availability: Sendable, Equatable {
        /// A module file in the module directory.
        case module
        /// Built into the kernel (modules.builtin).
        case builtin
        case missing
    }

    /// Whether the kernel has a module, as a file or built in. Wraps kmod_module_new_from_name
    /// and kmod_module_get_path; built-ins come from modules.builtin.
    public func availability(_ name: String) -> Availability {
        var module: OpaquePointer?
        if gp_kmod_module_new_from_name(context, name, &module) >= 0, let module {
            defer { gp_kmod_module_unref(module) }
            if gp_kmod_module_get_path(module) != nil { return .module }
        }
        let normalized = name.replacing("-", with: "_")
        let builtin = Sysfs(root: root).read(directoryPath.child("modules.builtin")) ?? ""
        for line in builtin.split(separator: "\n") {
            let file = line.split(separator: "/").last.map(String.init) ?? ""
            if file.replacing("-", with: "_") == normalized + ".ko" { return .builtin }
        }
        return .missing
    }

    /// The modules blacklisted by the modprobe configuration under the root, as libkmod reads it.
    /// Wraps kmod_config_get_blacklists.
    ///
    /// libkmod also reads `modprobe.blacklist=` from /proc/cmdline, always the running kernel's
    /// (kmod_config_parse_kcmdline opens the path as it is), and before any file
    /// (kmod_config_new). Under --root those first entries are the wrong host's: they are
    /// skipped, and the root's own command line is read instead.
    public func blacklist() -> Set<String> {
        guard let iterator = gp_kmod_config_get_blacklists(context) else { return [] }
        defer { gp_kmod_config_iter_free_iter(iterator) }
        var skip = root.isLiveHost ? 0 : Kmod.commandLineBlacklist(try? HostRoot("/")).count
        var names = Set<String>()
        while gp_kmod_config_iter_next(iterator) {
            if skip > 0 { skip -= 1; continue }
            if let key = gp_kmod_config_iter_get_key(iterator) { names.insert(String(cString: key)) }
        }
        if !root.isLiveHost { names.formUnion(Kmod.commandLineBlacklist(root)) }
        return names
    }

    /// The names in `modprobe.blacklist=a,b` arguments of a host's /proc/cmdline, in order, as
    /// libkmod counts them (one entry per name).
    static func commandLineBlacklist(_ root: HostRoot?) -> [String] {
        guard let root, let line = Sysfs(root: root).read(.procCmdline) else { return [] }
        return line.split(separator: " ").filter { $0.hasPrefix("modprobe.blacklist=") }
            .flatMap { $0.dropFirst("modprobe.blacklist=".count).split(separator: ",").map(String.init) }
    }
}
