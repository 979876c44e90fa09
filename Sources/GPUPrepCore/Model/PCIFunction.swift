/// What a PCI function is, from gpuprep's point of view.
public enum DeviceKind: String, Codable, Sendable {
    /// An NVIDIA display or 3D controller (class 03xx), not a virtual function.
    case gpu
    /// An SR-IOV virtual function of an NVIDIA GPU.
    case vf
    /// Another NVIDIA function in a GPU's slot: HDMI audio, USB, USB-C UCSI.
    case companion
    /// An NVIDIA NVSwitch (class 0680).
    case nvswitch
    /// Anything else (shown with `list --all`).
    case other
}

/// How vGPUs are made on a device.
public enum VGPUInterface: String, Codable, Sendable {
    /// The mediated-device framework (`mdev_supported_types`).
    case mdev
    /// NVIDIA vGPU 17+ on SR-IOV VFs (`nvidia/creatable_vgpu_types`, `nvidia/current_vgpu_type`).
    case nvidiaVFIO = "nvidia-vfio"
}

public struct SRIOV: Codable, Sendable, Equatable {
    public var totalVFs: Int
    public var numVFs: Int
    public init(totalVFs: Int, numVFs: Int) { self.totalVFs = totalVFs; self.numVFs = numVFs }
}

/// One PCI function as discovered on the host. Fields are nil when the host does not say.
public struct PCIFunction: Sendable {
    public var address: PCIAddress
    public var kind: DeviceKind = .other
    public var vendorID: UInt16?
    public var deviceID: UInt16?
    public var subsystemVendorID: UInt16?
    public var subsystemDeviceID: UInt16?
    public var classCode: UInt32?
    public var vendorName: String?
    public var deviceName: String?
    public var subsystemName: String?
    public var className: String?
    public var driver: String?
    public var driverOverride: String?
    public var iommuGroup: Int?
    public var numaNode: Int?
    public var bootVGA: Bool = false
    public var physicalFunction: PCIAddress?
    public var sriov: SRIOV?
    public var vgpuInterface: VGPUInterface?
    public var companions: [PCIAddress] = []
    public var companionOf: PCIAddress?
    /// Modules that can drive this function (libkmod lookup of its modalias); nil when the
    /// host's module directory cannot be read.
    public var modules: [String]?
    /// The kernel's modalias (`pci:v000010DEd...`), what module aliases match.
    public var modalias: String?
    /// What could not be read, for the user to know why a field is missing.
    public var problems: [String] = []
    /// Config-space header type: 0 endpoint, 1 PCI-PCI bridge, 2 CardBus bridge; nil when unreadable.
    public var headerType: UInt8?

    public init(address: PCIAddress) { self.address = address }

    /// A bridge in the kernel's sense (a bridge header), which VFIO does not count against a
    /// group. Host bridges (class 0600) have an endpoint header and do count. Without config
    /// space, the class says it: PCI-PCI (0604) and CardBus (0607) bridges.
    public var isBridgeHeader: Bool {
        if let headerType { return headerType == 1 || headerType == 2 }
        return classID == 0x0604 || classID == 0x0607
    }

    public var isNVIDIA: Bool { vendorID == PCIIDs.nvidia }
    /// Base class and sub-class, e.g. 0x0300 for a VGA controller.
    public var classID: UInt16? { classCode.map { UInt16($0 >> 8) } }
    public var isDisplay: Bool { classCode.map { $0 >> 16 == 0x03 } ?? false }
}

public enum PCIIDs {
    public static let nvidia: UInt16 = 0x10de
    /// Base class 06 (bridge), sub-class 80 (other): what NVSwitches report.
    public static let nvswitchClass: UInt16 = 0x0680
}
