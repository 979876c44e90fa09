import GPUPrepSystem

/// A process on the host.
public struct HostProcess: Sendable, Equatable, Encodable {
    public var pid: Int
    public var name: String
    /// The guest's name when the process is a VMM started with QEMU's `-name` (libvirt writes
    /// `-name guest=NAME,debug-threads=on`; plain QEMU takes `-name NAME`).
    public var vm: String?
    /// The systemd unit the process runs in (`nvidia-persistenced.service`, `session-2.scope`),
    /// from its cgroup; nil when it has none or it cannot be read.
    public var unit: String?
    public init(pid: Int, name: String, vm: String? = nil, unit: String? = nil) {
        self.pid = pid; self.name = name; self.vm = vm; self.unit = unit
    }

    /// `qemu-system-x86 (pid 4242, VM win11)`, `nvidia-persistenced (pid 912, nvidia-persistenced.service)`:
    /// how messages name a holder. Names from the tree are shown escaped.
    public var described: String {
        let unitShown = unit.flatMap { vm == nil && $0.hasSuffix(".service") ? ", \($0.shownAsName)" : nil } ?? ""
        return "\(name.shownAsName) (pid \(pid)\(vm.map { ", VM \($0.shownAsName)" } ?? "")\(unitShown))"
    }

    enum Keys: String, CodingKey { case pid, name, vm, unit }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(pid, forKey: .pid)
        try c.encode(name, forKey: .name)
        try c.encode(vm, forKey: .vm)
        try c.encode(unit, forKey: .unit)
    }

    /// The systemd unit in `/proc/PID/cgroup`: the innermost `.service` or `.scope` of the
    /// unified hierarchy's line (`0::/system.slice/nvidia-persistenced.service`), or of v1's
    /// `name=systemd` line. A unit name is plain: anything else is not taken.
    static func unit(cgroup: String) -> String? {
        let lines = cgroup.split(separator: "\n")
        guard let line = lines.first(where: { $0.hasPrefix("0::") }) ?? lines.first(where: { $0.contains(":name=systemd:") }),
              let path = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).last else { return nil }
        let unit = path.split(separator: "/").last { $0.hasSuffix(".service") || $0.hasSuffix(".scope") }.map(String.init)
        guard let unit, unit.allSatisfy({ $0.isLetter || $0.isNumber || "-_.@:\\".contains($0) }), unit.allSatisfy(\.isASCII) else { return nil }
        return unit
    }

    /// The value of QEMU's `-name` option in a NUL-separated command line: `guest=NAME,...` or
    /// `NAME,...` (QEMU's option syntax doubles a comma to escape it).
    static func vmName(cmdline: String) -> String? {
        // Arguments end in NUL; a captured file may also end in a newline.
        var text = Substring(cmdline)
        while let last = text.last, last == "\0" || last == "\n" { text.removeLast() }
        let args = text.split(separator: "\0", omittingEmptySubsequences: false)
        guard let index = args.firstIndex(where: { $0 == "-name" || $0 == "--name" }), index + 1 < args.count else { return nil }
        // Split at single commas; a doubled one is a literal comma.
        var parts: [String] = [""]
        var characters = args[index + 1].makeIterator()
        var pending = characters.next()
        while let character = pending {
            pending = characters.next()
            if character == "," {
                if pending == "," { parts[parts.count - 1].append(","); pending = characters.next() } else { parts.append("") }
            } else {
                parts[parts.count - 1].append(character)
            }
        }
        let value = parts.first(where: { $0.hasPrefix("guest=") }).map { String($0.dropFirst("guest=".count)) } ?? parts[0]
        return value.isEmpty || value.contains("=") ? nil : value
    }
}

extension HostProcess {
    /// The pids of the processes running `program` (by /proc/PID/comm, which keeps 15 bytes of a
    /// name: nvidia-vgpu-mgr fits whole), in order.
    public static func running(_ program: String, _ sysfs: Sysfs) -> [Int] {
        let kept = String(decoding: program.utf8.prefix(15), as: UTF8.self)
        return (sysfs.list(.proc) ?? []).compactMap { entry in
            guard let pid = Int(entry), sysfs.read(HostPath.proc.child(entry, "comm")) == kept else { return nil }
            return pid
        }.sorted()
    }
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
            let process = HostProcess(pid: pid, name: sysfs.read(dir.child("comm")) ?? "pid \(pid)",
                                      vm: sysfs.readWhole(dir.child("cmdline")).flatMap(HostProcess.vmName(cmdline:)),
                                      unit: sysfs.read(dir.child("cgroup")).flatMap(HostProcess.unit(cgroup:)))
            for target in targets { files.holders[target, default: []].append(process) }
        }
        return files
    }

    /// The processes holding `/dev/vfio/<group>` open: a VMM owns a group for as long as it runs,
    /// and the kernel lets no second user open it.
    public func groupHolders(_ group: Int) -> [HostProcess] {
        holders[HostPath.devVFIO.child(String(group)).string] ?? []
    }

    /// The processes using a device through VFIO: its group (`/dev/vfio/N`), or its own VFIO
    /// character device (`/dev/vfio/devices/vfioX`, iommufd's cdev, Linux 6.6+), which sysfs
    /// names under the device's `vfio-dev/` directory. `device` is the device's sysfs directory.
    public func vfioHolders(group: Int?, device: HostPath, sysfs: Sysfs) -> [Holder] {
        var nodes = group.map { [HostPath.devVFIO.child(String($0)).string] } ?? []
        for name in sysfs.list(device.child("vfio-dev")) ?? [] where HostPath.isPlainName(name) {
            nodes.append(HostPath.devVFIO.child("devices", name).string)
        }
        return holders(of: nodes)
    }

    /// Processes holding any of these device nodes, with the node.
    public func holders(of nodes: [String]) -> [Holder] {
        nodes.flatMap { node in (holders[node] ?? []).map { Holder(path: node, process: $0) } }
    }
}

extension OpenFiles {
    /// Who holds a PCI device through VFIO, in words (`/dev/vfio/12 is held by qemu-system-x86
    /// (pid 4242, VM win11)`), or nil when no process visible here does.
    public static func describeHolders(of address: PCIAddress, host: HostContext) -> String? {
        let device = HostPath.sysBusPCIDevices.child(address.description)
        let group = host.sysfs.linkName(device.child("iommu_group")).flatMap { Int($0) }
        let users = scan(host).vfioHolders(group: group, device: device, sysfs: host.sysfs)
        guard !users.isEmpty else { return nil }
        return users.map { "\($0.path) is held by \($0.process.described)" }.joined(separator: "; ")
    }
}
