/// Renders reports as the one JSON document the contract promises.
public enum JSONOutput {
    public static func render<T: Encodable>(_ value: T) -> String {
        do {
            return try OrderedJSONEncoder.encode(value)
        } catch {
            // Only non-finite floats could fail, and reports hold none.
            return "{\n  \"schemaVersion\": 1,\n  \"error\": {\"code\": \"system\", \"message\": \"cannot encode report\"}\n}\n"
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
