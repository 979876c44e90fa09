import GPUPrepSystem

/// A process on the host.
public struct HostProcess: Sendable, Equatable, Encodable {
    public var pid: Int
    public var name: String
    public init(pid: Int, name: String) { self.pid = pid; self.name = name }
}

/// Which processes hold which files open, from `/proc/*/fd` under the root.
public struct OpenFiles: Sendable {
    /// Processes by the path they hold open (`/dev/vfio/12`, `/dev/dri/card1`).
    public var holders: [String: [HostProcess]] = [:]
    /// Processes whose open files could not be read (other users' processes, when not root).
    public var unreadable = 0

    public static func scan(_ host: HostContext) -> OpenFiles {
        var files = OpenFiles()
        let sysfs = host.sysfs
        for entry in sysfs.list(.proc) ?? [] {
            guard let pid = Int(entry) else { continue }
            let dir = HostPath.proc.child(entry)
            guard let fds = sysfs.list(dir.child("fd")) else { files.unreadable += 1; continue }
            let targets = Set(fds.compactMap { sysfs.linkTarget(dir.child("fd", $0)) }.filter { $0.hasPrefix(HostPath.dev.string + "/") })
            guard !targets.isEmpty else { continue }
            let process = HostProcess(pid: pid, name: sysfs.read(dir.child("comm")) ?? "pid \(pid)")
            for target in targets { files.holders[target, default: []].append(process) }
        }
        return files
    }

    /// The processes holding `/dev/vfio/<group>` open: a VMM owns a group for as long as it runs,
    /// and the kernel lets no second user open it.
    public func groupHolders(_ group: Int) -> [HostProcess] {
        holders[HostPath.devVFIO.child(String(group)).string] ?? []
    }

    /// Processes holding any of these device nodes, with the node.
    public func holders(of nodes: [String]) -> [(node: String, process: HostProcess)] {
        nodes.flatMap { node in (holders[node] ?? []).map { (node, $0) } }
    }
}
