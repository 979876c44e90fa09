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

/// Finds PCI functions: libpci lists them and names them (pci.ids); sysfs says the rest.
///
/// Each function's sysfs directory is opened once and its attributes read relative to it
/// (see SysfsDirectory). Only the identity (vendor, device, class) of every function is read;
/// everything else is read for the functions in scope alone, so a host with thousands of NIC
/// VFs costs little when only its GPUs are wanted. For the NVIDIA view, the kernel's
/// one-file inventory /proc/bus/pci/devices rules most functions out without opening them.
public struct PCIDiscovery {
    public let host: HostContext

    public init(host: HostContext) { self.host = host }

    /// All functions in scope, sorted by address, with kinds and companions resolved.
    /// `headerTypes` also reads each function's config-space header type (bridge or endpoint),
    /// which only the IOMMU analysis needs.
    public func functions(_ scope: DiscoveryScope, headerTypes: Bool = false) throws(GPUPrepError) -> [PCIFunction] {
        let pci = try host.pci()
        let nvidiaOnly: Bool
        if case .nvidia = scope { nvidiaOnly = true } else { nvidiaOnly = false }
        var wanted: Set<PCIAddress>?
        if case let .addresses(list) = scope {
            let known = Set(pci.functions.map(PCIAddress.init))
            if let missing = list.first(where: { !known.contains($0) }) {
                // A short address means domain 0000; a host whose devices sit in another domain
                // (0009 on some arm64 servers) has the same bus, device and function there.
                let elsewhere = known.filter { $0.bus == missing.bus && $0.device == missing.device && $0.function == missing.function }
                let hint = elsewhere.isEmpty ? "run 'gpuprep list --all' to see the addresses"
                    : "did you mean \(elsewhere.map(\.description).sorted().joined(separator: " or "))? (a short address is in domain 0000)"
                throw GPUPrepError(.unknownDevice, "no PCI function \(missing) on \(host.root.display): \(hint)")
            }
            wanted = Set(list)
        }
        let nvidiaSlots = nvidiaOnly ? ProcPCIDevices.busSlots(of: PCIIDs.nvidia, host: host, expectedCount: pci.functions.count) : nil

        let devices = pci.functions.filter { nvidiaSlots?.contains(PCIAddress($0).busSlot) ?? true }
        // Under --root, each function's place in the tree, from its bus link: what is read there
        // then needs no walk through the link.
        let bus = host.root.isLiveHost ? nil : host.sysfs.directory(.sysBusPCIDevices)
        let places = devices.map { bus?.linkedPlace(PCIAddress($0).description) }
        let locked = Self.readLocked(devices, places: places, wanted: wanted, root: host.root)

        var found: [(function: PCIFunction, isVF: Bool)] = []
        for (slot, device) in devices.enumerated() {
            let address = PCIAddress(device)
            let dir = host.sysfs.directory(HostPath.sysBusPCIDevices.child(address.description), resolved: places[slot])
            let uevent = Uevent(locked[slot].uevent.text)
            let identity = uevent?.identity ?? dir.flatMap(Self.identity)
            if nvidiaOnly && identity?.vendorID != PCIIDs.nvidia { continue }
            var function = PCIFunction(address: address)
            // A VF has a physfn link (dangling in a capture that lacks the PF, still a VF).
            let isVF = dir?.linkTargetName("physfn") != nil
            if wanted?.contains(address) ?? true {
                describe(&function, dir: dir, identity: identity, uevent: uevent, isVF: isVF, device: device, pci: pci)
                Self.fill(&function, locked[slot], entries: { dir?.list() })
                if headerTypes { function.headerType = pci.headerType(device) }
            } else if let identity {
                function.vendorID = identity.vendorID
                function.classCode = identity.classCode
            }
            found.append((function, isVF))
        }
        found.sort { $0.function.address < $1.function.address }

        // Slots holding an NVIDIA display function: the other NVIDIA functions there are its companions.
        var gpuSlots: [PCIAddress: PCIAddress] = [:]
        for (function, _) in found where function.isNVIDIA && function.isDisplay {
            if gpuSlots[function.address.slot] == nil { gpuSlots[function.address.slot] = function.address }
        }

        var result: [PCIFunction] = []
        for (function, isVF) in found {
            let kind = Self.kind(function, isVF: isVF, inGPUSlotOf: gpuSlots[function.address.slot])
            switch scope {
            case .nvidia where kind == .other: continue
            case .addresses where !wanted!.contains(function.address): continue
            default: break
            }
            var function = function
            function.kind = kind
            if kind == .companion { function.companionOf = gpuSlots[function.address.slot] }
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
        guard let handle = pci.functions.first(where: { PCIAddress($0) == address }) else { return (nil, nil) }
        if let why = pci.outsideRoot(handle) {
            throw GPUPrepError(.invalidRoot, "\(host.root.display): \(why): the tree is damaged or hostile (make it a file inside the root); nothing was changed")
        }
        return (pci.acs(handle), pci.pcieType(handle))
    }

    /// The bridges above a function, nearest first (from its physical path in /sys/devices).
    public func upstreamBridges(of address: PCIAddress) -> [PCIAddress] {
        (host.sysfs.physicalPath(ofPCIDevice: address.description) ?? []).compactMap(PCIAddress.init).reversed()
    }

    static func kind(_ function: PCIFunction, isVF: Bool, inGPUSlotOf gpu: PCIAddress?) -> DeviceKind {
        guard function.isNVIDIA, let classCode = function.classCode else { return .other }
        if isVF { return .vf }
        if classCode >> 16 == 0x03 { return .gpu }
        if UInt16(classCode >> 8) == PCIIDs.nvswitchClass { return .nvswitch }
        if let gpu, gpu != function.address { return .companion }
        return .other
    }

    /// Vendor, device and class (sysfs `vendor`, `device`, `class`); nil when one is unreadable.
    static func identity(_ dir: SysfsDirectory) -> PCIIdentity? {
        guard let vendor = sysfsNumber(dir.read("vendor")), let device = sysfsNumber(dir.read("device")),
              let classCode = sysfsNumber(dir.read("class")) else { return nil }
        return PCIIdentity(vendorID: UInt16(truncatingIfNeeded: vendor), deviceID: UInt16(truncatingIfNeeded: device),
                           classCode: classCode & 0xffffff)
    }

    /// What a function's `uevent` says: ids, class, subsystem and modalias in one file
    /// (drivers/pci/pci-driver.c, pci_uevent), where the attributes are a file each.
    struct Uevent {
        var identity: PCIIdentity
        var subsystem: (vendor: UInt16, device: UInt16)?
        var modalias: String?

        /// Nil when the file is missing or lacks the ids or the class (the attributes are read then).
        init?(_ text: String?) {
            guard let text else { return nil }
            var ids: (UInt32, UInt32)?, classCode: UInt32?
            for line in text.split(separator: "\n") {
                guard let equals = line.firstIndex(of: "=") else { continue }
                let key = line[..<equals], value = line[line.index(after: equals)...]
                switch key {
                case "PCI_ID": ids = Uevent.pair(value)
                case "PCI_CLASS": classCode = UInt32(value, radix: 16)
                case "PCI_SUBSYS_ID": subsystem = Uevent.pair(value).map { (UInt16(truncatingIfNeeded: $0.0), UInt16(truncatingIfNeeded: $0.1)) }
                case "MODALIAS": modalias = String(value)
                default: break
                }
            }
            guard let ids, let classCode else { return nil }
            identity = PCIIdentity(vendorID: UInt16(truncatingIfNeeded: ids.0), deviceID: UInt16(truncatingIfNeeded: ids.1),
                                   classCode: classCode & 0xffffff)
        }

        /// `10DE:2235`.
        static func pair(_ text: Substring) -> (UInt32, UInt32)? {
            let parts = text.split(separator: ":")
            guard parts.count == 2, let a = UInt32(parts[0], radix: 16), let b = UInt32(parts[1], radix: 16) else { return nil }
            return (a, b)
        }
    }

    /// A number as sysfs writes ids: hex with `0x` (`0x10de`).
    static func sysfsNumber(_ text: String?) -> UInt32? {
        guard let text, text.hasPrefix("0x") else { return nil }
        return UInt32(text.dropFirst(2), radix: 16)
    }

    /// Everything gpuprep shows about one function.
    private func describe(_ function: inout PCIFunction, dir: SysfsDirectory?, identity: PCIIdentity?,
                          uevent: Uevent?, isVF: Bool, device: PCIDeviceHandle, pci: LibPCI) {
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
        guard let dir else { return }

        if let (subvendor, subdevice) = uevent?.subsystem
            ?? Self.sysfsNumber(dir.read("subsystem_vendor")).flatMap({ v in Self.sysfsNumber(dir.read("subsystem_device")).map { (UInt16(truncatingIfNeeded: v), UInt16(truncatingIfNeeded: $0)) } }) {
            if subvendor != 0xffff {
                function.subsystemVendorID = subvendor
                function.subsystemDeviceID = subdevice
            }
        } else {
            // Without the sysfs files (an old kernel, a partial capture) libpci reads config space.
            let details = pci.details(device)
            if let error = details.error { function.problems.append(error) }
            function.subsystemVendorID = details.subsystemVendorID
            function.subsystemDeviceID = details.subsystemDeviceID
        }
        if let identity, let subvendor = function.subsystemVendorID, let subdevice = function.subsystemDeviceID {
            function.subsystemName = pci.subsystemName(vendor: identity.vendorID, device: identity.deviceID,
                                                       subvendor: subvendor, subdevice: subdevice)
        }
        function.driver = dir.linkName("driver")
        function.iommuGroup = dir.linkName("iommu_group").flatMap { Int($0) }
        function.numaNode = dir.read("numa_node").flatMap { Int($0) }.flatMap { $0 >= 0 ? $0 : nil }
        function.modalias = uevent?.modalias ?? dir.read("modalias")
        if let modalias = function.modalias {
            function.modules = host.modules(matching: modalias)
        }

        // The kernel gives boot_vga to VGA-class functions only, and sriov_totalvfs to PFs
        // (a VF has no SR-IOV capability); NVIDIA's files live on NVIDIA functions. Not asking
        // for what cannot be there saves a failed open per function on a host of NIC VFs.
        let classID = identity.map { $0.classCode >> 8 }
        if classID == 0x0300 || classID == 0x0001 {
            function.bootVGA = dir.read("boot_vga") == "1"
        }
        if !isVF, let total = dir.read("sriov_totalvfs").flatMap({ Int($0) }) {
            function.sriov = SRIOV(totalVFs: total, numVFs: 0)   // numVFs: read under the device lock (fill)
        }
        if isVF { function.physicalFunction = dir.linkName("physfn").flatMap { PCIAddress($0) } }
        if identity?.vendorID == PCIIDs.nvidia && dir.exists("nvidia", "creatable_vgpu_types") {
            function.vgpuInterface = .nvidiaVFIO
        } else if dir.exists("mdev_supported_types") {
            function.vgpuInterface = .mdev
        }
    }
}

extension PCIDiscovery {
    /// What a function shows under its device lock (see LockedAttributes).
    struct LockedReadings {
        var uevent: LockedAttributes.Reading
        var override: LockedAttributes.Reading?
        var numVFs: LockedAttributes.Reading?
    }

