import Glibc

/// Runs a program with bytes on its standard input and collects its standard output, bounded in
/// time: gpuprep's own helpers (gpuprep-yaml), never a program from a host tree.
public enum Subprocess {
    public struct Result: Sendable {
        public var status: Int32
        public var output: [UInt8]
    }

    /// `arguments[0]` is the program's path. The child is killed once `timeoutSeconds` have
    /// passed; a child that cannot be started is an error. `mergingErrors`: its standard error
    /// goes into the output too (a host program's messages, shown with the step).
    public static func run(_ arguments: [String], input: [UInt8], timeoutSeconds: Int = 30, mergingErrors: Bool = false) throws(SystemError) -> Result {
        var toChild: [Int32] = [0, 0], fromChild: [Int32] = [0, 0]
        guard pipe(&toChild) == 0 else { throw .io(path: arguments[0], errno: errno) }
        guard pipe(&fromChild) == 0 else {
            close(toChild[0]); close(toChild[1])
            throw .io(path: arguments[0], errno: errno)
        }
        // Only the ends dup'ed onto the child's 0 and 1 may stay open in it.
        for fd in toChild + fromChild { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
        if mergingErrors { posix_spawn_file_actions_adddup2(&actions, fromChild[1], 2) }
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let spawned = posix_spawn(&pid, arguments[0], &actions, nil, argv, environ)
        close(toChild[0]); close(fromChild[1])
        guard spawned == 0 else {
            close(toChild[1]); close(fromChild[0])
            throw .io(path: arguments[0], errno: spawned)
        }
        // The helper reads all of its input before it writes: write, close, then read. A child
        // that exits early must not take this process with it (SIGPIPE) while it writes.
        let previous = signal(SIGPIPE, SIG_IGN)
        defer { signal(SIGPIPE, previous) }
        var offset = 0
        while offset < input.count {
            let n = input.withUnsafeBytes { Glibc.write(toChild[1], $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            offset += n
        }
        close(toChild[1])
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let end = deadline.tv_sec + timeoutSeconds
        var timedOut = false
        while true {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            if now.tv_sec >= end { timedOut = true; break }
            var poller = pollfd(fd: fromChild[0], events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 1000)
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { continue }
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fromChild[0], $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            output += chunk[0..<n]
        }
        close(fromChild[0])
        if timedOut { kill(pid, SIGKILL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if timedOut { throw .io(path: arguments[0], errno: ETIMEDOUT) }
        // WIFEXITED / WEXITSTATUS, which Swift does not import.
        let exited = status & 0x7f == 0
        return Result(status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), output: output)
    }

    /// This program's own directory, where its helpers are installed.
    public static var ownDirectory: String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        let n = readlink(ThisProcess.executable, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        let path = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return path.lastIndex(of: "/").map { String(path[..<$0]) }
    }

    /// The program `name` as a shell finds it: the first executable `DIR/name` of PATH whose
    /// DIR is absolute and made of plain names (sudo sets PATH to its secure_path), or nil.
    public static func findOnPath(_ name: String) -> HostPath? {
        guard HostPath.isPlainName(name), let path = getenv("PATH").map({ String(cString: $0) }) else { return nil }
        for directory in path.split(separator: ":").map(String.init) where directory.hasPrefix("/") {
            let parts = directory.split(separator: "/").map(String.init)
            guard parts.allSatisfy(HostPath.isPlainName) else { continue }
            let candidate = HostPath.trusted("/" + (parts + [name]).joined(separator: "/"))
            if isExecutable(candidate.string) { return candidate }
        }
        return nil
    }

    /// Whether a path names an executable file.
    public static func isExecutable(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && access(path, X_OK) == 0
    }
}
