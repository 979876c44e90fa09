import GPUPrepSystem

/// The host's passthrough and vGPU state as Prometheus metrics (`gpuprep metrics`): data here,
/// the text exposition format in MetricsText. Every value comes from the models `list`,
/// `types`, `vgpus`, `check` and the holders use, so the numbers are the ones they print.
public struct MetricsReport: Sendable {
    public struct Sample: Sendable, Equatable {
        public var labels: [(String, String)]
        public var value: Double
        public static func == (a: Sample, b: Sample) -> Bool {
            a.value == b.value && a.labels.map { "\($0.0)=\($0.1)" } == b.labels.map { "\($0.0)=\($0.1)" }
        }
    }

    public struct Family: Sendable, Equatable {
        public var name: String
        public var help: String
        /// Every gpuprep metric is a gauge: a state read now, not a count since start.
        public var type = "gauge"
        public var samples: [Sample] = []
        public init(_ name: String, _ help: String) { self.name = name; self.help = help }
        mutating func add(_ value: Double, _ labels: (String, String)...) { samples.append(Sample(labels: labels, value: value)) }
        mutating func add(_ value: Int, _ labels: (String, String)...) { samples.append(Sample(labels: labels, value: Double(value))) }
    }

    public var families: [Family]

    /// The role a physical GPU plays on this host.
    public static func role(of gpu: PCIFunction, servesVFs: Bool) -> String {
        guard let driver = gpu.driver else { return "unbound" }
        if VFIORule.isVFIODriver(driver) { return "passthrough" }
        if driver == "nvidia" && (gpu.vgpuInterface != nil || servesVFs) { return "vgpu" }
        return "host"
    }

    public static func make(host: HostContext) throws(GPUPrepError) -> MetricsReport {
        let snapshot = try HostSnapshot.read(host)
        let functions = snapshot.topology.functions
        let openFiles = OpenFiles.scan(host)
        let holders = DeviceHolders(files: openFiles, sysfs: host.sysfs)
        let holdings = GPUHoldings.read(host, openFiles: openFiles)
        let definitions = VMDefinitions.read(host.sysfs)

        var info = Family("gpuprep_gpu_info", "A physical NVIDIA GPU: its model, driver and role (passthrough, vgpu, host, unbound).")
        var vfs = Family("gpuprep_gpu_vfs", "SR-IOV virtual functions enabled on the GPU.")
        var vfsTotal = Family("gpuprep_gpu_vfs_supported", "SR-IOV virtual functions the GPU can have (sriov_totalvfs).")
        var held = Family("gpuprep_gpu_holders", "Processes holding the GPU or its card's functions open, by role (vm, service, display, other).")
        var mig = Family("gpuprep_gpu_mig_instances", "MIG GPU instances on the GPU (NVIDIA's /proc/driver/nvidia/capabilities/gpuN/mig/gi*).")
        for gpu in functions where gpu.kind == .gpu {
            let address = gpu.address.description
            // vGPUs on the GPU itself (mdev), or on its VFs (per-VF files, or mdev on each VF).
            let interface = gpu.vgpuInterface ?? functions.first { $0.physicalFunction == gpu.address && $0.vgpuInterface != nil }?.vgpuInterface
            let servesVFs = gpu.vgpuInterface == nil && interface != nil
            info.add(1, ("gpu", address), ("device_id", gpu.deviceID.map { hex($0, 4) } ?? ""), ("model", gpu.deviceName ?? ""),
                     ("driver", gpu.driver ?? ""), ("role", role(of: gpu, servesVFs: servesVFs)),
                     ("vgpu_interface", interface?.rawValue ?? ""))
            if let sriov = gpu.sriov {
                vfs.add(sriov.numVFs, ("gpu", address))
                vfsTotal.add(sriov.totalVFs, ("gpu", address))
            }
            let roles = holders.cardHolders(gpu, among: functions).map { roleName($0.holder.role) }
            for name in ["vm", "service", "display", "other"] {
                held.add(roles.filter { $0 == name }.count, ("gpu", address), ("role", name))
            }
            if let instances = MIGInstances.count(gpu.address, sysfs: host.sysfs) { mig.add(instances, ("gpu", address)) }
        }

        var vgpus = Family("gpuprep_vgpus", "vGPUs by physical GPU, type and state: in_use (a VM holds it), idle (a defined VM names it, none holds it), orphaned (nothing holds or names it).")
        var counts: [String: (gpu: String, type: String, name: String, state: String, count: Int)] = [:]
        for vgpu in holdings.vgpus {
            let state = !vgpu.held.isEmpty ? "in_use" : definitions.names(vgpu) ? "idle" : "orphaned"
            let gpu = holdings.gpu(of: vgpu)
            let key = "\(gpu) \(vgpu.type) \(state)"
            counts[key, default: (gpu, vgpu.type, vgpu.typeName ?? "", state, 0)].count += 1
        }
        for key in counts.keys.sorted() {
            let c = counts[key]!
            vgpus.add(c.count, ("gpu", c.gpu), ("type", c.type), ("type_name", c.name), ("state", c.state))
        }
        var creatable = Family("gpuprep_vgpu_creatable", "How many more vGPUs of the type the GPU can take now (what 'gpuprep types' shows as creatable).")
        for entry in holdings.capacity {
            guard let count = entry.creatable else { continue }
            creatable.add(count, ("gpu", entry.gpu), ("type", entry.id), ("type_name", entry.name ?? ""),
                          ("limited_by", entry.limitedBy?.rawValue ?? ""))
        }

        var mixed = Family("gpuprep_gpu_vgpu_mixed_size", "1 when the GPU runs vGPUs in mixed-size mode (it holds two sizes, or offers another beside the one it holds), 0 in equal-size mode; only for GPUs holding vGPUs.")
        for gpu in Set(holdings.vgpus.map(holdings.gpu(of:))).sorted() {
            let held = Set(holdings.vgpus.filter { holdings.gpu(of: $0) == gpu }.compactMap { $0.typeName.flatMap(VGPUCapacityModel.framebufferMiB(name:)) })
            let offered = Set(holdings.types.filter { holdings.gpu(of: $0.parent) == gpu && ($0.availableInstances ?? 0) > 0 }.compactMap(VGPUCapacityModel.framebufferMiB))
            guard !held.isEmpty else { continue }
            mixed.add(VGPUCapacityModel.mixedSize(held: held, offered: offered) ? 1 : 0, ("gpu", gpu))
        }

        var iommu = Family("gpuprep_iommu_enabled", "1 when the kernel runs with an IOMMU (devices are in IOMMU groups).")
        iommu.add(snapshot.iommuActive ? 1 : 0)
        var findings = Family("gpuprep_check_findings", "Findings of 'gpuprep check' by status.")
        let checks = Checks.run(snapshot, holders: holders)
        for status in Finding.Status.allCases {
            findings.add(checks.filter { $0.status == status }.count, ("status", status.rawValue))
        }

        var families = [info, vfs, vfsTotal, held, mig, mixed, vgpus, creatable, iommu, findings]
        families += applyFamilies(ApplyRecord.read(host.sysfs))
        return MetricsReport(families: families)
    }

