import Glibc

/// What libkmod will open under a root, checked before it opens any of it. libkmod opens paths
/// as they are: it follows a link in a captured tree to this machine's own file, and blocks for
/// ever opening a FIFO (kmod_config_new reads every `*.conf` of each modprobe.d directory;
/// index_file_open and the text fallbacks read `modules.*` of the module directory). So each of
/// those is, after the links libkmod would follow, a regular file (or directory) inside the root.
public enum KmodInputs {
    /// The first input that is not what libkmod may open: its host path and what it is.
    public static func firstHostile(root: HostRoot, moduleDirectory: HostPath) -> (path: String, kind: String)? {
        for directory in HostPath.modprobeConfigDirs {
            if let bad = check(root, directory.string, expecting: S_IFDIR) { return bad }
            for name in entries(root.path(directory)) where name.hasSuffix(".conf") {
                if let bad = check(root, directory.string + "/" + name, expecting: S_IFREG) { return bad }
            }
        }
        if let bad = check(root, moduleDirectory.string, expecting: S_IFDIR) { return bad }
        for name in entries(root.path(moduleDirectory)) where name.hasPrefix("modules.") {
            if let bad = check(root, moduleDirectory.string + "/" + name, expecting: S_IFREG) { return bad }
        }
        return nil
    }

    /// Whether a module file libkmod names (absolute, or relative to the module directory) is a
    /// regular file inside the root, which kmod_module_get_info may then read.
    public static func isSafeModuleFile(root: HostRoot, moduleDirectory: HostPath, path: String) -> Bool {
        let full = path.hasPrefix("/") ? path : root.path(moduleDirectory) + "/" + path
        guard full.hasPrefix(root.prefix + "/") else { return false }
        return check(root, String(full.dropFirst(root.prefix.count)), expecting: S_IFREG) == nil
    }

    /// nil when `hostPath` is absent, or is (after links, resolved as the library would) of the
    /// kind expected and inside the root.
    private static func check(_ root: HostRoot, _ hostPath: String, expecting kind: mode_t) -> (path: String, kind: String)? {
        let path = root.prefix + hostPath
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        if (info.st_mode & S_IFMT) == S_IFLNK {
            guard let target = realpath(path, nil) else { return nil }   // dangling: libkmod finds nothing
            defer { free(target) }
            let resolved = String(cString: target)
            if !root.isLiveHost && !resolved.hasPrefix(resolvedRoot(root) + "/") {
                return (hostPath, "a link to \(resolved), outside the root (libkmod would read this machine's file)")
            }
            guard stat(path, &info) == 0 else { return nil }
        }
        guard (info.st_mode & S_IFMT) == kind else { return (hostPath, FileKind.describe(info.st_mode)) }
        return nil
    }

    private static func resolvedRoot(_ root: HostRoot) -> String {
        guard let resolved = realpath(root.prefix, nil) else { return root.prefix }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func entries(_ directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}
