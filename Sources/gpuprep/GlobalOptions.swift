import ArgumentParser
import FoundationEssentials
import GPUPrepCore
import GPUPrepSystem

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Treat DIR as / for every host file (env GPUPREP_ROOT; default /).", valueName: "DIR"),
            completion: .directory)
    var root: String?

    @Flag(help: "Print one JSON document on standard output (errors as JSON on standard error).")
    var json = false

    @Flag(name: .customLong("no-color"), help: "Plain output (also when NO_COLOR is set or output is not a terminal).")
    var noColor = false

    @Option(name: .customLong("pci-ids"),
            help: ArgumentHelp("Read device names from FILE instead of the system pci.ids (as lspci -i; env GPUPREP_PCI_IDS).", valueName: "FILE"),
            completion: .file())
    var pciIDs: String?

    var resolvedRoot: String {
        root ?? ProcessInfo.processInfo.environment["GPUPREP_ROOT"].flatMap { $0.isEmpty ? nil : $0 } ?? "/"
    }

    var resolvedPCIIDs: String? {
        pciIDs ?? ProcessInfo.processInfo.environment["GPUPREP_PCI_IDS"].flatMap { $0.isEmpty ? nil : $0 }
    }

    var textStyle: TextStyle {
        let noColorEnv = ProcessInfo.processInfo.environment["NO_COLOR"].map { !$0.isEmpty } ?? false
        return TextStyle(color: !noColor && !noColorEnv && Terminal.standardOutputIsTerminal)
    }

    func openHost() throws(GPUPrepError) -> HostContext {
        try HostContext(root: resolvedRoot, pciIDs: resolvedPCIIDs)
    }

    /// Runs a command body, printing its output; errors become one line (or a JSON document)
    /// on standard error and the documented exit status.
    func run(_ body: () throws(GPUPrepError) -> (output: String, status: Int32)) throws {
        try runReporting { () throws(GPUPrepError) in
            let (output, status) = try body()
            return (output, status, nil)
        }
    }

    /// As `run`, for commands whose output still matters when they fail (a change and its rollback).
    func runReporting(_ body: () throws(GPUPrepError) -> (output: String, status: Int32, error: GPUPrepError?)) throws {
        do {
            let (output, status, failure) = try body()
            Terminal.writeOutput(output)
            if let failure { throw failure }
            if status != ExitStatus.success { throw ExitCode(status) }
        } catch let error as GPUPrepError {
            Terminal.writeError(json ? JSONOutput.render(error: error) : "gpuprep: error: \(error.message)\n")
            throw ExitCode(error.exitStatus)
        }
    }
}

/// Parses address arguments, reporting the first malformed one.
func parseAddresses(_ texts: [String]) throws(GPUPrepError) -> [PCIAddress] {
    var result: [PCIAddress] = []
    for text in texts {
        guard let address = PCIAddress(text.lowercased()) else {
            throw GPUPrepError(.usage, "malformed PCI address '\(text)': expected DDDD:BB:DD.F or BB:DD.F in hex, e.g. 0000:3b:00.0")
        }
        result.append(address)
    }
    return result
}

/// Completion from the live host, or from the --root (or GPUPREP_ROOT) given on the line.
func hostCompletion(_ kind: HostCompletion.Kind) -> CompletionKind {
    .custom { words, _, prefix in
        var root = ProcessInfo.processInfo.environment["GPUPREP_ROOT"] ?? "/"
        if let index = words.firstIndex(of: "--root"), index + 1 < words.count { root = words[index + 1] }
        if let given = words.first(where: { $0.hasPrefix("--root=") }) { root = String(given.dropFirst("--root=".count)) }
        return HostCompletion.candidates(kind, root: root, prefix: prefix)
    }
}

/// Any PCI function.
let addressCompletion = hostCompletion(.address)
