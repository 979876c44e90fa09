import CShims
import Glibc

/// Reads of the attributes the kernel shows under the device's lock, which never wait long.
///
/// `driver_override` and `sriov_numvfs` take device_lock to be read (driver_override_show and
/// sriov_numvfs_show, drivers/pci/pci-sysfs.c and iov.c), and so does `uevent` on kernels with
/// "driver core: Fix uevent_show() vs driver detach race" (Debian's 6.1, for one); a probe or a
/// remove holds that lock throughout. An unbind waiting for a VM to let go of the device holds it until the VM does, so
/// a plain read of those files would wait as long, and a `list` run beside it would hang. These
/// reads are made by one child process (gp_read_bounded) for all the attributes queued; one
/// still waiting after the deadline is `.busy`, and the rest are read all the same.
public struct LockedAttributes {
    public enum Reading: Sendable, Equatable {
        /// The trimmed content.
        case value(String)
        /// Missing, unreadable, or not a regular file.
        case unreadable
        /// Still held by the kernel at the deadline (a probe or a remove in progress).
        case busy

        /// The content, or nil when there is none to be had.
        public var text: String? {
            if case .value(let text) = self { return text }
            return nil
        }
    }

    /// Seconds a read may wait for the device's lock by default: a probe normally ends well
    /// within it.
    public static let deadline = 2.0

    private let root: HostRoot
    private let deadline: Double
    /// The most of one attribute read: a driver's name or a count is short; a uevent is a few lines.
    private let capacity: Int
    private var paths: [HostPath] = []
    /// Which device each path belongs to: the files of a device busy past the deadline after the
    /// busy one are not waited for again.
    private var devices: [Int32] = []

    public init(root: HostRoot, deadline: Double = LockedAttributes.deadline, capacity: Int = 256) {
        self.root = root
        self.deadline = deadline
        self.capacity = capacity
    }

    /// Queues an attribute; returns its slot in `readAll`'s answer. Attributes of one device
    /// are queued one after the other, with the same `device` number.
    public mutating func add(_ path: HostPath, device: Int = -1) -> Int {
        paths.append(path)
        devices.append(Int32(truncatingIfNeeded: device < 0 ? -(paths.count) : device))
        return paths.count - 1
    }

    /// Every queued attribute's reading, by slot.
    public mutating func readAll() -> [Reading] {
        defer { paths = []; devices = [] }
        guard !paths.isEmpty else { return [] }
        // The paths as the child opens them: relative to the root held open, else absolute.
        let rootFD = root.handle?.fd ?? -1
        var text: [CChar] = []
        var offsets: [Int] = []
        for path in paths {
            offsets.append(text.count)
            let name = rootFD >= 0 ? (path.string == "/" ? "." : String(path.string.dropFirst())) : path.string
            text += name.utf8.map { CChar(bitPattern: $0) } + [0]
        }
        // Filled packed, so mostly untouched: not zeroed first.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: paths.count * capacity, alignment: 1)
        defer { buffer.deallocate() }
        var starts = [Int](repeating: 0, count: paths.count)
        var lengths = [Int32](repeating: 0, count: paths.count)
        let status = gp_read_bounded(rootFD, text, offsets, devices, paths.count, buffer.baseAddress!.assumingMemoryBound(to: CChar.self),
                                     capacity, &starts, &lengths, Int32(deadline * 1000))
        let sysfs = Sysfs(root: root)
        return paths.indices.map { i in
            let length = Int(lengths[i])
            // No child could be started, or no openat2 in it: read here, unbounded as before.
            if status != 0 || length == -Int(ENOSYS) { return sysfs.read(paths[i]).map(Reading.value) ?? .unreadable }
            if length == Int(GP_READ_BLOCKED) { return .busy }
            guard length >= 0 else { return .unreadable }
            var end = starts[i] + length
            while end > starts[i], [0x0a, 0x20, 0x09, 0x0d].contains(buffer[end - 1]) { end -= 1 }
            return .value(String(decoding: UnsafeRawBufferPointer(rebasing: buffer[starts[i]..<end]), as: UTF8.self))
        }
    }
}

extension Sysfs {
    /// One attribute read under the device's lock (see LockedAttributes).
    public func readLocked(_ path: HostPath) -> LockedAttributes.Reading {
        var reads = LockedAttributes(root: root)
        _ = reads.add(path)
        return reads.readAll()[0]
    }
}
