import FoundationEssentials
import GPUPrepSystem

/// What a host has prepared for VMs, as the exporters read it: functions on a VFIO driver
/// (vfio-pci or a variant driver), vGPUs on VFs (NVIDIA vGPU 17+: the VF, on nvidia, is the
/// vGPU), and mdev vGPUs with their types and parents.
public struct ExportInventory {
    /// A function a VM can be given whole.
    public struct Passthrough: Sendable {
        public var function: PCIFunction
        /// The VFIO driver it is on (`vfio-pci`, or a variant such as `nvgrace_gpu_vfio_pci`).
        public var driver: String
        public var isVariant: Bool { driver != "vfio-pci" }
    }

    /// An mdev type with vGPUs made: the parents that offer it, and how many the host can run.
    public struct MdevType: Sendable {
        public var id: String
        public var name: String?
        /// PCI parents (GPUs or VFs) offering it, in address order; non-PCI parents (mtty) apart.
        public var parents: [String]
        public var instances: [VGPUInstance]
        /// Made plus what still fits, over its GPUs (nil: not known).
        public var total: Int?
        /// Whether its parents are VFs (an SR-IOV GPU, where every VF says it can make one).
        public var onVFs: Bool
        /// How many more each physical GPU offering it can take (a GPU absent: not known).
        public var creatable: [String: Int] = [:]
    }

    public var passthrough: [Passthrough] = []
    /// VFs carrying an nvidia-vfio vGPU, with it.
    public var vfVGPUs: [(vf: PCIFunction, vgpu: VGPUInstance)] = []
    public var mdevTypes: [MdevType] = []
    /// Every function of the host, by address (for the parents of mdev types).
    public var functions: [PCIAddress: PCIFunction] = [:]
    /// The physical GPU (its PF) of each mdev parent.
    public var gpuOfParent: [String: String] = [:]
    /// The host's name (Proxmox's node), from the root's kernel, else its /etc/hostname.
    public var hostname: String?
    public var iommuGroups: Bool

    /// Reads it, limited to `addresses` when given: those functions, and the vGPUs on those
    /// GPUs, VFs or parents. An address that is not on the host is an error.
    public static func read(_ host: HostContext, only addresses: [PCIAddress] = []) throws(GPUPrepError) -> ExportInventory {
        let functions = try PCIDiscovery(host: host).functions(.all)
        let byAddress = Dictionary(uniqueKeysWithValues: functions.map { ($0.address, $0) })
        for address in addresses where byAddress[address] == nil {
            throw GPUPrepError(.unknownDevice, "no PCI function \(address) on \(host.root.display): run 'gpuprep list --all' to see the addresses")
        }
        let wanted = Set(addresses)
        let holdings = GPUHoldings.read(host)
        func named(_ address: PCIAddress?) -> Bool { wanted.isEmpty || (address.map { wanted.contains($0) } ?? false) }
        func namedVGPU(_ v: VGPUInstance) -> Bool {
            wanted.isEmpty || [v.parent, v.address?.description, holdings.gpu(of: v)].contains { name in
                name.flatMap(PCIAddress.init).map(wanted.contains) ?? false
            }
        }

        var inventory = ExportInventory(iommuGroups: functions.contains { $0.iommuGroup != nil })
        inventory.functions = byAddress
        inventory.hostname = host.sysfs.read(.procHostname) ?? host.sysfs.read(.etcHostname)
        for f in functions.sorted(by: { $0.address < $1.address }) where named(f.address) {
            if let driver = f.driver, VFIORule.isVFIODriver(driver) { inventory.passthrough.append(Passthrough(function: f, driver: driver)) }
        }
        for v in holdings.vgpus.sorted(by: { $0.name < $1.name }) where namedVGPU(v) {
            if v.uuid == nil, let vf = v.address, let function = byAddress[vf] { inventory.vfVGPUs.append((function, v)) }
        }
        let mdevs = holdings.vgpus.filter { $0.uuid != nil && namedVGPU($0) }
        for id in Set(mdevs.map(\.type)).sorted() {
            let instances = mdevs.filter { $0.type == id }.sorted { $0.name < $1.name }
            let offering = holdings.types.filter { $0.id == id }.map(\.parent)
            let parents = Set(offering + instances.map(\.parent)).filter { PCIAddress($0) != nil }.sorted()
            let gpus = Set(instances.map { holdings.gpu(of: $0) })
            let capacity = holdings.capacity.filter { $0.id == id && gpus.contains($0.gpu) }
            let more = capacity.allSatisfy { $0.creatable != nil } ? capacity.reduce(0) { $0 + ($1.creatable ?? 0) } : nil
            let onVFs = parents.contains { PCIAddress($0).flatMap { byAddress[$0]?.physicalFunction } != nil }
            var type = MdevType(id: id, name: instances.first?.typeName, parents: parents, instances: instances,
                                total: more.map { $0 + instances.count }, onVFs: onVFs)
            for entry in holdings.capacity where entry.id == id { if let n = entry.creatable { type.creatable[entry.gpu] = n } }
            for parent in parents { inventory.gpuOfParent[parent] = holdings.gpu(of: parent) }
            inventory.mdevTypes.append(type)
        }
        return inventory
    }

    public var isEmpty: Bool { passthrough.isEmpty && vfVGPUs.isEmpty && mdevTypes.isEmpty }
}
