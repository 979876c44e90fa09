import FoundationEssentials

/// A vGPU type one parent offers.
public struct VGPUType: Sendable, Equatable {
    /// A PCI address, or the name of a non-PCI mdev parent (`mtty`, `nvidia`).
    public var parent: String
    public var interface: VGPUInterface
    /// `nvidia-N` for NVIDIA on both interfaces; the kernel's directory name otherwise (`mtty-2`).
    public var id: String
    public var name: String?
    public var description: String?
    public var deviceAPI: String?
    /// How many more can be made on this parent now (nil: the kernel does not say).
    public var availableInstances: Int?
    /// NVIDIA's `key=value` description, parsed (framebuffer, max_instance, ...).
    public var properties: [String: String]

    /// NVIDIA descriptions look like `num_heads=4, frl_config=60, framebuffer=2048M, max_instance=4`.
    static func properties(of description: String?) -> [String: String] {
        guard let description else { return [:] }
        var result: [String: String] = [:]
        for part in description.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmed() }
            if pair.count == 2, !pair[0].isEmpty, !pair[0].contains(" ") { result[pair[0]] = pair[1] }
        }
        return result
    }
}

/// An existing vGPU.
public struct VGPUInstance: Sendable, Equatable {
    /// The mdev's UUID; nil for nvidia-vfio (the VF is the vGPU).
    public var uuid: UUID?
    /// The VF carrying an nvidia-vfio vGPU; nil for mdev.
    public var address: PCIAddress?
    /// The mdev parent, or the VF's physical function.
    public var parent: String
    public var interface: VGPUInterface
    public var type: String
    public var typeName: String?
    /// The IOMMU group a VM would open (/dev/vfio/N).
    public var iommuGroup: Int?
}
