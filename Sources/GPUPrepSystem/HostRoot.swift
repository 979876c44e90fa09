import CShims
import Glibc

/// The one place that turns host paths ("/sys/bus/pci/...") into paths on this machine.
///
/// Every file gpuprep reads or writes lives under the root given by `--root`
/// (default `/`), so a captured or fake host tree is inspected exactly like a
/// live one. Path components that come from outside (addresses, driver names,
/// type ids) are checked so that none can climb out of the root with `..` or `/`.
public struct HostRoot: Sendable, Equatable {
    /// The root directory, without a trailing slash ("" for the live host).
    public let prefix: String
    /// The root directory held open, to resolve every path under --root inside it (nil: the live host).
    let handle: RootHandle?

    /// Whether this is the live host (`/`).
    public var isLiveHost: Bool { prefix.isEmpty }

    /// The root as the user wrote it (relative stays relative), for messages and headers.
    public let display: String

    /// Opens a root; it must be an existing directory.
    public init(_ path: String) throws(SystemError) {
        guard !path.isEmpty else { throw .invalidRoot(path: path, reason: "is empty") }
        var info = stat()
        guard stat(path, &info) == 0 else { throw .invalidRoot(path: path, reason: "does not exist") }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { throw .invalidRoot(path: path, reason: "is not a directory") }
        var trimmed = path
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        if trimmed == "/" { trimmed = "" }
        display = trimmed.isEmpty ? "/" : trimmed
        if !trimmed.hasPrefix("/") && !trimmed.isEmpty {
            // Make it absolute so libpci and libkmod see the same tree whatever their working directory.
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
            if getcwd(&buffer, buffer.count) != nil {
                let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                trimmed = (cwd == "/" ? "" : cwd) + "/" + trimmed
            }
        }
        prefix = trimmed
        if trimmed.isEmpty {
            handle = nil
        } else {
            let fd = Glibc.open(trimmed, GP_O_PATH | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { throw .invalidRoot(path: path, reason: "cannot be opened (\(String(cString: strerror(errno))))") }
            handle = RootHandle(fd: fd)
        }
    }

    public static func == (a: HostRoot, b: HostRoot) -> Bool { a.prefix == b.prefix }

    /// The path on this machine of a host path made of checked components.
    public func path(_ hostPath: HostPath) -> String { prefix + hostPath.string }
}

/// Paths of this process on the machine it runs on, never under --root.
public enum ThisProcess {
    /// The running program, whose directory holds its helpers (gpuprep-yaml).
    public static let executable = "/proc/self/exe"

    /// What an open descriptor of this process refers to (a link the kernel keeps).
    public static func openFile(_ fd: Int32) -> String { "/proc/self/fd/\(fd)" }
}

/// An absolute path on the host, built only from components that cannot escape it.
public struct HostPath: Sendable, Hashable, CustomStringConvertible {
    public let string: String
    public var description: String { string }

    private init(unchecked: String) { string = unchecked }

    /// A path the kernel reported (a resolved descriptor's), or a prefix of a checked one.
    static func trusted(_ string: String) -> HostPath { HostPath(unchecked: string) }

