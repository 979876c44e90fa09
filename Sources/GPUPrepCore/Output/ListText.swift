/// The human view of `gpuprep list`: one row per function, companions right under their GPU.
public enum ListText {
    public static func render(_ report: ListReport, style: TextStyle) -> String {
        let functions = report.devices.map(\.function)
        guard !functions.isEmpty else {
            if report.all {
                return "No PCI functions found under \(report.root).\n"
            }
            return "No NVIDIA GPU found on \(report.root) (\(report.scannedFunctions) PCI functions scanned).\n"
                + "Run 'gpuprep list --all' to see every PCI function.\n"
        }
        var table = Table(columns: ["ADDRESS", "KIND", "DEVICE", "DRIVER", "IOMMU", "NUMA", "SR-IOV", "VGPU", "MODULES", "NOTES"])
        for f in functions {
            table.add([
                Cell(f.address.description),
                Cell(f.kind.rawValue, f.kind == .gpu ? .strong : .plain),
                Cell(name(f, withVendor: f.kind == .other)),
                driverCell(f),
                Cell(f.iommuGroup.map(String.init) ?? "-", f.iommuGroup == nil ? .dim : .plain),
                Cell(f.numaNode.map(String.init) ?? "-", f.numaNode == nil ? .dim : .plain),
                Cell(f.sriov.map { "\($0.numVFs)/\($0.totalVFs)" } ?? "-", f.sriov == nil ? .dim : .plain),
                Cell(f.vgpuInterface?.rawValue ?? "-", f.vgpuInterface == nil ? .dim : .plain),
                Cell(f.modules.map { $0.isEmpty ? "-" : $0.joined(separator: ",") } ?? "?"),
                Cell(notes(f).joined(separator: "; "), f.bootVGA || !f.problems.isEmpty ? .warn : .plain),
            ])
        }
        var out = "\(report.all ? "PCI functions" : "NVIDIA devices") on \(report.root)"
        if let release = report.kernelRelease { out += " (kernel \(release))" }
        out += "\n\n" + table.render(style) + "\n" + summary(functions) + "\n"
        return out
    }

    /// "TU104 [GeForce RTX 2070 SUPER] [10de:1e84]", as `lspci -nn` names it (with the vendor's
    /// name first when asked: NVIDIA's own rows go without it).
    static func name(_ f: PCIFunction, withVendor: Bool) -> String {
        guard let vendor = f.vendorID, let device = f.deviceID else { return "(unreadable)" }
        let ids = "[\(hex(vendor, 4)):\(hex(device, 4))]"
        var text = f.deviceName ?? "Device"
        if withVendor, let vendorName = f.vendorName { text = vendorName + " " + text }
        return text + " " + ids
    }

    static func driverCell(_ f: PCIFunction) -> Cell {
        guard let driver = f.driver else { return Cell("-", .dim) }
        if driver == "vfio-pci" || driver.hasSuffix("vfio_pci") || driver.hasSuffix("-vfio-pci") { return Cell(driver, .good) }
        return Cell(driver)
    }

    static func notes(_ f: PCIFunction) -> [String] {
        var notes: [String] = []
        if f.bootVGA { notes.append("boot VGA") }
        if let override = f.driverOverride { notes.append("override=\(override)") }
        if let pf = f.physicalFunction { notes.append("VF of \(pf.short)") }
        if let gpu = f.companionOf { notes.append("companion of \(gpu.short)") }
        if !f.companions.isEmpty { notes.append("companions " + f.companions.map(\.short).joined(separator: ",")) }
        if f.iommuGroup == nil && f.kind != .other { notes.append("no IOMMU group") }
        notes.append(contentsOf: f.problems.map { "unreadable: \($0)" })
        return notes
    }

    static func summary(_ functions: [PCIFunction]) -> String {
        func count(_ kind: DeviceKind, _ word: String) -> String? {
            let n = functions.filter { $0.kind == kind }.count
            return n == 0 ? nil : "\(n) \(word)\(n == 1 ? "" : (word.hasSuffix("ch") ? "es" : "s"))"
        }
        let parts = [count(.gpu, "GPU"), count(.vf, "VF"), count(.companion, "companion function"),
                     count(.nvswitch, "NVSwitch"), count(.other, "other function")].compactMap { $0 }
        return parts.joined(separator: ", ") + "."
    }
}
