import Foundation
import Testing

/// The README's examples on the bundled sample hosts are run, and must print what it shows.
/// A block is a ```-fenced `$ gpuprep ...` line and its output (standard output, then standard
/// error); a `...` line ends what is compared. Examples of the live host (no --root) are kept
/// only when they show an error, which does not depend on the machine.
@Suite struct ReadmeExampleTests {
    struct Example: CustomTestStringConvertible {
        var line: Int
        var arguments: [String]
        var expected: [String]
        var truncated: Bool
        var testDescription: String { "README.md:\(line) gpuprep \(arguments.joined(separator: " "))" }
    }

    static let examples: [Example] = {
        let text = (try? String(contentsOf: Fixtures.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)) ?? ""
        let lines = text.components(separatedBy: "\n")
        var result: [Example] = []
        for index in lines.indices.dropFirst() where lines[index].hasPrefix("$ gpuprep") && lines[index - 1] == "```" {
            var command = lines[index].dropFirst("$ gpuprep".count)
            if let comment = command.range(of: "   #") { command = command[..<comment.lowerBound] }
            var output: [String] = []
            var end = index + 1
            while end < lines.count, lines[end] != "```" { output.append(lines[end]); end += 1 }
            let truncated = output.firstIndex(of: "...")
            let arguments = words(String(command))
            guard arguments.contains("--root") || output.contains(where: { $0.hasPrefix("gpuprep: error:") }) else { continue }
            result.append(Example(line: index + 1, arguments: arguments, expected: truncated.map { Array(output[..<$0]) } ?? output,
                                  truncated: truncated != nil))
        }
        return result
    }()

    /// Shell words: spaces split, double quotes group.
    static func words(_ text: String) -> [String] {
        var words: [String] = [], current = "", quoted = false, started = false
        for character in text {
            if character == "\"" { quoted.toggle(); started = true }
            else if character == " " && !quoted { if started { words.append(current) }; current = ""; started = false }
            else { current.append(character); started = true }
        }
        if started { words.append(current) }
        return words
    }

    /// A copy of the sample hosts, so that no example can change the checkout.
    static let workspace: URL = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-readme-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let copy = Process()
        copy.executableURL = URL(fileURLWithPath: "/bin/cp")
        copy.arguments = ["-a", Fixtures.packageRoot.appendingPathComponent("examples").path, dir.path]
        try? copy.run()
        copy.waitUntilExit()
        return dir
    }()

    @Test func theReadmeHasExamplesOfEveryCommand() {
        let commands = Set(Self.examples.compactMap { $0.arguments.first })
        #expect(commands.isSuperset(of: ["check", "list", "iommu", "conflicts", "bind", "types", "vgpus", "create", "sriov", "apply", "export"]), "\(commands)")
    }

    @Test(arguments: examples)
    func printsWhatTheReadmeShows(_ example: Example) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Run.gpuprep)
        process.arguments = example.arguments
        process.currentDirectoryURL = Self.workspace
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        environment.removeValue(forKey: "GPUPREP_ROOT")
        // Device names as the README shows them, whatever pci.ids this machine has.
        environment["GPUPREP_PCI_IDS"] = Fixtures.pciIDs
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var actual = (String(decoding: stdout, as: UTF8.self) + String(decoding: stderr, as: UTF8.self)).components(separatedBy: "\n")
        if actual.last == "" { actual.removeLast() }
        if example.truncated { actual = Array(actual.prefix(example.expected.count)) }
        #expect(actual == example.expected, "\(example.testDescription): the README shows something else")
    }
}
