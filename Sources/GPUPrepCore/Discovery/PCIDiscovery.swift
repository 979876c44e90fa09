import GPUPrepSystem

/// Which functions a discovery reads in full.
public enum DiscoveryScope: Sendable {
    /// NVIDIA GPUs, their VFs and companions, and NVSwitches.
    case nvidia
    /// Every function on the host.
    case all
    /// These functions (any vendor); unknown addresses are an error.
    case addresses([PCIAddress])
}

/// Finds PCI functions through libpci and fills in what sysfs says about them.
///
/// Only the identity (vendor, device, class) of every function is read; everything else is
/// read for the functions in scope alone, so a host with thousands of NIC VFs costs little
/// when only its GPUs are wanted.
public struct PCIDiscovery {
    public let host: HostContext

    public init(host: HostContext) { self.host = host }

    /// All functions in scope, sorted by address, with kinds and companions resolved.
    /// `headerTypes` also reads each function's config-space header type (bridge or endpoint),
    /// which only the IOMMU analysis needs.
    public func functions(_ scope: DiscoveryScope, headerTypes: Bool = false) throws(GPUPrepError) -> [PCIFunction] {
        let pci = try host.pci()
        var records: [(address: PCIAddress, device: PCIDeviceHandle, identity: PCIIdentity?)] = []
        let nvidiaOnly: Bool
        if case .nvidia = scope { nvidiaOnly = true } else { nvidiaOnly = false }
        for device in pci.functions {
            guard let address = PCIAddress(device.address) else { continue }
            // For the NVIDIA view one attribute tells a function out: the vendor. Only NVIDIA's
            // functions are read further (a host's thousands of NIC VFs cost one read each).
            if nvidiaOnly, host.sysfs.read(HostPath.sysBusPCIDevices.child(device.address, "vendor")) != "0x10de" { continue }
            records.append((address, device, pci.identity(device)))
        }
        records.sort { $0.address < $1.address }

        // Slots holding an NVIDIA display function: the other NVIDIA functions there are its companions.
        var gpuSlots: [PCIAddress: PCIAddress] = [:]
        for record in records where record.identity.map(Self.isNVIDIADisplay) == true {
            if gpuSlots[record.address.slot] == nil { gpuSlots[record.address.slot] = record.address }
        }

        let wanted: Set<PCIAddress>?
        if case let .addresses(list) = scope {
            let known = Set(records.map(\.address))
            if let missing = list.first(where: { !known.contains($0) }) {
                throw GPUPrepError(.unknownDevice, "no PCI function \(missing) on \(host.root.display): run 'gpuprep list --all' to see the addresses")
            }
            wanted = Set(list)
        } else {
            wanted = nil
        }

        var result: [PCIFunction] = []
        for record in records {
            let isPhysfnLinked = host.sysfs.isLink(HostPath.sysBusPCIDevices.child(record.address.description, "physfn"))
            let kind = Self.kind(identity: record.identity, isVF: isPhysfnLinked,
                                 inGPUSlotOf: gpuSlots[record.address.slot], address: record.address)
            switch scope {
            case .nvidia where kind == .other: continue
            case .addresses where !wanted!.contains(record.address): continue
            default: break
            }
            var function = describe(record.address, device: record.device, identity: record.identity, pci: pci)
            if headerTypes { function.headerType = pci.headerType(record.device) }
            function.kind = kind
            if kind == .companion { function.companionOf = gpuSlots[record.address.slot] }
            result.append(function)
        }

        // Companions of each GPU, and the vGPU interface of a PF whose VFs carry NVIDIA's files.
        let byAddress = Dictionary(uniqueKeysWithValues: result.enumerated().map { ($1.address, $0) })
        for index in result.indices where result[index].kind == .companion {
            if let gpu = result[index].companionOf, let gpuIndex = byAddress[gpu] {
                result[gpuIndex].companions.append(result[index].address)
            }
        }
        for function in result where function.vgpuInterface == .nvidiaVFIO {
            if let pf = function.physicalFunction, let pfIndex = byAddress[pf], result[pfIndex].vgpuInterface == nil {
                result[pfIndex].vgpuInterface = .nvidiaVFIO
            }
        }
        return result
    }

