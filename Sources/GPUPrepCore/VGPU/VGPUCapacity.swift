/// How many more vGPUs of one type one physical GPU can take now, and what stops it taking more.
public struct VGPUCapacity: Sendable, Equatable {
    public enum Limit: String, Sendable, Encodable {
        /// The kernel's own count: its parents (or free VFs) offer no more.
        case parents
        /// The GPU's framebuffer: what its vGPUs use leaves room for no more.
        case framebuffer
        /// The GPU's placement mode forbids this type now (equal-size mode holding another size).
        case mode
    }

    /// The physical GPU (a PCI address), or a non-PCI mdev parent's name.
    public var gpu: String
    public var interface: VGPUInterface
    public var id: String
    public var name: String?
    /// How many more fit now; nil when it cannot be known (said in `reason`).
    public var creatable: Int?
    public var limitedBy: Limit?
    /// Why not more, in words (nil when nothing is known to limit it).
    public var reason: String?
    /// The type's framebuffer in MiB, when NVIDIA says (description, or the name's `-24Q`).
    public var framebufferMiB: Int?
    /// The parents (the GPU itself, or its VFs) that can make one now, in address order.
    public var parents: [String]
}

/// The capacity model, as a pure function of what the host shows: the types each parent offers
/// with the kernel's counts, the vGPUs that exist, and which physical GPU each parent belongs to.
///
/// Three bounds, the smallest wins:
/// - **parents**: mdev's `available_instances` added up over the GPU's parents; for NVIDIA's
///   per-VF interface, the free VFs whose `creatable_vgpu_types` lists the type. On an SR-IOV card
///   every free VF says 1 while the card has room for one more, so this overstates a card.
/// - **framebuffer**: NVIDIA gives each type a framebuffer and a per-GPU `max_instance`
///   (mdev descriptions); the GPU holds `framebuffer x max_instance`, less what its vGPUs use.
///   The per-VF interface gives neither: the size comes from the type name (NVIDIA names types
///   `<board>-<GB><series>`, e.g. `L40S-24Q`), and the card's total from the largest type an empty
///   card of the same model lists (its whole-card type, `L40S-48Q`). Without one, the figure is
///   unknown and said to be.
/// - **mode**: "By default, a GPU operates in equal-size mode, where all vGPUs on the GPU must have
///   the same amount of frame buffer"; mixed sizes need mixed-size mode (`nvidia-smi vgpu -shm 1`)
///   (NVIDIA vGPU documentation, "vGPU profiles"; NVML's HETEROGENEOUS_TIMESLICE_SIZES capability).
///   Series may mix at one size: a real A2 holding 4 GB Q, A and C vGPUs offers every 4 GB type and
///   no other size. A GPU whose vGPUs already differ in size, or whose kernel offers another size
///   next to them, is in mixed-size mode and gets no mode bound.
public enum VGPUCapacityModel {
    /// One physical GPU: the types offered on it (by any of its parents) and the vGPUs on it.
    public struct GPU: Sendable {
        public var name: String
        /// The same model (`vendor:device:subvendor:subdevice`), whose cards have the same framebuffer.
        public var model: String?
        public var types: [VGPUType]
        public var vgpus: [VGPUInstance]
        /// Per-VF GPUs: every type its model has, from VGPUCatalogue (none listed, all known).
        public var catalogue: [VGPUType]
        /// The whole card's framebuffer, where the catalogue or gpuprep's record knows it.
        public var catalogueTotalMiB: Int?
        public init(name: String, model: String?, types: [VGPUType], vgpus: [VGPUInstance], catalogue: [VGPUType] = [], catalogueTotalMiB: Int? = nil) {
            self.name = name; self.model = model; self.types = types; self.vgpus = vgpus; self.catalogue = catalogue
            self.catalogueTotalMiB = catalogueTotalMiB
        }
    }

    /// Whether a GPU runs in mixed-size mode, as its vGPUs and lists show it: it holds two
    /// sizes, or offers another size beside the one it holds (equal-size mode would not).
    public static func mixedSize(held: Set<Int>, offered: Set<Int>) -> Bool {
        held.count > 1 || (!held.isEmpty && !offered.subtracting(held).isEmpty)
    }

