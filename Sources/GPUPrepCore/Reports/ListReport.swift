/// The result of `gpuprep list`, as published in the JSON contract (schema version 1).
public struct ListReport: Encodable, Sendable {
    public static let schemaVersion = 1

    public struct Device: Encodable, Sendable {
        public var function: PCIFunction

        enum Keys: String, CodingKey {
            case address, kind, vendorId, deviceId, subsystemVendorId, subsystemDeviceId, classCode
            case vendorName, deviceName, subsystemName, className
            case driver, driverOverride, modules, iommuGroup, numaNode, bootVGA
            case physicalFunction, sriov, vgpuInterface, companions, companionOf, problems
        }

        // Written out by hand: the contract wants absent values as null, never as missing keys.
        public func encode(to encoder: Encoder) throws {
            let f = function
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(f.address, forKey: .address)
            try c.encode(f.kind, forKey: .kind)
            try c.encode(f.vendorID.map { hex($0, 4) }, forKey: .vendorId)
            try c.encode(f.deviceID.map { hex($0, 4) }, forKey: .deviceId)
            try c.encode(f.subsystemVendorID.map { hex($0, 4) }, forKey: .subsystemVendorId)
            try c.encode(f.subsystemDeviceID.map { hex($0, 4) }, forKey: .subsystemDeviceId)
            try c.encode(f.classCode.map { hex($0, 6) }, forKey: .classCode)
            try c.encode(f.vendorName, forKey: .vendorName)
            try c.encode(f.deviceName, forKey: .deviceName)
            try c.encode(f.subsystemName, forKey: .subsystemName)
            try c.encode(f.className, forKey: .className)
            try c.encode(f.driver, forKey: .driver)
            try c.encode(f.driverOverride, forKey: .driverOverride)
            try c.encode(f.modules, forKey: .modules)
            try c.encode(f.iommuGroup, forKey: .iommuGroup)
            try c.encode(f.numaNode, forKey: .numaNode)
            try c.encode(f.bootVGA, forKey: .bootVGA)
            try c.encode(f.physicalFunction, forKey: .physicalFunction)
            try c.encode(f.sriov, forKey: .sriov)
            try c.encode(f.vgpuInterface, forKey: .vgpuInterface)
            try c.encode(f.companions, forKey: .companions)
            try c.encode(f.companionOf, forKey: .companionOf)
            try c.encode(f.problems, forKey: .problems)
        }
    }

    public var root: String
    public var kernelRelease: String?
    public var all: Bool
    public var devices: [Device]
    /// How many PCI functions the host has in all (so "no GPU" can say how many were looked at).
    public var scannedFunctions: Int

    enum Keys: String, CodingKey { case schemaVersion, devices }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(Self.schemaVersion, forKey: .schemaVersion)
        try c.encode(devices, forKey: .devices)
    }

    /// Builds the report for a scope.
    public static func make(host: HostContext, scope: DiscoveryScope) throws(GPUPrepError) -> ListReport {
        let discovery = PCIDiscovery(host: host)
        let functions = try discovery.functions(scope)
        let all: Bool
        if case .all = scope { all = true } else { all = false }
        return ListReport(root: host.root.display, kernelRelease: host.kernelRelease, all: all,
                          devices: functions.map { Device(function: $0) },
                          scannedFunctions: try host.pci().functions.count)
    }
}
