import Glibc

/// Writes to sysfs attributes: one write(2) of the whole value, as `echo value > file` does.
/// The kernel answers a refused write with an errno (EBUSY, ENODEV, EINVAL), which is kept.
public struct SysfsWriter: Sendable {
    public let root: HostRoot

    public init(root: HostRoot) { self.root = root }

    public func write(_ path: HostPath, _ value: String) throws(SystemError) {
        let full = root.path(path)
        // O_TRUNC as the shell's `>` does: sysfs ignores it, and a plain file in a host tree
        // under --root is then replaced rather than overwritten in place.
        let fd = open(full, O_WRONLY | O_TRUNC | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path.string, errno: errno) }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if written < 0 { throw .io(path: path.string, errno: errno) }
        if written != bytes.count { throw .io(path: path.string, errno: EIO) }
    }
}

/// The process's privileges.
public enum Privileges {
    public static var isRoot: Bool { geteuid() == 0 }
}

/// An exclusive lock on a file under the root, held while a change is applied, so that two
/// gpuprep runs never move the same devices at once. Released when the value is dropped.
public final class HostLock {
    private let fd: Int32

    /// Waits up to `timeout` seconds for the lock at `path` (its directory is created if needed).
    public init(root: HostRoot, path: HostPath, timeout: Double) throws(SystemError) {
        let full = root.path(path)
        if let slash = full.lastIndex(of: "/") { mkdir(String(full[..<slash]), 0o755) }
        let opened = open(full, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard opened >= 0 else { throw .io(path: path.string, errno: errno) }
        var waited = 0.0
        while flock(opened, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK, waited < timeout else {
                close(opened)
                throw .locked(path: path.string)
            }
            usleep(100_000)
            waited += 0.1
        }
        fd = opened
    }

    deinit { close(fd) }
}

/// A short pause, for polling what the kernel does asynchronously.
public func pause(milliseconds: Int) { usleep(useconds_t(milliseconds * 1000)) }
