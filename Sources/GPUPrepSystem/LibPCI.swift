import CPCI
import CShims
import FoundationEssentials

/// The identity of a PCI function as the kernel reports it (sysfs `vendor`, `device`, `class`, ...).
public struct PCIIdentity: Sendable, Equatable {
    public var vendorID: UInt16
    public var deviceID: UInt16
    /// The 24-bit class code: base class, sub-class, programming interface.
    public var classCode: UInt32

    public init(vendorID: UInt16, deviceID: UInt16, classCode: UInt32) {
        self.vendorID = vendorID; self.deviceID = deviceID; self.classCode = classCode
    }
}

/// One function found by a libpci scan; valid while its `LibPCI` lives.
public struct PCIDeviceHandle {
    /// The address, as numbers (the sysfs directory is `DDDD:BB:DD.F` of them in hex).
    public let domain: UInt32
    public let bus: UInt8
    public let device: UInt8
    public let function: UInt8
    fileprivate let raw: UnsafeMutablePointer<pci_dev>
}

/// The ACS registers of a function (PCIe spec 7.7.8).
public enum ACSRegisters: Sendable, Equatable {
    case absent
    case present(capabilities: UInt16, control: UInt16)
}

/// What libpci knows of one function beyond its identity. Any field may be
/// missing on an odd host; `error` says why the fill failed, when it did.
public struct PCIDetails: Sendable, Equatable {
    public var subsystemVendorID: UInt16?
    public var subsystemDeviceID: UInt16?
    public var numaNode: Int?
    public var modalias: String?
    public var error: String?
}

/// A session with libpci over one sysfs tree (`sysfs.path=<root>/sys/bus/pci`).
///
/// libpci reads lazily: scanning only lists the directory. gpuprep uses it for that list, for
/// names from pci.ids and for config space; the plain attributes it reads through sysfs
/// directories (see SysfsDirectory), and libpci's `details` only where sysfs lacks them.
public final class LibPCI {
    private let access: UnsafeMutablePointer<pci_access>
    private let root: HostRoot
    /// Per function read so far: nil when libpci may read it, else why not (see PCIInputs).
    private var outside: [Int: String?] = [:]
    /// The functions found by the scan, in libpci's order.
    public private(set) var functions: [PCIDeviceHandle] = []

    /// Opens libpci on the tree under `root`. `idsPath` overrides the pci.ids database (as `lspci -i`).
    /// Wraps pci_alloc, pci_init and pci_scan_bus.
    public init(root: HostRoot, idsPath: String? = nil) throws(SystemError) {
        self.root = root
        let sysfsPath = root.path(.sysBusPCI)
        var message = [CChar](repeating: 0, count: 512)
        guard let opened = gp_pci_open(sysfsPath, idsPath, &message, message.count) else {
            throw .libpci(cText(message))
        }
        access = opened
        // Every stored property is set from here on, so a throw still runs deinit, which cleans
        // up: cleaning up here as well freed libpci's session twice (abort, exit 134).
        if gp_pci_scan(access, &message, message.count) != 0 {
            throw .libpci(cText(message))
        }
        var found: [PCIDeviceHandle] = []
        var device = access.pointee.devices
        while let current = device {
            let d = current.pointee
            found.append(PCIDeviceHandle(domain: UInt32(d.domain), bus: d.bus, device: d.dev, function: d.`func`, raw: current))
            device = d.next
        }
        functions = found
    }

    deinit { pci_cleanup(access) }

    /// Subsystem ids, NUMA node and modalias; libpci reads config space for what sysfs lacks.
    /// Wraps pci_fill_info.
    public func details(_ handle: PCIDeviceHandle) -> PCIDetails {
        let device = handle.raw
        var result = PCIDetails()
        if let why = outsideRoot(handle) { result.error = why; return result }
        var message = [CChar](repeating: 0, count: 512)
        let flags = PCI_FILL_SUBSYS | PCI_FILL_NUMA_NODE | PCI_FILL_MODULE_ALIAS
        guard gp_pci_fill(device, UInt32(flags), &message, message.count) == 0 else {
            result.error = cText(message)
            return result
        }
        let d = device.pointee
        let known = UInt32(d.known_fields)
        if known & UInt32(PCI_FILL_SUBSYS) != 0 && d.subsys_vendor_id != 0xffff {
            result.subsystemVendorID = d.subsys_vendor_id
            result.subsystemDeviceID = d.subsys_id
        }
        if known & UInt32(PCI_FILL_NUMA_NODE) != 0 && d.numa_node >= 0 { result.numaNode = Int(d.numa_node) }
        // libpci keeps the newline that ends the sysfs file; an alias ending in `i00` would not match it.
        if let alias = d.module_alias {
            result.modalias = String(cString: alias).trimmed()
        }
        return result
    }

    /// Reads `count` bytes of configuration space at `offset`; nil when they cannot be read
    /// (no `config` file, a short file, or a function that answers all ones). Wraps pci_read_block.
    public func config(_ handle: PCIDeviceHandle, offset: Int, count: Int) -> [UInt8]? {
        guard outsideRoot(handle) == nil else { return nil }
        let device = handle.raw
        var bytes = [UInt8](repeating: 0, count: count)
        guard gp_pci_read(device, Int32(offset), &bytes, Int32(count)) == 1 else { return nil }
        return bytes
    }

