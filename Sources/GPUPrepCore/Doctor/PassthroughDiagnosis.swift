import GPUPrepSystem

/// Why a GPU cannot be given to a VM, in the order the causes stand in the way: the IOMMU, the
/// IOMMU group, who holds the card, the drivers of its functions; then what makes it fragile
/// once given (reset, boot VGA, BARs larger than a VM's default MMIO window), said as warnings.
struct PassthroughDiagnosis: GPUDiagnosisWalk {
    static let purpose = Purpose.passthrough
    let host: DoctorHost
    let gpu: PCIFunction

    func run() -> [DiagnosisStep] {
        var chain = DiagnosisChain()
        chain.then(iommu)
        chain.then(group)
        chain.then(holders)
        chain.then(drivers)
        chain.then(reset)
        chain.then(bootVGA)
        chain.then(bars)
        return chain.steps
    }

    func iommu() -> DiagnosisStep? {
        let units = sysfs.list(.sysClassIOMMU) ?? []
        var evidence = [Evidence(.sysClassIOMMU, units.isEmpty ? "empty" : units.sorted().joined(separator: " ")),
                        Evidence(.procCmdline, sysfs.read(.procCmdline))]
        if let loader = host.snapshot.bootLoader { evidence.append(Evidence(loader.file, loader.configured.parameters.joined(separator: " "))) }
        if host.snapshot.iommuActive {
            return step("iommu", .pass, "the IOMMU is on (\(units.count) unit\(units.count == 1 ? "" : "s"))", evidence)
        }
        let finding = Checks.enabled(host.snapshot)
        return step("iommu", .fail, "the kernel runs without an IOMMU: no device can be passed through", remedy: finding.remedy, evidence)
    }

    func group() -> DiagnosisStep? {
        let finding = GPUChecks.group(host.snapshot, gpu)
        let members = gpu.iommuGroup.flatMap { host.snapshot.topology.group($0) }?.members.map { "\($0.address.short) (\($0.driver ?? "no driver"))" }
        let evidence = [Evidence(path: HostPath.sysKernelIOMMUGroups.string + "/\(gpu.iommuGroup.map(String.init) ?? "?")/devices",
                                 value: members?.joined(separator: ", "))]
        guard finding.status != .skip else { return nil }
        return step("group", finding.status == .pass ? .pass : .fail, finding.summary, remedy: finding.remedy, evidence)
    }

    /// Anything but a VM holding the card's nodes stops a bind; a VM holding it on VFIO is the
    /// GPU passed through as meant.
    func holders() -> DiagnosisStep? {
        let held = host.holders.cardHolders(gpu, among: host.functions).map(\.holder)
        let evidence = held.map { Evidence(path: $0.path, value: "open by \($0.process.described)") }
        guard !held.isEmpty else { return step("holders", .pass, "no process holds \(name) or its card's functions open", [Evidence(path: HostPath.proc.string + "/*/fd", value: nil)]) }
        if held.allSatisfy({ $0.role == .vm }), gpu.driver.map(VFIORule.isVFIODriver) == true {
            return step("holders", .pass, "\(name) is passed through already: \(held.described)", evidence)
        }
        return step("holders", .fail, "\(name) is in use: \(held.described); it cannot change drivers until that lets go", remedy: held.advice, evidence)
    }

    /// The GPU and every function of its card on a VFIO driver (a companion left on its host
    /// driver, HDMI audio on snd_hda_intel the classic case, keeps the group from a VM).
    func drivers() -> DiagnosisStep? {
        let card = [gpu] + host.functions.filter { $0.companionOf == gpu.address }
        let evidence = card.map { Evidence(HostPath.sysBusPCIDevices.child($0.address.description, "driver"), $0.driver) }
        let off = card.filter { !($0.driver.map(VFIORule.isVFIODriver) ?? false) }
        if off.isEmpty { return step("drivers", .pass, "\(name) and its card's functions are on VFIO drivers", evidence) }
        let listed = off.map { "\($0.address.short) (\($0.driver ?? "no driver"))" }.joined(separator: ", ")
        return step("drivers", .fail, "\(listed) \(off.count == 1 ? "is" : "are") not on a VFIO driver yet: a VM can take the card only once all of it is",
                    remedy: "gpuprep bind \(gpu.address) --persist (its companions go with it)", evidence)
    }

    func reset() -> DiagnosisStep? {
        let finding = GPUChecks.reset(host.snapshot, gpu)
        guard finding.status != .skip else { return nil }
        let methods = sysfs.read(device.child("reset_method"))
        return step("reset", finding.status == .pass ? .pass : .warn, finding.summary, remedy: finding.remedy, [Evidence(device.child("reset_method"), methods)])
    }

    func bootVGA() -> DiagnosisStep? {
        guard gpu.bootVGA else { return nil }
        return step("boot_vga", .warn, "\(name) is the boot VGA device: the host's console is on it until it is passed through",
                    remedy: "keep a serial or SSH console; set vfio-pci disable_vga=1 if the host has another GPU for its console", [Evidence(device.child("boot_vga"), "1")])
    }

    /// OVMF maps 64-bit BARs in a window of 32 GiB unless told more (X-PciMmio64Mb): a GPU with
    /// a larger BAR (resizable BAR, 48 GB and 80 GB boards) does not start in a VM without it.
    func bars() -> DiagnosisStep? {
        guard let text = sysfs.readWhole(device.child("resource")) else { return nil }
        var largest: UInt64 = 0
        for line in text.split(separator: "\n").prefix(6) {
            let fields = line.split(separator: " ").compactMap { UInt64($0.dropFirst(2), radix: 16) }
            guard fields.count >= 2, fields[0] != 0, fields[1] > fields[0] else { continue }
            largest = max(largest, fields[1] - fields[0] + 1)
        }
        guard largest > 0 else { return nil }
        let gib = Double(largest) / Double(1 << 30)
        let shown = gib >= 1 ? "\(Int(gib)) GiB" : "\(largest >> 20) MiB"
        let evidence = [Evidence(device.child("resource"), "largest BAR \(shown)")]
        if largest >= 32 << 30 {
            return step("bars", .warn, "\(name) has a \(shown) BAR: more than OVMF's default 32 GiB 64-bit MMIO window",
                        remedy: "give the VM a larger window: QEMU -fw_cfg name=opt/ovmf/X-PciMmio64Mb,string=\((Int(gib) * 2) * 1024) (libvirt: a <qemu:commandline> entry)", evidence)
        }
        return step("bars", .pass, "its largest BAR is \(shown): within a VM's default MMIO window", evidence)
    }
}
