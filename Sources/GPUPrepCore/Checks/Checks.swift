import GPUPrepSystem

/// Every check of `gpuprep check`, in the order they are shown.
public enum Checks {
    /// `holders`: a scan of /proc the caller already made, so that it is not made twice.
    public static func run(_ snapshot: HostSnapshot, holders: DeviceHolders? = nil) -> [Finding] {
        var findings = [cpu(snapshot), firmware(snapshot), enabled(snapshot), cmdline(snapshot), passthrough(snapshot),
                        acsOverride(snapshot), interruptRemapping(snapshot), bootLoader(snapshot)]
        findings += ModuleChecks.run(snapshot)
        findings += GPUChecks.run(snapshot, holders: holders)
        findings += HostReadinessChecks.run(snapshot)
        return findings
    }

    static func cpu(_ s: HostSnapshot) -> Finding {
        if s.cpuVendor == .arm {
            // arm64 has no CPU flag for it: KVM runs when the kernel was entered at EL2, and then
            // the kernel makes /dev/kvm.
            if s.host.sysfs.exists(HostPath.dev.child("kvm")) {
                return Finding("cpu.virtualization", .pass, "KVM is available (arm64: the kernel runs with EL2 virtualization, /dev/kvm exists)")
            }
            return Finding("cpu.virtualization", .fail, "no /dev/kvm: the arm64 kernel did not start KVM (it needs to be entered at EL2)",
                           remedy: "boot the kernel at EL2 (the firmware's virtualization setting) with KVM built in or loaded (modprobe kvm); dmesg says why KVM did not start")
        }
        guard let flags = s.cpuFlags else { return Finding("cpu.virtualization", .skip, "no /proc/cpuinfo to read") }
        let vendor = s.cpuVendor?.rawValue ?? "unknown"
        if flags.contains("vmx") { return Finding("cpu.virtualization", .pass, "Intel VT-x (vmx) is available (CPU vendor \(vendor))") }
        if flags.contains("svm") { return Finding("cpu.virtualization", .pass, "AMD-V (svm) is available (CPU vendor \(vendor))") }
        return Finding("cpu.virtualization", .fail, "the CPU (vendor \(vendor)) shows neither vmx nor svm: hardware virtualization is off or absent",
                       remedy: "enable Intel VT-x or AMD SVM Mode in the firmware setup (in a VM: enable nested virtualization)")
    }

    static func firmware(_ s: HostSnapshot) -> Finding {
        let sysfs = s.host.sysfs
        guard sysfs.exists(.acpiTables) else { return Finding("iommu.firmware", .skip, "no ACPI tables to read (not an ACPI host)") }
        if sysfs.exists(HostPath.acpiTables.child("DMAR")) { return Finding("iommu.firmware", .pass, "the firmware describes an Intel VT-d IOMMU (ACPI DMAR table)") }
        if sysfs.exists(HostPath.acpiTables.child("IVRS")) { return Finding("iommu.firmware", .pass, "the firmware describes an AMD-Vi IOMMU (ACPI IVRS table)") }
        if sysfs.exists(HostPath.acpiTables.child("IORT")) { return Finding("iommu.firmware", .pass, "the firmware describes Arm SMMUs (ACPI IORT table)") }
        if s.cpuVendor == .arm {
            return Finding("iommu.firmware", .fail, "the firmware describes no SMMU (no ACPI IORT table)",
                           remedy: "enable the SMMU in the firmware setup, then reboot")
        }
        return Finding("iommu.firmware", .fail, "the firmware describes no IOMMU (no ACPI DMAR or IVRS table)",
                       remedy: "enable VT-d (Intel) or IOMMU / AMD-Vi (AMD) in the firmware setup, then reboot")
    }

    static func enabled(_ s: HostSnapshot) -> Finding {
        let units = s.host.sysfs.list(.sysClassIOMMU) ?? []
        if s.iommuActive {
            let groups = s.topology.pciGroups.count
            return Finding("iommu.enabled", .pass, "the IOMMU is on: \(units.count) unit\(units.count == 1 ? "" : "s"), \(groups) group\(groups == 1 ? "" : "s")")
        }
        let remedy: String
        switch s.cpuVendor {
        case .intel? where s.bootLoader?.configured.has("intel_iommu=on") == true && s.bootLoader?.iommuOffSwitches.isEmpty == true:
            remedy = s.rebootRemedy
        case .intel?: remedy = "boot with intel_iommu=on (see iommu.bootloader)"
        case .arm?: remedy = "enable the SMMU in the firmware setup (arm64 kernels use it without a command-line option; ARM_SMMU_V3 must be built)"
        default: remedy = "enable the IOMMU in the firmware setup and make sure the kernel is not booted with amd_iommu=off or iommu=off"
        }
        let mdevGroups = s.topology.groups.count
        let emulated = mdevGroups == 0 ? "" : " (the \(mdevGroups) group\(mdevGroups == 1 ? "" : "s") there \(mdevGroups == 1 ? "is vfio's" : "are vfio's") own, for mdev vGPUs, made without an IOMMU)"
        return Finding("iommu.enabled", .fail, "the kernel runs without an IOMMU: no IOMMU unit and no PCI device in a group\(emulated); no device can be passed through", remedy: remedy)
    }