    public static func capacity(of gpus: [GPU]) -> [VGPUCapacity] {
        // Per-VF cards: the total framebuffer of each model, from an empty card; and every type a
        // card of the model lists, since a card's lists shrink to what still fits.
        var totalByModel: [String: Int] = [:]
        var typesByModel: [String: [VGPUType]] = [:]
        for gpu in gpus where gpu.types.contains(where: { $0.interface == .nvidiaVFIO }) {
            guard let model = gpu.model else { continue }
            for type in gpu.types where !typesByModel[model, default: []].contains(where: { $0.id == type.id }) {
                typesByModel[model, default: []].append(type)
            }
            if gpu.vgpus.isEmpty, let largest = gpu.types.compactMap({ framebufferMiB($0) }).max() {
                totalByModel[model] = max(totalByModel[model] ?? 0, largest)
            }
        }
        // The catalogue names every type of a model, and knows a whole card's total: a host
        // whose cards are all in use still knows both.
        for gpu in gpus where !gpu.catalogue.isEmpty || gpu.catalogueTotalMiB != nil {
            guard let model = gpu.model else { continue }
            for type in gpu.catalogue where !typesByModel[model, default: []].contains(where: { $0.id == type.id }) {
                typesByModel[model, default: []].append(type)
            }
            if totalByModel[model] == nil, let total = gpu.catalogueTotalMiB { totalByModel[model] = total }
        }
        return gpus.flatMap { gpu in
            capacity(of: gpu, modelTypes: gpu.model.flatMap { typesByModel[$0] } ?? [],
                     perVFTotal: gpu.model.flatMap { totalByModel[$0] })
        }
    }

