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
    /// What --regenerate runs afterwards (see Regeneration).
    public var regeneration = Regeneration.Needs()

    /// The boot loader's arguments, then the nouveau blacklist (see NouveauBlacklist); with
    /// `regenerate`, the commands that make the next boot use them, run (not printed).
    public static func plan(_ host: HostContext, regenerate: Bool = false) throws(GPUPrepError) -> BootLoaderFix {
        let snapshot = try HostSnapshot.read(host)
        var fix = try planBootLoader(host, snapshot)
        // An earlier edit whose regeneration was never run: the generated grub.cfg lacks it.
        if regenerate, fix.regeneration.bootLoader == nil, let loader = snapshot.bootLoader,
           Regeneration.grubConfigurationIsStale(host, loader, wanted: snapshot.requiredArguments + snapshot.advisedArguments) {
            fix.regeneration.bootLoader = loader.regenerateArguments
            fix.plan.notes.append("\(loader.generatedConfig?.string ?? "grub.cfg") lacks arguments \(loader.file) has: it was not regenerated after the last edit")
        }
        switch NouveauBlacklist.decide(snapshot) {
        case .write(let why):
            try fix.addOwnFile(.nouveauBlacklist, NouveauBlacklist.content, files: AtomicFile(root: host.root))
            fix.plan.notes.append("\(why): \(HostPath.nouveauBlacklist) blacklists it")
            fix.regeneration.initramfs = true
        case .leave(let why):
            fix.plan.notes.append(why)
        case .none:
            break
        }
        if VGAArbitration.shouldWrite(snapshot) {
            try fix.addOwnFile(.vfioPCIOptions, VGAArbitration.content, files: AtomicFile(root: host.root))
            fix.plan.notes.append("the GPUs vfio-pci holds are not the boot VGA device: \(HostPath.vfioPCIOptions) sets its disable_vga")
            fix.regeneration.initramfs = true
        }
        // The initramfs carries modprobe.d: rebuilt first, then the boot loader's command.
        if fix.regeneration.initramfs {
            let next = [NouveauBlacklist.rebuild(host.sysfs), fix.next].compactMap { $0 }
            fix.next = next.isEmpty ? nil : next.joined(separator: "; ")
        }
        if regenerate {
            fix.plan.regeneration = try Regeneration.steps(host, fix.regeneration)
            // What is run is no longer left to the admin.
            if !fix.plan.regeneration.isEmpty { fix.next = nil }
        }
        return fix
    }

    static func planBootLoader(_ host: HostContext, _ snapshot: HostSnapshot) throws(GPUPrepError) -> BootLoaderFix {
        let wanted = snapshot.requiredArguments + snapshot.advisedArguments
        guard let loader = snapshot.bootLoader else {
            // Nothing to fix is no refusal: the running kernel may have all it needs.
            let lacking = wanted.filter { snapshot.running?.has($0) != true }
            guard lacking.isEmpty else {
                throw GPUPrepError(.refused, "no boot loader configuration recognised (GRUB, BLS entries, systemd-boot entries, /etc/kernel/cmdline, kernelstub): nothing changed; add \(lacking.joined(separator: " ")) to the kernel command line by hand")
            }
            return BootLoaderFix(plan: ChangePlan(), diff: "", next: nil, arguments: [])
        }
        // An argument that switches the IOMMU off is replaced by the wanted one of its name (or
        // removed), not contradicted by another appended after it.
        let offs = loader.iommuOffSwitches
        let replacements = offs.map { (old: $0, new: BootLoader.replacement(for: $0, wanted: wanted)) }
        let missing = wanted.filter { argument in !loader.configured.has(argument) && !replacements.contains { $0.new == argument } }
        var fix = BootLoaderFix(plan: ChangePlan(), diff: "", next: nil, arguments: missing + replacements.compactMap(\.new))
        let files = AtomicFile(root: host.root)
        if loader.kind == .systemdBoot {
            try fix.editEntries(host, wanted: wanted, files: files)
            return fix
        }
        guard !missing.isEmpty || !offs.isEmpty else { return fix }
        let joined = missing.joined(separator: " ")
        switch loader.kind {
        case .kernelstub:
            // kernelstub rewrites its own JSON; it is told, not edited.
            let arguments = offs.flatMap { ["-d", $0] } + fix.arguments.flatMap { ["-a", $0] }
            fix.next = "kernelstub " + (offs.map { "-d \($0)" } + fix.arguments.map { "-a \($0)" }).joined(separator: " ")
            fix.regeneration.bootLoader = ["kernelstub"] + arguments
            return fix
        case .systemdBoot:
            break   // planned above, entry by entry
        case .kernelCmdline, .proxmox, .uki:
            let old = files.read(loader.file) ?? ""
            // With UKIs and no file yet, the builders embed the running command line: it is kept.
            var line = loader.kind == .uki ? BootLoader.runningArguments(host) : old.trimmed()
            for r in replacements { line = replacingArgument(r.old, with: r.new, in: line) }
            try fix.add(loader.file, old: old, new: (joined.isEmpty ? line : line.isEmpty ? joined : line + " " + joined) + "\n", files: files,
                        backUp: loader.kind != .uki)
            fix.next = loader.regenerate
            fix.regeneration.bootLoader = loader.regenerateArguments
        case .grub, .grubBLS:
            let grub = BootLoader.grubFiles(host)
            if let problem = grub.problems.first { throw GPUPrepError(.refused, problem + " (nothing changed)") }
            let variable = loader.kind == .grubBLS ? "GRUB_CMDLINE_LINUX" : "GRUB_CMDLINE_LINUX_DEFAULT"
            if let target = grub.target, let why = target.assignment.uncertainty {
                throw GPUPrepError(.refused, "\(target.file) line \(target.assignment.line) sets \(target.assignment.name), but \(why): gpuprep edits only an assignment the shell runs; add \(fix.arguments.joined(separator: " ")) there by hand (nothing changed)")
            }
            if grub.target == nil, let lock = grub.readonly.first(where: { $0.name == variable }) {
                throw GPUPrepError(.refused, "\(lock.file) line \(lock.line) makes \(variable) read-only: an added assignment would stop grub-mkconfig; add \(fix.arguments.joined(separator: " ")) by hand (nothing changed)")
            }
            let target = loader.grubAssignment
            let path = target?.file ?? .defaultGrub
            // With BLS, what the running entries lack is grubby's to add; /etc/default/grub (for
            // kernels installed later) gets only what it lacks itself, so a second run adds nothing.
            var joined = joined
            if loader.kind == .grubBLS {
                let assignments = BootLoader.grubAssignments(host).0
                let grubLine = KernelCommandLine(["GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT"].map { name in
                    assignments.last { $0.assignment.name == name }?.assignment.value ?? "" }.joined(separator: " "))
                joined = wanted.filter { argument in !grubLine.has(argument) && !replacements.contains { $0.new == argument } }.joined(separator: " ")
            }
            // The switches are replaced where they are written: in any command line assignment, in any file.
            var edited: [HostPath: String] = [:]
            // Last first, so that an edit never moves the offsets of the lines still to edit.
            for (file, assignment) in BootLoader.grubAssignments(host).0.reversed()
            where ["GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT"].contains(assignment.name) {
                var text = edited[file] ?? files.read(file) ?? ""
                var end = assignment.valueEndOffset
                for r in replacements {
                    let before = text.utf8.count
                    text = replacingArgument(r.old, with: r.new, inValueFrom: assignment.valueStartOffset, to: end, of: text)
                    end += text.utf8.count - before
                }
                edited[file] = text
            }
            // Appending goes after the edits above, which may have moved the assignment: read it again.
            let base = edited[path] ?? files.read(path) ?? ""
            let assignment = target.flatMap { t in ShellAssignments.parse(base).last { $0.name == t.assignment.name } }
            edited[path] = joined.isEmpty ? base : grubEdited(base, assignment: assignment, adding: joined, variable: variable)
            for file in edited.keys.sorted(by: { $0.string < $1.string }) { try fix.add(file, old: files.read(file) ?? "", new: edited[file]!, files: files) }
            if loader.kind == .grubBLS {
                let added = fix.arguments.joined(separator: " ")
                fix.next = "grubby --update-kernel=ALL" + (offs.isEmpty ? "" : " --remove-args=\"\(offs.joined(separator: " "))\"")
                    + (added.isEmpty ? "" : " --args=\"\(added)\"")
                // grubby edits every BLS entry (and the kernelopts of grubenv on EL8) itself.
                fix.regeneration.bootLoader = ["grubby", "--update-kernel=ALL"] + (offs.isEmpty ? [] : ["--remove-args=" + offs.joined(separator: " ")])
                    + (added.isEmpty ? [] : ["--args=" + added])
            } else {
                fix.next = loader.regenerate
                fix.regeneration.bootLoader = loader.regenerateArguments
            }
        }
        return fix
    }

    /// systemd-boot's entries, every Linux one (with a `linux` line; another OS's `efi` entry is
    /// left), so that whichever boots has the arguments: each entry's own switches replaced and
    /// what it lacks appended to its last `options` line, or an `options` line added.
    mutating func editEntries(_ host: HostContext, wanted: [String], files: AtomicFile) throws(GPUPrepError) {
        var added = Set<String>()
        for name in (host.sysfs.list(.blsEntries) ?? []).sorted() where name.hasSuffix(".conf") && HostPath.isPlainName(name) {
            let path = HostPath.blsEntries.child(name)
            guard let old = files.read(path) else { continue }
            var lines = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            guard lines.contains(where: { $0.trimmed().hasPrefix("linux ") }) else { continue }
            let isOptions = { (line: String) in line.trimmed() == "options" || (line.trimmed().hasPrefix("options") && line.trimmed().dropFirst(7).first?.isWhitespace == true) }
            let options = lines.filter(isOptions).map { String($0.trimmed().dropFirst(7)) }.joined(separator: " ")
            let entry = BootLoader(kind: .systemdBoot, file: path, configured: KernelCommandLine(options), regenerate: nil)
            let replacements = entry.iommuOffSwitches.map { (old: $0, new: BootLoader.replacement(for: $0, wanted: wanted)) }
            let missing = wanted.filter { argument in !entry.configured.has(argument) && !replacements.contains { $0.new == argument } }
            guard !missing.isEmpty || !replacements.isEmpty else { continue }
            for index in lines.indices where isOptions(lines[index]) {
                for r in replacements { lines[index] = Self.replacingArgument(r.old, with: r.new, in: lines[index]) }
            }
            if let index = lines.lastIndex(where: isOptions), !missing.isEmpty {
                lines[index] += (lines[index].hasSuffix(" ") ? "" : " ") + missing.joined(separator: " ")
            } else if !missing.isEmpty {
                lines.insert("options " + missing.joined(separator: " "), at: lines.last == "" ? lines.count - 1 : lines.count)
            }
            added.formUnion(missing + replacements.compactMap(\.new))
            try add(path, old: old, new: lines.joined(separator: "\n"), files: files)
        }
        arguments = wanted.filter(added.contains)
    }

    /// Replaces (or removes) one whole kernel argument in a command line.
    static func replacingArgument(_ old: String, with new: String?, in line: String) -> String {
        var words = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard let index = words.firstIndex(of: old) else { return line }
        if let new { words[index] = new } else { words.remove(at: index) }
        return words.joined(separator: " ")
    }

    /// The same, within the raw value of a GRUB assignment (from `start` to `offset`, which may
    /// span continued lines): the argument as a whole word between blanks, quotes, line ends or
    /// the `=`; everything else kept byte for byte.
    static func replacingArgument(_ old: String, with new: String?, inValueFrom start: Int, to offset: Int, of text: String) -> String {
        let bytes = Array(text.utf8)
        guard offset <= bytes.count, start <= offset else { return text }
        let lineStart = start
        let target = Array(old.utf8)
        let bounds: Set<UInt8> = [0x20, 0x09, 0x22, 0x27, 0x3d, 0x0a, 0x0d, 0x5c]     // space, tab, ", ', =, LF, CR, backslash
        var i = lineStart
        while i + target.count <= offset {
            let before = i == lineStart ? nil : bytes[i - 1]
            let after = i + target.count < bytes.count ? bytes[i + target.count] : nil
            if Array(bytes[i..<(i + target.count)]) == target, before.map(bounds.contains) ?? true,
               after.map(bounds.contains) ?? true {
                var start = i, end = i + target.count
                if new == nil {
                    // Removed: with one space beside it, so that no double space is left.
                    if end < bytes.count, bytes[end] == 0x20 { end += 1 } else if start > lineStart, bytes[start - 1] == 0x20 { start -= 1 }
                }
                return String(decoding: bytes[..<start] + Array((new ?? "").utf8) + bytes[end...], as: UTF8.self)
            }
            i += 1
        }
        return text
    }

    /// A backup beside the file (the first one is kept: a later run must not replace the
    /// original with an edited copy), then the file, both replaced atomically.
    /// A backup that is not a regular file (a link, a FIFO, a directory) is refused: the edit would
    /// go ahead with no copy of the original to go back to.
    /// `backUp: false` for a file gpuprep makes new.
    mutating func add(_ path: HostPath, old: String, new: String, files: AtomicFile, backUp: Bool = true) throws(GPUPrepError) {
        guard old != new else { return }
        let backup = HostPath.backup(of: path)
        switch Sysfs(root: files.root).kindOfEntry(backup) {
        case nil where !backUp: break
        case nil: plan.fileChanges.append(Step(action: .backUp, path: backup, value: path.string, device: nil))
        case "a regular file": break     // the first backup is kept
        case let kind?:
            throw GPUPrepError(.refused, "\(backup) is \(kind), not a copy of \(path): gpuprep keeps the original there before it edits the file; remove it and run again (nothing changed)")
        }
        plan.fileChanges.append(Step(action: .writeFile, path: path, value: new, device: nil))
        diff += UnifiedDiff.make(old, new, path: path.string)
    }

    /// A file of gpuprep's own (modprobe.d): written whole, backed up only if one was there.
    mutating func addOwnFile(_ path: HostPath, _ content: String, files: AtomicFile) throws(GPUPrepError) {
        let old = files.read(path)
        try add(path, old: old ?? "", new: content, files: files, backUp: old != nil)
    }

    /// Appends inside the value's closing quote, so quoting and `$VAR` references stay as written;
    /// an unquoted value is quoted; without an assignment, one is added at the end.
    static func grubEdited(_ text: String, assignment: ShellAssignment?, adding arguments: String, variable: String) -> String {
        guard let assignment else {
            // A file written with CRLF line ends gets its new line with one too.
            let newline = text.utf8.contains(0x0d) && text.contains("\r\n") ? "\r\n" : "\n"
            let separator = text.isEmpty || text.hasSuffix("\n") ? "" : newline
            return text + separator + "\(variable)=\"\(arguments)\"" + newline
        }
        guard assignment.valueEndOffset <= text.utf8.count else { return text }
        let valueEnd = text.utf8.index(text.startIndex, offsetBy: assignment.valueEndOffset)
        var edited = text
        let space = assignment.value.isEmpty || assignment.value.hasSuffix(" ") ? "" : " "
        if assignment.closingQuote != nil {
            let quote = text.index(before: valueEnd)
            edited.insert(contentsOf: space + arguments, at: quote)
        } else if text.utf8[text.utf8.index(text.startIndex, offsetBy: assignment.valueStartOffset)..<valueEnd.samePosition(in: text.utf8)!]
                    .contains(where: { [0x22, 0x27, 0x24, 0x5c, 0x60].contains($0) }) {
            // Quotes, `$VAR` or escapes written unquoted are kept as written (a `$VAR` must stay a
            // reference, not become its value): a quoted segment is appended to the word.
            edited.insert(contentsOf: "\"\(space)\(arguments)\"", at: valueEnd)
        } else {
            let valueStart = text.utf8.index(text.startIndex, offsetBy: assignment.valueStartOffset)
            guard valueStart > text.startIndex else { return text }
            let equals = text.index(before: valueStart)
            let escaped = (assignment.value + space + arguments).reduce(into: "") { out, c in
                if "\"\\$`".contains(c) { out.append("\\") }
                out.append(c)
            }
            edited.replaceSubrange(text.index(after: equals)..<valueEnd, with: "\"\(escaped)\"")
        }
        return edited
    }
}