    /// uevent, driver_override and sriov_numvfs, which the kernel shows under the device's lock
    /// (uevent_show takes device_lock since "driver core: Fix uevent_show() vs driver detach
    /// race", in 6.1.y among others; driver_override_show and sriov_numvfs_show always have):
    /// read for every function in one bounded batch (uevent says the ids, class and modalias in
    /// one file; a device busy past the deadline is read attribute by attribute after), the
    /// last two for the functions wanted only.
    static func readLocked(_ devices: [PCIDeviceHandle], places: [HostPath?], wanted: Set<PCIAddress>?,
                           root: HostRoot) -> [LockedReadings] {
        var reads = LockedAttributes(root: root, capacity: 1024)
        var slots: [(uevent: Int, override: Int?, numVFs: Int?)] = []
        for (index, (device, place)) in zip(devices, places).enumerated() {
            let address = PCIAddress(device)
            let dir = place ?? HostPath.sysBusPCIDevices.child(address.description)
            let uevent = reads.add(dir.child("uevent"), device: index)
            guard wanted?.contains(address) ?? true else { slots.append((uevent, nil, nil)); continue }
            // sriov_numvfs is missing on all but PFs: a failed open, cheaper than asking first.
            slots.append((uevent, reads.add(dir.child("driver_override"), device: index), reads.add(dir.child("sriov_numvfs"), device: index)))
        }
        let readings = reads.readAll()
        return slots.map { LockedReadings(uevent: readings[$0.uevent], override: $0.override.map { readings[$0] }, numVFs: $0.numVFs.map { readings[$0] }) }
    }