    /// An absolute path with ".", ".." and empty names resolved as text, ".." stopping at "/"
    /// (as it does at a root). Only right where no name before a ".." is a link: a resolved
    /// directory's path joined with a relative link target.
    static func normalized(_ path: String) -> String {
        // Bytes, not Characters: this runs for every link of every function `list` reads.
        let bytes = Array(path.utf8)
        var out: [UInt8] = [UInt8(ascii: "/")]
        out.reserveCapacity(bytes.count + 1)
        var i = 0
        while i < bytes.count {
            var end = i
            while end < bytes.count && bytes[end] != UInt8(ascii: "/") { end += 1 }
            let length = end - i
            if length == 0 || (length == 1 && bytes[i] == UInt8(ascii: ".")) {
                // an empty name or "."
            } else if length == 2 && bytes[i] == UInt8(ascii: ".") && bytes[i + 1] == UInt8(ascii: ".") {
                while out.count > 1 && out.last != UInt8(ascii: "/") { out.removeLast() }
                if out.count > 1 { out.removeLast() }
            } else {
                if out.count > 1 { out.append(UInt8(ascii: "/")) }
                out += bytes[i..<end]
            }
            i = end + 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The directory above this path ("/" above a top-level one).
    public var parent: HostPath {
        guard let slash = string.lastIndex(of: "/"), slash != string.startIndex else { return HostPath(unchecked: "/") }
        return HostPath(unchecked: String(string[..<slash]))
    }

    /// Fixed prefixes the tool knows; each is a literal written here and nowhere else.
    public static let sysBusPCI = HostPath(unchecked: "/sys/bus/pci")
    public static let sysBusPCIDevices = HostPath(unchecked: "/sys/bus/pci/devices")
    public static let sysBusPCIDrivers = HostPath(unchecked: "/sys/bus/pci/drivers")
    public static let sysDevices = HostPath(unchecked: "/sys/devices")
    public static let sysClassIOMMU = HostPath(unchecked: "/sys/class/iommu")
    public static let proc = HostPath(unchecked: "/proc")
    public static let dev = HostPath(unchecked: "/dev")
    public static let devDRI = HostPath(unchecked: "/dev/dri")
    public static let devVFIO = HostPath(unchecked: "/dev/vfio")
    /// iommufd (Linux 6.2+), and VFIO's per-device files that use it (6.6+).
    public static let devIOMMU = HostPath(unchecked: "/dev/iommu")
    public static let devVFIODevices = HostPath(unchecked: "/dev/vfio/devices")
    public static let boot = HostPath(unchecked: "/boot")
    /// systemd's unit directories, the administrator's first, and where a unit is enabled.
    public static let systemdUnitDirs = ["/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"].map { HostPath(unchecked: $0) }
    public static let systemdEnabledDir = HostPath(unchecked: "/etc/systemd/system/multi-user.target.wants")
    public static let sysKernelIOMMUGroups = HostPath(unchecked: "/sys/kernel/iommu_groups")
    public static let sysClassMdevBus = HostPath(unchecked: "/sys/class/mdev_bus")
    public static let sysBusMdevDevices = HostPath(unchecked: "/sys/bus/mdev/devices")
    /// mdevctl's persistent definitions: /etc/mdevctl.d/<parent>/<uuid>.
    public static let mdevctlConfig = HostPath(unchecked: "/etc/mdevctl.d")
    public static let sysModule = HostPath(unchecked: "/sys/module")
    public static let sysBusPCIDriversProbe = HostPath(unchecked: "/sys/bus/pci/drivers_probe")
    public static let lockFile = HostPath(unchecked: "/run/gpuprep.lock")
    public static let procCmdline = HostPath(unchecked: "/proc/cmdline")
    /// The kernel's one-file list of PCI functions (bus/devfn, vendor/device, ...).
    public static let procBusPCIDevices = HostPath(unchecked: "/proc/bus/pci/devices")
    public static let procCPUInfo = HostPath(unchecked: "/proc/cpuinfo")
    public static let acpiTables = HostPath(unchecked: "/sys/firmware/acpi/tables")
    public static let devDRIDir = HostPath(unchecked: "/dev/dri")
    /// Boot loader configuration, in the order gpuprep looks for it.
    public static let kernelstubConfig = HostPath(unchecked: "/etc/kernelstub/configuration")
    public static let kernelCmdline = HostPath(unchecked: "/etc/kernel/cmdline")
    public static let proxmoxConfig = HostPath(unchecked: "/etc/pve")
    public static let proxmoxBootTool = HostPath(unchecked: "/usr/sbin/proxmox-boot-tool")
    /// NVIDIA's tool for enabling a GPU's VFs, installed with its vGPU host driver.
    public static let sriovManage = HostPath(unchecked: "/usr/lib/nvidia/sriov-manage")
    /// systemd's systemctl where it installs it (shown in plans under --root; the live host's is
    /// looked up on PATH).
    public static let systemctl = HostPath(unchecked: "/usr/bin/systemctl")
    public static let defaultGrub = HostPath(unchecked: "/etc/default/grub")
    public static let defaultGrubD = HostPath(unchecked: "/etc/default/grub.d")
    public static let blsEntries = HostPath(unchecked: "/boot/loader/entries")
    public static let updateGrub = HostPath(unchecked: "/usr/sbin/update-grub")
    public static let bootGrub2 = HostPath(unchecked: "/boot/grub2")
    /// What grub-mkconfig writes: Debian's, Fedora and RHEL's, and the ESP's directory (EL7/EL8 UEFI).
    public static let bootGrubConfig = HostPath(unchecked: "/boot/grub/grub.cfg")
    public static let bootGrub2Config = HostPath(unchecked: "/boot/grub2/grub.cfg")
    public static let espEFI = HostPath(unchecked: "/boot/efi/EFI")
    public static let sysFirmwareEFI = HostPath(unchecked: "/sys/firmware/efi")
    /// Where unified kernel images are (the ESP mounted at /boot, /efi or /boot/efi).
    public static let ukiDirs = ["/boot/EFI/Linux", "/efi/EFI/Linux", "/boot/efi/EFI/Linux"].map { HostPath(unchecked: $0) }
    public static let mkinitcpioPresets = HostPath(unchecked: "/etc/mkinitcpio.d")
    /// mkinitcpio's drop-ins (mkinitcpio.conf(5)), sourced after /etc/mkinitcpio.conf.
    public static let mkinitcpioConfigD = HostPath(unchecked: "/etc/mkinitcpio.conf.d")
    public static let persistMkinitcpioConf = HostPath(unchecked: "/etc/mkinitcpio.conf.d/gpuprep-vfio.conf")
    /// Where --regenerate shows a program under --root when the tree has none (never run there).
    public static let programDirs = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map { HostPath(unchecked: $0) }
    /// Where the EGL libraries a vGPU display needs are installed.
    /// Where libraries are on Debian (multiarch, x86_64 and arm64), RHEL and others.
    public static let libraryDirs = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"].map { HostPath(unchecked: $0) }
    /// What `--persist` writes (see PersistentBindings).
    public static let persistUdevRules = HostPath(unchecked: "/etc/udev/rules.d/61-gpuprep-vfio.rules")
    public static let persistModulesLoad = HostPath(unchecked: "/etc/modules-load.d/gpuprep-vfio.conf")
    public static let persistModprobe = HostPath(unchecked: "/etc/modprobe.d/gpuprep-vfio.conf")
    /// The early binding in the initramfs (see InitramfsBuilder): an initramfs-tools hook and a
    /// dracut configuration file; what builds the initramfs is told by its program or its
    /// configuration.
    public static let persistInitramfsToolsHook = HostPath(unchecked: "/etc/initramfs-tools/hooks/gpuprep-vfio")
    public static let persistDracutConf = HostPath(unchecked: "/etc/dracut.conf.d/61-gpuprep-vfio.conf")
    public static let initramfsToolsConfig = HostPath(unchecked: "/etc/initramfs-tools")
    public static let mkinitramfs = HostPath(unchecked: "/usr/sbin/mkinitramfs")
    public static let dracutPrograms = ["/usr/bin/dracut", "/usr/sbin/dracut"].map { HostPath(unchecked: $0) }
    public static let dracutConfig = HostPath(unchecked: "/etc/dracut.conf")
    public static let mkinitcpioConfig = HostPath(unchecked: "/etc/mkinitcpio.conf")
    /// Files gpuprep makes that must be executable (a hook is run, not read).
    public static let executableFiles: Set<HostPath> = [persistInitramfsToolsHook]
    /// nvidia-vfio vGPUs and SR-IOV counts to restore at boot (see VGPUPersistence).
    public static let persistVGPURules = HostPath(unchecked: "/etc/udev/rules.d/62-gpuprep-vgpu.rules")
    /// `apply`'s file, the host's one source of truth for what it should hold (see HostLayout).
    public static let layoutFile = HostPath(unchecked: "/etc/gpuprep/gpuprep.yaml")
    /// NVIDIA's catalogue of vGPU types, installed with the vGPU manager (see VGPUCatalogue).
    public static let nvidiaVGPUConfig = HostPath(unchecked: "/usr/share/nvidia/vgpu/vgpuConfig.xml")
    /// The vGPU type names gpuprep has seen listed, by card model and id (see VGPUCatalogue).
    public static let vgpuTypeRecord = HostPath(unchecked: "/var/lib/gpuprep/vgpu-types")
    /// Where libvirt keeps its domains' definitions, and Proxmox VE its VMs' (see VMDefinitions).
    public static let libvirtDomains = HostPath(unchecked: "/etc/libvirt/qemu")
    public static let proxmoxVMs = HostPath(unchecked: "/etc/pve/qemu-server")
    /// A capture's account of itself, at its root (see CaptureReport).
    public static let captureManifest = HostPath(unchecked: "/gpuprep-capture.txt")
    /// Further files `capture` takes (see HostCapture).
    public static let procModules = HostPath(unchecked: "/proc/modules")
    public static let etcOSRelease = HostPath(unchecked: "/etc/os-release")
    public static let etcModules = HostPath(unchecked: "/etc/modules")
    public static let grub2Env = HostPath(unchecked: "/boot/grub2/grubenv")
    public static let dracutConfigD = HostPath(unchecked: "/etc/dracut.conf.d")
    public static let modulesLoadD = HostPath(unchecked: "/etc/modules-load.d")
    public static let etcGPUPrep = HostPath(unchecked: "/etc/gpuprep")
    public static let varLibGPUPrep = HostPath(unchecked: "/var/lib/gpuprep")
    public static let udevRules = HostPath(unchecked: "/etc/udev/rules.d")
    /// NVIDIA's vGPU manager daemon, where its installer puts it.
    public static let vgpuManagerBinary = HostPath(unchecked: "/usr/bin/nvidia-vgpu-mgr")
    /// vfio-pci's options `check --fix` writes (see VGAArbitration).
    public static let vfioPCIOptions = HostPath(unchecked: "/etc/modprobe.d/gpuprep-vfio-pci-options.conf")
    /// The nouveau blacklist `check --fix` writes (see NouveauBlacklist).
    public static let nouveauBlacklist = HostPath(unchecked: "/etc/modprobe.d/gpuprep-blacklist-nouveau.conf")
    /// `metrics --textfile DIR`'s file, in DIR opened as a root of its own.
    public static let metricsTextfile = HostPath(unchecked: "/gpuprep.prom")
    /// What the last `apply` did and when (see ApplyRecord), for `gpuprep metrics`.
    public static let lastApplyRecord = HostPath(unchecked: "/var/lib/gpuprep/last-apply")
    /// The unit that runs `apply --boot` (see BootUnit).
    public static let applyUnit = HostPath(unchecked: "/etc/systemd/system/gpuprep-apply.service")
    /// The host's name, as the kernel has it, and as the system configures it.
    public static let procHostname = HostPath(unchecked: "/proc/sys/kernel/hostname")
    public static let etcHostname = HostPath(unchecked: "/etc/hostname")
    public static let procOSRelease = HostPath(unchecked: "/proc/sys/kernel/osrelease")
    public static let libModules = HostPath(unchecked: "/lib/modules")
    /// modprobe's configuration directories, in the order modprobe(8) reads them.
    public static let modprobeConfigDirs = ["/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d", "/lib/modprobe.d"]
        .map { HostPath(unchecked: $0) }

    /// Where gpuprep keeps a copy of a file before editing it: beside it, `<name>.gpuprep-bak`.
    public static func backup(of path: HostPath) -> HostPath { HostPath(unchecked: path.string + ".gpuprep-bak") }

    /// The file a backup path is the backup of (nil: not a backup path).
    public var backedUpFile: HostPath? {
        string.hasSuffix(".gpuprep-bak") ? HostPath(unchecked: String(string.dropLast(".gpuprep-bak".count))) : nil
    }

    /// This path with one more component, which must be a plain name.
    public func appending(_ component: String) throws(SystemError) -> HostPath {
        guard HostPath.isPlainName(component) else { throw .unsafePathComponent(component) }
        return HostPath(unchecked: string + "/" + component)
    }

    /// Appends components that the caller guarantees are plain names (file names
    /// the kernel defines, or names already validated).
    public func child(_ components: String...) -> HostPath {
        var result = string
        for component in components {
            precondition(HostPath.isPlainName(component), "unsafe path component \(component)")
            result += "/" + component
        }
        return HostPath(unchecked: result)
    }

    /// `child` with one component, without the variadic array (discovery builds thousands).
    public func child(_ component: String) -> HostPath {
        precondition(HostPath.isPlainName(component), "unsafe path component \(component)")
        var result = string
        result.reserveCapacity(string.utf8.count + 1 + component.utf8.count)
        result += "/"
        result += component
        return HostPath(unchecked: result)
    }

    /// A plain name: not empty, not `.` or `..`, no `/` and no NUL.
    public static func isPlainName(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { bytes in
            var dots = 0
            for byte in bytes {
                if byte == UInt8(ascii: "/") || byte == 0 { return false }
                if byte == UInt8(ascii: ".") { dots += 1 }
            }
            return !bytes.isEmpty && !(dots == bytes.count && bytes.count <= 2)
        }
    }
}
