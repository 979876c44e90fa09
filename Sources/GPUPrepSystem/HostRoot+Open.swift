import CShims
import Glibc

/// The root directory, held open while any copy of its HostRoot lives.
final class RootHandle: @unchecked Sendable {
    let fd: Int32
    init(fd: Int32) { self.fd = fd }
    deinit { close(fd) }
}

/// Opening host paths so that they stay inside the root.
///
/// A captured or hostile tree may hold symlinks that lead out of it (an absolute one, or one
/// climbing with `..`): followed naively, `driver_override -> /etc/shadow` would have gpuprep,
/// running as root, overwrite a file of the machine it runs on. Under --root every path is
/// resolved by openat2(2) with RESOLVE_IN_ROOT against the root directory held open, so such a
/// link resolves inside the tree, as it would on the host it was captured from. On the live host
/// the root is "/" and paths are opened as they are.
///
/// Fallback, where openat2 is missing (Linux before 5.6, or a seccomp filter that answers ENOSYS):
/// a read is opened and refused (EXDEV) when /proc/self/fd shows it landed outside the root; a
/// write resolves its parent directory the same way and opens the last component with O_NOFOLLOW.
/// Absolute links are then refused rather than re-rooted.
extension HostRoot {
    /// An open file descriptor for `path`, or -1 with errno (EXDEV: the path leads out of the root).
    public func open(_ path: HostPath, _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
        guard let handle else { return Glibc.open(path.string, flags | O_CLOEXEC, mode) }
        let relative = path.string.utf8.count > 1 ? String(path.string.dropFirst()) : "."
        let fd = gp_open_in_root(handle.fd, relative, flags | O_CLOEXEC, mode)
        if fd >= 0 || errno != ENOSYS { return fd }
        return openWithoutOpenat2(path, flags | O_CLOEXEC, mode)
    }

    /// The directory that holds `path` (opened GP_O_PATH, for the *at calls) and the path's last
    /// component. Nil with errno when the directory cannot be reached inside the root.
    public func parent(of path: HostPath) -> (fd: Int32, name: String)? {
        let string = path.string
        guard let slash = string.lastIndex(of: "/") else { errno = EINVAL; return nil }
        let name = String(string[string.index(after: slash)...])
        guard HostPath.isPlainName(name) else { errno = EINVAL; return nil }
        let fd = open(path.parent, GP_O_PATH | O_DIRECTORY)
        return fd >= 0 ? (fd, name) : nil
    }

    /// The host path an open descriptor refers to (its resolved place in the tree), or nil when
    /// it lies outside the root.
    public func hostPath(ofOpen fd: Int32) -> HostPath? {
        guard let real = HostRoot.pathOfOpen(fd) else { return nil }
        if prefix.isEmpty { return HostPath.trusted(real) }
        if real == prefix { return HostPath.trusted("/") }
        guard real.hasPrefix(prefix + "/") else { return nil }
        return HostPath.trusted(String(real.dropFirst(prefix.count)))
    }

    static func pathOfOpen(_ fd: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(ThisProcess.openFile(fd), &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func openWithoutOpenat2(_ path: HostPath, _ flags: Int32, _ mode: mode_t) -> Int32 {
        if flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC) != 0 {
            guard let (directory, name) = parentWithoutOpenat2(path) else { return -1 }
            defer { close(directory) }
            return openat(directory, name, flags | O_NOFOLLOW, mode)
        }
        let fd = Glibc.open(self.path(path), flags, mode)
        guard fd >= 0 else { return -1 }
        guard hostPath(ofOpen: fd) != nil else { close(fd); errno = EXDEV; return -1 }
        return fd
    }

    private func parentWithoutOpenat2(_ path: HostPath) -> (Int32, String)? {
        let string = path.string
        guard let slash = string.lastIndex(of: "/") else { errno = EINVAL; return nil }
        let fd = Glibc.open(prefix + String(string[..<slash]), GP_O_PATH | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        guard hostPath(ofOpen: fd) != nil else { close(fd); errno = EXDEV; return nil }
        return (fd, String(string[string.index(after: slash)...]))
    }
}
