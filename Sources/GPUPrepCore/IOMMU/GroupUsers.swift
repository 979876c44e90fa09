import GPUPrepSystem

/// A process on the host.
public struct HostProcess: Sendable, Equatable, Encodable {
    public var pid: Int
    public var name: String
    public init(pid: Int, name: String) { self.pid = pid; self.name = name }
}

/// Which processes hold `/dev/vfio/<group>` open: a VMM (QEMU, cloud-hypervisor) owns a group
/// for as long as it runs, and the kernel lets no second user open it.
public struct GroupUsers: Sendable {
    public var holders: [Int: [HostProcess]] = [:]
    /// Processes whose open files could not be read (other users' processes, when not root).
    public var unreadable = 0

    /// Reads `/proc/*/fd` under the root.
    public static func scan(_ host: HostContext) -> GroupUsers {
        var users = GroupUsers()
        let sysfs = host.sysfs
        for entry in sysfs.list(.proc) ?? [] {
            guard let pid = Int(entry) else { continue }
            let dir = HostPath.proc.child(entry)
            guard let fds = sysfs.list(dir.child("fd")) else { users.unreadable += 1; continue }
            var groups = Set<Int>()
            for fd in fds {
                guard let target = sysfs.linkTarget(dir.child("fd", fd)),
                      let group = groupNumber(devicePath: target) else { continue }
                groups.insert(group)
            }
            guard !groups.isEmpty else { continue }
            let process = HostProcess(pid: pid, name: sysfs.read(dir.child("comm")) ?? "pid \(pid)")
            for group in groups { users.holders[group, default: []].append(process) }
        }
        return users
    }

    /// `/dev/vfio/12` -> 12 (and not `/dev/vfio/vfio`, the container device every user opens).
    static func groupNumber(devicePath: String) -> Int? {
        let prefix = HostPath.devVFIO.string + "/"
        guard devicePath.hasPrefix(prefix) else { return nil }
        return Int(devicePath.dropFirst(prefix.count))
    }
}
