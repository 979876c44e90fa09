import GPUPrepSystem

/// The host-driver blacklist the guides have the admin write by hand (Proxmox's "PCI(e)
/// Passthrough", the Arch wiki, NVIDIA's vGPU guide, whose installer refuses to run while
/// nouveau is loaded): `blacklist nouveau` and `options nouveau modeset=0` in modprobe.d, so that
/// nouveau claims no NVIDIA GPU at the next boot. `check --fix` writes it when nouveau is loaded
/// or would claim an NVIDIA GPU, and leaves it out on a host whose console runs on nouveau (the
/// boot VGA GPU): blacklisting it there would leave the host without its display driver.
public enum NouveauBlacklist {
    public static let content = """
    # Written by 'gpuprep check --fix': nouveau must not claim the NVIDIA GPUs meant for VMs or
    # for NVIDIA's vGPU host driver (remove this file, rebuild the initramfs and reboot to undo).
    blacklist nouveau
    options nouveau modeset=0

    """

    public enum Decision: Sendable, Equatable {
        /// Write it: why.
        case write(String)
        /// Leave it: why (said by --fix).
        case leave(String)
        /// Nothing to do.
        case none
    }

    public static func decide(_ s: HostSnapshot) -> Decision {
        guard let kmod = s.host.kmod() else { return .none }
        if kmod.blacklist().contains("nouveau") { return .none }
        let loaded = ModuleChecks.loaded(s, "nouveau")
        guard loaded || kmod.availability("nouveau") != .missing else { return .none }
        if kmod.availability("nouveau") == .builtin {
            // A module built into the kernel never reads modprobe.d: only the command line stops it.
            return .leave("nouveau is built into this kernel, so a modprobe.d blacklist cannot stop it: add modprobe.blacklist=nouveau nouveau.modeset=0 to the kernel command line")
        }
        if let console = s.gpus.first(where: { $0.bootVGA && $0.driver == "nouveau" }) {
            return .leave("nouveau is not blacklisted: it drives the host's console on \(console.address) (the boot VGA GPU); bind the GPUs meant for VMs with --persist instead")
        }
        let claimed = s.gpus.filter { $0.driver == "nouveau" || ($0.modules ?? []).contains("nouveau") }
        guard loaded || !claimed.isEmpty else { return .none }
        return .write(loaded ? "nouveau is loaded" : "nouveau would claim \(claimed.map(\.address.description).joined(separator: ", ")) at boot")
    }

    /// What puts it into the initramfs (nouveau is there on most distributions, for early
    /// KMS); nil where no builder is installed. A reboot follows either way.
    public static func rebuild(_ sysfs: Sysfs) -> String? {
        let builders = InitramfsBuilder.installed(sysfs)
        return builders.isEmpty ? nil : builders.map(\.rebuild).joined(separator: "; ")
    }
}
