/// The human view of `gpuprep iommu`: each group, its members, and whether VFIO can take it.
public enum IOMMUText {
    public static func render(_ report: IOMMUReport, style: TextStyle) -> String {
        guard report.topology.enabled else {
            let mdev = report.topology.groups.count
            return "The IOMMU is off on \(report.root): no PCI device is in an IOMMU group, so none can be passed through to a VM.\n"
                + (mdev == 0 ? "" : "The \(mdev) group\(mdev == 1 ? "" : "s") under /sys/kernel/iommu_groups \(mdev == 1 ? "is" : "are") vfio's own, for mdev vGPUs, which work without an IOMMU.\n")
                + "Enable VT-d / AMD-Vi in the firmware and boot with intel_iommu=on (Intel); 'gpuprep check' says what is missing.\n"
        }
        let groups = report.groups
        var out = "IOMMU groups on \(report.root): \(groups.count)\(report.nvidiaOnly ? " with NVIDIA functions" : "")"
        out += ", \(groups.filter(\.viable).count) viable for VFIO\n"
        for group in groups {
            let verdict = group.viable
                ? style.paint("viable", .good)
                : style.paint("not viable: \(group.blockers.count) endpoint\(group.blockers.count == 1 ? "" : "s") on a host driver", .bad)
            out += "\nGroup \(group.id)  \(verdict)\n"
            var table = Table(columns: ["  ADDRESS", "TYPE", "DRIVER", "DEVICE", ""])
            for f in group.members {
                let blocks = VFIORule.blocksGroup(f)
                table.add([
                    Cell("  " + f.address.description),
                    Cell(f.isBridgeHeader ? "bridge" : "endpoint", f.isBridgeHeader ? .dim : .plain),
                    f.driver.map { Cell($0, VFIORule.isVFIODriver($0) ? .good : .plain) } ?? Cell("-", .dim),
                    Cell(deviceText(f)),
                    Cell(blocks ? "blocks VFIO" : "", .bad),
                ])
            }
            for vgpu in group.vgpus {
                table.add([Cell("  " + vgpu.name), Cell("vGPU"), Cell("-", .dim),
                           Cell("\(vgpu.type)\(vgpu.typeName.map { " (\($0))" } ?? "") on \(vgpu.parent)"), Cell("")])
            }
            out += table.render(style).split(separator: "\n").dropFirst().map { $0 + "\n" }.joined()
        }
        return out
    }

    /// "VGA compatible controller [0300]: NVIDIA Corporation TU104 [GeForce RTX 2070 SUPER] [10de:1e84]", as lspci -nn.
    static func deviceText(_ f: PCIFunction) -> String {
        let number = "[\(f.classID.map { hex($0, 4) } ?? "????")]"
        // libpci already appends the number when pci.ids knows the base class but not the sub-class.
        let cls = f.className.map { $0.hasSuffix(number) ? $0 : "\($0) \(number)" } ?? "Class \(number)"
        return cls + ": " + ListText.name(f, withVendor: true)
    }
}

/// The human view of `gpuprep conflicts`.
public enum ConflictsText {
    public static func render(_ report: ConflictsReport, style: TextStyle) -> String {
        let conflicts = report.analysis.conflicts
        var out = ""
        if conflicts.isEmpty {
            out = "No NVIDIA GPU on \(report.root) to check (name devices to check others).\n"
        }
        for conflict in conflicts {
            let f = conflict.device
            let name = [f.deviceName, conflict.group.map { "IOMMU group \($0)" }].compactMap { $0 }.joined(separator: ", ")
            if conflict.blockers.isEmpty {
                out += "\(f.address) \(name): " + style.paint("ready for a VM", .good) + " (nothing else in its group needs the host)\n"
                continue
            }
            let count = conflict.blockers.count
            out += "\(f.address) \(name): " + style.paint("\(count) blocker\(count == 1 ? "" : "s")", .bad) + "\n"
            for blocker in conflict.blockers {
                out += "  - " + blocker.reason + "\n"
            }
            if let explanation = conflict.explanation { out += "  Why: " + explanation + "\n" }
            if let next = conflict.nextStep { out += "  Next: " + next + "\n" }
        }
        for warning in report.analysis.warnings { out += style.paint("warning: ", .warn) + warning + "\n" }
        return out
    }
}
