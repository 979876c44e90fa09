import Glibc

/// Writes a tree of files into a directory gpuprep just made for it (a capture's staging
/// folder): plain files, links kept as links, directories made as needed. Nothing is synced
/// file by file: the tree is archived, then removed.
public struct TreeWriter {
    public let directory: String

    /// Makes `directory` (which must not exist yet, or be empty) and writes under it.
    public init(making directory: String) throws(SystemError) {
        if mkdir(directory, 0o755) != 0 {
            let error = errno
            guard error == EEXIST, let entries = Self.entries(directory), entries.isEmpty else {
                throw .io(path: directory, errno: error == EEXIST ? ENOTEMPTY : error)
            }
        }
        self.directory = directory
    }

    /// The names in a directory, or nil when it cannot be read.
    static func entries(_ path: String) -> [String]? {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    func full(_ path: HostPath) -> String { directory + path.string }

    public func makeDirectory(_ path: HostPath) throws(SystemError) {
        var current = directory
        for part in path.string.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST { throw .io(path: path.string, errno: errno) }
        }
    }

    public func write(_ path: HostPath, _ bytes: [UInt8], executable: Bool = false) throws(SystemError) {
        try makeDirectory(path.parent)
        let fd = open(full(path), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, executable ? 0o755 : 0o644)
        guard fd >= 0 else { throw .io(path: path.string, errno: errno) }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            guard n > 0 else { throw .io(path: path.string, errno: n < 0 ? errno : EIO) }
            offset += n
        }
    }

    public func link(_ path: HostPath, to target: String) throws(SystemError) {
        try makeDirectory(path.parent)
        unlink(full(path))
        guard symlink(target, full(path)) == 0 else { throw .io(path: path.string, errno: errno) }
    }

    public func exists(_ path: HostPath) -> Bool {
        var info = stat()
        return lstat(full(path), &info) == 0
    }

    /// Removes the tree (after archiving it).
    public func removeAll() {
        Self.remove(directory)
    }

    static func remove(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            for name in entries(path) ?? [] { remove(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
