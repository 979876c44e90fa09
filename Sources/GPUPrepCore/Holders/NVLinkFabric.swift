import GPUPrepSystem

/// The NVLink fabric of an HGX/DGX baseboard: its NVSwitches (NVIDIA, class 0680) and the SXM
/// GPUs they connect, which go to VMs together or not at all. NVIDIA's Fabric Manager guide
/// ("Virtualization models") allows three layouts: full passthrough (the GPUs and every
/// NVSwitch to one VM, which runs Fabric Manager), shared NVSwitch (the switches stay with a
/// service VM running Fabric Manager, GPUs go to guests in partitions it activates), and vGPU
/// multitenancy (everything stays with the host). GPUs passed through without their fabric
/// get no NVLink. Every NVIDIA 3D controller (class 0302) of a host with NVSwitches is taken
/// to be on the fabric: on these baseboards every SXM GPU is.
public struct NVLinkFabric: Sendable {
    public let switches: [PCIFunction]
    public let gpus: [PCIFunction]

    /// Nil on a host without NVSwitches.
    public init?(_ functions: [PCIFunction]) {
        switches = functions.filter { $0.kind == .nvswitch }
        gpus = functions.filter { $0.kind == .gpu && $0.classID == 0x0302 }
        if switches.isEmpty { return nil }
    }

    public func contains(_ f: PCIFunction) -> Bool {
        switches.contains { $0.address == f.address } || gpus.contains { $0.address == f.address }
    }

    /// One line on the fabric, for conflicts and check.
    public var summary: String {
        "\(gpus.count) GPU\(gpus.count == 1 ? "" : "s") and \(switches.count) NVSwitch\(switches.count == 1 ? "" : "es") (\(list(switches))) form one NVLink fabric: "
            + "NVIDIA's models pass the switches to the same VM as the GPUs (full passthrough), or keep them with a service VM that runs Fabric Manager (shared NVSwitch); GPUs without either get no NVLink"
    }

    /// What binding `moving` to a VFIO driver does to the fabric, when it splits it.
    public func bindWarning(moving: Set<PCIAddress>) -> String? {
        let gpusMoving = gpus.filter { moving.contains($0.address) }
        let switchesMoving = switches.filter { moving.contains($0.address) }
        let switchesStaying = switches.filter { !moving.contains($0.address) && !($0.driver.map(VFIORule.isVFIODriver) ?? false) }
        if !gpusMoving.isEmpty && !switchesStaying.isEmpty && !switchesMoving.isEmpty {
            return "the NVLink fabric is split: \(list(switchesMoving)) go\(switchesMoving.count == 1 ? "es" : "") to VFIO but \(list(switchesStaying)) stay\(switchesStaying.count == 1 ? "s" : "") on the host; " + models
        }
        if !gpusMoving.isEmpty && !switchesStaying.isEmpty {
            return "\(list(gpusMoving)) \(gpusMoving.count == 1 ? "is" : "are") on the NVLink fabric of \(switches.count) NVSwitch\(switches.count == 1 ? "" : "es") (\(list(switchesStaying))) that stay on the host: "
                + "without Fabric Manager in the VM or a service VM they get no NVLink; " + models
        }
        let gpusStaying = gpus.filter { !moving.contains($0.address) && !($0.driver.map(VFIORule.isVFIODriver) ?? false) }
        if !switchesMoving.isEmpty && gpusMoving.isEmpty && !gpusStaying.isEmpty {
            return "the NVSwitches \(list(switchesMoving)) go to VFIO without their GPUs (\(list(gpusStaying)) stay on the host, and lose NVLink): that is NVIDIA's shared-NVSwitch model only when the switches go to a service VM that runs Fabric Manager; " + models
        }
        return nil
    }

    var models: String {
        "NVIDIA's models: every GPU and NVSwitch to one VM (full passthrough), or the switches to a service VM running Fabric Manager (shared NVSwitch), or all on the host (vGPU)"
    }

    func list(_ functions: [PCIFunction]) -> String {
        let shown = functions.prefix(4).map(\.address.description).joined(separator: ", ")
        return functions.count > 4 ? "\(shown) and \(functions.count - 4) more" : shown
    }
}
