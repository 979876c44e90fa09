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
    /// Runs a host program (only ever one gpuprep names: sriov-manage, systemctl, the boot
    /// loader's and initramfs builder's commands); returns what it printed, line by line.
    func run(_ program: HostPath, _ run: ProgramRun) throws(SystemError) -> [String]
    /// Whether `run` runs programs here (the live host), or a plan's programs are only shown.
    var runsPrograms: Bool { get }
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

    public var runsPrograms: Bool { host.root.isLiveHost }

    /// Only on the live host: a program inside a --root tree is never run. Each try is bounded;
    /// a failed one is tried again as `run.attempts` allows, 2 s apart (NVIDIA documents that
    /// sriov-manage fails with "Cannot obtain unbindLock" while a client such as a monitoring
    /// agent holds the GPU, and that it can hang: shared/notes/vgpu-and-stacks.md). Standard
    /// error is kept with standard output, so that what a failing program said is shown.
    public func run(_ program: HostPath, _ run: ProgramRun) throws(SystemError) -> [String] {
        guard runsPrograms else {
            throw .program(path: program.string, status: -1, output: "not run: programs run only on the live host, never from a --root tree")
        }
        var last = SystemError.program(path: program.string, status: -1, output: "")
        for attempt in 0..<max(1, run.attempts) {
            if attempt > 0 { pause(milliseconds: 2000) }
            let result: Subprocess.Result
            do throws(SystemError) {
                result = try Subprocess.run([program.string] + run.arguments, input: [], timeoutSeconds: run.timeoutSeconds, mergingErrors: true)
            } catch {
                last = error
                continue
            }
            let lines = String(decoding: result.output, as: UTF8.self).split(separator: "\n").map(String.init)
            if result.status == 0 { return lines }
            last = .program(path: program.string, status: result.status, output: lines.last ?? "")
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
