import CShims
import Glibc

/// Configuration files under the root, replaced atomically: the new content goes to a temporary
/// file beside the old one, is flushed to disk, and is renamed over it, so a crash leaves the old
/// file or the new one, never a truncated mix. The old file's mode and owner are kept.
///
/// Every path is resolved inside the root (HostRoot.open). A file that is a symbolic link is
/// written through it: the link stays, and the file it names (inside the root) is replaced, as an
/// editor would (a /etc/default/grub linked into a configuration repository stays linked).
public struct AtomicFile: Sendable {
    public let root: HostRoot

    public init(root: HostRoot) { self.root = root }

    /// The whole content, or nil when the file does not exist or cannot be read.
    /// Decoded byte for byte (see ByteText): what is written back is exactly what was read.
    public func read(_ path: HostPath) -> String? { Sysfs(root: root).readBytes(path).map(ByteText.decode) }

    public func write(_ path: HostPath, _ content: String) throws(SystemError) {
        let target = try throughLink(path)
        try makeDirectories(target.parent, for: path)
        let directory = root.open(target.parent, O_RDONLY | O_DIRECTORY)
        guard directory >= 0, let name = target.string.split(separator: "/").last.map(String.init) else {
            throw .io(path: path.string, errno: errno)
        }
        defer { close(directory) }
        var mode: mode_t = HostPath.executableFiles.contains(path) ? 0o755 : 0o644
        var owner: (uid_t, gid_t)?
        var existing = stat()
        if fstatat(directory, name, &existing, AT_SYMLINK_NOFOLLOW) == 0 {
            mode = existing.st_mode & 0o7777
            owner = (existing.st_uid, existing.st_gid)
        }
        try replace(name, in: directory, with: ByteText.encode(content), mode: mode, owner: owner, shown: path)
    }

    /// Writes `bytes` as `name` in an open directory, atomically (see the type's comment).
    private func replace(_ name: String, in directory: Int32, with bytes: [UInt8], mode: mode_t,
                         owner: (uid_t, gid_t)?, shown path: HostPath) throws(SystemError) {
        let temporary = "." + name + ".gpuprep-\(getpid())"
        let fd = openat(directory, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .io(path: path.string, errno: errno) }
        var failure: Int32 = 0
        var offset = 0
        while offset < bytes.count && failure == 0 {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { failure = n < 0 ? errno : EIO } else { offset += n }
        }
        if failure == 0 && fchmod(fd, mode) != 0 { failure = errno }
        if failure == 0, let owner, fchown(fd, owner.0, owner.1) != 0 { failure = errno }
        if failure == 0 && fsync(fd) != 0 { failure = errno }
        close(fd)
        if failure == 0 && renameat(directory, temporary, directory, name) != 0 { failure = errno }
        if failure != 0 {
            unlinkat(directory, temporary, 0)
            throw .io(path: path.string, errno: failure)
        }
        fsync(directory)   // the rename is durable only once the directory entry is on disk too
    }

    /// A copy of `source` at `backup`, with the source's mode and owner, made only when there is
    /// no backup yet: the first backup is the original, and a later run must never replace it
    /// with an edited copy. Refused when `source` cannot be read.
    public func backUp(_ source: HostPath, to backup: HostPath) throws(SystemError) {
        let from = root.open(source, O_RDONLY | O_NONBLOCK)
        guard from >= 0 else { throw .io(path: source.string, errno: errno) }
        defer { close(from) }
        var info = stat()
        guard fstat(from, &info) == 0 else { throw .io(path: source.string, errno: errno) }
        guard case .success(let bytes) = ConfigFile.read(open: from, limit: Sysfs.readLimit) else { throw .io(path: source.string, errno: EINVAL) }
        let directory = root.open(backup.parent, O_RDONLY | O_DIRECTORY)
        guard directory >= 0, let name = backup.string.split(separator: "/").last.map(String.init) else {
            throw .io(path: backup.string, errno: errno)
        }
        defer { close(directory) }
        var existing = stat()
        if fstatat(directory, name, &existing, AT_SYMLINK_NOFOLLOW) == 0 { return }
        try replace(name, in: directory, with: bytes, mode: info.st_mode & 0o7777, owner: (info.st_uid, info.st_gid), shown: backup)
    }

    /// Makes `path` a symbolic link to `target`: a new link beside it, renamed over it.
    public func link(_ path: HostPath, to target: String) throws(SystemError) {
        try makeDirectories(path.parent, for: path)
        guard let (directory, name) = root.parent(of: path) else { throw .io(path: path.string, errno: errno) }
        defer { close(directory) }
        let temporary = "." + name + ".gpuprep-\(getpid())"
        unlinkat(directory, temporary, 0)
        guard symlinkat(target, directory, temporary) == 0 else { throw .io(path: path.string, errno: errno) }
        guard renameat(directory, temporary, directory, name) == 0 else {
            let code = errno
            unlinkat(directory, temporary, 0)
            throw .io(path: path.string, errno: code)
        }
        syncDirectory(path.parent)
    }

    /// Removes a file or link (not what a link names), or an empty directory.
    public func remove(_ path: HostPath) throws(SystemError) {
        guard let (directory, name) = root.parent(of: path) else {
            if errno == ENOENT { return }
            throw .io(path: path.string, errno: errno)
        }
        defer { close(directory) }
        if unlinkat(directory, name, 0) != 0 {
            if errno == EISDIR, unlinkat(directory, name, AT_REMOVEDIR) == 0 { } else if errno != ENOENT {
                throw .io(path: path.string, errno: errno)
            }
        }
        syncDirectory(path.parent)
    }

    /// Where a write of `path` goes: the path itself, or the file its link names (inside the root).
    /// A link to nothing is refused rather than replaced by a plain file.
    private func throughLink(_ path: HostPath) throws(SystemError) -> HostPath {
        guard let (directory, name) = root.parent(of: path) else { return path }   // made below
        defer { close(directory) }
        var info = stat()
        guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0, (info.st_mode & S_IFMT) == S_IFLNK else { return path }
        let fd = root.open(path, GP_O_PATH)
        guard fd >= 0 else { throw .io(path: path.string + " (a link to a file that does not exist)", errno: errno) }
        defer { close(fd) }
        guard let resolved = root.hostPath(ofOpen: fd) else { throw .io(path: path.string, errno: EXDEV) }
        return resolved
    }

    /// Makes the directories missing above a file, each inside the root.
    private func makeDirectories(_ directory: HostPath, for path: HostPath) throws(SystemError) {
        let fd = root.open(directory, GP_O_PATH | O_DIRECTORY)
        if fd >= 0 { close(fd); return }
        guard errno == ENOENT, directory.string != "/" else { throw .io(path: path.string, errno: errno) }
        try makeDirectories(directory.parent, for: path)
        guard let (parent, name) = root.parent(of: directory) else { throw .io(path: path.string, errno: errno) }
        defer { close(parent) }
        if mkdirat(parent, name, 0o755) != 0 && errno != EEXIST { throw .io(path: path.string, errno: errno) }
    }

    private func syncDirectory(_ directory: HostPath) {
        let fd = root.open(directory, O_RDONLY | O_DIRECTORY)
        if fd >= 0 { fsync(fd); close(fd) }
    }
}