    static func capacity(of gpu: GPU, modelTypes: [VGPUType], perVFTotal: Int?) -> [VGPUCapacity] {
        // The types, once each, in the order the parents list them; per-VF cards also name the
        // types their model offers that their own lists no longer show.
        // The types its vGPUs run count too: a full per-VF card lists nothing at all.
        let running = gpu.vgpus.map { VGPUType(parent: gpu.name, interface: $0.interface, id: $0.type, name: $0.typeName,
                                               description: nil, deviceAPI: nil, availableInstances: 0, properties: [:]) }
        var offered: [VGPUType] = []
        for type in gpu.types + modelTypes.filter({ $0.interface == .nvidiaVFIO }) + running
        where !offered.contains(where: { $0.id == type.id && $0.interface == type.interface }) {
            offered.append(type)
        }
        // What the vGPUs on the GPU use; nil when one's size is unknown.
        let sizeOf: (VGPUInstance) -> Int? = { vgpu in
            let known = (gpu.types + modelTypes).first { $0.id == vgpu.type }
            return known.flatMap(framebufferMiB) ?? vgpu.typeName.flatMap(framebufferMiB(name:))
        }
        let sizes = gpu.vgpus.map(sizeOf)
        let used: Int? = sizes.contains(where: { $0 == nil }) ? nil : sizes.reduce(0) { $0 + $1! }
        let heldSizes = Set(sizes.compactMap { $0 })
        let offeredSizes = Set(gpu.types.filter { ($0.availableInstances ?? 0) > 0 }.compactMap(framebufferMiB))
        let mixed = mixedSize(held: heldSizes, offered: offeredSizes)

        return offered.map { type in
            let parents = gpu.types.filter { $0.id == type.id && $0.interface == type.interface && ($0.availableInstances ?? 0) > 0 }
                .map(\.parent).sorted()
            let kernelCounts = gpu.types.filter { $0.id == type.id && $0.interface == type.interface }.map(\.availableInstances)
            let byParents: Int? = kernelCounts.contains(where: { $0 == nil }) ? nil : kernelCounts.reduce(0) { $0 + $1! }
            let size = framebufferMiB(type)
            var entry = VGPUCapacity(gpu: gpu.name, interface: type.interface, id: type.id, name: type.name, creatable: byParents,
                                     limitedBy: nil, reason: nil, framebufferMiB: size, parents: parents)

            // The framebuffer bound: the GPU's total for this type, less what is in use.
            var total: Int?
            if let size, let max = type.properties["max_instance"].flatMap({ Int($0) }) { total = size * max }
            else if type.interface == .nvidiaVFIO { total = perVFTotal }
            var byFramebuffer: Int?
            if let size, size > 0, let total, let used { byFramebuffer = Swift.max(0, (total - used) / size) }
            let byMode: Int? = (!mixed && heldSizes.count == 1 && size != nil && !heldSizes.contains(size!)) ? 0 : nil

            let count = gpu.vgpus.count
            let inUse = "\(count) vGPU\(count == 1 ? "" : "s")"
            if byMode == 0 {
                entry.creatable = 0
                entry.limitedBy = .mode
                entry.reason = "equal-size (NVIDIA's default): its \(inUse) \(count == 1 ? "is" : "are") \(gib(heldSizes.first!)), so only \(gib(heldSizes.first!)) types fit"
                return entry
            }
            switch (byParents, byFramebuffer) {
            case let (parentsCount?, fb?):
                entry.creatable = Swift.min(parentsCount, fb)
                if fb <= parentsCount {
                    entry.limitedBy = .framebuffer
                    // `total` is this type's share of the card (max_instance × size on mdev), which
                    // vGPUs of larger types can exceed.
                    entry.reason = used == 0
                        ? "\(gib(total!)) has room for \(total! / size!) at \(gib(size!)) each"
                        : used! > total!
                        ? "\(inUse) use \(gib(used!)); an empty GPU has room for only \(total! / size!) of this type (\(gib(total!)))"
                        : "\(gib(used!)) of \(gib(total!)) in use by \(inUse)"
                } else {
                    entry.limitedBy = .parents
                    entry.reason = (type.interface == .nvidiaVFIO
                        ? "\(parentsCount == 0 ? "no" : "only \(parentsCount)") free VF\(parentsCount == 1 ? " lists" : "s list") it"
                        : "its parents offer \(parentsCount == 0 ? "none" : "only \(parentsCount)")") + " (the framebuffer has room for \(fb))"
                }
            case let (parentsCount?, nil) where type.interface == .nvidiaVFIO && parentsCount > 1:
                // Listed means at least one fits; how many more, only the card's total could say.
                entry.creatable = nil
                entry.reason = "between 1 and \(parentsCount): \(parentsCount) free VFs list it, but the card's total framebuffer is unknown while it holds vGPUs and no empty card of its model is on this host"
            case (_?, nil):
                if byParents == 0 {
                    entry.limitedBy = .parents
                    entry.reason = type.interface == .nvidiaVFIO && !gpu.vgpus.isEmpty
                        ? "no free VF lists it: the card is full, or its vGPUs leave no room of this size"
                        : "no parent offers it now"
                }
            case (nil, _):
                entry.creatable = nil
                entry.reason = "a parent does not say how many it can make (no available_instances)"
            }
            return entry
        }
    }

    /// A type's framebuffer in MiB: NVIDIA's description (`framebuffer=4096M`), else its name.
    public static func framebufferMiB(_ type: VGPUType) -> Int? {
        if let text = type.properties["framebuffer"], let value = Int(text.dropLast()), value > 0 {
            switch text.last {
            case "M": return value
            case "G": return value * 1024
            default: break
            }
        }
        return type.name.flatMap(framebufferMiB(name:))
    }

    /// `NVIDIA L40S-24Q` → 24 GiB: NVIDIA names time-sliced types `<board>-<GB><series>` with
    /// series B, Q, A or C. Names that do not follow it (MIG-backed `A100-1-5C`, `M60-0B` of half
    /// a GB, other vendors' types) have no size here.
    public static func framebufferMiB(name: String) -> Int? {
        guard let dash = name.lastIndex(of: "-") else { return nil }
        let suffix = name[name.index(after: dash)...]
        guard let series = suffix.last, "BQAC".contains(series) else { return nil }
        guard let gigabytes = Int(suffix.dropLast()), gigabytes > 0, suffix.dropLast().allSatisfy(\.isNumber) else { return nil }
        // MIG-backed types read <board>-<slices>-<GB><series>: the part before is a number too.
        let before = name[..<dash]
        if let previous = before.lastIndex(of: "-"), Int(before[before.index(after: previous)...]) != nil { return nil }
        return gigabytes * 1024
    }

    static func gib(_ mib: Int) -> String {
        mib % 1024 == 0 ? "\(mib / 1024) GB" : "\(mib) MB"
    }
}