    /// The header type (config byte 0x0e, without the multi-function bit): 0 endpoint, 1 PCI-PCI
    /// bridge, 2 CardBus bridge. Nil when config space cannot be read or answers all ones.
    public func headerType(_ handle: PCIDeviceHandle) -> UInt8? {
        guard let byte = config(handle, offset: 0x0e, count: 1)?.first, byte != 0xff else { return nil }
        return byte & 0x7f
    }

    /// The ACS (Access Control Services) extended capability: its capability and control registers,
    /// `.absent` when the function has none, nil when config space cannot be read.
    /// Wraps pci_fill_info(PCI_FILL_EXT_CAPS) and pci_find_cap(PCI_EXT_CAP_ID_ACS).
    public func acs(_ handle: PCIDeviceHandle) -> ACSRegisters? {
        guard config(handle, offset: 0, count: 4).map({ $0 != [0xff, 0xff, 0xff, 0xff] }) == true else { return nil }
        var message = [CChar](repeating: 0, count: 512)
        guard gp_pci_fill(handle.raw, UInt32(PCI_FILL_CAPS | PCI_FILL_EXT_CAPS), &message, message.count) == 0 else { return nil }
        let offset = gp_pci_find_cap(handle.raw, UInt32(PCI_EXT_CAP_ID_ACS), UInt32(PCI_CAP_EXTENDED))
        guard offset >= 0 else { return .absent }
        guard let bytes = config(handle, offset: Int(offset) + 4, count: 4) else { return nil }
        return .present(capabilities: UInt16(bytes[0]) | UInt16(bytes[1]) << 8, control: UInt16(bytes[2]) | UInt16(bytes[3]) << 8)
    }

    /// The PCI Express device/port type (PCIe capability flags bits 7:4): 4 root port, 5 switch
    /// upstream port, 6 switch downstream port, ... Nil for a conventional PCI function or when
    /// config space cannot be read. Wraps pci_find_cap(PCI_CAP_ID_EXP).
    public func pcieType(_ handle: PCIDeviceHandle) -> UInt8? {
        guard outsideRoot(handle) == nil else { return nil }
        var message = [CChar](repeating: 0, count: 512)
        guard gp_pci_fill(handle.raw, UInt32(PCI_FILL_CAPS), &message, message.count) == 0 else { return nil }
        let offset = gp_pci_find_cap(handle.raw, UInt32(PCI_CAP_ID_EXP), UInt32(PCI_CAP_NORMAL))
        guard offset >= 0, let flags = config(handle, offset: Int(offset) + 2, count: 1)?.first else { return nil }
        return (flags >> 4) & 0x0f
    }

    /// Nil when libpci may read the function's files; else why not: its entry or an attribute
    /// libpci reads is a link out of the root (PCIInputs). Checked once per function, when it is
    /// first read, so a scan that reads a few functions of thousands checks only those.
    public func outsideRoot(_ handle: PCIDeviceHandle) -> String? {
        let key = Int(handle.domain) << 16 | Int(handle.bus) << 8 | Int(handle.device) << 3 | Int(handle.function)
        if let known = outside[key] { return known }
        let name = hex(handle.domain, 4) + ":" + hex(UInt32(handle.bus), 2) + ":" + hex(UInt32(handle.device), 2) + "." + String(handle.function)
        let why = PCIInputs.outsideRoot(root: root, device: name).map { "\($0.path) is \($0.kind): not read" }
        outside[key] = .some(why)
        return why
    }

    private func hex(_ value: UInt32, _ width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// Names from the pci.ids database, as `lspci -nn` shows them. Wraps pci_lookup_name.
    public func vendorName(_ vendor: UInt16) -> String? {
        lookup { gp_pci_vendor_name(access, $0, $1, UInt32(vendor)) }
    }

    public func deviceName(vendor: UInt16, device: UInt16) -> String? {
        lookup { gp_pci_device_name(access, $0, $1, UInt32(vendor), UInt32(device)) }
    }

    public func subsystemName(vendor: UInt16, device: UInt16, subvendor: UInt16, subdevice: UInt16) -> String? {
        lookup { gp_pci_subsystem_name(access, $0, $1, UInt32(vendor), UInt32(device), UInt32(subvendor), UInt32(subdevice)) }
    }

    /// The name of a class (base and sub-class, e.g. 0x0300 "VGA compatible controller").
    public func className(_ classCode: UInt32) -> String? {
        lookup { gp_pci_class_name(access, $0, $1, classCode >> 8) }
    }

    private func lookup(_ call: (UnsafeMutablePointer<CChar>, Int32) -> UnsafePointer<CChar>?) -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        return buffer.withUnsafeMutableBufferPointer { raw in
            call(raw.baseAddress!, Int32(raw.count)).map { String(cString: $0) }
        }
    }
}

/// A NUL-terminated C buffer as a Swift string.
func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
