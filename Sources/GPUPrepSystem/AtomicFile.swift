import Glibc

/// Configuration files under the root, replaced atomically: the new content goes to a temporary
/// file beside the old one, is flushed to disk, and is renamed over it, so a crash leaves the old
/// file or the new one, never a truncated mix. The old file's mode and owner are kept.
public struct AtomicFile: Sendable {
    public let root: HostRoot

    public init(root: HostRoot) { self.root = root }

    /// The whole content, or nil when the file does not exist or cannot be read.
    public func read(_ path: HostPath) -> String? { Sysfs(root: root).readWhole(path) }

    public func write(_ path: HostPath, _ content: String) throws(SystemError) {
        let full = root.path(path)
        guard let slash = full.lastIndex(of: "/") else { throw .io(path: path.string, errno: EINVAL) }
        let directory = String(full[..<slash])
        try makeDirectories(directory, hostPath: path)
        var mode: mode_t = 0o644
        var owner: (uid_t, gid_t)?
        var existing = stat()
        if stat(full, &existing) == 0 {
            mode = existing.st_mode & 0o7777
            owner = (existing.st_uid, existing.st_gid)
        }
        let temporary = directory + "/." + String(full[full.index(after: slash)...]) + ".gpuprep-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .io(path: path.string, errno: errno) }
        var failure: Int32 = 0
        let bytes = Array(content.utf8)
        var offset = 0
        while offset < bytes.count && failure == 0 {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { failure = n < 0 ? errno : EIO } else { offset += n }
        }
        if failure == 0 && fchmod(fd, mode) != 0 { failure = errno }
        if failure == 0, let owner, fchown(fd, owner.0, owner.1) != 0 { failure = errno }
        if failure == 0 && fsync(fd) != 0 { failure = errno }
        close(fd)
        if failure == 0 && rename(temporary, full) != 0 { failure = errno }
        if failure != 0 {
            unlink(temporary)
            throw .io(path: path.string, errno: failure)
        }
        syncDirectory(directory)
    }

    /// Makes `path` a symbolic link to `target`: a new link beside it, renamed over it.
    public func link(_ path: HostPath, to target: String) throws(SystemError) {
        let full = root.path(path)
        guard let slash = full.lastIndex(of: "/") else { throw .io(path: path.string, errno: EINVAL) }
        let directory = String(full[..<slash])
        try makeDirectories(directory, hostPath: path)
        let temporary = directory + "/." + String(full[full.index(after: slash)...]) + ".gpuprep-\(getpid())"
        unlink(temporary)
        guard symlink(target, temporary) == 0 else { throw .io(path: path.string, errno: errno) }
        guard rename(temporary, full) == 0 else {
            let code = errno
            unlink(temporary)
            throw .io(path: path.string, errno: code)
        }
        syncDirectory(directory)
    }

    public func remove(_ path: HostPath) throws(SystemError) {
        let full = root.path(path)
        if unlink(full) != 0 && errno != ENOENT { throw .io(path: path.string, errno: errno) }
        if let slash = full.lastIndex(of: "/") { syncDirectory(String(full[..<slash])) }
    }

    private func makeDirectories(_ directory: String, hostPath: HostPath) throws(SystemError) {
        var info = stat()
        if stat(directory, &info) == 0 { return }
        if let slash = directory.lastIndex(of: "/"), slash != directory.startIndex {
            try makeDirectories(String(directory[..<slash]), hostPath: hostPath)
        }
        if mkdir(directory, 0o755) != 0 && errno != EEXIST { throw .io(path: hostPath.string, errno: errno) }
    }

    /// The rename is durable only once the directory entry is on disk too.
    private func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }
}
