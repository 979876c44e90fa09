import CShims
import Glibc

/// Reads of sysfs-style attribute files, links and directories under a host root.
///
/// Attributes are small text files; a missing or unreadable one is `nil`, never
/// an error, because real hosts and captured trees routinely lack some of them.
public struct Sysfs: Sendable {
    public let root: HostRoot

    public init(root: HostRoot) { self.root = root }

    /// The trimmed contents of an attribute, or nil when it cannot be read. Opened without
    /// blocking (a FIFO in a captured tree reads as empty rather than hanging) and read to at
    /// most 1 MiB (a link to /dev/zero is not slurped).
    public func read(_ path: HostPath) -> String? {
        let fd = root.open(path, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return Sysfs.readAttribute(fd)
    }

    /// A directory opened once, to read many attributes of it (see SysfsDirectory); nil when
    /// it cannot be opened.
    public func directory(_ path: HostPath) -> SysfsDirectory? {
        SysfsDirectory(root: root, path: path)
    }

    /// The same, where the directory's resolved place is known (SysfsDirectory.linkedPlace): it is
    /// opened there, and not asked of the kernel again.
    public func directory(_ path: HostPath, resolved: HostPath?) -> SysfsDirectory? {
        guard let resolved else { return SysfsDirectory(root: root, path: path) }
        return SysfsDirectory(root: root, path: resolved, resolved: resolved)
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
    /// Only a regular file (procfs and sysfs files are), of at most `readLimit` bytes; anything
    /// else (a FIFO, a device, a huge file) is nil, never waited on.
    public func readBytes(_ path: HostPath) -> [UInt8]? {
        let fd = root.open(path, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard case .success(let bytes) = ConfigFile.read(open: fd, limit: Sysfs.readLimit) else { return nil }
        return bytes
    }

    /// The most gpuprep reads of one host file: /proc/bus/pci/devices of a host with thousands of
    /// functions is a few MiB.
    public static let readLimit = 64 << 20

    /// Whether anything (file, directory, link target) exists at the path.
    /// Whether the path is a regular file this process may execute.
    public func isExecutable(_ path: HostPath) -> Bool { Subprocess.isExecutable(root.path(path)) }

    public func exists(_ path: HostPath) -> Bool {
        guard !root.isLiveHost else { return access(path.string, F_OK) == 0 }
        let fd = root.open(path, GP_O_PATH)
        if fd >= 0 { close(fd) }
        return fd >= 0
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
        guard let parent = root.parent(of: path) else { return nil }
        defer { close(parent.fd) }
        guard let name = Sysfs.linkTargetName({ readlinkat(parent.fd, parent.name, $0, $1) }) else { return nil }
        guard exists(path) else { return nil }   // dangling, or leading out of the root
        return name
    }

    /// A link's whole target as written, read by `readLink` (readlink or readlinkat into a
    /// buffer); nil when there is no link.
    static func linkTarget(_ readLink: (UnsafeMutablePointer<CChar>, Int) -> Int) -> String? {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Int(PATH_MAX)) { buffer -> String? in
            let n = buffer.withMemoryRebound(to: CChar.self) { readLink($0.baseAddress!, $0.count) }
            guard n > 0 else { return nil }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[0..<n]), as: UTF8.self)
        }
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

    /// What is at `path` itself, links not followed ("a FIFO", "a symbolic link", ...), or nil when nothing is.
    public func kindOfEntry(_ path: HostPath) -> String? {
        guard let parent = root.parent(of: path) else { return nil }
        defer { close(parent.fd) }
        var info = stat()
        guard fstatat(parent.fd, parent.name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
        return FileKind.describe(info.st_mode)
    }

    public enum EntryType: Sendable, Equatable {
        /// A regular file; `readable` when any of its read bits is set (sysfs's write-only
        /// triggers have none).
        case file(readable: Bool)
        case directory, link, other
    }

    /// What is at `path` itself (links not followed), or nil when nothing is.
    public func entryType(_ path: HostPath) -> EntryType? {
        guard let parent = root.parent(of: path) else { return nil }
        defer { close(parent.fd) }
        var info = stat()
        guard fstatat(parent.fd, parent.name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .file(readable: info.st_mode & 0o444 != 0)
        case S_IFDIR: return .directory
        case S_IFLNK: return .link
        default: return .other
        }
    }

    /// Whether `path` is a symbolic link (whatever it names, even nothing).
    public func isLink(_ path: HostPath) -> Bool {
        guard let parent = root.parent(of: path) else { return false }
        defer { close(parent.fd) }
        var info = stat()
        return fstatat(parent.fd, parent.name, &info, AT_SYMLINK_NOFOLLOW) == 0 && (info.st_mode & S_IFMT) == S_IFLNK
    }

    /// A link's target as written, without following it (for `/proc/PID/fd/N`, whose targets
    /// name files on the host, such as `/dev/vfio/12`). Nil when it is not a link.
    public func linkTarget(_ path: HostPath) -> String? {
        guard let parent = root.parent(of: path) else { return nil }
        defer { close(parent.fd) }
        return Sysfs.linkTarget { readlinkat(parent.fd, parent.name, $0, $1) }
    }

    /// The names of the directories above a device in `/sys/devices` (its physical path: root
    /// complex, then each bridge), from the resolved `/sys/bus/pci/devices/<name>` link.
    public func physicalPath(ofPCIDevice name: String) -> [String]? {
        physicalPath(HostPath.sysBusPCIDevices.child(name))
    }

    /// The names of the directories above an mdev in /sys/devices (the last is its parent).
    public func physicalPath(ofMdev uuid: String) -> [String]? {
        guard HostPath.isPlainName(uuid) else { return nil }
        return physicalPath(HostPath.sysBusMdevDevices.child(uuid))
    }

    /// Where a path leads inside the root, every link followed (nil: nowhere).
    public func resolved(_ path: HostPath) -> HostPath? {
        let fd = root.open(path, GP_O_PATH)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return root.hostPath(ofOpen: fd)
    }

    private func physicalPath(_ link: HostPath) -> [String]? {
        let fd = root.open(link, GP_O_PATH)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard let resolved = root.hostPath(ofOpen: fd) else { return nil }
        let prefix = HostPath.sysDevices.string + "/"
        guard resolved.string.hasPrefix(prefix) else { return nil }
        return resolved.string.dropFirst(prefix.count).split(separator: "/").map(String.init).dropLast()
    }

    /// The entry names of a directory (sorted), or nil when it cannot be opened.
    public func list(_ path: HostPath) -> [String]? {
        let fd = root.open(path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { return nil }
        guard let dir = fdopendir(fd) else { close(fd); return nil }
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
///
/// Inside the directory, attributes and subdirectories are opened with O_NOFOLLOW: sysfs makes
/// them plain files and directories, so a link in their place is a captured tree's, and is not
/// followed. Links (`driver`, `iommu_group`) are resolved inside the root.
public final class SysfsDirectory {
    private let fd: Int32
    private let root: HostRoot
    /// Where the directory resolved to in the tree (under --root only; read once, when a link is).
    private lazy var resolved: HostPath? = root.hostPath(ofOpen: fd)

    init?(root: HostRoot, path: HostPath, resolved: HostPath? = nil) {
        self.root = root
        fd = root.open(path, O_RDONLY | O_DIRECTORY)
        if fd < 0 { return nil }
        if let resolved { self.resolved = resolved }
    }

    private init?(root: HostRoot, parent: Int32, name: String) {
        precondition(HostPath.isPlainName(name), "unsafe directory name \(name)")
        self.root = root
        fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 { return nil }
    }

    deinit { close(fd) }

    /// A directory below this one (an mdev type's, say).
    public func directory(_ name: String) -> SysfsDirectory? { SysfsDirectory(root: root, parent: fd, name: name) }

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
        let file = openat(fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard file >= 0 else { return nil }
        defer { close(file) }
        return Sysfs.readAttribute(file)
    }

    /// The last component of a link's target, if the link and its target exist (as Sysfs.linkName).
    public func linkName(_ name: String) -> String? {
        precondition(HostPath.isPlainName(name), "unsafe link name \(name)")
        guard !root.isLiveHost else {
            guard let target = linkTargetName(name), faccessat(fd, name, F_OK, 0) == 0 else { return nil }
            return target
        }
        // Under --root the target is followed inside the tree. sysfs links are relative
        // (`../../../bus/pci/drivers/nvidia`), and this directory's resolved place holds no link,
        // so the target joins it as text: the walk is the target's few names, not the device's
        // whole path again and then the target's.
        guard let place = linkedPlace(name) else { return nil }
        let last = place.string.utf8.lastIndex(of: UInt8(ascii: "/")).map { String(place.string[place.string.utf8.index(after: $0)...]) } ?? place.string
        guard HostPath.isPlainName(last) else { return nil }
        return Sysfs(root: root).exists(place) ? last : nil
    }

    /// Under --root, where a link of this directory leads in the tree, worked out from the link's
    /// text (it may not exist); nil on the live host, or when there is no such link.
    public func linkedPlace(_ name: String) -> HostPath? {
        precondition(HostPath.isPlainName(name), "unsafe link name \(name)")
        guard !root.isLiveHost, let target = Sysfs.linkTarget({ readlinkat(fd, name, $0, $1) }), let here = resolved else { return nil }
        return HostPath.trusted(HostPath.normalized(target.hasPrefix("/") ? target : here.string + "/" + target))
    }

    /// The last component of a link's target, whether or not the target exists.
    public func linkTargetName(_ name: String) -> String? {
        precondition(HostPath.isPlainName(name), "unsafe link name \(name)")
        return Sysfs.linkTargetName { readlinkat(fd, name, $0, $1) }
    }

    /// Whether something exists at the names below this directory (`nvidia`, `creatable_vgpu_types`).
    public func exists(_ names: String...) -> Bool {
        for name in names { precondition(HostPath.isPlainName(name), "unsafe name \(name)") }
        let relative = names.joined(separator: "/")
        guard !root.isLiveHost else { return faccessat(fd, relative, F_OK, 0) == 0 }
        // Under --root: below this directory, never out of it (these are plain directories and
        // files in sysfs); where openat2 is missing, inside the root from its resolved place.
        let below = gp_open_beneath(fd, relative, GP_O_PATH | O_CLOEXEC)
        if below >= 0 { close(below); return true }
        guard errno == ENOSYS, let here = resolved else { return false }
        return Sysfs(root: root).exists(HostPath.trusted(here.string + "/" + relative))
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
        return read(open: fd, limit: limit)
    }

    /// The same for a host file, resolved inside the root.
    public static func read(_ path: HostPath, in root: HostRoot, limit: Int) -> Result<[UInt8], Problem> {
        let fd = root.open(path, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else { return .failure(errno == ENOENT ? .missing : .io(errno)) }
        defer { close(fd) }
        return read(open: fd, limit: limit)
    }

    /// A file already opened (with O_NONBLOCK).
    public static func read(open fd: Int32, limit: Int) -> Result<[UInt8], Problem> {
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
