import CShims
import Glibc

/// Writes to sysfs attributes: one write(2) of the whole value, as `echo value > file` does.
/// The kernel answers a refused write with an errno (EBUSY, ENODEV, EINVAL), which is kept.
///
/// The attribute is resolved inside the root, and must be a regular file there (sysfs makes
/// every attribute one): a link, a FIFO or a device in its place is refused, not followed or
/// waited on. The write itself is bounded by `deadlineSeconds` (see gp_write_bounded).
public struct SysfsWriter: Sendable {
    public let root: HostRoot
    public var deadlineSeconds: Double

    public init(root: HostRoot, deadlineSeconds: Double = SysfsWriter.defaultDeadlineSeconds) {
        self.root = root
        self.deadlineSeconds = deadlineSeconds
    }

    /// 10 s: vfio-pci asks the device's user to release it every 10 s while a remove waits
    /// (vfio_unregister_group_dev); a write still blocked then will not end by itself.
    /// GPUPREP_WRITE_TIMEOUT (seconds) sets another, clamped to an hour: `inf`, `nan` or a
    /// number past what the deadline timer holds must not reach it (they crashed the first write).
    public static var defaultDeadlineSeconds: Double {
        guard let text = getenv("GPUPREP_WRITE_TIMEOUT").map({ String(cString: $0) }), let value = Double(text),
              value.isFinite, value > 0 else { return 10 }
        return min(value, 3600)
    }

    public func write(_ path: HostPath, _ value: String) throws(SystemError) {
        let fd = root.open(path, GP_O_PATH | O_NOFOLLOW)
        guard fd >= 0 else { throw .io(path: path.string, errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .io(path: path.string, errno: errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .notRegular(path: path.string, kind: FileKind.describe(info.st_mode)) }
        // A kernel attribute has one link. A second one may be outside the root, where
        // RESOLVE_IN_ROOT does not look: writing would write there.
        guard info.st_nlink == 1 else { throw .notRegular(path: path.string, kind: FileKind.hardLinked(info.st_nlink)) }
        var pid: Int32 = 0
        let bytes = Array(value.utf8)
        let code = bytes.withUnsafeBytes { gp_write_bounded(fd, $0.baseAddress, $0.count, Int32(deadlineSeconds * 1000), &pid) }
        if code == -1 { throw .blocked(path: path.string, pid: pid, seconds: deadlineSeconds) }
        if code != 0 { throw .io(path: path.string, errno: code) }
    }
}

/// What a file is, in words, for refusals.
public enum FileKind {
    public static func hardLinked(_ links: nlink_t) -> String { "a regular file with \(links) hard links (another may be outside the root)" }

    public static func describe(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFLNK: return "a symbolic link"
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFDIR: return "a directory"
        case S_IFSOCK: return "a socket"
        default: return "a regular file"
        }
    }
}

/// The process's privileges.
public enum Privileges {
    public static var isRoot: Bool { geteuid() == 0 }
}

/// An exclusive lock on a file under the root, held while a change is applied, so that two
/// gpuprep runs never move the same devices at once. Released when the value is dropped. The
/// holder's pid is written in it, to name it to a run that waits.
public final class HostLock {
    private let fd: Int32

    /// Waits up to `timeout` seconds for the lock at `path` (its directory is created if needed);
    /// `waiting` is called once, with the holder's pid when known, if the lock is busy.
    public init(root: HostRoot, path: HostPath, timeout: Double, waiting: (Int32?) -> Void = { _ in }) throws(SystemError) {
        if let (directory, name) = root.parent(of: path.parent) {
            mkdirat(directory, name, 0o755)
            close(directory)
        }
        let opened = root.open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o644)
        guard opened >= 0 else { throw .io(path: path.string, errno: errno) }
        // The pid is written into it: only a regular file with no other link (which could be
        // outside the root) is taken.
        var info = stat()
        guard fstat(opened, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_nlink == 1 else {
            let kind = (info.st_mode & S_IFMT) == S_IFREG ? FileKind.hardLinked(info.st_nlink) : FileKind.describe(info.st_mode)
            close(opened)
            throw .notRegular(path: path.string, kind: kind)
        }
        var waited = 0.0
        while flock(opened, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK, waited < timeout else {
                close(opened)
                throw .locked(path: path.string)
            }
            if waited == 0 { waiting(HostLock.holder(opened)) }
            usleep(100_000)
            waited += 0.1
        }
        fd = opened
        let pid = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 { _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } }
    }

    deinit { close(fd) }

    /// Who holds the lock at `path` (a pid when it wrote one), or nil when it is free or absent.
    /// Only reads: a dry run asks this to say that a change is in progress.
    public struct Holder: Sendable { public var pid: Int32? }
    public static func holder(root: HostRoot, path: HostPath) -> Holder? {
        let fd = root.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 { flock(fd, LOCK_UN); return nil }
        return Holder(pid: holder(fd))
    }

    private static func holder(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 16)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<n], as: UTF8.self).trimmed())
    }
}

/// A short pause, for polling what the kernel does asynchronously.
public func pause(milliseconds: Int) { usleep(useconds_t(milliseconds * 1000)) }
