import Foundation

/// Renders reports as the one JSON document the contract promises.
public enum JSONOutput {
    public static func render<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
        } catch {
            // Only non-finite floats can fail to encode, and reports hold none.
            return "{\"schemaVersion\": 1, \"error\": {\"code\": \"system\", \"message\": \"cannot encode report\"}}\n"
        }
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