    static func roleName(_ role: HolderRole) -> String {
        switch role {
        case .vm: "vm"
        case .service: "service"
        case .display: "display"
        case .other: "other"
        }
    }

    /// The last apply as gpuprep recorded it; no samples when no apply ever ran.
    static func applyFamilies(_ record: ApplyRecord?) -> [Family] {
        var time = Family("gpuprep_apply_last_timestamp_seconds", "When the last apply (not --check or --dry-run) ended, in seconds since the epoch.")
        var success = Family("gpuprep_apply_last_success", "1 when the last apply left the host as its file says (applied or unchanged), 0 when it was refused or failed.")
        var result = Family("gpuprep_apply_last_result", "The last apply's result (applied, unchanged, refused, failed) and its exit status, as a label set with value 1.")
        var steps = Family("gpuprep_apply_last_steps", "Steps the last apply carried out.")
        if let record {
            time.add(record.time)
            success.add(record.result == .applied || record.result == .unchanged ? 1 : 0)
            result.add(1, ("result", record.result.rawValue), ("status", String(record.status)), ("profile", record.profile ?? ""))
            steps.add(record.steps)
        }
        return [time, success, result, steps]
    }
}

/// MIG GPU instances, counted from the capability files NVIDIA's driver makes for each: one
/// `gi<N>` directory per GPU instance under /proc/driver/nvidia/capabilities/gpu<minor>/mig
/// (NVIDIA's MIG User Guide, "Device Nodes and Capabilities"). The minor is the GPU's
/// "Device Minor" in /proc/driver/nvidia/gpus/<address>/information.
enum MIGInstances {
    static func count(_ address: PCIAddress, sysfs: Sysfs) -> Int? {
        let information = sysfs.read(HostPath.proc.child("driver", "nvidia", "gpus", address.description, "information"))
        guard let minor = DeviceHolders.nvidiaMinor(information) else { return nil }
        let directory = HostPath.proc.child("driver", "nvidia", "capabilities", "gpu\(minor)", "mig")
        guard let entries = sysfs.list(directory) else { return nil }
        return entries.filter { $0.hasPrefix("gi") && Int($0.dropFirst(2)) != nil }.count
    }
}

/// `--json`: `{"schemaVersion": 1, "metrics": [{"name", "help", "type", "samples": [{"labels": {...}, "value"}]}]}`.
extension MetricsReport: Encodable {
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: NamedKey.self)
        try c.encode(1, forKey: NamedKey("schemaVersion"))
        var list = c.nestedUnkeyedContainer(forKey: NamedKey("metrics"))
        for family in families {
            var f = list.nestedContainer(keyedBy: NamedKey.self)
            try f.encode(family.name, forKey: NamedKey("name"))
            try f.encode(family.help, forKey: NamedKey("help"))
            try f.encode(family.type, forKey: NamedKey("type"))
            var samples = f.nestedUnkeyedContainer(forKey: NamedKey("samples"))
            for sample in family.samples {
                var s = samples.nestedContainer(keyedBy: NamedKey.self)
                var labels = s.nestedContainer(keyedBy: NamedKey.self, forKey: NamedKey("labels"))
                for (name, value) in sample.labels { try labels.encode(value, forKey: NamedKey(name)) }
                try s.encode(sample.value, forKey: NamedKey("value"))
            }
        }
    }
}
