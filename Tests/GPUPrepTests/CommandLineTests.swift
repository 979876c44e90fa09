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
        // The README's table is the code's, row for row (GPUPREP_UPDATE_GOLDEN=1 rewrites it).
        let url = Fixtures.packageRoot.appendingPathComponent("README.md")
        let lines = readme.components(separatedBy: "\n")
        let start = try #require(lines.firstIndex { $0.hasPrefix("| status | meaning |") })
        let end = lines[start...].firstIndex { !$0.hasPrefix("|") } ?? lines.count
        let shown = lines[start..<end].joined(separator: "\n")
        if ProcessInfo.processInfo.environment["GPUPREP_UPDATE_GOLDEN"] == "1" {
            try (Array(lines[..<start]) + [ExitStatusTable.markdown] + Array(lines[end...])).joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
        } else {
            #expect(shown == ExitStatusTable.markdown, "README's exit status table differs from the code's (GPUPREP_UPDATE_GOLDEN=1 swift test rewrites it)")
        }
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
        #expect(plan.actions.isEmpty && plan.fileChanges.count == 3)      // already 1 VF: the layout, the unit and its link
        var report = ChangeReport(command: "sriov", dryRun: false, plan: plan, outcome: nil)
        report.outcome = try apply(plan, host, kernel)
        #expect(ChangeText.render(report, style: TextStyle(color: false)) == "Done: 3 files written or removed, each checked.\n")
    }

    /// What the shells get for an argument (argument-parser's `---completion` protocol).
    func complete(_ command: [String], _ argument: String, _ words: [String]) throws -> [String] {
        let run = try Run.gpuprep(["---completion"] + command + ["--", argument, String(words.count - 1), "0"] + words)
        return run.stdout.split(separator: "\n").map(String.init)
    }

    @Test func completionsOfferWhatEachArgumentCanName() throws {
        let busy = Fixtures.host("vgpu-a2-t4-busy")
        #expect(try complete(["create"], "--type", ["gpuprep", "create", "--root", busy, "--type", ""])
                    .contains("A2-4Q") && !(try complete(["create"], "--type", ["gpuprep", "create", "--root", busy, "--type", ""])).contains { $0.contains(" ") })
        #expect(try complete(["destroy"], "positional@0", ["gpuprep", "destroy", "--root", busy, ""]).count == 5)
        // Parents of vGPUs, not bridges or other devices.
        let parents = try complete(["create"], "--parent", ["gpuprep", "create", "--root", busy, "--parent", ""])
        #expect(parents.contains("0000:08:00.0") && parents.contains("0000:08:02.3") && parents.count == 18)
        #expect(try complete(["sriov", "enable"], "positional@0", ["gpuprep", "sriov", "enable", "--root", Fixtures.host("vgpu-l40s-sriov"), ""])
                    == ["0000:26:00.0", "0000:a1:00.0", "0000:c1:00.0"])
        #expect(try complete(["bind"], "--driver", ["gpuprep", "bind", "--root", busy, "--driver", ""]) == ["auto", "vfio-pci"])
        // The short form completes in the short form.
        let short = try Run.gpuprep(["---completion", "list", "--", "positional@0", "4", "3", "gpuprep", "list", "--root", busy, "3b:"])
        #expect(short.stdout == "3b:00.0\n")
    }
}
