import GPUPrepSystem

/// What `gpuprep doctor` looked at for one step of its reasoning: a host file and what it said.
public struct Evidence: Sendable, Equatable, Encodable {
    public var path: String
    /// The value read (one line, trimmed), or nil when the file is absent.
    public var value: String?
    public init(_ path: HostPath, _ value: String?) { self.path = path.string; self.value = value }
    public init(path: String, value: String?) { self.path = path; self.value = value }

    enum Keys: String, CodingKey { case path, value }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(path, forKey: .path)
        try c.encode(value, forKey: .value)   // null when absent, never a missing key
    }
}

/// One step of a diagnosis: a check's finding, and the files it rests on. A failing step is a
/// cause: it explains the symptom, and the diagnosis of that GPU stops there.
public struct DiagnosisStep: Sendable, Equatable {
    public var finding: Finding
    public var evidence: [Evidence]

    public init(_ id: String, _ status: Finding.Status, _ summary: String, remedy: String? = nil, device: PCIAddress? = nil,
                evidence: [Evidence] = []) {
        finding = Finding(id, status, summary, remedy: remedy, device: device)
        self.evidence = evidence
    }

    public var isCause: Bool { finding.status == .fail }
}

/// What a GPU is diagnosed for: the symptom is "it cannot be passed through" or "it offers no
/// vGPU a VM can use".
public enum Purpose: String, Sendable, CaseIterable, Encodable {
    case passthrough, vgpu
}

/// Walks a chain of steps in order and stops at the first cause.
struct DiagnosisChain {
    var steps: [DiagnosisStep] = []
    var stopped: Bool { steps.last?.isCause == true }

    /// Runs `step` unless a cause was already found; nil means "nothing to say here".
    mutating func then(_ step: () -> DiagnosisStep?) {
        guard !stopped, let result = step() else { return }
        steps.append(result)
    }
}

/// What the vGPU and passthrough diagnoses of one GPU share: the host read once, the GPU, and
/// how a step of theirs is made (`doctor.<purpose>.<id>`, on the GPU).
protocol GPUDiagnosisWalk {
    var host: DoctorHost { get }
    var gpu: PCIFunction { get }
    static var purpose: Purpose { get }
}

extension GPUDiagnosisWalk {
    var sysfs: Sysfs { host.sysfs }
    var name: String { gpu.deviceName ?? "the GPU" }
    var device: HostPath { HostPath.sysBusPCIDevices.child(gpu.address.description) }
    func step(_ id: String, _ status: Finding.Status, _ summary: String, remedy: String? = nil, _ evidence: [Evidence]) -> DiagnosisStep {
        DiagnosisStep("doctor.\(Self.purpose.rawValue).\(id)", status, summary, remedy: remedy, device: gpu.address, evidence: evidence)
    }
}
