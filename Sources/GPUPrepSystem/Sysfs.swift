import Glibc

/// Reads of sysfs-style attribute files, links and directories under a host root.
///
/// Attributes are small text files; a missing or unreadable one is `nil`, never
/// an error, because real hosts and captured trees routinely lack some of them.
public struct Sysfs: Sendable {
    public let root: HostRoot

    public init(root: HostRoot) { self.root = root }

    /// The trimmed contents of an attribute, or nil when it cannot be read.
    public func read(_ path: HostPath) -> String? {
        let fd = open(root.path(path), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        // One read fills almost every attribute; the temporary buffer lives on the stack.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4096) { chunk -> String? in
            var bytes: [UInt8] = []
            while true {
                let n = Glibc.read(fd, chunk.baseAddress, chunk.count)
                if n < 0 { return nil }
                if n == 0 { break }
                if bytes.isEmpty && n < chunk.count {
                    // The common case: the whole attribute in one read.
                    var end = n
                    while end > 0, chunk[end - 1] == 0x0a || chunk[end - 1] == 0x20 || chunk[end - 1] == 0x09 || chunk[end - 1] == 0x0d { end -= 1 }
                    return String(decoding: UnsafeBufferPointer(rebasing: chunk[0..<end]), as: UTF8.self)
                }
                bytes.append(contentsOf: chunk[0..<n])
                if bytes.count > 1 << 20 { break }   // attributes are small; never slurp a huge file
            }
            var text = String(decoding: bytes, as: UTF8.self)
            while let last = text.last, last.isWhitespace { text.removeLast() }
            return text
        }
    }

    /// A file's whole content, untrimmed (configuration files, not attributes).
    public func readWhole(_ path: HostPath) -> String? {
        let fd = open(root.path(path), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 65536) { chunk -> String? in
            var bytes: [UInt8] = []
            while true {
                let n = Glibc.read(fd, chunk.baseAddress, chunk.count)
                if n < 0 { return nil }
                if n == 0 { return String(decoding: bytes, as: UTF8.self) }
                bytes.append(contentsOf: chunk[0..<n])
            }
        }
    }

    /// Whether anything (file, directory, link target) exists at the path.
    public func exists(_ path: HostPath) -> Bool {
        access(root.path(path), F_OK) == 0
    }

    /// Whether a file given on the command line (not a host path) can be read.
    public static func isReadableFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && access(path, R_OK) == 0
    }

    /// Whether the path is a symbolic link (dangling or not).
    public func isLink(_ path: HostPath) -> Bool {
        var info = stat()
        return lstat(root.path(path), &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK
    }

    /// The last component of a link's target, if the link exists and its target
    /// does too. sysfs names drivers, IOMMU groups and physical functions this way;
    /// only the name is used, so a link can never lead outside the root.
    public func linkName(_ path: HostPath) -> String? {
        let full = root.path(path)
        let target = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Int(PATH_MAX)) { buffer -> String? in
            let n = buffer.withMemoryRebound(to: CChar.self) { readlink(full, $0.baseAddress!, $0.count) }
            guard n > 0 else { return nil }
            // Only the last component matters.
            var start = n
            while start > 0, buffer[start - 1] != UInt8(ascii: "/") { start -= 1 }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<n]), as: UTF8.self)
        }
        guard let name = target, HostPath.isPlainName(name) else { return nil }
        guard access(full, F_OK) == 0 else { return nil }   // dangling
        return name
    }

    /// A link's target as written, without following it (for `/proc/PID/fd/N`, whose targets
    /// name files on the host, such as `/dev/vfio/12`). Nil when it is not a link.
    public func linkTarget(_ path: HostPath) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(root.path(path), &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The names of the directories above a device in `/sys/devices` (its physical path: root
    /// complex, then each bridge), from the resolved `/sys/bus/pci/devices/<name>` link.
    public func physicalPath(ofPCIDevice name: String) -> [String]? {
        guard let resolved = realpath(root.path(HostPath.sysBusPCIDevices.child(name)), nil) else { return nil }
        defer { free(resolved) }
        let full = String(cString: resolved)
        let prefix = root.path(.sysDevices) + "/"
        guard full.hasPrefix(prefix) else { return nil }   // a link leading out of the root is ignored
        return full.dropFirst(prefix.count).split(separator: "/").map(String.init).dropLast()
    }

    /// The names of the directories above an mdev in /sys/devices (the last is its parent).
    public func physicalPath(ofMdev uuid: String) -> [String]? {
        guard HostPath.isPlainName(uuid), let resolved = realpath(root.path(HostPath.sysBusMdevDevices.child(uuid)), nil) else { return nil }
        defer { free(resolved) }
        let full = String(cString: resolved)
        let prefix = root.path(.sysDevices) + "/"
        guard full.hasPrefix(prefix) else { return nil }
        return full.dropFirst(prefix.count).split(separator: "/").map(String.init).dropLast()
    }

    /// The entry names of a directory (sorted), or nil when it cannot be opened.
    public func list(_ path: HostPath) -> [String]? {
        guard let dir = opendir(root.path(path)) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// The kernel release of the host: `proc/sys/kernel/osrelease` under the root, else uname(2).
    public func kernelRelease() -> String? {
        if let release = read(.procOSRelease), !release.isEmpty { return release }
        var names = utsname()
        uname(&names)
        return withUnsafeBytes(of: names.release) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
