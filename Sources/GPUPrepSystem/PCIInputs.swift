import CShims
import Glibc

/// What libpci will open under a root, checked before it scans. libpci opens
/// `<root>/sys/bus/pci/devices/<address>/<attribute>` as plain paths: a device entry or an
/// attribute that is a link out of the tree (`config -> /etc/shadow`, a device linked to
/// `/sys/devices/...` of this machine) would have it read this machine's files and report them
/// as the tree's. gpuprep's own reads re-root such links (HostRoot.open); libpci cannot, so the
/// tree is refused instead. FIFOs are left to LibPCI's watchdog (they cost a wait, not a read out).
public enum PCIInputs {
    /// The attributes libpci reads itself (pciutils lib/sysfs.c: sysfs_scan, sysfs_fill_info,
    /// sysfs_read): the links it only reads with readlink (`driver`, `iommu_group`, `physfn`) are
    /// not followed, so not checked.
    static let attributes: Set<String> = [
        "config", "resource", "irq", "vendor", "device", "class", "revision", "subsystem_vendor",
        "subsystem_device", "numa_node", "modalias", "label", "index", "acpi_index", "rom",
    ]

    /// The first device entry or attribute that leads out of the root: its host path and where
    /// it leads. Nil on the live host (everything is inside "/") or where openat2 is missing.
    public static func firstHostile(root: HostRoot) -> (path: String, kind: String)? {
        guard !root.isLiveHost, let rootFD = root.handle?.fd else { return nil }
        let devices = "sys/bus/pci/devices"
        let list = gp_open_beneath(rootFD, devices, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard list >= 0 else { return errno == EXDEV ? escape(root, "/" + devices) : nil }
        guard let listing = fdopendir(list) else { close(list); return nil }
        defer { closedir(listing) }
        while let entry = readdir(listing) {
            let name = entryName(entry)
            if name.hasPrefix(".") { continue }
            let device = devices + "/" + name
            let fd = gp_open_beneath(rootFD, device, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if fd < 0 {
                if errno == EXDEV { return escape(root, "/" + device) }
                continue   // not a directory, or gone: libpci finds nothing there either
            }
            guard let dir = fdopendir(fd) else { close(fd); continue }
            defer { closedir(dir) }
            while let attribute = readdir(dir) {
                guard attribute.pointee.d_type == UInt8(DT_LNK) else { continue }
                let attributeName = entryName(attribute)
                guard attributes.contains(attributeName) else { continue }
                let path = device + "/" + attributeName
                let target = gp_open_beneath(rootFD, path, GP_O_PATH | O_CLOEXEC)
                if target >= 0 { close(target) } else if errno == EXDEV { return escape(root, "/" + path) }
            }
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
