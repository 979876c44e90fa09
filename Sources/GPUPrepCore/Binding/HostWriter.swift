import GPUPrepSystem

/// Everything that changes the host: sysfs writes, module loads, configuration files. On the
/// live host the kernel acts on the writes; the tests use a simulated kernel that acts them
/// out on a fake tree.
public protocol HostWriter {
    func write(_ path: HostPath, _ value: String) throws(SystemError)
    func loadModule(_ name: String) throws(SystemError)
    /// Replaces a configuration file atomically (nil removes it).
    func replaceFile(_ path: HostPath, _ content: String?) throws(SystemError)
    /// Makes `path` a symbolic link to `target`, atomically.
    func makeLink(_ path: HostPath, to target: String) throws(SystemError)
}


/// The running kernel (or a host tree under --root, where writes are plain file writes and
/// modules cannot be loaded).
public struct LiveHostWriter: HostWriter {
    let host: HostContext

    public init(host: HostContext) { self.host = host }

    public func write(_ path: HostPath, _ value: String) throws(SystemError) {
        try SysfsWriter(root: host.root).write(path, value)
    }

    public func replaceFile(_ path: HostPath, _ content: String?) throws(SystemError) {
        let files = AtomicFile(root: host.root)
        if let content { try files.write(path, content) } else { try files.remove(path) }
    }

    public func makeLink(_ path: HostPath, to target: String) throws(SystemError) {
        try AtomicFile(root: host.root).link(path, to: target)
    }

    public func loadModule(_ name: String) throws(SystemError) {
        guard host.root.isLiveHost else {
            throw .libkmod("cannot load \(name) into \(host.root.display): modules load only into the running kernel (no --root)")
        }
        guard let kmod = host.kmod() else { throw .libkmod("no module directory for the running kernel") }
        try kmod.load(name)
    }
}
