import FoundationEssentials
import GPUPrepSystem

/// Why a device cannot be given to a VM as it stands.
public struct Blocker: Sendable {
    public enum Kind: String, Sendable, Encodable {
        /// Another endpoint in the group is on a host driver.
        case sharedGroup = "shared-group"
        /// Another function of the same card is on a host driver (bind takes it along).
        case companion
        /// The group is open by a running process (a VM already owns it).
        case groupInUse = "group-in-use"
        /// The device has no IOMMU group: the IOMMU is off.
        case noIOMMU = "no-iommu"
        /// The device carries vGPUs, directly or through its VFs: passing it through destroys them.
        case vgpu
        /// The device is the boot VGA device: the host's console runs on it (bind refuses it).
        case bootVGA = "boot-vga"
        /// A process holds one of the device's own nodes (/dev/nvidiaN, a DRM node, an
        /// NVSwitch's): bind refuses it until that process lets go (see DeviceHolders).
        case inUse = "in-use"
    }

    public var kind: Kind
    public var address: PCIAddress?
    public var driver: String?
    public var reason: String
    public var process: HostProcess?
    /// For a `vgpu` blocker: the mdev's UUID (nil for an nvidia-vfio vGPU, whose VF is `address`).
    public var uuid: UUID?
}

public struct Conflict: Sendable {
    public var device: PCIFunction
    public var group: Int?
    public var blockers: [Blocker]
    /// Why the group holds more than this card, when it does: ACS on the upstream bridges.
    public var explanation: String?
    /// What to do next, in one line.
    public var nextStep: String?
    /// Every process holding a node of the device or of its card's other functions.
    public var holders: [Holder] = []
}

/// What stops each GPU (or each given device) from being assigned to a VM.
enum PCIePortType {
    static let rootPort: UInt8 = 4
    static let upstream: UInt8 = 5
    static let downstream: UInt8 = 6
}

public struct ConflictAnalysis: Sendable {
    public var conflicts: [Conflict]
    public var warnings: [String]

    /// The ACS control bits the kernel requires on a port to isolate what is below it
    /// (REQ_ACS_FLAGS in drivers/iommu/iommu.c): source validation, request and completion
    /// redirect, upstream forwarding.
    static let requiredACS: UInt16 = 0x0001 | 0x0004 | 0x0008 | 0x0010

    public static func analyze(_ host: HostContext, devices requested: [PCIAddress]) throws(GPUPrepError) -> ConflictAnalysis {
        let topology = try IOMMUTopology.read(host)
        let discovery = PCIDiscovery(host: host)
        let byAddress = Dictionary(uniqueKeysWithValues: topology.functions.map { ($0.address, $0) })
        var targets: [PCIFunction] = []
        for address in requested {
            guard let function = byAddress[address] else {
                throw GPUPrepError(.unknownDevice, "no PCI function \(address) on \(host.root.display): run 'gpuprep list --all' to see the addresses")
            }
            targets.append(function)
        }
        if requested.isEmpty {
            targets = topology.functions.filter { $0.kind == .gpu }
        }
        let users = OpenFiles.scan(host)
        let holdings = GPUHoldings.read(host, openFiles: users, withCapacity: false)
        let holders = DeviceHolders(files: users, sysfs: host.sysfs)
        let fabric = NVLinkFabric(topology.functions)
        var warnings: [String] = []
        if let fabric, targets.contains(where: fabric.contains) { warnings.append(fabric.summary) }
        if users.unreadable > 0 {
            warnings.append("the open files of \(users.unreadable) processes could not be read: run as root to see every process holding a /dev/vfio group")
        }
        let conflicts = try targets.map { (target) throws(GPUPrepError) -> Conflict in
            var conflict = try conflict(for: target, topology: topology, users: users, discovery: discovery)
            inUse(target, among: topology.functions, holders: holders, into: &conflict)
            if let fabric, fabric.contains(target), conflict.blockers.contains(where: { $0.kind == .sharedGroup }) {
                conflict.nextStep = "an SXM module on an NVSwitch baseboard cannot change slots: enable ACS on the PCIe switch above it in the firmware, or pass every device listed to the same VM"
            }
            let vgpus = vgpuBlockers(target.address, holdings: holdings)
            if !vgpus.isEmpty {
                conflict.blockers = vgpus + conflict.blockers
                conflict.nextStep = "destroy its vGPUs first ('gpuprep destroy --all --parent \(target.address)'), or keep it for vGPU and give VMs its vGPUs instead"
            }
            return conflict
        }
        return ConflictAnalysis(conflicts: conflicts, warnings: warnings)
    }

