import GPUPrepSystem

/// Which VFIO driver to bind to.
public enum DriverChoice: Sendable, Equatable {
    /// vfio-pci.
    case vfioPCI
    /// The most specific VFIO variant driver for each device (its `vfio_pci:` alias), else vfio-pci.
    case auto
    /// A driver named by the user: a module name such as `mlx5_vfio_pci`.
    case named(String)

    public init(_ text: String) throws(GPUPrepError) {
        switch text {
        case "vfio-pci", "vfio_pci": self = .vfioPCI
        case "auto": self = .auto
        default:
            guard !text.isEmpty, text.utf8.allSatisfy({ Self.moduleNameBytes.contains($0) }) else {
                throw GPUPrepError(.usage, "'\(text)' is not a module name: use vfio-pci, auto, or a name of letters, digits, _ and -")
            }
            // bind hands devices to VMs: a host driver (nouveau, nvidia, snd_hda_intel) as the
            // target would pin it there with driver_override, which no later probe undoes.
            guard VFIORule.isVFIODriver(text) || ["pci-stub", "pci_stub"].contains(text) else {
                throw GPUPrepError(.usage, "'\(text)' is not a VFIO driver: bind gives devices to VMs, so name vfio-pci, auto, pci-stub or a VFIO variant driver (such as mlx5_vfio_pci); to give a device back to its host driver, run gpuprep unbind")
            }
            self = .named(text)
        }
    }

    /// As the user writes it (and the layout file records it).
    public var text: String {
        switch self {
        case .vfioPCI: return "vfio-pci"
        case .auto: return "auto"
        case .named(let name): return name
        }
    }

    static let moduleNameBytes = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-".utf8)
}

/// A driver as the kernel has it: the module that provides it and the name of its directory in
/// /sys/bus/pci/drivers. They differ: module `vfio_pci` registers driver `vfio-pci`.
public struct ResolvedDriver: Sendable, Equatable {
    public var module: String
    public var driver: String
    public var loaded: Bool
}

enum DriverResolver {
    /// The module for a device under a choice: for `auto`, the `vfio_pci:` alias of the device's
    /// modalias that matches with the fewest wildcards (variant drivers name vendor and device;
    /// vfio_pci's own alias matches everything).
    static func module(for choice: DriverChoice, function: PCIFunction, modalias: String?, kmod: Kmod?) -> String {
        switch choice {
        case .vfioPCI: return "vfio_pci"
        case let .named(name): return name.replacing("-", with: "_")
        case .auto:
            guard let modalias, modalias.hasPrefix("pci:"), let kmod else { return "vfio_pci" }
            return kmod.mostSpecificModule(matching: "vfio_pci:" + modalias.dropFirst(4)) ?? "vfio_pci"
        }
    }

    /// PCI drivers whose name is not their module's. Most register as KBUILD_MODNAME, the
    /// module's own name with underscores (nvgrace_gpu_vfio_pci, mlx5_vfio_pci, hisi_acc_vfio_pci:
    /// `.name = KBUILD_MODNAME` in drivers/vfio/pci/*/main.c); vfio-pci and pci-stub spell theirs
    /// with a dash. driver_override must hold the driver's name, or a probe binds nothing.
    static let driverNames = ["vfio_pci": "vfio-pci", "pci_stub": "pci-stub"]

    /// The driver a module registers: `/sys/module/<module>/drivers/pci:<driver>` once loaded;
    /// before that, its known name (see driverNames).
    /// A PCI driver's name as the kernel's drivers spell theirs (`vfio-pci`, `nvgrace_gpu_vfio_pci`).
    static func isDriverName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
    }

    static func resolve(module: String, sysfs: Sysfs) throws(GPUPrepError) -> ResolvedDriver {
        // A module name libkmod found in the tree's indexes goes into /sys/module paths and the
        // modules-load.d file: only what a module's name can be (the same characters).
        guard isDriverName(module) else {
            throw GPUPrepError(.unknownDevice, "the tree's module indexes name a module '\(module.shownAsName)' no kernel module can have (letters, digits, '_' and '-' only): the tree is damaged or hostile; nothing was changed")
        }
        let moduleDir = HostPath.sysModule.child(module)
        if let entries = sysfs.list(moduleDir.child("drivers")),
           let pci = entries.first(where: { $0.hasPrefix("pci:") }) {
            // The name comes from the tree and goes into driver_override, sysfs paths and the
            // persisted udev rule: only what a kernel driver's name can be.
            let driver = String(pci.dropFirst(4))
            guard isDriverName(driver) else {
                throw GPUPrepError(.unknownDevice, "\(moduleDir.child("drivers", pci)) names no PCI driver a kernel can have (letters, digits, '_' and '-' only): the tree is damaged or hostile; nothing was changed")
            }
            return ResolvedDriver(module: module, driver: driver, loaded: true)
        }
        let driver = driverNames[module] ?? module
        return ResolvedDriver(module: module, driver: driver, loaded: sysfs.exists(HostPath.sysBusPCIDrivers.child(driver)))
    }
}
