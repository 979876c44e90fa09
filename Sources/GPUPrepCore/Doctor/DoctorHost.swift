import GPUPrepSystem

/// The host as a diagnosis reads it, once: the checks' snapshot, who holds what, the vGPUs and
/// what each GPU can take, and the VMs defined.
struct DoctorHost {
    let snapshot: HostSnapshot
    let holders: DeviceHolders
    let holdings: GPUHoldings
    let definitions: VMDefinitions
    let vgpuManagerRunning: Bool

    init(_ host: HostContext) throws(GPUPrepError) {
        snapshot = try HostSnapshot.read(host)
        let files = OpenFiles.scan(host)
        holders = DeviceHolders(files: files, sysfs: host.sysfs)
        holdings = GPUHoldings.read(host, openFiles: files)
        definitions = VMDefinitions.read(host.sysfs)
        vgpuManagerRunning = !HostProcess.running("nvidia-vgpu-mgr", host.sysfs).isEmpty
    }

    var functions: [PCIFunction] { snapshot.topology.functions }
    var sysfs: Sysfs { snapshot.host.sysfs }

    var vgpuManagerInstalled: Bool {
        HostReadinessChecks.unit("nvidia-vgpu-mgr.service", sysfs).present || sysfs.exists(.vgpuManagerBinary)
            || functions.contains { $0.vgpuInterface != nil }
    }

    /// No nvidia module for the running kernel (libkmod finds none, and none is loaded): the
    /// driver was built for another kernel, as after a kernel update DKMS did not follow.
    var nvidiaModuleMissing: Bool {
        guard let kmod = snapshot.host.kmod() else { return false }
        return kmod.availability("nvidia") == .missing && !sysfs.exists(HostPath.sysModule.child("nvidia"))
    }

    func types(of gpu: PCIFunction) -> [VGPUType] {
        holdings.types.filter { holdings.gpu(of: $0.parent) == gpu.address.description }
    }

    func vgpus(of gpu: PCIFunction) -> [VGPUInstance] {
        holdings.vgpus.filter { holdings.gpu(of: $0) == gpu.address.description }
    }

    /// Where the GPU's types are listed: mdev on the GPU, or NVIDIA's per-VF files.
    func typesPath(of gpu: PCIFunction) -> String {
        let device = HostPath.sysBusPCIDevices.child(gpu.address.description)
        return gpu.vgpuInterface == .mdev ? device.child("mdev_supported_types").string
            : device.string.replacing(gpu.address.description, with: "<VF of \(gpu.address)>") + "/nvidia/creatable_vgpu_types"
    }

    /// A modprobe option set in a configuration file (`options nvidia NVreg_...=0`), with where.
    func modprobeSetting(module: String, _ parameter: String, value: String) -> (path: String, line: String)? {
        ModprobeOptions.lines(sysfs, module: module, parameter: parameter).first { $0.value == value }.map { ($0.path, $0.line) }
    }

    /// What a GPU is diagnosed for when not told: a GPU on a VFIO driver is meant for
    /// passthrough; one that offers vGPUs, or sits on nvidia where the vGPU manager is
    /// installed, for vGPU; any other for passthrough.
    func purpose(of gpu: PCIFunction) -> Purpose {
        if let driver = gpu.driver, VFIORule.isVFIODriver(driver) { return .passthrough }
        let servesVFs = functions.contains { $0.physicalFunction == gpu.address && $0.vgpuInterface != nil }
        if gpu.vgpuInterface != nil || servesVFs { return .vgpu }
        if gpu.driver == "nvidia" && vgpuManagerInstalled { return .vgpu }
        return .passthrough
    }
}