    static let busy = "the kernel holds this device (a probe or an unbind in progress, such as one waiting for a VM to let go) for over \(Int(LockedAttributes.deadline)) s"

    /// The override and VF count into a described function. Where the device was busy past the
    /// deadline that is said, and its VFs are counted from their virtfnN links, which read
    /// without the lock.
    static func fill(_ function: inout PCIFunction, _ readings: LockedReadings, entries: () -> [String]?) {
        switch readings.override {
        case .busy: function.problems.append("driver_override unreadable: \(busy)")
        // "(null)" is how the kernel says no override is set.
        case .value(let override) where !override.isEmpty && override != "(null)": function.driverOverride = override
        default: break
        }
        guard function.sriov != nil else { return }
        switch readings.numVFs {
        case .value(let count): function.sriov?.numVFs = Int(count) ?? 0
        case .busy:
            function.sriov?.numVFs = (entries() ?? []).count { $0.hasPrefix("virtfn") }
            function.problems.append("sriov_numvfs unreadable (VFs counted from their links): \(busy)")
        default: break
        }
    }
}

extension PCIAddress {
    init(_ handle: PCIDeviceHandle) {
        self.init(domain: handle.domain, bus: handle.bus, device: handle.device, function: handle.function)
    }

    /// Bus and device/function number in one, as /proc/bus/pci/devices keys functions.
    var busSlot: UInt16 { UInt16(bus) << 8 | UInt16(device) << 3 | UInt16(function) }
}
