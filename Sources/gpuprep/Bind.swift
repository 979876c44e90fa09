import ArgumentParser
import GPUPrepCore

struct Bind: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bind",
        abstract: "Move devices to vfio-pci (or a VFIO variant driver), safely and verified.",
        discussion: """
        For each device (and the other functions of a GPU's card): write the driver to \
        driver_override, unbind it from its driver, probe, and check the driver link. Refuses \
        the boot VGA device, a device whose IOMMU group would keep endpoints on host drivers, \
        and a device in use (--force overrides these), and, without root, any change to the \
        live host. A failure part-way puts every device back as it was, and says so. A device \
        already on the driver needs nothing.
        """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var change: ChangeOptions

    @Option(help: ArgumentHelp("vfio-pci, auto (the most specific VFIO variant driver whose vfio_pci: alias matches), or a module name.",
                               valueName: "driver"), completion: hostCompletion(.driver))
    var driver = "vfio-pci"

    @Flag(help: ArgumentHelp("Leave the running drivers as they are: write the early binding files (as --persist does) so that the devices bind at the next boot.",
                             discussion: "What holds a device now (a desktop on the GPU) does not stop it; the boot VGA and an IOMMU group left unusable still do (--force). 'gpuprep check' shows the binding pending until the reboot."))
    var nextBoot = false

    @Argument(help: ArgumentHelp("The devices (DDDD:BB:DD.F or BB:DD.F).", valueName: "address"), completion: addressCompletion)
    var addresses: [String]

    func validate() throws {
        if nextBoot && (change.release.release || change.release.releaseDisplay) {
            throw ValidationError("--next-boot changes no running driver: it releases nothing")
        }
    }

    func run() throws {
        var change = change
        change.persist = change.persist || nextBoot
        try change.execute(global, command: "bind") { (planner) throws(GPUPrepError) in
            try planner.planBind(try parseAddresses(addresses), driver: try DriverChoice(driver),
                                 companions: !change.noCompanions, force: change.force, persist: change.persist, nextBoot: nextBoot)
        }
    }
}

struct Unbind: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unbind",
        abstract: "Return devices from vfio-pci to their host drivers, verified.",
        discussion: """
        For each device (and the other functions of a GPU's card): clear driver_override, \
        unbind it from the VFIO driver, probe so a host driver can claim it, and check that it \
        left the VFIO driver. Refuses a device a VM is using (--force overrides).
        """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var change: ChangeOptions

    @Argument(help: ArgumentHelp("The devices (DDDD:BB:DD.F or BB:DD.F).", valueName: "address"), completion: addressCompletion)
    var addresses: [String]

    func run() throws {
        try change.execute(global, command: "unbind") { (planner) throws(GPUPrepError) in
            try planner.planUnbind(try parseAddresses(addresses), companions: !change.noCompanions, force: change.force,
                                   persist: change.persist)
        }
    }
}
