import GPUPrepSystem

/// The result of `gpuprep capture` (schema version 1): where the capture went and what it holds.
public struct CaptureReport: Sendable, Encodable {
    public var output: String
    public var archived: Bool
    public var summary: HostCapture.Summary

    /// tar's compression for an archive name (GNU tar's --auto-compress picks it from the
    /// suffix); nil: not an archive name, the capture is a folder.
    public static func isArchive(_ name: String) -> Bool {
        [".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.zst", ".tzst"].contains { name.hasSuffix($0) }
    }

    /// Captures the host into `output`: a folder (which must not exist or be empty), or an
    /// archive made with tar from a folder staged beside it and removed after.
    public static func make(host: HostContext, output: String, limits: HostCapture.Limits, version: String) throws(GPUPrepError) -> CaptureReport {
        let archive = isArchive(output)
        var tar: HostPath?
        if archive {
            tar = Subprocess.findOnPath("tar")
            guard tar != nil else { throw GPUPrepError(.system, "no tar on PATH to write \(output): install tar, or give a folder to capture into") }
        }
        let folder = archive ? output + ".gpuprep-staging" : output
        let writer: TreeWriter
        do throws(SystemError) { writer = try TreeWriter(making: folder) } catch {
            throw GPUPrepError(.system, "cannot capture into \(folder): \(error.message) (give a new or empty folder, or an archive name such as host.tar.zst)")
        }
        var capture = HostCapture(host: host, into: writer, limits: limits)
        capture.run()
        let summary = capture.summary
        do throws(SystemError) {
            try writer.write(HostPath.captureManifest, Array(manifest(summary, root: host.root.display, version: version, kernel: host.kernelRelease).utf8))
        } catch {
            if archive { writer.removeAll() }
            throw GPUPrepError(.system, "cannot write the capture's manifest: \(error.message)")
        }
        if let tar {
            defer { writer.removeAll() }
            let result: Subprocess.Result
            do throws(SystemError) {
                result = try Subprocess.run([tar.string, "--auto-compress", "-cf", output, "-C", folder, "."], input: [], timeoutSeconds: 300)
            } catch {
                throw GPUPrepError(.system, "tar could not write \(output): \(error.message)")
            }
            guard result.status == 0 else {
                throw GPUPrepError(.system, "tar could not write \(output) (exit status \(result.status)); for .tar.zst install zstd, or name a .tar.gz")
            }
        }
        return CaptureReport(output: output, archived: archive, summary: summary)
    }

    /// The capture's own account of itself, at its root: what it is, from where, what was left out.
    static func manifest(_ summary: HostCapture.Summary, root: String, version: String, kernel: String?) -> String {
        var text = """
        # gpuprep capture: the host files gpuprep reads, as a tree 'gpuprep --root DIR' reads as the live host.
        gpuprep=\(version)
        time=\(Clock.epochSeconds())
        root=\(root)
        kernel=\(kernel ?? "")
        files=\(summary.files)
        links=\(summary.links)
        bytes=\(summary.bytes)

        """
        if let stopped = summary.stoppedEarly { text += "incomplete=\(stopped)\n" }
        text += "# Never taken: environments, command lines (a VMM's -name only), VM definitions beyond the host devices they name,\n"
        text += "# ACPI table contents, BAR and ROM contents, VPD, and anything not listed in 'gpuprep capture --help'.\n"
        for line in summary.leftOut { text += "left-out=\(line)\n" }
        return text
    }

    enum Keys: String, CodingKey { case schemaVersion, output, archived, files, links, bytes, leftOut, incomplete }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(1, forKey: .schemaVersion)
        try c.encode(output, forKey: .output)
        try c.encode(archived, forKey: .archived)
        try c.encode(summary.files, forKey: .files)
        try c.encode(summary.links, forKey: .links)
        try c.encode(summary.bytes, forKey: .bytes)
        try c.encode(summary.leftOut, forKey: .leftOut)
        try c.encode(summary.stoppedEarly, forKey: .incomplete)
    }
}
