import ArgumentParser
import GPUPrepCore
import GPUPrepSystem

// Every command names itself (commandName): without it ArgumentParser derives the name with
// String(describing:), whose first use per type scans every protocol conformance in the binary,
// and that was half of the start-up time (measured with callgrind; see README, Performance).
@main
struct GPUPrep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpuprep",
        abstract: "Prepare Linux KVM hosts for NVIDIA GPU passthrough and vGPU.",
        discussion: """
        gpuprep reads the host through libpci, libkmod and sysfs. Every host file is \
        taken relative to --root (default /), so a captured host tree is inspected like a live one. \
        The global options (--root, --json, --no-color, --pci-ids) may come before or after the command.

        EXIT STATUS
        \(ExitStatusTable.text)

        With --json, errors (bad usage too) are one JSON document on standard error:
          {"schemaVersion": 1, "error": {"code": "...", "message": "...", "exitStatus": N}}
        """,
        version: GPUPrepVersion.string,
        subcommands: [Check.self, List.self, IOMMU.self, Conflicts.self, Bind.self, Unbind.self, Types.self, VGPUs.self, Create.self, Destroy.self, SRIOV.self, Apply.self, ExportCommand.self, Doctor.self, Capture.self, Metrics.self]
    )

    /// ArgumentParser's own entry point, with the front door the README promises: global options
    /// before the command, a mistyped command named as such with the nearest one, a negative
    /// count read as a number, and usage errors as JSON with --json (exit 64 in every case).
    static func main() {
        let arguments = CommandLineArguments.normalized(Array(CommandLine.arguments.dropFirst()))
        let json = arguments.contains("--json")
        do {
            try CommandLineArguments.checkCommand(arguments, known: configuration.subcommands.compactMap { $0.configuration.commandName })
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch let error as GPUPrepError {
            Terminal.writeError(json ? JSONOutput.render(error: error) : "gpuprep: error: \(error.message)\n")
            exit(withError: ExitCode(error.exitStatus))
        } catch {
            let code = exitCode(for: error)
            // Help and --version are no errors; ExitCode is a status a command already reported.
            if json, code != .success, !(error is ExitCode) {
                let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "bad usage"
                Terminal.writeError(JSONOutput.render(error: GPUPrepError(.usage, message)))
                exit(withError: ExitCode(GPUPrepError.Code.usage.exitStatus))
            }
            exit(withError: error)
        }
    }
}

/// The command line before ArgumentParser reads it.
enum CommandLineArguments {
    static let globalFlags: Set<String> = ["--json", "--no-color"]
    static let globalOptions: Set<String> = ["--root", "--pci-ids"]

    /// Global options given before the command move after it (ArgumentParser takes a command's
    /// options only after its name), and `--count -1` becomes `--count=-1` (else "-1" reads as
    /// an option and the error says a value is missing, not that it is out of range).
    static func normalized(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            let name = String(word.split(separator: "=", maxSplits: 1).first ?? "")
            if globalFlags.contains(word) { leading.append(word); index += 1; continue }
            if globalOptions.contains(name) {
                if word.contains("=") || index + 1 >= arguments.count { leading.append(word); index += 1 } else {
                    leading += [word, arguments[index + 1]]; index += 2
                }
                continue
            }
            break
        }
        var rest = Array(arguments[index...])
        var i = 0
        while i + 1 < rest.count {
            if rest[i] == "--count", rest[i + 1].hasPrefix("-"), Int(rest[i + 1]) != nil {
                rest[i] = "--count=" + rest[i + 1]
                rest.remove(at: i + 1)
            }
            i += 1
        }
        guard !leading.isEmpty else { return rest }
        // After everything, but before a "--" that ends the options.
        let end = rest.firstIndex(of: "--") ?? rest.count
        rest.insert(contentsOf: leading, at: end)
        return rest
    }

    /// A first word that is no command: named as such, with the nearest command (ArgumentParser
    /// would complain about whatever option follows it instead). `help X` needs a command too.
    static func checkCommand(_ arguments: [String], known: [String]) throws(GPUPrepError) {
        guard let first = arguments.first, !first.hasPrefix("-") else { return }
        var word = first
        if first == "help" {
            guard arguments.count > 1, !arguments[1].hasPrefix("-") else { return }
            word = arguments[1]
        }
        guard !known.contains(word) else { return }
        let hint = Suggestion.closest(to: word, among: known).map { ": did you mean '\($0)'?" } ?? ""
        throw GPUPrepError(.usage, "'\(word)' is not a gpuprep command\(hint) ('gpuprep --help' lists them)")
    }
}

enum GPUPrepVersion {
    static let string = "0.1.0"
}
