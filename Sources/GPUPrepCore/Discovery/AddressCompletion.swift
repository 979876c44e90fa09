import GPUPrepSystem

/// Shell completion of PCI addresses from the host's `sys/bus/pci/devices`.
public enum AddressCompletion {
    public static func candidates(root: String, prefix: String) -> [String] {
        guard let hostRoot = try? HostRoot(root) else { return [] }
        let names = Sysfs(root: hostRoot).list(.sysBusPCIDevices) ?? []
        return names.filter { $0.hasPrefix(prefix) || $0.dropFirst(5).hasPrefix(prefix) }
    }
}
