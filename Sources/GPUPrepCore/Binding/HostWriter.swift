import GPUPrepSystem

/// Everything that changes the host: sysfs writes, module loads, configuration files. On the
/// live host the kernel acts on the writes; the tests use a simulated kernel that acts them
/// out on a fake tree.
public protocol HostWriter {
    func write(_ path: HostPath, _ value: String) throws(SystemError)
    func loadModule(_ name: String) throws(SystemError)
    /// Replaces a configuration file atomically (nil removes it).
    func replaceFile(_ path: HostPath, _ content: String?) throws(SystemError)
    /// Copies `source` to `backup` with its mode and owner, unless a backup is already there.
    func backUp(_ source: HostPath, to backup: HostPath) throws(SystemError)
    /// Makes `path` a symbolic link to `target`, atomically.
    func makeLink(_ path: HostPath, to target: String) throws(SystemError)
    /// Runs a host program (only ever a fixed one: NVIDIA's sriov-manage) with arguments.
    func run(_ program: HostPath, _ arguments: [String]) throws(SystemError)
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

    public func backUp(_ source: HostPath, to backup: HostPath) throws(SystemError) {
        try AtomicFile(root: host.root).backUp(source, to: backup)
    }

    /// Only on the live host: a program inside a --root tree is never run. NVIDIA documents that
    /// sriov-manage fails with "Cannot obtain unbindLock" while a client such as a monitoring
    /// agent holds the GPU, and that it can hang: each try is bounded, and a failed one is
    /// tried again twice, 2 s apart (shared/notes/vgpu-and-stacks.md).
    public func run(_ program: HostPath, _ arguments: [String]) throws(SystemError) {
        guard host.root.isLiveHost else {
            throw .program(path: program.string, status: -1, output: "not run: programs run only on the live host, never from a --root tree")
        }
        var last = SystemError.program(path: program.string, status: -1, output: "")
        for attempt in 0..<3 {
            if attempt > 0 { pause(milliseconds: 2000) }
            let result: Subprocess.Result
            do throws(SystemError) { result = try Subprocess.run([program.string] + arguments, input: [], timeoutSeconds: 60) } catch {
                last = error
                continue
            }
            if result.status == 0 { return }
            let said = String(decoding: result.output, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
            last = .program(path: program.string, status: result.status, output: said)
        }
        throw last
    }

    public func loadModule(_ name: String) throws(SystemError) {
        guard host.root.isLiveHost else {
            throw .libkmod("cannot load \(name) into \(host.root.display): modules load only into the running kernel (no --root)")
        }
        guard let kmod = host.kmod() else { throw .libkmod("no module directory for the running kernel") }
        try kmod.load(name)
    }
}
