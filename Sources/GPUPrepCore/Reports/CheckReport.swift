/// The result of `gpuprep check` (schema version 1).
public struct CheckReport: Encodable, Sendable {
    public var root: String
    public var findings: [Finding]
    public var bootLoader: String?

    /// `readROMs`: `check --rom` (see ExpansionROM.read).
    public static func make(host: HostContext, readROMs: Bool = false) throws(GPUPrepError) -> CheckReport {
        var snapshot = try HostSnapshot.read(host)
        snapshot.readROMs = readROMs
        return CheckReport(root: host.root.display, findings: Checks.run(snapshot),
                           bootLoader: snapshot.bootLoader.map { "\($0.kind.rawValue) (\($0.file))" })
    }

    public var failed: Bool { findings.contains { $0.status == .fail } }

    public func count(_ status: Finding.Status) -> Int { findings.filter { $0.status == status }.count }

    enum Keys: String, CodingKey { case schemaVersion, checks, counts, bootLoader }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(1, forKey: .schemaVersion)
        try c.encode(findings, forKey: .checks)
        try c.encode(bootLoader, forKey: .bootLoader)
        try c.encode(Dictionary(uniqueKeysWithValues: Finding.Status.allCases.map { ($0.rawValue, count($0)) }), forKey: .counts)
    }
}
