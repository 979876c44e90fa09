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
        return Sysfs.readAttribute(fd)
    }

    /// A directory opened once, to read many attributes of it (see SysfsDirectory); nil when
    /// it cannot be opened.
    public func directory(_ path: HostPath) -> SysfsDirectory? {
        SysfsDirectory(path: root.path(path))
    }

    /// The trimmed contents of an open attribute file, or nil when it cannot be read.
    static func readAttribute(_ fd: Int32) -> String? {
        // One read fills almost every attribute; the temporary buffer lives on the stack.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4096) { chunk -> String? in
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
        readBytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// A file's whole content as bytes (for files parsed byte by byte, such as /proc/bus/pci/devices).
    public func readBytes(_ path: HostPath) -> [UInt8]? {
        let fd = open(root.path(path), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 65536) { chunk -> [UInt8]? in
            var bytes: [UInt8] = []
            while true {
                let n = Glibc.read(fd, chunk.baseAddress, chunk.count)
                if n < 0 { return nil }
                if n == 0 { return bytes }
                bytes.append(contentsOf: chunk[0..<n])
            }
        }
    }

    /// Whether anything (file, directory, link target) exists at the path.
    /// Whether the path is a regular file this process may execute.
    public func isExecutable(_ path: HostPath) -> Bool { Subprocess.isExecutable(root.path(path)) }

    public func exists(_ path: HostPath) -> Bool {
        access(root.path(path), F_OK) == 0
    }

    /// Whether a file given on the command line (not a host path) can be read.
    public static func isReadableFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && access(path, R_OK) == 0
    }

    /// The last component of a link's target, if the link exists and its target
    /// does too. sysfs names drivers, IOMMU groups and physical functions this way;
    /// only the name is used, so a link can never lead outside the root.
    public func linkName(_ path: HostPath) -> String? {
        let full = root.path(path)
        guard let name = Sysfs.linkTargetName({ readlink(full, $0, $1) }) else { return nil }
        guard access(full, F_OK) == 0 else { return nil }   // dangling
        return name
    }

    /// The last component of a link's target, read by `readLink` (readlink or readlinkat into a
    /// buffer); nil when there is no link or the name is not a plain one.
    static func linkTargetName(_ readLink: (UnsafeMutablePointer<CChar>, Int) -> Int) -> String? {
        let target = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Int(PATH_MAX)) { buffer -> String? in
            let n = buffer.withMemoryRebound(to: CChar.self) { readLink($0.baseAddress!, $0.count) }
            guard n > 0 else { return nil }
            // Only the last component matters.
            var start = n
            while start > 0, buffer[start - 1] != UInt8(ascii: "/") { start -= 1 }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<n]), as: UTF8.self)
        }
        guard let target, HostPath.isPlainName(target) else { return nil }
        return target
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
        return Sysfs.names(in: dir)
    }

    static func names(in dir: OpaquePointer) -> [String] {
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

/// A sysfs directory (a PCI function's, say) opened once; its attributes and links are then
/// reached relative to it.
///
/// Opening `<root>/sys/bus/pci/devices/<address>/<attribute>` walks every component of the
/// root, then the device link and the bridges it leads through, for each of the twenty-odd
/// attributes gpuprep reads; on a host with thousands of functions those walks were most of
/// `list`'s time (kernel time, measured with perf stat). Relative to an open directory each
/// name is one lookup. Names are those the kernel defines, never user input.
public final class SysfsDirectory {
    private let fd: Int32

    init?(path: String) {
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { return nil }
    }

    private init?(parent: Int32, name: String) {
        precondition(HostPath.isPlainName(name), "unsafe directory name \(name)")
        fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { return nil }
    }

    deinit { close(fd) }

    /// A directory below this one (an mdev type's, say).
    public func directory(_ name: String) -> SysfsDirectory? { SysfsDirectory(parent: fd, name: name) }

    /// The entry names of this directory (sorted), or nil when it cannot be read.
    public func list() -> [String]? {
        let copy = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard copy >= 0 else { return nil }
        guard let dir = fdopendir(copy) else { close(copy); return nil }
        defer { closedir(dir) }
        return Sysfs.names(in: dir)
    }

    /// The trimmed contents of an attribute, or nil when it cannot be read.
    public func read(_ name: String) -> String? {
        precondition(HostPath.isPlainName(name), "unsafe attribute name \(name)")
        let file = openat(fd, name, O_RDONLY | O_CLOEXEC)
        guard file >= 0 else { return nil }
        defer { close(file) }
        return Sysfs.readAttribute(file)
    }

    /// The last component of a link's target, if the link and its target exist (as Sysfs.linkName).
    public func linkName(_ name: String) -> String? {
        guard let target = linkTargetName(name), faccessat(fd, name, F_OK, 0) == 0 else { return nil }
        return target
    }

    /// The last component of a link's target, whether or not the target exists.
    public func linkTargetName(_ name: String) -> String? {
        precondition(HostPath.isPlainName(name), "unsafe link name \(name)")
        return Sysfs.linkTargetName { readlinkat(fd, name, $0, $1) }
    }

    /// Whether something exists at the names below this directory (`nvidia`, `creatable_vgpu_types`).
    public func exists(_ names: String...) -> Bool {
        for name in names { precondition(HostPath.isPlainName(name), "unsafe name \(name)") }
        return faccessat(fd, names.joined(separator: "/"), F_OK, 0) == 0
    }
}

/// A configuration file the user names, read whole but bounded: a regular file of at most
/// `limit` bytes, opened without blocking (a FIFO or a device is refused, not waited on).
public enum ConfigFile {
    public enum Problem: Error, Sendable {
        case missing
        case notRegular
        case tooLarge(Int)
        case io(Int32)
    }

    public static func read(_ path: String, limit: Int) -> Result<[UInt8], Problem> {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return .failure(errno == ENOENT ? .missing : .io(errno)) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(.io(errno)) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return .failure(.notRegular) }
        guard Int(info.st_size) <= limit else { return .failure(.tooLarge(Int(info.st_size))) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count <= limit {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return .failure(.io(errno)) }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return bytes.count > limit ? .failure(.tooLarge(bytes.count)) : .success(bytes)
    }
}
