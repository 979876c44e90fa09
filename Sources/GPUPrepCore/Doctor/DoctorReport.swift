import GPUPrepSystem

/// The result of `gpuprep doctor` (schema version 1): check's shape (`checks`, `counts`), each
/// step with its `evidence`, and per GPU what it was diagnosed for and its cause.
public struct DoctorReport: Sendable {
    public struct GPUDiagnosis: Sendable {
        public var gpu: PCIFunction
        public var purpose: Purpose
        /// Why this purpose, when --for did not give it (nil when it did).
        public var chosen: String?
        public var steps: [DiagnosisStep]
        public var cause: DiagnosisStep? { steps.last(where: \.isCause) }
    }

    public var root: String
    public var diagnoses: [GPUDiagnosis]
    /// GPUs left out when none was named: the host's console GPU (boot VGA on a host driver).
    public var notDiagnosed: [PCIFunction] = []

    public var steps: [DiagnosisStep] { diagnoses.flatMap(\.steps) }
    public var causes: [DiagnosisStep] { diagnoses.compactMap(\.cause) }
    public var foundCause: Bool { !causes.isEmpty }

    /// `address`: one GPU (or VF) to diagnose; nil: every NVIDIA GPU. `purpose`: nil chooses
    /// per GPU (DoctorHost.purpose).
    public static func make(host context: HostContext, address: PCIAddress?, purpose: Purpose?) throws(GPUPrepError) -> DoctorReport {
        let host = try DoctorHost(context)
        var gpus: [PCIFunction]
        var notDiagnosed: [PCIFunction] = []
        if let address {
            guard let function = host.functions.first(where: { $0.address == address }) else {
                throw GPUPrepError(.unknownDevice, "no PCI function \(address) on this host: 'gpuprep list' shows the GPUs")
            }
            guard function.kind == .gpu || function.kind == .vf else {
                throw GPUPrepError(.unknownDevice, "\(address) is not an NVIDIA GPU (it is \(function.kind.rawValue)): doctor diagnoses GPUs; 'gpuprep list' shows them")
            }
            gpus = [function]
        } else {
            gpus = host.functions.filter { $0.kind == .gpu }
            if purpose == nil {
                notDiagnosed = gpus.filter { $0.bootVGA && !($0.driver.map(VFIORule.isVFIODriver) ?? false) }
                gpus.removeAll { gpu in notDiagnosed.contains { $0.address == gpu.address } }
            }
        }
        let diagnoses = gpus.map { gpu in
            let chosen = purpose ?? host.purpose(of: gpu)
            let steps = chosen == .vgpu ? VGPUDiagnosis(host: host, gpu: gpu).run() : PassthroughDiagnosis(host: host, gpu: gpu).run()
            return GPUDiagnosis(gpu: gpu, purpose: chosen, chosen: purpose == nil ? reason(for: chosen, gpu, host) : nil, steps: steps)
        }
        return DoctorReport(root: context.root.display, diagnoses: diagnoses, notDiagnosed: notDiagnosed)
    }

    static func reason(for purpose: Purpose, _ gpu: PCIFunction, _ host: DoctorHost) -> String {
        switch purpose {
        case .passthrough: gpu.driver.map(VFIORule.isVFIODriver) == true ? "it is on \(gpu.driver!)" : "no vGPU host driver serves it"
        case .vgpu: gpu.driver == "nvidia" && host.vgpuManagerInstalled ? "it is on nvidia and NVIDIA's vGPU manager is installed" : "it offers vGPUs"
        }
    }

    public func count(_ status: Finding.Status) -> Int { steps.filter { $0.finding.status == status }.count }
}

extension DoctorReport: Encodable {
    enum Keys: String, CodingKey { case schemaVersion, checks, counts, diagnoses, notDiagnosed }
    enum StepKeys: String, CodingKey { case evidence }
    enum DiagnosisKeys: String, CodingKey { case device, purpose = "for", chosenBecause, cause }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(1, forKey: .schemaVersion)
        var list = c.nestedUnkeyedContainer(forKey: .checks)
        for step in steps { try list.encode(StepJSON(step)) }
        try c.encode(Dictionary(uniqueKeysWithValues: Finding.Status.allCases.map { ($0.rawValue, count($0)) }), forKey: .counts)
        var gpus = c.nestedUnkeyedContainer(forKey: .diagnoses)
        for diagnosis in diagnoses {
            var d = gpus.nestedContainer(keyedBy: DiagnosisKeys.self)
            try d.encode(diagnosis.gpu.address, forKey: .device)
            try d.encode(diagnosis.purpose, forKey: .purpose)
            try d.encode(diagnosis.chosen, forKey: .chosenBecause)
            if let cause = diagnosis.cause {
                try d.encode(StepJSON(cause), forKey: .cause)
            } else {
                try d.encodeNil(forKey: .cause)
            }
        }
        try c.encode(notDiagnosed.map(\.address), forKey: .notDiagnosed)
    }

    /// A step as check writes a finding, with its evidence.
    struct StepJSON: Encodable {
        let step: DiagnosisStep
        init(_ step: DiagnosisStep) { self.step = step }
        func encode(to encoder: Encoder) throws {
            try step.finding.encode(to: encoder)
            var c = encoder.container(keyedBy: StepKeys.self)
            try c.encode(step.evidence, forKey: .evidence)
        }
    }
}
