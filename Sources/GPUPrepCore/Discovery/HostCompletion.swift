import GPUPrepSystem

/// Shell completion from the host (or the --root given on the line): each argument completes
/// with what it can name there, not with every PCI function.
public enum HostCompletion {
    public enum Kind: Sendable {
        /// Any PCI function (list, conflicts, bind, unbind).
        case address
        /// GPUs whose VFs can be enabled (sriov_totalvfs > 0).
        case sriovCapable
        /// What can hold vGPUs: mdev parents (by name, PCI or not), NVIDIA VFs, and their GPUs.
        case vgpuParent
        /// Existing vGPUs: mdev UUIDs and the VFs running one.
        case vgpu
        /// vGPU type ids and short names.
        case vgpuType
        /// Drivers bind takes: vfio-pci, auto, and the VFIO drivers the host has.
        case driver
    }

    public static func candidates(_ kind: Kind, root: String, prefix: String) -> [String] {
        guard let host = try? HostContext(root: root) else { return [] }
        let sysfs = host.sysfs
        let discovery = VGPUDiscovery(host: host)
        let words: [String]
        switch kind {
        case .address:
            words = sysfs.list(.sysBusPCIDevices) ?? []
        case .sriovCapable:
            words = (sysfs.list(.sysBusPCIDevices) ?? []).filter {
                (sysfs.read(HostPath.sysBusPCIDevices.child($0, "sriov_totalvfs")).flatMap { Int($0) } ?? 0) > 0
            }
        case .vgpuParent:
            let parents = discovery.mdevParents() + discovery.nvidiaVFs().map(\.description)
            let gpus = parents.compactMap { PCIAddress($0) == nil ? nil : sysfs.linkName(HostPath.sysBusPCIDevices.child($0, "physfn")) }
            words = Array(Set(parents + gpus)).sorted()
        case .vgpu:
            words = discovery.instances().map(\.name)
        case .vgpuType:
            // Ids, and names without their vendor prefix (`T4-2Q`, which create takes): a name
            // with a space would be split into two words by bash's completion.
            let types = discovery.types()
            words = Array(Set(types.map(\.id) + types.compactMap { $0.name?.split(separator: " ").last.map(String.init) })).sorted()
        case .driver:
            let vfio = (sysfs.list(.sysBusPCIDrivers) ?? []).filter(VFIORule.isVFIODriver)
            words = Array(Set(["vfio-pci", "auto"] + vfio)).sorted()
        }
        return words.flatMap { word in matching(word, prefix: prefix) }
    }

    /// A word that starts with what was typed; a PCI address in domain 0000 also in the short
    /// form the commands accept (`3b:00.0`), when that is how it is being typed.
    static func matching(_ word: String, prefix: String) -> [String] {
        if word.hasPrefix(prefix) { return [word] }
        if PCIAddress(word) != nil, word.hasPrefix("0000:"), word.dropFirst(5).hasPrefix(prefix) { return [String(word.dropFirst(5))] }
        return []
    }
}
