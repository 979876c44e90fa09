import GPUPrepSystem

/// `gpuprep check --fix`: adds the missing IOMMU arguments to the boot loader's configuration.
/// Only a boot loader gpuprep recognised is touched, only its own file, and only by appending
/// to the command line it already has; a second run finds nothing to do.
public struct BootLoaderFix: Sendable {
    public var plan: ChangePlan
    /// The unified diff of every file edit.
    public var diff: String
    /// What to run afterwards so that the next boot uses it (nil: nothing, or nothing to fix).
    public var next: String?
    public var arguments: [String]

    public static func plan(_ host: HostContext) throws(GPUPrepError) -> BootLoaderFix {
        let snapshot = try HostSnapshot.read(host)
        guard let loader = snapshot.bootLoader else {
            throw GPUPrepError(.refused, "no boot loader configuration recognised (GRUB, BLS entries, /etc/kernel/cmdline, kernelstub): nothing changed; add the arguments by hand")
        }
        let missing = (snapshot.requiredArguments + snapshot.advisedArguments).filter { !loader.configured.has($0) }
        var fix = BootLoaderFix(plan: ChangePlan(), diff: "", next: nil, arguments: missing)
        guard !missing.isEmpty else { return fix }
        let files = AtomicFile(root: host.root)
        let joined = missing.joined(separator: " ")
        switch loader.kind {
        case .kernelstub:
            // kernelstub rewrites its own JSON; it is told, not edited.
            fix.next = "kernelstub " + missing.map { "-a \($0)" }.joined(separator: " ")
            return fix
        case .kernelCmdline, .proxmox:
            let old = files.read(loader.file) ?? ""
            let line = old.trimmed()
            fix.add(loader.file, old: old, new: (line.isEmpty ? joined : line + " " + joined) + "\n")
            fix.next = loader.regenerate
        case .grub, .grubBLS:
            let target = loader.grubAssignment
            let path = target?.file ?? .defaultGrub
            let old = files.read(path) ?? ""
            fix.add(path, old: old, new: grubEdited(old, assignment: target?.assignment, adding: joined,
                                                    variable: loader.kind == .grubBLS ? "GRUB_CMDLINE_LINUX" : "GRUB_CMDLINE_LINUX_DEFAULT"))
            fix.next = loader.kind == .grubBLS ? "grubby --update-kernel=ALL --args=\"\(joined)\"" : loader.regenerate
        }
        return fix
    }

    /// A backup beside the file, then the file, both replaced atomically.
    mutating func add(_ path: HostPath, old: String, new: String) {
        guard old != new else { return }
        let backup = HostPath.backup(of: path)
        plan.fileChanges.append(Step(action: .writeFile, path: backup, value: old, device: nil))
        plan.fileChanges.append(Step(action: .writeFile, path: path, value: new, device: nil))
        diff += UnifiedDiff.make(old, new, path: path.string)
    }

    /// Appends inside the value's closing quote, so quoting and `$VAR` references stay as written;
    /// an unquoted value is quoted; without an assignment, one is added at the end.
    static func grubEdited(_ text: String, assignment: ShellAssignment?, adding arguments: String, variable: String) -> String {
        guard let assignment else {
            let separator = text.isEmpty || text.hasSuffix("\n") ? "" : "\n"
            return text + separator + "\(variable)=\"\(arguments)\"\n"
        }
        guard assignment.valueEndOffset <= text.utf8.count else { return text }
        let valueEnd = text.utf8.index(text.startIndex, offsetBy: assignment.valueEndOffset)
        var edited = text
        let space = assignment.value.isEmpty || assignment.value.hasSuffix(" ") ? "" : " "
        if assignment.closingQuote != nil {
            let quote = text.index(before: valueEnd)
            edited.insert(contentsOf: space + arguments, at: quote)
        } else {
            let lineStart = text[..<valueEnd].lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex
            guard let equals = text[lineStart..<valueEnd].firstIndex(of: "=") else { return text }
            let escaped = (assignment.value + space + arguments).reduce(into: "") { out, c in
                if "\"\\$`".contains(c) { out.append("\\") }
                out.append(c)
            }
            edited.replaceSubrange(text.index(after: equals)..<valueEnd, with: "\"\(escaped)\"")
        }
        return edited
    }
}