    static func conflict(for target: PCIFunction, topology: IOMMUTopology, users: OpenFiles,
                         discovery: PCIDiscovery) throws(GPUPrepError) -> Conflict {
        guard let group = topology.group(target.iommuGroup) else {
            let reason = "no IOMMU group: the IOMMU is off (enable VT-d on Intel or AMD-Vi on AMD in the firmware; Intel kernels also need intel_iommu=on, AMD's is on unless booted with amd_iommu=off); 'gpuprep check' says what is missing"
            return Conflict(device: target, group: nil,
                            blockers: [Blocker(kind: .noIOMMU, address: target.address, driver: target.driver, reason: reason)],
                            explanation: nil, nextStep: "enable the IOMMU, then run 'gpuprep conflicts' again")
        }
        var blockers: [Blocker] = []
        if target.bootVGA {
            blockers.append(Blocker(kind: .bootVGA, address: target.address, driver: target.driver,
                reason: "\(target.address) is the boot VGA device: the console runs on it and goes dark when it leaves \(target.driver ?? "its driver"); 'gpuprep bind' refuses it unless --force (fine with another console, e.g. serial or SSH, or with the firmware set to boot on another GPU)"))
        }
        for member in group.members where member.address != target.address && VFIORule.blocksGroup(member) {
            let what = describe(member)
            if member.address.slot == target.address.slot {
                blockers.append(Blocker(kind: .companion, address: member.address, driver: member.driver,
                    reason: "\(what), a function of the same card, is on \(member.driver ?? "?"): 'gpuprep bind \(target.address)' moves it to vfio-pci along with the GPU"))
            } else {
                blockers.append(Blocker(kind: .sharedGroup, address: member.address, driver: member.driver,
                    reason: "\(what) on \(member.driver ?? "?") shares IOMMU group \(group.id): VFIO takes a group whole, so this device would have to leave the host too"))
            }
        }
        for process in users.groupHolders(group.id) {
            blockers.append(Blocker(kind: .groupInUse, address: nil, driver: nil,
                reason: "IOMMU group \(group.id) is in use: /dev/vfio/\(group.id) is open by \(process.described); a VM already owns this group, so no other VM can be given a device in it",
                process: process))
        }
        let explanation = try explain(group: group, target: target, discovery: discovery)
        return Conflict(device: target, group: group.id, blockers: blockers, explanation: explanation,
                        nextStep: nextStep(target: target, blockers: blockers))
    }

    /// A device that carries vGPUs (an mdev parent, a VF running an nvidia-vfio vGPU, or a GPU
    /// whose VFs do) loses them when it leaves its driver for VFIO.
    static func vgpuBlockers(_ address: PCIAddress, holdings: GPUHoldings) -> [Blocker] {
        holdings.vgpus(on: address).map { vgpu in
            let carrier = vgpu.address ?? (vgpu.parent == address.description ? nil : PCIAddress(vgpu.parent))
            let users = vgpu.holders.isEmpty ? "" : "; a VM uses it: " + vgpu.holders.map(\.described).joined(separator: ", ")
            return Blocker(kind: .vgpu, address: carrier, driver: nil,
                           reason: "vGPU \(vgpu.name) (\(vgpu.typeName ?? vgpu.type))\(carrier.map { " on \($0)" } ?? "") would be destroyed: passthrough takes the device from the driver that runs it\(users)",
                           process: vgpu.holders.first, uuid: vgpu.uuid)
        }
    }

