import Foundation
import HostFixtures
import Testing

/// Paths of the package and the fixture hosts, built once per test run.
enum Fixtures {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let data = packageRoot.appendingPathComponent("Tests/Fixtures/data")
    /// A pci.ids subset, so names do not change with the machine's pci.ids version.
    static let pciIDs = packageRoot.appendingPathComponent("Tests/Fixtures/pci.ids").path
    static let golden = packageRoot.appendingPathComponent("Tests/GPUPrepTests/Golden")

    /// Every catalog host, built under one temporary folder on first use.
    static let hosts: URL = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-fixtures-\(getpid())")
        do {
            for name in Catalog.names { _ = try Catalog.build(name, at: dir.appendingPathComponent(name), data: data) }
        } catch {
            fatalError("cannot build the fixture hosts: \(error)")
        }
        return dir
    }()

    static func host(_ name: String) -> String { hosts.appendingPathComponent(name).path }

    /// A host of one's own, for tests that change it.
    static func scratch(_ label: String) throws -> FakeHost {
        try FakeHost(root: FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-\(label)-\(UUID().uuidString)"))
    }
}

/// Compares `actual` with a golden file; GPUPREP_UPDATE_GOLDEN=1 rewrites the file instead.
func expectGolden(_ actual: String, _ relativePath: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let url = Fixtures.golden.appendingPathComponent(relativePath)
    if ProcessInfo.processInfo.environment["GPUPREP_UPDATE_GOLDEN"] == "1" {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try actual.write(to: url, atomically: true, encoding: .utf8)
        return
    }
    let expected = try String(contentsOf: url, encoding: .utf8)
    #expect(actual == expected, "output differs from \(relativePath) (GPUPREP_UPDATE_GOLDEN=1 regenerates it)",
            sourceLocation: sourceLocation)
}

/// Runs a program and collects its output.
struct Run {
    var status: Int32
    var stdout: String
    var stderr: String

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], removing: [String] = []) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for key in ["GPUPREP_ROOT", "GPUPREP_PCI_IDS", "NO_COLOR"] + removing { env.removeValue(forKey: key) }
        env.merge(environment) { $1 }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes while the process runs, so a large output cannot block it.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        status = process.terminationStatus
        stdout = String(decoding: outData, as: UTF8.self)
        stderr = String(decoding: errData, as: UTF8.self)
    }

    /// The gpuprep binary built beside this test bundle.
    static let gpuprep: String = {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("gpuprep").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return Fixtures.packageRoot.appendingPathComponent(".build/debug/gpuprep").path
    }()

    static func gpuprep(_ arguments: [String], environment: [String: String] = [:]) throws -> Run {
        try Run(gpuprep, arguments, environment: environment)
    }
}
