import FoundationEssentials

/// What `apply` takes a host to: the contract's file (`gpuprep.yaml`), once read and checked.
/// Every entry keeps the line it came from, so that a problem found while planning names it.
public struct HostLayout: Sendable, Equatable {
    /// Which devices an entry is about.
    public struct Match: Sendable, Equatable {
        /// One function (`address`), or for vGPUs the physical GPU (`gpu`).
        public var address: PCIAddress?
        /// Any function with one of these vendor:device ids (vgpu-device-manager's `device-filter`
        /// may list several).
        public var ids: [PCIIDPair] = []
        /// The n-th NVIDIA GPU in address order (vgpu-device-manager's `devices: [n]`).
        public var index: Int?
        /// An mdev parent by name (`mtty`, a VF's address).
        public var parent: String?
        /// Every NVIDIA GPU (PFs of display class), as vgpu-device-manager's `devices: all`
        /// takes them (go-nvlib nvpci.GetGPUs: `IsGPU() && !IsVF()`), not every PCI function.
        public var nvidiaGPUs = false

        public init(address: PCIAddress? = nil, ids: [PCIIDPair] = [], index: Int? = nil, parent: String? = nil, nvidiaGPUs: Bool = false) {
            self.address = address; self.ids = ids; self.index = index; self.parent = parent; self.nvidiaGPUs = nvidiaGPUs
        }
    }

    public struct PCIIDPair: Sendable, Equatable, CustomStringConvertible {
        public var vendor: UInt16
        public var device: UInt16
        /// vgpu-device-manager's `0xDDDDVVVV:0xSSSSVVVV`: also the subsystem (vendor, device).
        public var subsystemVendor: UInt16?
        public var subsystemDevice: UInt16?
        public init(vendor: UInt16, device: UInt16, subsystemVendor: UInt16? = nil, subsystemDevice: UInt16? = nil) {
            self.vendor = vendor; self.device = device; self.subsystemVendor = subsystemVendor; self.subsystemDevice = subsystemDevice
        }
        public var description: String {
            hex(vendor, 4) + ":" + hex(device, 4) + (subsystemVendor.map { " (subsystem \(hex($0, 4)):\(hex(subsystemDevice ?? 0, 4)))" } ?? "")
        }
        /// Whether a function has these ids (and this subsystem, when one is given).
        public func matches(_ f: PCIFunction) -> Bool {
            vendor == f.vendorID && device == f.deviceID
                && (subsystemVendor == nil || (subsystemVendor == f.subsystemVendorID && subsystemDevice == f.subsystemDeviceID))
        }
    }

    /// A number, or as many as fit (`max`).
    public enum Count: Sendable, Equatable, CustomStringConvertible {
        case exactly(Int)
        case max
        public var description: String {
            switch self {
            case .exactly(let n): return String(n)
            case .max: return "max"
            }
        }
    }

    // Entries are equal by what they ask, not by the line they were read from.

    public struct Passthrough: Sendable, Equatable {
        public var match: Match
        /// `vfio-pci`, `auto`, or a module name.
        public var driver = "vfio-pci"
        public var companions = true
        public var line = 0
        public init(match: Match, driver: String = "vfio-pci", companions: Bool = true, line: Int = 0) {
            self.match = match; self.driver = driver; self.companions = companions; self.line = line
        }
        public static func == (a: Self, b: Self) -> Bool { a.match == b.match && a.driver == b.driver && a.companions == b.companions }
    }

    public struct SRIOVEntry: Sendable, Equatable {
        public var match: Match
        public var vfs: Count
        /// Added for a vgpu-device-manager file: only for GPUs that have SR-IOV and no VFs yet (as
        /// the device manager's per-VF mode enables them: only where no virtfn exists,
        /// vgpu-device-manager PR #195 vfio.go ensureVFs), and nothing said otherwise.
        public var onlyWhereCapable = false
        public var line = 0
        public init(match: Match, vfs: Count, onlyWhereCapable: Bool = false, line: Int = 0) {
            self.match = match; self.vfs = vfs; self.onlyWhereCapable = onlyWhereCapable; self.line = line
        }
        public static func == (a: Self, b: Self) -> Bool { a.match == b.match && a.vfs == b.vfs && a.onlyWhereCapable == b.onlyWhereCapable }
    }

    public struct VGPUEntry: Sendable, Equatable {
        public var match: Match
        /// A name (with or without its vendor prefix) or an id.
        public var type: String
        /// Per matched GPU (or parent).
        public var count: Count
        /// mdev UUIDs that must be among them (VM definitions name an mdev by its UUID, so the
        /// one made again at boot must have the same); the rest of the count get new ones.
        public var uuids: [UUID] = []
        /// NVIDIA's vGPU plugin parameters for every vGPU of the entry (nil: left as they are;
        /// empty: cleared). See VGPUParams.
        public var params: [VGPUParam]?
        public var line = 0
        public init(match: Match, type: String, count: Count, uuids: [UUID] = [], params: [VGPUParam]? = nil, line: Int = 0) {
            self.match = match; self.type = type; self.count = count; self.uuids = uuids; self.params = params; self.line = line
        }
        public static func == (a: Self, b: Self) -> Bool {
            a.match == b.match && a.type == b.type && a.count == b.count && a.uuids == b.uuids && a.params == b.params
        }
    }

    public var passthrough: [Passthrough] = []
    public var sriov: [SRIOVEntry] = []
    public var vgpus: [VGPUEntry] = []
    /// Named alternatives: a profile's sections replace the file's own, the others stay.
    public var profiles: [String: Profile] = [:]
    /// Where it was read from, for messages.
    public var source = ""
    /// The site's default for --regenerate (`regenerate: true`): commands that write boot files
    /// (check --fix, bind/unbind/apply --persist) then rebuild what boots from them.
    public var regenerate: Bool?
    /// The profile used when none is named (vgpu-device-manager's `default`), if the file has it.
    public var defaultProfile: String?

    public struct Profile: Sendable, Equatable {
        public var passthrough: [Passthrough]?
        public var sriov: [SRIOVEntry]?
        public var vgpus: [VGPUEntry]?
        public init(passthrough: [Passthrough]? = nil, sriov: [SRIOVEntry]? = nil, vgpus: [VGPUEntry]? = nil) {
            self.passthrough = passthrough; self.sriov = sriov; self.vgpus = vgpus
        }
    }

    public init(passthrough: [Passthrough] = [], sriov: [SRIOVEntry] = [], vgpus: [VGPUEntry] = [], source: String = "") {
        self.passthrough = passthrough; self.sriov = sriov; self.vgpus = vgpus; self.source = source
    }

    public var isEmpty: Bool { passthrough.isEmpty && sriov.isEmpty && vgpus.isEmpty }

    /// The layout with a profile chosen (nil: the file as it is).
    public func choosing(profile asked: String?) throws(GPUPrepError) -> HostLayout {
        guard let name = asked ?? defaultProfile else { return self }
        guard let profile = profiles[name] else {
            let known = profiles.keys.sorted()
            let hint = Suggestion.closest(to: name, among: known).map { "; did you mean '\($0)'?" } ?? ""
            throw GPUPrepError(.badConfig, "\(source): no profile '\(name)'\(hint) (the file has \(known.isEmpty ? "none" : known.joined(separator: ", ")))")
        }
        var chosen = self
        chosen.passthrough = profile.passthrough ?? passthrough
        chosen.sriov = profile.sriov ?? sriov
        chosen.vgpus = profile.vgpus ?? vgpus
        return chosen
    }
}