    /// The processes holding the device's own nodes, or its card's other functions': each an
    /// `in-use` blocker, as bind would refuse it, with what to do about them.
    static func inUse(_ target: PCIFunction, among functions: [PCIFunction], holders: DeviceHolders, into conflict: inout Conflict) {
        let cardHolders = holders.cardHolders(target, among: functions)
        for (function, holder) in cardHolders {
            // A VM holding the group is said once, as the group's blocker.
            if holder.path.hasPrefix(HostPath.devVFIO.string + "/"), conflict.blockers.contains(where: { $0.kind == .groupInUse && $0.process == holder.process }) { continue }
            conflict.blockers.append(Blocker(kind: .inUse, address: function.address, driver: function.driver,
                reason: "\(function.address) is in use: \(holder.described); 'gpuprep bind' refuses it until that lets go", process: holder.process))
        }
        let held = cardHolders.map(\.holder)
        conflict.holders = held
        // Said as the next step only when nothing else stands in the way of 'gpuprep bind'.
        guard !held.isEmpty, conflict.blockers.allSatisfy({ $0.kind == .inUse || $0.kind == .companion }) else { return }
        let roles = held.map(\.role)
        if roles.allSatisfy({ if case .service = $0 { return true } else { return false } }) {
            conflict.nextStep = "gpuprep bind \(target.address) --release (stops \(Set(held.compactMap { if case let .service(unit) = $0.role { unit } else { nil } }).sorted().joined(separator: ", ")) for the change and starts it again after)"
        } else if roles.allSatisfy({ if case .vm = $0 { return false } else if case .other = $0 { return false } else { return true } }) {
            conflict.nextStep = "gpuprep bind \(target.address) --release-display (stops the display manager for the change and starts it again after; the host's desktop closes)"
        } else {
            conflict.nextStep = held.advice + "; then 'gpuprep bind \(target.address)'"
        }
    }

    static func nextStep(target: PCIFunction, blockers: [Blocker]) -> String? {
        if let holder = blockers.first(where: { $0.kind == .groupInUse })?.process {
            return "\(HolderRole.vm.advice(holder)), or give that VM this device instead"
        }
        if blockers.contains(where: { $0.kind == .sharedGroup }) {
            return "move the card to a slot whose group it has alone (see 'gpuprep iommu'), or also pass every device listed to the same VM"
        }
        if blockers.contains(where: { $0.kind == .bootVGA }) {
            return "give the host another console (a second GPU set as primary in the firmware, or serial/SSH), then 'gpuprep bind \(target.address) --force'"
        }
        if !blockers.isEmpty {
            return "gpuprep bind \(target.address)"
        }
        return nil
    }

    /// Why the group spans more than this card: the kernel merges devices into one group when a
    /// bridge above them does not enforce ACS isolation, or when they are functions of one
    /// multi-function device without ACS.
    static func explain(group: IOMMUGroup, target: PCIFunction, discovery: PCIDiscovery) throws(GPUPrepError) -> String? {
        let others = group.members.filter { !$0.isBridgeHeader && $0.address.slot != target.address.slot }
        guard !others.isEmpty else { return nil }
        var weak: [String] = []
        for bridge in discovery.upstreamBridges(of: target.address) {
            let (acs, pcieType) = try discovery.isolation(bridge)
            // The kernel asks ACS of root ports and switch downstream ports only; a switch's
            // upstream port cannot redirect peer traffic and is not required to have it.
            if pcieType == PCIePortType.upstream { continue }
            switch acs {
            case .absent?: weak.append("\(bridge) has no ACS capability")
            case let .present(_, control)? where control & requiredACS != requiredACS:
                weak.append("\(bridge) has ACS but does not enable it (control \(hex(control, 4)))")
            case .present?: continue
            case nil: weak.append("\(bridge): its config space cannot be read")
            }
        }
        let override = "The kernel option pcie_acs_override splits such groups only by pretending the isolation exists: an insecure last resort, never for untrusted guests."
        if weak.isEmpty {
            return "Group \(group.id) holds \(others.count) device(s) from other slots although the bridges above \(target.address) enforce ACS: the root port or chipset groups them (a board or firmware limit). \(override)"
        }
        return "Group \(group.id) holds \(others.count) device(s) from other slots because the bridges above \(target.address) do not isolate them (the kernel groups what can reach each other without the IOMMU): "
            + weak.joined(separator: "; ") + ". " + override
    }

    static func describe(_ function: PCIFunction) -> String {
        let name = [function.vendorName, function.deviceName].compactMap { $0 }.joined(separator: " ")
        return "\(function.address) (\(function.className ?? "device")\(name.isEmpty ? "" : ": " + name))"
    }
}
