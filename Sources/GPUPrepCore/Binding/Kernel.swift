import GPUPrepSystem

/// What changes the host: sysfs writes and module loads. The live kernel acts on them; the
/// tests use a simulated one that acts them out on a fake tree.
public protocol Kernel {
    func write(_ path: HostPath, _ value: String) throws(SystemError)
    func loadModule(_ name: String) throws(SystemError)
}

/// The running kernel (or a host tree under --root, where writes are plain file writes and
/// modules cannot be loaded).
public struct LiveKernel: Kernel {
    let host: HostContext

    public init(host: HostContext) { self.host = host }

    public func write(_ path: HostPath, _ value: String) throws(SystemError) {
        try SysfsWriter(root: host.root).write(path, value)
    }

    public func loadModule(_ name: String) throws(SystemError) {
        guard host.root.isLiveHost else {
            throw .libkmod("cannot load \(name) into \(host.root.display): modules load only into the running kernel (no --root)")
        }
        guard let kmod = host.kmod() else { throw .libkmod("no module directory for the running kernel") }
        try kmod.load(name)
    }
}