    /// The ACS registers and PCIe port type of a function, read through libpci from its config space.
    public func isolation(_ address: PCIAddress) throws(GPUPrepError) -> (acs: ACSRegisters?, pcieType: UInt8?) {
        let pci = try host.pci()
        guard let handle = pci.functions.first(where: { $0.address == address.description }) else { return (nil, nil) }
        return (pci.acs(handle), pci.pcieType(handle))
    }

    /// The bridges above a function, nearest first (from its physical path in /sys/devices).
    public func upstreamBridges(of address: PCIAddress) -> [PCIAddress] {
        (host.sysfs.physicalPath(ofPCIDevice: address.description) ?? []).compactMap(PCIAddress.init).reversed()
    }

    static func isNVIDIADisplay(_ identity: PCIIdentity) -> Bool {
        identity.vendorID == PCIIDs.nvidia && identity.classCode >> 16 == 0x03
    }

    static func kind(identity: PCIIdentity?, isVF: Bool, inGPUSlotOf gpu: PCIAddress?, address: PCIAddress) -> DeviceKind {
        guard let identity, identity.vendorID == PCIIDs.nvidia else { return .other }
        if isVF { return .vf }
        if identity.classCode >> 16 == 0x03 { return .gpu }
        if UInt16(identity.classCode >> 8) == PCIIDs.nvswitchClass { return .nvswitch }
        if let gpu, gpu != address { return .companion }
        return .other
    }

    /// Everything gpuprep shows about one function.
    private func describe(_ address: PCIAddress, device: PCIDeviceHandle,
                          identity: PCIIdentity?, pci: LibPCI) -> PCIFunction {
        var function = PCIFunction(address: address)
        let sysfs = host.sysfs
        let dir = HostPath.sysBusPCIDevices.child(address.description)

        if let identity {
            function.vendorID = identity.vendorID
            function.deviceID = identity.deviceID
            function.classCode = identity.classCode
            function.vendorName = pci.vendorName(identity.vendorID)
            function.deviceName = pci.deviceName(vendor: identity.vendorID, device: identity.deviceID)
            function.className = pci.className(identity.classCode)
        } else {
            function.problems.append("vendor, device or class unreadable")
        }

        let details = pci.details(device)
        if let error = details.error { function.problems.append(error) }
        function.subsystemVendorID = details.subsystemVendorID
        function.subsystemDeviceID = details.subsystemDeviceID
        if let identity, let subvendor = details.subsystemVendorID, let subdevice = details.subsystemDeviceID {
            function.subsystemName = pci.subsystemName(vendor: identity.vendorID, device: identity.deviceID,
                                                       subvendor: subvendor, subdevice: subdevice)
        }
        function.driver = sysfs.linkName(dir.child("driver"))
        function.iommuGroup = sysfs.linkName(dir.child("iommu_group")).flatMap { Int($0) }
        function.numaNode = details.numaNode
        function.modalias = details.modalias
        if let modalias = details.modalias, let kmod = host.kmod() {
            function.modules = kmod.modules(matching: modalias)
        }

        // "(null)" is how the kernel says no override is set.
        if let override = sysfs.read(dir.child("driver_override")), !override.isEmpty, override != "(null)" {
            function.driverOverride = override
        }
        function.bootVGA = sysfs.read(dir.child("boot_vga")) == "1"
        if let total = sysfs.read(dir.child("sriov_totalvfs")).flatMap({ Int($0) }) {
            function.sriov = SRIOV(totalVFs: total, numVFs: sysfs.read(dir.child("sriov_numvfs")).flatMap { Int($0) } ?? 0)
        }
        function.physicalFunction = sysfs.linkName(dir.child("physfn")).flatMap(PCIAddress.init)
        if sysfs.exists(dir.child("nvidia", "creatable_vgpu_types")) {
            function.vgpuInterface = .nvidiaVFIO
        } else if sysfs.exists(dir.child("mdev_supported_types")) {
            function.vgpuInterface = .mdev
        }
        return function
    }
}
