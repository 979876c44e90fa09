/// The human views of `types` and `vgpus`.
public enum VGPUText {
    /// Types grouped by name across parents: 16 VFs offering L40S-24Q are one row, with the
    /// number of parents and how many more can be made in all.
    public static func types(_ report: TypesReport, style: TextStyle) -> String {
        guard !report.types.isEmpty else {
            return "No vGPU types on \(report.root): no mdev parent (/sys/class/mdev_bus) and no NVIDIA VF with vGPU files.\n"
                + "For NVIDIA vGPU install the vGPU host driver; on vGPU 17+ also enable the VFs (gpuprep list shows SR-IOV).\n"
        }
        struct Row { var type: VGPUType; var parents: [String]; var available: Int? }
        var rows: [Row] = []
        for type in report.types {
            if let index = rows.firstIndex(where: { $0.type.id == type.id && $0.type.name == type.name && $0.type.interface == type.interface }) {
                rows[index].parents.append(type.parent)
                if let more = type.availableInstances { rows[index].available = (rows[index].available ?? 0) + more }
            } else {
                rows.append(Row(type: type, parents: [type.parent], available: type.availableInstances))
            }
        }
        var table = Table(columns: ["TYPE", "NAME", "INTERFACE", "AVAILABLE", "FRAMEBUFFER", "MAX/GPU", "PARENTS"])
        for row in rows {
            let parents = row.parents.count == 1 ? row.parents[0] : "\(row.parents.count) (\(row.parents[0]), ...)"
            table.add([Cell(row.type.id), Cell(row.type.name ?? "-"), Cell(row.type.interface.rawValue),
                       Cell(row.available.map(String.init) ?? "?", row.available == 0 ? .dim : .good),
                       Cell(row.type.properties["framebuffer"] ?? "-"), Cell(row.type.properties["max_instance"] ?? "-"),
                       Cell(parents)])
        }
        return "vGPU types on \(report.root)\n\n" + table.render(style)
    }

    public static func vgpus(_ report: VGPUsReport, style: TextStyle) -> String {
        guard !report.vgpus.isEmpty else { return "No vGPUs on \(report.root).\n" }
        var table = Table(columns: ["VGPU", "INTERFACE", "TYPE", "NAME", "PARENT", "IOMMU"])
        for v in report.vgpus {
            table.add([Cell(v.uuid?.uuidString.lowercased() ?? v.address?.description ?? "?"), Cell(v.interface.rawValue),
                       Cell(v.type), Cell(v.typeName ?? "-"), Cell(v.parent), Cell(v.iommuGroup.map(String.init) ?? "-")])
        }
        return table.render(style)
    }
}