    static func cmdline(_ s: HostSnapshot) -> Finding {
        guard let running = s.running else { return Finding("iommu.cmdline", .skip, "no /proc/cmdline to read") }
        if running.value("iommu") == "off" || running.has("amd_iommu=off") || running.has("intel_iommu=off") {
            return Finding("iommu.cmdline", .fail, "the running kernel was booted with the IOMMU switched off",
                           remedy: "remove iommu=off / amd_iommu=off / intel_iommu=off from the boot loader's command line and reboot")
        }
        if s.cpuVendor == .intel && !s.iommuActive && !running.has("intel_iommu=on") {
            // Configured but not booted: the remedy is the reboot, not another edit.
            let remedy = s.bootLoader.flatMap { loader in loader.configured.has("intel_iommu=on") && loader.iommuOffSwitches.isEmpty
                ? s.rebootRemedy : nil }
                ?? s.bootLoader?.remedy(adding: ["intel_iommu=on"] + s.advisedArguments)
                ?? "add intel_iommu=on \(s.advisedArguments.joined(separator: " ")) to the kernel command line and reboot"
            return Finding("iommu.cmdline", .fail, "the running kernel was booted without intel_iommu=on, which this kernel needs to turn VT-d on",
                           remedy: remedy)
        }
        return Finding("iommu.cmdline", .pass, running.has("intel_iommu=on") ? "the running kernel has intel_iommu=on" : "nothing on the running kernel's command line turns the IOMMU off")
    }

    static func passthrough(_ s: HostSnapshot) -> Finding {
        guard let running = s.running else { return Finding("iommu.passthrough", .skip, "no /proc/cmdline to read") }
        // Without an IOMMU nothing is translated: iommu=pt only matters once it is on (iommu.bootloader adds it).
        guard s.iommuActive else {
            return Finding("iommu.passthrough", .skip, "the IOMMU is off, so no DMA is translated yet; once it is on, iommu=pt spares host devices the translation (iommu.bootloader says whether it is configured)")
        }
        if let given = s.passthroughArgument { return Finding("iommu.passthrough", .pass, "\(given): host devices skip IOMMU translation") }
        let argument = s.advisedArguments[0]
        let remedy: String
        if let loader = s.bootLoader, loader.configured.has(argument) {
            remedy = s.rebootRemedy
        } else {
            remedy = s.bootLoader?.remedy(adding: [argument]) ?? "add \(argument) to the kernel command line and reboot"
        }
        return Finding("iommu.passthrough", .warn, "\(argument) is not set: every host device's DMA goes through the IOMMU, which costs some performance",
                       remedy: remedy)
    }

    static func acsOverride(_ s: HostSnapshot) -> Finding {
        guard let running = s.running else { return Finding("iommu.acs_override", .skip, "no /proc/cmdline to read") }
        if running.value("pcie_acs_override") != nil {
            return Finding("iommu.acs_override", .warn, "pcie_acs_override is set: IOMMU groups are split by pretending isolation that the hardware does not enforce, so a guest may reach other devices' memory",
                           remedy: "remove pcie_acs_override from the kernel command line unless every guest is trusted; 'gpuprep conflicts' explains which bridges lack ACS")
        }
        return Finding("iommu.acs_override", .pass, "no pcie_acs_override: groups are as the hardware isolates them")
    }

