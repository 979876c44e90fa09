/// One result of `gpuprep check`.
public struct Finding: Sendable, Encodable, Equatable {
    public enum Status: String, Sendable, Encodable, CaseIterable { case pass, warn, fail, skip }

    public var id: String
    public var status: Status
    public var device: PCIAddress?
    /// One line: what was found and why it matters.
    public var summary: String
    /// The exact command or file edit that fixes it; nil when passing.
    public var remedy: String?

    public init(_ id: String, _ status: Status, _ summary: String, remedy: String? = nil, device: PCIAddress? = nil) {
        self.id = id; self.status = status; self.summary = summary; self.remedy = status == .pass ? nil : remedy; self.device = device
    }

    enum Keys: String, CodingKey { case id, status, device, summary, remedy }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(id, forKey: .id)
        try c.encode(status, forKey: .status)
        try c.encode(device, forKey: .device)
        try c.encode(summary, forKey: .summary)
        try c.encode(remedy, forKey: .remedy)
    }
}
