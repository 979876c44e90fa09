import FoundationEssentials
import GPUPrepSystem

/// A layout file read from disk: bounded (a regular file of at most 1 MiB, never a FIFO or a
/// device waited on), parsed by gpuprep-yaml, checked by LayoutParser. `apply -f` and the
/// host's own /etc/gpuprep/gpuprep.yaml are read the same way.
public enum LayoutFile {
    /// Its text, nil when there is no such file; `shown` names it in messages.
    public static func text(at path: String, shown: String) throws(GPUPrepError) -> String? {
        try text(ConfigFile.read(path, limit: YAMLDocument.maximumBytes), shown: shown)
    }

    /// The host's own file, resolved inside its root (a link out of a captured tree is not followed out).
    public static func hostText(root: HostRoot) throws(GPUPrepError) -> String? {
        try text(ConfigFile.read(.layoutFile, in: root, limit: YAMLDocument.maximumBytes), shown: HostPath.layoutFile.string)
    }

    static func text(_ read: Result<[UInt8], ConfigFile.Problem>, shown: String) throws(GPUPrepError) -> String? {
        switch read {
        case .success(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .failure(.missing): return nil
        case .failure(.notRegular): throw GPUPrepError(.unreadableFile, "\(shown) is not a regular file")
        case .failure(.tooLarge(let size)): throw GPUPrepError(.unreadableFile, "\(shown) is \(size) bytes: a layout file is at most \(YAMLDocument.maximumBytes)")
        case .failure(.io(let code)): throw GPUPrepError(SystemError.io(path: shown, errno: code))
        }
    }

    /// The layout its text describes; a mistake names `shown` and the line.
    public static func parse(_ text: String, shown: String,
                             environment: [String: String] = ProcessInfo.processInfo.environment) throws(GPUPrepError) -> HostLayout {
        let document = try YAMLDocument.parse(Array(text.utf8), source: shown, environment: environment)
        return try LayoutParser(source: shown).parse(document)
    }
}
