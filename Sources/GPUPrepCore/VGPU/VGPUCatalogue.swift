import GPUPrepSystem

/// What a vGPU type id means on a card model, whether or not any list names it now.
///
/// NVIDIA's per-VF interface (vGPU 17+) lists in `creatable_vgpu_types` only what can still be
/// made: a VF running a vGPU lists nothing, and once a card is full every VF lists only the
/// header, so the name and size of the types its vGPUs run are in no list at all (NVIDIA
/// kubevirt-gpu-device-plugin commits c13643e3, c3abc4d4). Type ids are unique only within a
/// card model. A name is looked up, in order, in:
/// 1. the kernel's lists, as read now (a free VF of the same model on the host names it);
/// 2. NVIDIA's catalogue, `/usr/share/nvidia/vgpu/vgpuConfig.xml`, installed with the vGPU
///    manager (see NVIDIAVGPUConfig);
/// 3. what gpuprep recorded of the lists it saw when it made vGPUs of the model
///    (`/var/lib/gpuprep/vgpu-types`), so that a host gpuprep filled keeps its names with no
///    catalogue file at all.
public struct VGPUCatalogue: Sendable {
    public struct Entry: Sendable, Equatable {
        public var id: Int
        public var name: String
        public var framebufferMiB: Int?
        public var maxInstances: Int?
        public init(id: Int, name: String, framebufferMiB: Int? = nil, maxInstances: Int? = nil) {
            self.id = id; self.name = name; self.framebufferMiB = framebufferMiB; self.maxInstances = maxInstances
        }
    }

    /// Model (`10de:26b9`) -> id -> entry.
    public private(set) var models: [String: [Int: Entry]] = [:]
    /// Model -> a whole card's framebuffer in MiB, from a source that knows it: NVIDIA's
    /// catalogue (its largest type is the whole card), or gpuprep's record of an empty card's
    /// list. Never from lists of cards in use: those shrink to what still fits.
    public var totals: [String: Int] = [:]

    public init() {}

    /// The catalogue file and the record, read (bounded) from the host. The kernel's lists are
    /// added by the caller (`adding`), as they win over both.
    public static func read(_ host: HostContext) -> VGPUCatalogue {
        var catalogue = VGPUCatalogue()
        let files = AtomicFile(root: host.root)
        let record = files.read(.vgpuTypeRecord)
        for (model, entries) in TypeRecord.parse(record) {
            for entry in entries { catalogue.add(model: model, entry) }
        }
        catalogue.totals = TypeRecord.totals(record)
        if let bytes = host.sysfs.readBytes(.nvidiaVGPUConfig) {
            for (model, entries) in NVIDIAVGPUConfig.parse(bytes) {
                for entry in entries { catalogue.add(model: model, entry) }
                if let largest = entries.compactMap(\.framebufferMiB).max() { catalogue.totals[model] = largest }
            }
        }
        return catalogue
    }

    /// Adds (or replaces) what a model's type is.
    public mutating func add(model: String, _ entry: Entry) {
        var known = entry
        // A list names the type but gives no size: keep the size another source had.
        if let old = models[model]?[entry.id], old.name == entry.name {
            known.framebufferMiB = known.framebufferMiB ?? old.framebufferMiB
            known.maxInstances = known.maxInstances ?? old.maxInstances
        }
        models[model, default: [:]][entry.id] = known
    }

    public func entry(model: String, id: Int) -> Entry? { models[model]?[id] }

    /// A model's types in id order.
    public func entries(model: String) -> [Entry] { (models[model] ?? [:]).values.sorted { $0.id < $1.id } }

    /// `0x10de:0x26b9:...` (GPUHoldings.model) or `10de:26b9` -> `10de:26b9`.
    public static func modelKey(_ model: String) -> String? {
        let parts = model.split(separator: ":").prefix(2).map { $0.lowercased().hasPrefix("0x") ? String($0.dropFirst(2)).lowercased() : $0.lowercased() }
        guard parts.count == 2, parts.allSatisfy({ $0.count == 4 && UInt16($0, radix: 16) != nil }) else { return nil }
        return parts.joined(separator: ":")
    }

    /// The record gpuprep keeps of the names it saw listed: one line per model and type,
    /// `10de:26b9 1155 NVIDIA L40S-24Q`, and a whole card's framebuffer when it saw an empty
    /// card list its types, `10de:26b9 total 49152M`. Names are NVIDIA's, checked to be printable
    /// and single-line before they are written; anything else in the file is ignored.
    public enum TypeRecord {
        public static func totals(_ text: String?) -> [String: Int] {
            var result: [String: Int] = [:]
            for line in (text ?? "").split(separator: "\n") where !line.hasPrefix("#") {
                let parts = line.split(separator: " ")
                guard parts.count == 3, parts[1] == "total", parts[2].hasSuffix("M"), let mib = Int(parts[2].dropLast()), mib > 0,
                      let model = modelKey(String(parts[0])) else { continue }
                result[model] = mib
            }
            return result
        }

        public static let header = "# vGPU type names gpuprep saw listed, by card model and id (see 'gpuprep types'). Written by gpuprep.\n"

        public static func parse(_ text: String?) -> [String: [Entry]] {
            var result: [String: [Entry]] = [:]
            for line in (text ?? "").split(separator: "\n") where !line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 2)
                guard parts.count == 3, let model = modelKey(String(parts[0])), let id = Int(parts[1]), id > 0 else { continue }
                let name = String(parts[2])
                guard isRecordable(name) else { continue }
                result[model, default: []].append(Entry(id: id, name: name))
            }
            return result
        }

        /// The record with `seen` (and whole cards' totals) added; nil when it already holds all of them.
        public static func merged(_ text: String?, adding seen: [String: [Entry]], totals seenTotals: [String: Int] = [:]) -> String? {
            var known = parse(text)
            var totals = totals(text)
            var changed = false
            for (model, total) in seenTotals where totals[model] != total { totals[model] = total; changed = true }
            for (model, entries) in seen {
                for entry in entries where isRecordable(entry.name) {
                    if let at = known[model]?.firstIndex(where: { $0.id == entry.id }) {
                        if known[model]![at].name != entry.name { known[model]![at].name = entry.name; changed = true }
                    } else {
                        known[model, default: []].append(Entry(id: entry.id, name: entry.name)); changed = true
                    }
                }
            }
            guard changed || text == nil && !(known.isEmpty && totals.isEmpty) else { return nil }
            var out = header
            for model in Set(known.keys).union(totals.keys).sorted() {
                if let total = totals[model] { out += "\(model) total \(total)M\n" }
                for entry in (known[model] ?? []).sorted(by: { $0.id < $1.id }) { out += "\(model) \(entry.id) \(entry.name)\n" }
            }
            return out
        }

        /// A name that can be written on one line and read back the same.
        static func isRecordable(_ name: String) -> Bool {
            !name.isEmpty && name.count <= 128 && name.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7f }
                && name.first != " " && name.last != " "
        }
    }
}
