import GPUPrepSystem

/// vfio-pci's `disable_vga` (drivers/vfio/pci/vfio_pci.c, with CONFIG_VFIO_PCI_VGA: "Disable
/// VGA resource access through vfio-pci"). Without it, vfio-pci keeps a VGA-class GPU it holds
/// in the kernel's VGA arbitration, and a VM start or reset that routes the legacy VGA ranges
/// to that GPU can stall the host's own display on its boot VGA device; the Arch wiki ("PCI
/// passthrough via OVMF", VGA arbitration) and NVIDIA's KVM guide set it where the passed GPU is
/// not the boot VGA. gpuprep says so only on hosts where that is the case, and `check --fix`
/// writes the option.
enum VGAArbitration {
    static let content = """
    # Written by 'gpuprep check --fix': vfio-pci keeps the GPUs it holds out of VGA arbitration,
    # so that a VM's GPU cannot take the legacy VGA ranges from the host's console GPU.
    options vfio_pci disable_vga=1

    """

    /// The VGA GPUs on a VFIO driver (now, or by the early binding at the next boot) that are not
    /// the boot VGA device, and the boot VGA device the host keeps; nil when that is not the case.
    static func affected(_ s: HostSnapshot) -> (passed: [PCIFunction], console: PCIFunction)? {
        let functions = s.topology.functions
        guard let console = functions.first(where: { $0.bootVGA && !($0.driver.map(VFIORule.isVFIODriver) ?? false) }) else { return nil }
        let persisted = Set(PersistentBindings.parse(AtomicFile(root: s.host.root).read(.persistUdevRules)).map(\.address))
        let passed = functions.filter { f in
            !f.bootVGA && (f.classCode ?? 0) >> 8 == 0x0300
                && ((f.driver.map(VFIORule.isVFIODriver) ?? false) || persisted.contains(f.address))
        }
        return passed.isEmpty ? nil : (passed, console)
    }

    /// Whether disable_vga is on: the running module's parameter, the command line, modprobe.d.
    static func isSet(_ s: HostSnapshot) -> Bool {
        if let live = s.host.sysfs.read(HostPath.sysModule.child("vfio_pci", "parameters", "disable_vga")), ModprobeOptions.isOn(live) { return true }
        // The kernel takes `vfio-pci.` as `vfio_pci.`, and the last value (KernelCommandLine.value).
        let onCommandLine = s.running?.value("vfio_pci.disable_vga").map(ModprobeOptions.isOn) ?? false
        return onCommandLine || ModprobeOptions.lines(s.host.sysfs, module: "vfio_pci", parameter: "disable_vga").last.map { ModprobeOptions.isOn($0.value) } ?? false
    }

    static func finding(_ s: HostSnapshot) -> Finding? {
        guard let (passed, console) = affected(s) else { return nil }
        let list = passed.map(\.address.description).joined(separator: ", ")
        if isSet(s) {
            return Finding("modules.vfio_vga", .pass, "vfio-pci keeps \(list) out of VGA arbitration (disable_vga): the host's console on \(console.address) keeps the VGA ranges")
        }
        return Finding("modules.vfio_vga", .warn,
                       "\(list) on vfio-pci \(passed.count == 1 ? "is a VGA device" : "are VGA devices") while the host's console runs on \(console.address), and vfio-pci's disable_vga is off: a VM start or reset can take the legacy VGA ranges from the console",
                       remedy: "gpuprep check --fix (writes 'options vfio_pci disable_vga=1' to \(HostPath.vfioPCIOptions); vfio-pci reads it when it loads next: reboot)")
    }

    /// What check --fix writes: the option, where it is needed and not set.
    static func shouldWrite(_ s: HostSnapshot) -> Bool { affected(s) != nil && !isSet(s) }
}
