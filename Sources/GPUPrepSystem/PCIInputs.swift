import CShims
import Glibc

/// What libpci will open under a root, checked before it reads a function. libpci opens
/// `<root>/sys/bus/pci/devices/<address>/<attribute>` as plain paths: a device entry or an
/// attribute that is a link out of the tree (`config -> /etc/shadow`, a device linked to
/// `/sys/devices/...` of this machine) would have it read this machine's files and report them
/// as the tree's. gpuprep's own reads re-root such links (HostRoot.open); libpci cannot, so such a
/// function is not read by libpci at all (a problem on the device; 66 where its isolation is
/// needed). FIFOs are left to LibPCI's watchdog (they cost a wait, not a read out).
public enum PCIInputs {
    /// The attributes libpci reads itself (pciutils lib/sysfs.c: sysfs_scan, sysfs_fill_info,
    /// sysfs_read): the links it only reads with readlink (`driver`, `iommu_group`, `physfn`) are
    /// not followed, so not checked.
    static let attributes: Set<String> = [
        "config", "resource", "irq", "vendor", "device", "class", "revision", "subsystem_vendor",
        "subsystem_device", "numa_node", "modalias", "label", "index", "acpi_index", "rom",
    ]

    /// Where the device entry `sys/bus/pci/devices/<device>`, or one of the attributes libpci
    /// reads of it, leads out of the root: its host path and where it leads. Nil when all stay
    /// inside, on the live host (everything is inside "/"), or where openat2 is missing.
    public static func outsideRoot(root: HostRoot, device: String) -> (path: String, kind: String)? {
        guard !root.isLiveHost, let rootFD = root.handle?.fd, HostPath.isPlainName(device) else { return nil }
        let entry = "sys/bus/pci/devices/" + device
        let fd = gp_open_beneath(rootFD, entry, GP_O_PATH | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { return errno == EXDEV ? escape(root, "/" + entry) : nil }
        defer { close(fd) }
        var info = stat()
        for attribute in attributes where fstatat(fd, attribute, &info, AT_SYMLINK_NOFOLLOW) == 0 && (info.st_mode & S_IFMT) == S_IFLNK {
            let path = entry + "/" + attribute
            let target = gp_open_beneath(rootFD, path, GP_O_PATH | O_CLOEXEC)
            if target >= 0 { close(target) } else if errno == EXDEV { return escape(root, "/" + path) }
        }
        return nil
    }

    private static func escape(_ root: HostRoot, _ hostPath: String) -> (path: String, kind: String) {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(root.prefix + hostPath, &buffer, buffer.count - 1)
        let target = n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "a path"
        return (hostPath, "a link to \(target), outside the root (libpci would read this machine's file)")
    }

    private static func entryName(_ entry: UnsafeMutablePointer<dirent>) -> String {
        withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
    }
}
