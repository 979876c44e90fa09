import Foundation
import GPUPrepCore
import GPUPrepSystem
import HostFixtures
import Testing

/// What the command line says and accepts, as the README and --help promise it.
@Suite struct CommandLineTests {
    let desktop = Fixtures.host("desktop-b550")

    @Test func globalOptionsMayComeBeforeTheCommand() throws {
        let before = try Run.gpuprep(["--root", desktop, "--json", "list"])
        let after = try Run.gpuprep(["list", "--root", desktop, "--json"])
        #expect(before.status == 0 && before.stdout == after.stdout && !before.stdout.isEmpty)
        #expect(try Run.gpuprep(["--root=\(desktop)", "sriov", "disable", "2b:00.0", "--dry-run"]).stderr.contains("not SR-IOV capable"))
    }

    @Test func aMistypedCommandIsNamedWithTheNearestOne() throws {
        let run = try Run.gpuprep(["lsit", "--root", desktop])
        #expect(run.status == 64 && run.stderr == "gpuprep: error: 'lsit' is not a gpuprep command: did you mean 'list'? ('gpuprep --help' lists them)\n")
        #expect(try Run.gpuprep(["help", "nosuch"]).status == 64)
        #expect(try Run.gpuprep(["help", "list"]).status == 0)
    }

    @Test func usageErrorsAreJSONWithJSON() throws {
        for arguments in [["list", "--bogus", "--json"], ["--json", "list", "--bogus"], ["lsit", "--json"], ["create", "--json"]] {
            let run = try Run.gpuprep(arguments)
            let document = try JSONSerialization.jsonObject(with: Data(run.stderr.utf8)) as? [String: Any]
            let error = document?["error"] as? [String: Any]
            #expect(run.status == 64 && error?["code"] as? String == "usage" && error?["exitStatus"] as? Int == 64, "\(arguments): \(run.stderr)")
            #expect(run.stdout.isEmpty)
        }
    }

    @Test func aNegativeCountIsOutOfRangeNotMissing() throws {
        let run = try Run.gpuprep(["create", "--root", Fixtures.host("vgpu-mdev"), "--type", "nvidia-256", "--count", "-1"])
        #expect(run.status == 64 && run.stderr == "gpuprep: error: --count must be 1 or more\n")
    }

    @Test func helpPrintsEveryExitStatusAndTheReadmeAgrees() throws {
        let help = try Run.gpuprep(["--help"]).stdout.replacingOccurrences(of: "\n", with: " ")
        let readme = try String(contentsOf: Fixtures.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let readmeStatuses = Set(readme.components(separatedBy: "\n").compactMap { line -> Int32? in
            guard line.hasPrefix("| "), let cell = line.split(separator: "|").first?.trimmingCharacters(in: .whitespaces) else { return nil }
            return Int32(cell)
        })
        for row in ExitStatusTable.rows {
            #expect(help.contains("\(row.status)") && help.contains(String(row.meaning.prefix(20))), "--help lacks \(row.status)")
            #expect(readmeStatuses.contains(row.status), "README's exit status table lacks \(row.status)")
        }
        #expect(readmeStatuses == Set(ExitStatusTable.rows.map(\.status)))
        // Every error code's status is in the table.
        let codes: [GPUPrepError.Code] = [.usage, .unsafePath, .refused, .invalidRoot, .unknownDevice, .unknownType, .unreadableFile,
                                          .noPCIBus, .rollbackFailed, .system, .applyFailed, .locked, .permission]
        for code in codes { #expect(ExitStatusTable.rows.contains { $0.codes.contains(code) && $0.status == code.exitStatus }, "\(code)") }
    }

    @Test func aShortAddressOnAHostInAnotherDomainGetsAHint() throws {
        let host = try Fixtures.scratch("domain")
        try host.add(FakeFunction("0009:01:00.0", vendor: 0x10de, device: 0x2342, classCode: 0x030200, driver: nil, group: 5))
        let run = try Run.gpuprep(["list", "--root", host.path, "01:00.0"])
        #expect(run.status == 66 && run.stderr.contains("did you mean 0009:01:00.0?"))
    }

    @Test func aModuleMatchingTwiceIsListedOnce() throws {
        let host = try Fixtures.scratch("modules")
        try host.add(FakeFunction("0000:01:00.1", vendor: 0x10de, device: 0x10f8, classCode: 0x040300, driver: "snd_hda_intel", group: 3))
        // snd_hda_intel matches NVIDIA's HDMI audio by class and, in real builds, by id too.
        try host.addModules([FakeModule("snd_hda_intel", aliases: ["pci:v000010DEd*sv*sd*bc04sc03i00", "pci:v000010DEd000010F8sv*sd*bc*sc*i*"])])
        let run = try Run.gpuprep(["list", "--all", "--json", "--root", host.path])
        let devices = (try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])?["devices"] as? [[String: Any]]
        #expect(devices?.first?["modules"] as? [String] == ["snd_hda_intel"])
    }

    @Test func countsAreGrammatical() throws {
        let host = try Catalog.build("dgx-a100", at: FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-count-\(UUID().uuidString)"),
                                     data: Fixtures.data)
        let cmdline = try String(contentsOf: host.root.appendingPathComponent("proc/cmdline"), encoding: .utf8)
        try host.setRunningCommandLine(cmdline.trimmingCharacters(in: .newlines) + " pcie_acs_override=downstream")
        let run = try Run.gpuprep(["check", "--root", host.path])
        #expect(run.stdout.contains(" 1 warning, 0 failed"), "\(run.stdout.suffix(80))")
        #expect(!run.stdout.contains(" 1 groups") && !run.stdout.contains(" 1 units"))
    }

    @Test func aRollbackThatHadNothingToUndoSaysSo() throws {
        let (host, kernel) = try vgpuHost("vgpu-mdev")
        kernel.mdevNeverAppears = true
        let (plan, _) = try VGPUPlanner(host: try HostContext(root: host.path)).planCreate(type: "nvidia-256", parent: nil, count: 1, uuid: nil)
        let outcome = try apply(plan, host, kernel)
        #expect(outcome.failure?.message.hasSuffix("nothing had changed") == true, "\(outcome.failure?.message ?? "")")
    }

    @Test func filesWrittenAreCounted() throws {
        let (host, kernel) = try vgpuHost("vgpu-l40s-sriov")
        let context = try HostContext(root: host.path)
        let plan = try SRIOVPlanner(host: context).planEnable(PCIAddress("c1:00.0")!, count: 1, persist: true)
        #expect(plan.actions.isEmpty && plan.fileChanges.count == 1)      // already 1 VF: only the rule to write
        var report = ChangeReport(command: "sriov", dryRun: false, plan: plan, outcome: nil)
        report.outcome = try apply(plan, host, kernel)
        #expect(ChangeText.render(report, style: TextStyle(color: false)) == "Done: 1 file written or removed, each checked.\n")
    }
}
