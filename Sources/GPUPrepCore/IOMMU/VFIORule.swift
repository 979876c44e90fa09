/// The kernel's rule for whether VFIO may take an IOMMU group (drivers/vfio/group.c and
/// iommu_device_use_default_domain in drivers/iommu/iommu.c): every device in the group must be
/// bound to a driver that manages DMA itself (vfio-pci and its variants, pci-stub, pcieport) or
/// to no driver at all. Bridges are bound to pcieport or nothing, so they never block a group.
public enum VFIORule {
    /// Drivers the kernel marks `driver_managed_dma`: they leave the group to VFIO.
    public static func isDMAManagedDriver(_ driver: String) -> Bool {
        isVFIODriver(driver) || driver == "pci-stub" || driver == "pcieport"
    }

    /// vfio-pci or a VFIO variant driver (mlx5_vfio_pci, nvgrace_gpu_vfio_pci, ...).
    public static func isVFIODriver(_ driver: String) -> Bool {
        driver == "vfio-pci" || driver.hasSuffix("vfio_pci") || driver.hasSuffix("vfio-pci")
    }

    /// Whether this function, as it is bound now, stops VFIO from using its group.
    public static func blocksGroup(_ function: PCIFunction) -> Bool {
        if function.isBridgeHeader { return false }
        guard let driver = function.driver else { return false }
        return !isDMAManagedDriver(driver)
    }
}
