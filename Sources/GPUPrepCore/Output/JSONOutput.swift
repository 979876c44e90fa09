import Foundation

/// Renders reports as the one JSON document the contract promises.
public enum JSONOutput {
    public static func render<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        // Sorted keys: Foundation's encoder does not keep the order keys were written in.
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            let text = String(decoding: try encoder.encode(value), as: UTF8.self)
            return compactEmptyContainers(text) + "\n"
        } catch {
            // Only non-finite floats can fail to encode, and reports hold none.
            return "{\"schemaVersion\": 1, \"error\": {\"code\": \"system\", \"message\": \"cannot encode report\"}}\n"
        }
    }

    /// The encoder prints `[]` as `[`, a blank line and `]`. Strings cannot hold a raw
    /// newline (the encoder escapes it), so this rewrite never touches a value.
    static func compactEmptyContainers(_ text: String) -> String {
        text.replacingOccurrences(of: #"\[\n\s*\n\s*\]"#, with: "[]", options: .regularExpression)
            .replacingOccurrences(of: #"\{\n\s*\n\s*\}"#, with: "{}", options: .regularExpression)
    }

    /// An error as a JSON document (for stderr with `--json`).
    public static func render(error: GPUPrepError) -> String {
        render(ErrorDocument(error: .init(code: error.code.rawValue, message: error.message, exitStatus: error.exitStatus)))
    }

    struct ErrorDocument: Encodable {
        struct Body: Encodable { var code: String; var message: String; var exitStatus: Int32 }
        var schemaVersion = 1
        var error: Body
    }
}