    static func interruptRemapping(_ s: HostSnapshot) -> Finding {
        guard let running = s.running else { return Finding("iommu.interrupt_remapping", .skip, "no /proc/cmdline to read") }
        if running.has("intremap=off") || running.value("nointremap") != nil {
            return Finding("iommu.interrupt_remapping", .warn, "interrupt remapping is disabled on the command line: vfio refuses devices unless unsafe interrupts are allowed",
                           remedy: "remove intremap=off / nointremap from the kernel command line")
        }
        if let unsafe = unsafeInterrupts(s, running) {
            return Finding("iommu.interrupt_remapping", .warn, "vfio_iommu_type1 allows unsafe interrupts (\(unsafe.source)): a guest can inject interrupts into the host",
                           remedy: unsafe.remedy)
        }
        // VT-d units say in their extended capabilities whether they remap interrupts (ECAP.IR,
        // bit 3: Intel VT-d specification, "Extended Capability Register"); without it vfio
        // refuses devices unless unsafe interrupts are allowed.
        let sysfs = s.host.sysfs
        let units = (sysfs.list(.sysClassIOMMU) ?? []).filter(HostPath.isPlainName).compactMap { unit -> (String, Bool)? in
            guard let text = sysfs.read(HostPath.sysClassIOMMU.child(unit, "intel-iommu", "ecap")), let ecap = UInt64(text, radix: 16) else { return nil }
            return (unit, ecap & (1 << 3) != 0)
        }
        let without = units.filter { !$0.1 }.map(\.0)
        if !without.isEmpty {
            return Finding("iommu.interrupt_remapping", .warn, "the IOMMU unit\(without.count == 1 ? "" : "s") \(without.joined(separator: ", ")) cannot remap interrupts (ECAP.IR is clear): vfio refuses devices behind \(without.count == 1 ? "it" : "them") unless unsafe interrupts are allowed",
                           remedy: "enable interrupt remapping (and x2APIC) in the firmware setup; allow_unsafe_interrupts is the unsafe way round it")
        }
        if !units.isEmpty { return Finding("iommu.interrupt_remapping", .pass, "interrupt remapping is supported by every IOMMU unit and not disabled") }
        return Finding("iommu.interrupt_remapping", .pass, "interrupt remapping is not disabled")
    }

    /// Where vfio_iommu_type1's allow_unsafe_interrupts is on: the running module's parameter,
    /// the kernel command line, or a modprobe.d line that sets it at the next load.
    static func unsafeInterrupts(_ s: HostSnapshot, _ running: KernelCommandLine) -> (source: String, remedy: String)? {
        let parameter = HostPath.sysModule.child("vfio_iommu_type1", "parameters", "allow_unsafe_interrupts")
        let onCommandLine = running.value("vfio_iommu_type1.allow_unsafe_interrupts").map(ModprobeOptions.isOn) ?? false
        let files = ModprobeOptions.lines(s.host.sysfs, module: "vfio_iommu_type1", parameter: "allow_unsafe_interrupts").filter { ModprobeOptions.isOn($0.value) }
        if let file = files.first {
            return ("'\(file.line)' in \(file.path)", "remove allow_unsafe_interrupts from \(file.path) where the hardware remaps interrupts, then reload vfio_iommu_type1 (or reboot)")
        }
        if onCommandLine {
            return ("vfio_iommu_type1.allow_unsafe_interrupts on the kernel command line", "remove vfio_iommu_type1.allow_unsafe_interrupts=1 from the kernel command line where the hardware remaps interrupts")
        }
        if s.host.sysfs.read(parameter).map(ModprobeOptions.isOn) == true {
            return ("\(parameter) is Y", "echo N > \(parameter) where the hardware remaps interrupts (it was set by hand or at load)")
        }
        return nil
    }

    /// The boot loader's configured command line against the running one.
    static func bootLoader(_ s: HostSnapshot) -> Finding {
        guard let loader = s.bootLoader else {
            return Finding("iommu.bootloader", .skip, "no boot loader configuration recognised (GRUB, BLS entries, systemd-boot entries, /etc/kernel/cmdline, kernelstub)")
        }
        let wanted = s.requiredArguments + s.advisedArguments
        let missingRequired = s.requiredArguments.filter { !loader.configured.has($0) }
        let missingAdvised = s.advisedArguments.filter { !loader.configured.has($0) }
        let pending = wanted.filter { loader.configured.has($0) && s.running?.has($0) != true }
        let name = "\(loader.kind.rawValue) (\(loader.file))"
        let offs = loader.iommuOffSwitches
        if !offs.isEmpty {
            return Finding("iommu.bootloader", .fail, "\(name) turns the IOMMU off (\(offs.joined(separator: " "))): it will be off after the next boot",
                           remedy: loader.remedy(replacing: offs, wanted: wanted))
        }
        if !missingRequired.isEmpty {
            return Finding("iommu.bootloader", .fail, "\(name) does not configure \(missingRequired.joined(separator: " ")): the IOMMU will be off after the next boot",
                           remedy: loader.remedy(adding: missingRequired + missingAdvised))
        }
        if !pending.isEmpty {
            return Finding("iommu.bootloader", .warn, "reboot pending: \(name) configures \(pending.joined(separator: " ")), but the running kernel was booted without \(pending.count == 1 ? "it" : "them")",
                           remedy: s.rebootRemedy)
        }
        if !missingAdvised.isEmpty {
            return Finding("iommu.bootloader", .warn, "\(name) does not configure \(missingAdvised.joined(separator: " ")) (advised)",
                           remedy: loader.remedy(adding: missingAdvised))
        }
        return Finding("iommu.bootloader", .pass, "\(name) configures \(wanted.joined(separator: " ")), and the running kernel was booted with \(wanted.count == 1 ? "it" : "them")")
    }
}
