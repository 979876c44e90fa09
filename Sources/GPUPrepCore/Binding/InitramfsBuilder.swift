import GPUPrepSystem

/// What builds the host's initramfs, and what puts the early binding into it.
///
/// The udev rule that gives a device its driver_override at boot lives on the root file system.
/// A host driver in the initramfs (nouveau or nvidia for early KMS, a NIC driver for a network
/// root) is loaded there, before the root is mounted, and claims the device first; the rule
/// comes too late. Neither builder copies the rule on its own: initramfs-tools takes a fixed
/// list of udev rules (its hooks/udev), dracut those its 95udev-rules module names. So gpuprep
/// adds the rule, its modprobe softdeps and the VFIO modules to the image through each
/// builder's own extension point, and says how to rebuild it (or, with --regenerate, rebuilds
/// it: see Regeneration).
public enum InitramfsBuilder: String, Sendable, CaseIterable {
    case initramfsTools = "initramfs-tools"
    case dracut
    /// Arch's, before drop-ins (mkinitcpio 35 and older): its configuration is one file of the
    /// administrator's, which gpuprep does not edit.
    case mkinitcpio
    /// mkinitcpio with /etc/mkinitcpio.conf.d, whose drop-ins it sources after mkinitcpio.conf
    /// (mkinitcpio.conf(5)): gpuprep keeps one there.
    case mkinitcpioDropIn = "mkinitcpio.conf.d"

    /// The builders installed on the host (Debian and Ubuntu: initramfs-tools; RHEL, Fedora,
    /// SUSE: dracut; Arch: mkinitcpio). More than one can be installed; each is served.
    public static func installed(_ sysfs: Sysfs) -> [InitramfsBuilder] {
        allCases.filter { builder in
            switch builder {
            case .initramfsTools: return sysfs.exists(.mkinitramfs) || sysfs.exists(.initramfsToolsConfig)
            case .dracut: return HostPath.dracutPrograms.contains(where: sysfs.exists) || sysfs.exists(.dracutConfig)
            case .mkinitcpio: return sysfs.exists(.mkinitcpioConfig) && !sysfs.exists(.mkinitcpioConfigD)
            case .mkinitcpioDropIn: return sysfs.exists(.mkinitcpioConfigD)
            }
        }
    }

    /// The file gpuprep keeps for this builder (nil: none; see `advice`).
    public var managedFile: HostPath? {
        switch self {
        case .initramfsTools: return .persistInitramfsToolsHook
        case .dracut: return .persistDracutConf
        case .mkinitcpio: return nil
        case .mkinitcpioDropIn: return .persistMkinitcpioConf
        }
    }

    /// The modules the image needs: vfio-pci's own, and each binding's VFIO driver.
    static func modules(_ bindings: [PersistentBinding]) -> [String] {
        var modules = ["vfio", "vfio_iommu_type1", "vfio_pci"]
        for module in bindings.map(\.module).sorted() where !modules.contains(module) { modules.append(module) }
        return modules
    }

    /// The managed file's content for these bindings (nil: remove it, none are left).
    func content(for bindings: [PersistentBinding]) -> String? {
        guard !bindings.isEmpty else { return nil }
        let modules = Self.modules(bindings)
        let files = [HostPath.persistUdevRules, .persistModprobe].map(\.string)
        switch self {
        case .initramfsTools:
            // hook-functions' manual_add_modules copies a module and what it depends on; the
            // rule goes where the initramfs's udevd reads rules (the udev hook copies its own
            // there too).
            return """
            #!/bin/sh
            # Managed by gpuprep (bind/unbind --persist): the early binding of \(HostPath.persistUdevRules)
            # in the initramfs, so that a host driver loaded there does not take the devices first.
            # Rebuild the initramfs after a change: update-initramfs -u -k all
            PREREQ="udev"
            prereqs() { echo "$PREREQ"; }
            case "$1" in prereqs) prereqs; exit 0 ;; esac
            . /usr/share/initramfs-tools/hook-functions
            for module in \(modules.joined(separator: " ")); do manual_add_modules "$module"; done
            mkdir -p "$DESTDIR/lib/udev/rules.d" "$DESTDIR/etc/modprobe.d"
            cp -p \(files[0]) "$DESTDIR/lib/udev/rules.d/"
            cp -p \(files[1]) "$DESTDIR/etc/modprobe.d/"

            """
        case .dracut:
            // install_items puts each file at its own path in the image, where dracut's udevd and
            // modprobe read them (dracut.conf(5)).
            return """
            # Managed by gpuprep (bind/unbind --persist): the early binding of \(HostPath.persistUdevRules)
            # in the initramfs, so that a host driver loaded there does not take the devices first.
            # Rebuild the initramfs after a change: dracut --regenerate-all -f
            add_drivers+=" \(modules.joined(separator: " ")) "
            install_items+=" \(files.joined(separator: " ")) "

            """
        case .mkinitcpioDropIn:
            // The VFIO modules go first, before a host driver the administrator's MODULES=() loads
            // for early KMS (the Arch wiki's "PCI passthrough via OVMF", 3.2.2); the files are
            // copied into the image at their own paths.
            return """
            # Managed by gpuprep (bind/unbind --persist): the early binding of \(HostPath.persistUdevRules)
            # in the initramfs, so that a host driver loaded there does not take the devices first.
            # Rebuild the initramfs after a change: mkinitcpio -P
            MODULES=(\(modules.joined(separator: " ")) "${MODULES[@]}")
            FILES+=(\(files.joined(separator: " ")))

            """
        case .mkinitcpio:
            return nil
        }
    }

    /// The command that rebuilds the initramfs with the change in it.
    public var rebuild: String {
        switch self {
        case .initramfsTools: return "update-initramfs -u -k all"
        case .dracut: return "dracut --regenerate-all -f"
        case .mkinitcpio, .mkinitcpioDropIn: return "mkinitcpio -P"
        }
    }

    /// The same, as --regenerate runs it.
    public var rebuildArguments: [String] { rebuild.split(separator: " ").map(String.init) }

    /// How the plan's advice to rebuild begins (--regenerate drops it: it runs the rebuild).
    static let adviceLead = "rebuild the initramfs"

    /// What the plan says, once the early binding files change.
    func advice(for bindings: [PersistentBinding]) -> (note: String?, warning: String?) {
        switch self {
        case .initramfsTools, .dracut, .mkinitcpioDropIn:
            let what = bindings.isEmpty ? "without the early binding" : "with the early binding"
            return ("\(Self.adviceLead) (\(rawValue)) \(what), or a host driver loaded there still takes the devices first at the next boot: \(rebuild)", nil)
        case .mkinitcpio:
            guard !bindings.isEmpty else { return (nil, nil) }
            let modules = Self.modules(bindings).joined(separator: " ")
            return (nil, "mkinitcpio builds this host's initramfs, and gpuprep does not edit /etc/mkinitcpio.conf: if a host driver of these devices is in it (early KMS), add \(modules) to MODULES=(), \(HostPath.persistUdevRules) and \(HostPath.persistModprobe) to FILES=(), then run \(rebuild)")
        }
    }
}
