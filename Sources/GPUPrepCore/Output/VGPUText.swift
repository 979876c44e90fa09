/// The human views of `types` and `vgpus`.
public enum VGPUText {
    /// Per physical GPU, each type it offers: how many more fit on that GPU (not per parent: on
    /// an SR-IOV card every free VF offers one while the card has room for fewer), which parents
    /// can make one now, and what stops it taking more.
    public static func types(_ report: TypesReport, style: TextStyle) -> String {
        guard !report.types.isEmpty || !report.capacity.isEmpty else {
            return "No vGPU types on \(report.root): no mdev parent (/sys/class/mdev_bus) and no NVIDIA VF with vGPU files.\n"
                + "For NVIDIA vGPU install the vGPU host driver; on vGPU 17+ also enable the VFs (gpuprep list shows SR-IOV).\n"
        }
        var out = "vGPU types on \(report.root), per GPU\n"
        var gpus: [String] = []
        for entry in report.capacity where !gpus.contains(entry.gpu) { gpus.append(entry.gpu) }
        for gpu in gpus {
            let entries = report.capacity.filter { $0.gpu == gpu }
            out += "\n\(gpu)\n"
            var table = Table(columns: ["TYPE", "NAME", "INTERFACE", "FRAMEBUFFER", "MORE", "PARENTS", "WHY NOT MORE"])
            for entry in entries {
                let parents = entry.parents.isEmpty ? "-" : entry.parents.count == 1 ? entry.parents[0] : "\(entry.parents.count) (\(entry.parents[0]), ...)"
                let more = entry.creatable.map(String.init) ?? "?"
                let why = entry.limitedBy.map { "\($0.rawValue): " + (entry.reason ?? "") } ?? entry.reason ?? "-"
                table.add([Cell(entry.id), Cell(entry.name ?? "-"), Cell(entry.interface.rawValue),
                           Cell(entry.framebufferMiB.map(VGPUCapacityModel.gib) ?? "-"),
                           Cell(more, entry.creatable == 0 ? .dim : entry.creatable == nil ? .warn : .good), Cell(parents), Cell(why)])
            }
            out += table.render(style)
        }
        return out
    }

    public static func vgpus(_ report: VGPUsReport, style: TextStyle) -> String {
        guard !report.vgpus.isEmpty else { return "No vGPUs on \(report.root).\n" }
        var table = Table(columns: ["VGPU", "INTERFACE", "TYPE", "NAME", "PARENT", "IOMMU", "USED BY"])
        for v in report.vgpus {
            table.add([Cell(v.name), Cell(v.interface.rawValue),
                       Cell(v.type), Cell(v.typeName ?? "-"), Cell(v.parent), Cell(v.iommuGroup.map(String.init) ?? "-"),
                       Cell(v.holders.isEmpty ? "-" : v.holders.map(\.described).joined(separator: ", "), v.holders.isEmpty ? .dim : .warn)])
        }
        return table.render(style)
    }
}
