import FoundationEssentials
import GPUPrepSystem

/// A YAML document's node tree with the line and column of every node, as gpuprep-yaml (Yams,
/// that is libyaml) reads it. Scalars stay text: the contract's values are names, addresses,
/// ids and counts, which YAML's own typing would get wrong (`0000:26:00.0`, `10de`).
public struct YAMLNode: Decodable, Sendable {
    public var line: Int
    public var column: Int
    public var scalar: String?
    public var quoted: Bool?
    public var sequence: [YAMLNode]?
    public var mapping: [[YAMLNode]]?

    /// The pairs of a mapping.
    public var pairs: [(key: YAMLNode, value: YAMLNode)]? {
        mapping.map { $0.compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil } }
    }

    /// An empty value (`key:` with nothing after it, `~`, `null`).
    public var isNull: Bool {
        guard let scalar, quoted != true else { return false }
        return scalar.isEmpty || scalar == "~" || scalar == "null" || scalar == "Null" || scalar == "NULL"
    }
}

/// Reads YAML through the gpuprep-yaml helper (see its main.swift for why it is a program apart).
public enum YAMLDocument {
    /// Files larger than this are not a layout: refuse them rather than read them whole.
    public static let maximumBytes = 1 << 20

    struct Answer: Decodable {
        var node: YAMLNode?
        var error: String?
        var line: Int?
        var column: Int?
    }

    /// The helper: $GPUPREP_YAML, else gpuprep-yaml beside this program, else on PATH.
    public static func helper(environment: [String: String]) -> String? {
        if let named = environment["GPUPREP_YAML"], !named.isEmpty { return named }
        if let directory = Subprocess.ownDirectory, Subprocess.isExecutable(directory + "/gpuprep-yaml") {
            return directory + "/gpuprep-yaml"
        }
        for directory in (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
        where Subprocess.isExecutable(directory + "/gpuprep-yaml") {
            return directory + "/gpuprep-yaml"
        }
        return nil
    }

    /// Parses `text` (from `source`, named in errors); a syntax error names its line.
    public static func parse(_ text: [UInt8], source: String, environment: [String: String]) throws(GPUPrepError) -> YAMLNode {
        guard let helper = helper(environment: environment) else {
            throw GPUPrepError(.system, "gpuprep-yaml, which reads apply's YAML, is not installed beside gpuprep or on PATH: install both ('make install')")
        }
        let result: Subprocess.Result
        do throws(SystemError) { result = try Subprocess.run([helper], input: text) } catch { throw GPUPrepError(error) }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: Data(result.output)) else {
            throw GPUPrepError(.system, "\(helper) gave no answer (exit status \(result.status)): reinstall gpuprep and gpuprep-yaml together")
        }
        if let error = answer.error {
            let at = (answer.line ?? 0) > 0 ? ":\(answer.line!):\(answer.column ?? 0)" : ""
            throw GPUPrepError(.badConfig, "\(source)\(at): not valid YAML: \(error)")
        }
        guard let node = answer.node else { throw GPUPrepError(.system, "\(helper) gave no document") }
        return node
    }
}
