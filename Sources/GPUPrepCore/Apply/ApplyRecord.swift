import GPUPrepSystem

/// What the last `apply` that could change the host did, and when: written by `apply` (not by
/// `--check` or `--dry-run`) whether it changed the host, found nothing to do, was refused or
/// failed, so that `gpuprep metrics` can tell monitoring whether the boot unit or the DaemonSet
/// left the host as its file says. One `key=value` line each, in /var/lib/gpuprep/last-apply.
public struct ApplyRecord: Sendable, Equatable {
    public enum Result: String, Sendable, CaseIterable {
        /// The host was changed to match the file.
        case applied
        /// The host already matched.
        case unchanged
        /// Planning refused the file on this host (nothing was changed).
        case refused
        /// A change failed and was rolled back (or its rollback failed: see `status`).
        case failed
    }

    /// Seconds since the epoch.
    public var time: Int
    public var result: Result
    /// The exit status `apply` ended with.
    public var status: Int32
    /// Steps carried out.
    public var steps: Int
    public var profile: String?

    public init(time: Int = Clock.epochSeconds(), result: Result, status: Int32, steps: Int, profile: String?) {
        self.time = time; self.result = result; self.status = status; self.steps = steps; self.profile = profile
    }

    /// The record of a finished run: its report, or the error that ended it before one.
    public static func of(_ report: ApplyReport?, error: GPUPrepError?, profile: String?) -> ApplyRecord {
        let steps = report?.outcome?.records.filter(\.done).count ?? 0
        if let failure = error ?? report?.failure {
            let result: Result = failure.code == .refused || failure.code == .unknownDevice || failure.code == .unknownType
                || failure.code == .badConfig || failure.code == .usage ? .refused : .failed
            return ApplyRecord(result: result, status: failure.exitStatus, steps: steps, profile: profile)
        }
        return ApplyRecord(result: report?.changed == true ? .applied : .unchanged, status: 0, steps: steps, profile: profile)
    }

    public var text: String {
        """
        # gpuprep: the last apply, read by 'gpuprep metrics'
        time=\(time)
        result=\(result.rawValue)
        status=\(status)
        steps=\(steps)
        profile=\(profile ?? "")

        """
    }

    /// Parses a record; nil when there is none or it is not one (a record from a newer gpuprep
    /// with more keys is read for the keys it shares).
    public static func parse(_ text: String) -> ApplyRecord? {
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        guard let time = values["time"].flatMap({ Int($0) }), let result = values["result"].flatMap(Result.init(rawValue:)),
              let status = values["status"].flatMap({ Int32($0) }) else { return nil }
        let profile = values["profile"].flatMap { $0.isEmpty ? nil : $0 }
        return ApplyRecord(time: time, result: result, status: status, steps: values["steps"].flatMap { Int($0) } ?? 0, profile: profile)
    }

    public static func read(_ sysfs: Sysfs) -> ApplyRecord? {
        sysfs.readWhole(HostPath.lastApplyRecord).flatMap(parse)
    }

    /// Writes the record under the root; a record that cannot be written is said, never fatal:
    /// the apply itself is done.
    public func write(root: HostRoot) -> String? {
        do throws(SystemError) {
            try AtomicFile(root: root).write(HostPath.lastApplyRecord, text)
            return nil
        } catch {
            return "could not record the apply for 'gpuprep metrics' in \(HostPath.lastApplyRecord): \(error.message)"
        }
    }
}
