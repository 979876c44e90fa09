import Foundation
import GPUPrepCore
import GPUPrepSystem
import HostFixtures
import Testing

@Suite struct KernelCommandLineTests {
    @Test(arguments: [
        ("intel_iommu=on iommu=pt", ["intel_iommu=on", "iommu=pt"]),
        ("  quiet\tsplash\n", ["quiet", "splash"]),
        ("a=\"b c\" d", ["a=b c", "d"]),                       // the kernel drops the quotes
        ("\"quoted whole\" x", ["quoted whole", "x"]),
        ("root=/dev/sda1\r\n", ["root=/dev/sda1"]),
        ("", []),
        ("\"unterminated x", ["unterminated x"]),
    ])
    func splitsAsTheKernelDoes(text: String, expected: [String]) {
        #expect(KernelCommandLine(text).parameters == expected)
    }

    @Test func lookups() {
        let line = KernelCommandLine("intel-iommu=off intel_iommu=on,igfx_off iommu=pt pcie_acs_override=downstream nosmt")
        #expect(line.has("intel_iommu=on"))                    // the last value wins; - and _ alike; comma lists
        #expect(!line.has("intel_iommu=off"))
        #expect(line.has("iommu=pt") && !line.has("iommu=off"))
        #expect(line.value("pcie-acs-override") == "downstream")
        #expect(line.value("nosmt") == "" && line.value("absent") == nil)
    }
}

@Suite struct ShellAssignmentTests {
    func value(_ text: String, _ name: String, _ env: [String: String] = [:]) -> String? {
        ShellAssignments.parse(text, environment: env).last { $0.name == name }?.value
    }

    @Test(arguments: [
        ("GRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash\"", "quiet splash"),
        ("GRUB_CMDLINE_LINUX_DEFAULT='quiet $HOME'", "quiet $HOME"),                 // single quotes are literal
        ("GRUB_CMDLINE_LINUX_DEFAULT=\"a \\\"b\\\" \\$c\"", "a \"b\" $c"),           // escapes in double quotes
        ("GRUB_CMDLINE_LINUX_DEFAULT=quiet\\ splash", "quiet splash"),                // backslash outside quotes
        ("GRUB_CMDLINE_LINUX_DEFAULT=\"a\"'b'c", "abc"),                             // concatenated segments
        ("export GRUB_CMDLINE_LINUX_DEFAULT=\"x\"", "x"),
        ("  GRUB_CMDLINE_LINUX_DEFAULT=\"x\" # trailing comment", "x"),
        ("GRUB_CMDLINE_LINUX_DEFAULT=\"x\"\r", "x"),                                  // CRLF files
        ("GRUB_CMDLINE_LINUX_DEFAULT=", ""),
    ])
    func values(text: String, expected: String) {
        #expect(value(text, "GRUB_CMDLINE_LINUX_DEFAULT") == expected)
    }

    @Test func expansionFromEarlierFilesAndLines() {
        let text = "A=one\nB=\"$A two\"\nC=\"${B} three $UNSET\"\nGRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT iommu=pt\"\n"
        #expect(value(text, "C") == "one two three ")
        #expect(value(text, "GRUB_CMDLINE_LINUX_DEFAULT", ["GRUB_CMDLINE_LINUX_DEFAULT": "quiet"]) == "quiet iommu=pt")
    }

    @Test(arguments: ["GRUB_CMDLINE_LINUX_DEFAULT=\"never closed", "# GRUB_CMDLINE_LINUX_DEFAULT=\"x\"",
                      "GRUB_CMDLINE_LINUX_DEFAULT =\"x\"", "1BAD=\"x\"", "echo GRUB_CMDLINE_LINUX_DEFAULT=x"])
    func notAssignments(text: String) {
        #expect(value(text, "GRUB_CMDLINE_LINUX_DEFAULT") == nil)
    }

    @Test func duplicatesTheLastWins() {
        #expect(value("GRUB_CMDLINE_LINUX_DEFAULT=a\nGRUB_CMDLINE_LINUX_DEFAULT=b\n", "GRUB_CMDLINE_LINUX_DEFAULT") == "b")
    }
}

@Suite struct BootLoaderTests {
    @Test(arguments: [("desktop-b550", "grub", "update-grub"), ("dgx-a100", "grub", "update-grub"),
                      ("vgpu-l40s-sriov", "grub-bls", nil), ("vgpu-mdev", "proxmox", "proxmox-boot-tool refresh"),
                      ("p6t6-no-iommu", "grub", "update-grub")] as [(String, String, String?)])
    func detectsTheFixtures(host: String, kind: String, regenerate: String?) throws {
        let loader = try #require(BootLoader.detect(try context(host)))
        #expect(loader.kind.rawValue == kind && loader.regenerate == regenerate)
    }

    @Test func grubReadsTheDropInsInOrder() throws {
        let loader = try #require(BootLoader.detect(try context("dgx-a100")))
        #expect(loader.configured.has("intel_iommu=on") && loader.configured.has("iommu=pt"))
    }

    @Test func theOthers() throws {
        let stub = try Fixtures.scratch("kernelstub")
        try stub.write("etc/kernelstub/configuration", #"{"default": {"kernel_options": ["quiet"]}, "user": {"kernel_options": ["quiet", "splash", "intel_iommu=on"]}}"#)
        let kernelstub = try #require(BootLoader.detect(try HostContext(root: stub.path)))
        #expect(kernelstub.kind == .kernelstub && kernelstub.configured.has("intel_iommu=on"))
        #expect(kernelstub.remedy(adding: ["iommu=pt"]) == "kernelstub -a iommu=pt")

        let boot = try Fixtures.scratch("sdboot")
        try boot.write("etc/kernel/cmdline", "root=UUID=1 rw\r\n")
        let sdboot = try #require(BootLoader.detect(try HostContext(root: boot.path)))
        #expect(sdboot.kind == .kernelCmdline && sdboot.configured.parameters == ["root=UUID=1", "rw"])

        let fedora = try Fixtures.scratch("grub2")
        try fedora.write("etc/default/grub", "GRUB_CMDLINE_LINUX=\"rhgb quiet\"\n")
        try fedora.mkdir("boot/grub2")
        #expect(BootLoader.detect(try HostContext(root: fedora.path))?.regenerate == "grub2-mkconfig -o /boot/grub2/grub.cfg")

        #expect(BootLoader.detect(try HostContext(root: try Fixtures.scratch("none").path)) == nil)
    }
}

@Suite struct CheckTests {
    func findings(_ host: String) throws -> [String: Finding] {
        let report = try CheckReport.make(host: try context(host))
        return Dictionary(report.findings.filter { $0.device == nil }.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    }

    @Test func requiredIdsAreAlwaysThere() throws {
        for host in Catalog.names {
            let ids = Set(try CheckReport.make(host: try context(host)).findings.map(\.id))
            for id in ["cpu.virtualization", "iommu.firmware", "iommu.enabled", "iommu.cmdline", "iommu.bootloader", "modules.vfio", "modules.nouveau"] {
                #expect(ids.contains(id), "\(host) lacks \(id)")
            }
        }
    }

    @Test func rebootPending() throws {
        let f = try findings("desktop-b550")
        #expect(f["iommu.bootloader"]?.status == .warn && f["iommu.bootloader"]?.summary.hasPrefix("reboot pending") == true)
        #expect(f["iommu.passthrough"]?.remedy?.hasPrefix("reboot") == true)
        #expect(f["cpu.virtualization"]?.status == .pass && f["iommu.enabled"]?.status == .pass)
    }

    @Test func aReadyHostPassesEverything() throws {
        let report = try CheckReport.make(host: try context("dgx-a100"))
        #expect(report.count(.fail) == 0 && report.count(.warn) == 0)
        #expect(report.findings.filter { $0.status == .pass }.allSatisfy { $0.remedy == nil })
    }

    @Test func aHostWithoutIOMMUFailsWithRemedies() throws {
        let f = try findings("p6t6-no-iommu")
        #expect(f["iommu.firmware"]?.status == .fail && f["iommu.enabled"]?.status == .fail)
        #expect(f["iommu.cmdline"]?.status == .fail && f["iommu.bootloader"]?.status == .fail)
        #expect(f["iommu.bootloader"]?.remedy == "add intel_iommu=on iommu=pt to GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, then run 'update-grub' (or 'gpuprep check --fix')")
        #expect(f.values.filter { $0.status == .fail }.allSatisfy { $0.remedy != nil })
    }

    @Test func proxmoxAndBLS() throws {
        let pve = try findings("vgpu-mdev")
        #expect(pve["iommu.bootloader"]?.status == .warn && pve["iommu.bootloader"]?.remedy?.contains("proxmox-boot-tool refresh") == true)
        #expect(pve["modules.nouveau"]?.status == .pass)          // blacklisted through modprobe.d, read by libkmod
        #expect(pve["vgpu.display"]?.status == .pass)
        let rhel = try findings("vgpu-l40s-sriov")
        #expect(rhel["iommu.bootloader"]?.status == .pass && rhel["modules.nouveau"]?.status == .warn)
        #expect(rhel["vgpu.display"]?.status == .warn)
    }

    @Test(arguments: ["desktop-b550", "dgx-a100", "vgpu-l40s-sriov", "vgpu-mdev", "p6t6-no-iommu", "gh200-arm64", "dgx-a100-services"])
    func golden(host: String) throws {
        let report = try CheckReport.make(host: try context(host))
        try expectGolden(CheckText.render(report, style: TextStyle(color: false)).replacingOccurrences(of: Fixtures.host(host), with: "<root>"),
                         "check/\(host).txt")
        try expectGolden(JSONOutput.render(report), "check/\(host).json")
    }

    @Test func exitStatusFollowsTheContract() throws {
        #expect(try Run.gpuprep(["check", "--root", Fixtures.host("p6t6-no-iommu")]).status == 1)
        #expect(try Run.gpuprep(["check", "--root", Fixtures.host("dgx-a100")]).status == 0)
        #expect(try Run.gpuprep(["check", "--root", Fixtures.host("desktop-b550")]).status == 1)   // its GT 710 shares a group
    }
}

@Suite struct BootLoaderFixTests {
    func host(_ name: String) throws -> FakeHost {
        try Catalog.build(name, at: FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-fix-\(name)-\(UUID().uuidString)"),
                          data: Fixtures.data)
    }
    func read(_ host: FakeHost, _ path: String) -> String? {
        try? String(contentsOf: host.root.appendingPathComponent(path), encoding: .utf8)
    }

    @Test func grubSingleQuotedValueBackupAndIdempotence() throws {
        let h = try host("p6t6-no-iommu")
        let original = try #require(read(h, "etc/default/grub"))
        let dry = try Run.gpuprep(["check", "--fix", "--dry-run", "--root", h.path])
        #expect(dry.status == 0)
        #expect(dry.stdout.contains("-GRUB_CMDLINE_LINUX_DEFAULT='quiet splash'\n+GRUB_CMDLINE_LINUX_DEFAULT='quiet splash intel_iommu=on iommu=pt'\n"))
        #expect(read(h, "etc/default/grub") == original && read(h, "etc/default/grub.gpuprep-bak") == nil)

        let run = try Run.gpuprep(["check", "--fix", "--root", h.path])
        #expect(run.status == 0 && run.stdout.contains("Now run 'update-grub' and reboot."))
        #expect(read(h, "etc/default/grub") == original.replacingOccurrences(of: "'quiet splash'", with: "'quiet splash intel_iommu=on iommu=pt'"))
        #expect(read(h, "etc/default/grub.gpuprep-bak") == original)
        let again = try Run.gpuprep(["check", "--fix", "--root", h.path])
        #expect(again.status == 0 && again.stdout.contains("Nothing to fix"))
        // What check now says: configured, not booted.
        let report = try CheckReport.make(host: try HostContext(root: h.path))
        #expect(report.findings.first { $0.id == "iommu.bootloader" }?.summary.hasPrefix("reboot pending") == true)
    }

    @Test func grubDropInWithSelfReferenceIsEditedWhereItIs() throws {
        let h = try Fixtures.scratch("fix-dropin")
        try h.setCPU(vendor: "GenuineIntel", flags: ["vmx"])
        try h.setRunningCommandLine("ro quiet")
        try h.write("etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\r\nGRUB_CMDLINE_LINUX=\"\"\r\n")
        try h.write("etc/default/grub.d/90-local.cfg", "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT splash\"\n")
        let fix = try BootLoaderFix.plan(try HostContext(root: h.path))
        #expect(fix.plan.fileChanges.map(\.path?.string) == ["/etc/default/grub.d/90-local.cfg.gpuprep-bak", "/etc/default/grub.d/90-local.cfg"])
        #expect(fix.plan.fileChanges.last?.value == "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT splash intel_iommu=on iommu=pt\"\n")
    }

    @Test(arguments: [
        ("GRUB_CMDLINE_LINUX_DEFAULT=quiet\n", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet iommu=pt\"\n"),
        ("GRUB_CMDLINE_LINUX_DEFAULT=\"\"\n", "GRUB_CMDLINE_LINUX_DEFAULT=\"iommu=pt\"\n"),
        ("GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\" # note\n", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet iommu=pt\" # note\n"),
        ("GRUB_CMDLINE_LINUX_DEFAULT=\"a \\\"b\\\"\"\n", "GRUB_CMDLINE_LINUX_DEFAULT=\"a \\\"b\\\" iommu=pt\"\n"),
        ("GRUB_TIMEOUT=5", "GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX_DEFAULT=\"iommu=pt\"\n"),
        ("", "GRUB_CMDLINE_LINUX_DEFAULT=\"iommu=pt\"\n"),
    ])
    func grubEdits(before: String, after: String) throws {
        let h = try Fixtures.scratch("fix-edit")
        try h.setCPU(vendor: "AuthenticAMD", flags: ["svm"])
        try h.setRunningCommandLine("ro")
        try h.mkdir("etc/default")
        try h.writeData("etc/default/grub", Data(before.utf8))
        let fix = try BootLoaderFix.plan(try HostContext(root: h.path))
        #expect(fix.plan.fileChanges.last?.value == after)
    }

    /// Only an assignment the shell will run is edited; any other is refused (65) with its line
    /// and why, the file left as it was, and `check` does not count it as configured.
    @Test(arguments: [
        ("cat > /tmp/x <<EOF\nGRUB_CMDLINE_LINUX_DEFAULT=\"intel_iommu=on iommu=pt\"\nEOF\n", nil),
        ("f() {\n  GRUB_CMDLINE_LINUX_DEFAULT=\"intel_iommu=on iommu=pt\"\n}\n", "inside { } (a function body"),
        ("if false; then\n  GRUB_CMDLINE_LINUX_DEFAULT=\"intel_iommu=on iommu=pt\"\nfi\n", "inside 'if'"),
        ("false && GRUB_CMDLINE_LINUX_DEFAULT=\"intel_iommu=on iommu=pt\"\n", "after && or ||"),
        ("GRUB_CMDLINE_LINUX_DEFAULT=\"intel_iommu=on iommu=pt\"\nunset GRUB_CMDLINE_LINUX_DEFAULT\n", "unset at line 2"),
        ("GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nreadonly GRUB_CMDLINE_LINUX_DEFAULT\nGRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT splash\"\n", "read-only since line 2"),
        ("GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\nGRUB_TIMEOUT=5\n", "leaves a quote open at line 1"),
    ] as [(String, String?)])
    func onlyWhatTheShellRunsIsEdited(text: String, refusal: String?) throws {
        let h = try Fixtures.scratch("fix-shell")
        try h.setCPU(vendor: "GenuineIntel", flags: ["vmx"])
        try h.setRunningCommandLine("ro")
        try h.write("etc/default/grub", text)
        try h.write("usr/sbin/update-grub", "#!/bin/sh\n")
        let loader = try #require(BootLoader.detect(try HostContext(root: h.path)))
        #expect(!loader.configured.has("intel_iommu=on"), "an assignment the shell may not run configures nothing")
        let run = try Run.gpuprep(["check", "--fix", "--root", h.path])
        if let refusal {
            #expect(run.status == 65 && run.stderr.contains(refusal) && run.stderr.contains("nothing changed"), "\(run.status) \(run.stderr)")
            #expect(read(h, "etc/default/grub") == text && read(h, "etc/default/grub.gpuprep-bak") == nil)
        } else {
            // A here-document's text is no assignment at all: the real one is added after it.
            #expect(run.status == 0 && read(h, "etc/default/grub") == text + "GRUB_CMDLINE_LINUX_DEFAULT=\"intel_iommu=on iommu=pt\"\n", "\(run.status) \(run.stderr)")
        }
    }

    /// A read-only variable in an earlier file stops an assignment in a later one; a snippet
    /// grub-mkconfig cannot read is an error, not skipped; a backup that is a link stops the edit.
    @Test func whatWouldBreakGrubMkconfigOrLoseTheOriginalIsRefused() throws {
        func host(_ label: String) throws -> FakeHost {
            let h = try Fixtures.scratch(label)
            try h.setCPU(vendor: "GenuineIntel", flags: ["vmx"])
            try h.setRunningCommandLine("ro")
            try h.write("usr/sbin/update-grub", "#!/bin/sh\n")
            return h
        }
        let locked = try host("fix-readonly")
        try locked.write("etc/default/grub", "readonly GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n")
        try locked.write("etc/default/grub.d/50-x.cfg", "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT splash\"\n")
        let lockedRun = try Run.gpuprep(["check", "--fix", "--root", locked.path])
        #expect(lockedRun.status == 65 && lockedRun.stderr.contains("is read-only (line 1 of an earlier file)"), "\(lockedRun.stderr)")

        let snippet = try host("fix-unreadable")
        try snippet.write("etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n")
        try snippet.mkdir("etc/default/grub.d/40-odd.cfg")
        let snippetRun = try Run.gpuprep(["check", "--fix", "--root", snippet.path])
        #expect(snippetRun.status == 65 && snippetRun.stderr.contains("/etc/default/grub.d/40-odd.cfg cannot be read"), "\(snippetRun.stderr)")
        #expect(read(snippet, "etc/default/grub") == "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n")

        let linked = try host("fix-backup-link")
        try linked.write("etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n")
        try FileManager.default.createSymbolicLink(atPath: linked.root.appendingPathComponent("etc/default/grub.gpuprep-bak").path, withDestinationPath: "grub")
        let linkedRun = try Run.gpuprep(["check", "--fix", "--root", linked.path])
        #expect(linkedRun.status == 65 && linkedRun.stderr.contains("grub.gpuprep-bak is a symbolic link, not a copy of /etc/default/grub"), "\(linkedRun.stderr)")
        #expect(read(linked, "etc/default/grub") == "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n")
    }

    /// Bytes that are not UTF-8 (a Latin-1 label) and UTF-8 gpuprep uses internally are written
    /// back exactly as they were; only the added arguments differ, and the plan shows `\xNN`.
    @Test func anEditKeepsEveryByteOfTheFile() throws {
        let h = try Fixtures.scratch("fix-bytes")
        try h.setCPU(vendor: "GenuineIntel", flags: ["vmx"])
        try h.setRunningCommandLine("ro")
        try h.write("usr/sbin/update-grub", "#!/bin/sh\n")
        let head = Array("# caf".utf8) + [0xe9, 0xff, 0xf4, 0x8f, 0xbf, 0xbf] + Array(" \u{10FFE9}\n".utf8)
        let before = head + Array("GRUB_CMDLINE_LINUX_DEFAULT=\"root=LABEL=caf".utf8) + [0xe9] + Array(" quiet\"\n".utf8)
        try h.writeData("etc/default/grub", Data(before))
        let plan = try Run.gpuprep(["check", "--fix", "--dry-run", "--root", h.path])
        #expect(plan.status == 0 && plan.stdout.contains("+GRUB_CMDLINE_LINUX_DEFAULT=\"root=LABEL=caf\\xe9 quiet intel_iommu=on iommu=pt\""), "\(plan.stdout)")
        let run = try Run.gpuprep(["check", "--fix", "--root", h.path])
        let after = head + Array("GRUB_CMDLINE_LINUX_DEFAULT=\"root=LABEL=caf".utf8) + [0xe9] + Array(" quiet intel_iommu=on iommu=pt\"\n".utf8)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Data(contentsOf: h.root.appendingPathComponent("etc/default/grub")) == Data(after))
        #expect(try Data(contentsOf: h.root.appendingPathComponent("etc/default/grub.gpuprep-bak")) == Data(before))
    }

    /// A GRUB file of 32 MiB (the read limit is 64) is planned in linear time: seconds, not minutes
    /// (a quadratic step takes minutes). The bound is loose for a debug build beside other tests; a
    /// release build plans 64 MiB in about 2 s and writes it in about 5 (README, hostile trees).
    @Test func aHugeGrubFileIsPlannedInLinearTime() throws {
        let h = try Fixtures.scratch("fix-huge")
        defer { try? FileManager.default.removeItem(at: h.root) }
        try h.setCPU(vendor: "GenuineIntel", flags: ["vmx"])
        try h.setRunningCommandLine("ro")
        try h.write("usr/sbin/update-grub", "#!/bin/sh\n")
        let padding = String(repeating: "# a comment line that grub-mkconfig skips, as the shell does\n", count: 32 << 20 / 62)
        try h.write("etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n" + padding + "GRUB_TIMEOUT=5\n")
        let start = Date()
        let run = try Run.gpuprep(["check", "--fix", "--dry-run", "--root", h.path])
        #expect(run.status == 0 && run.stdout.contains("+GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt\""), "\(run.status) \(run.stderr.prefix(300))")
        #expect(Date().timeIntervalSince(start) < 30, "\(Date().timeIntervalSince(start)) s")
    }

    @Test func kernelCmdlineAndModeKept() throws {
        let h = try host("vgpu-mdev")
        let path = h.root.appendingPathComponent("etc/kernel/cmdline").path
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        let run = try Run.gpuprep(["check", "--fix", "--root", h.path])
        #expect(run.stdout.contains("proxmox-boot-tool refresh"))
        #expect(read(h, "etc/kernel/cmdline") == "root=ZFS=rpool/ROOT/pve-1 boot=zfs iommu=pt\n")
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
    }

    @Test func unwritableFileLeavesItAsItWas() throws {
        let h = try host("p6t6-no-iommu")
        let original = read(h, "etc/default/grub")
        let dir = h.root.appendingPathComponent("etc/default").path
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: dir)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir) }
        // As root the directory's mode does not stop writes; as nobody it does. The lock's folder
        // stays writable, so what fails is the edit itself.
        try h.mkdir("run")
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: h.root.appendingPathComponent("run").path)
        let run = try Run("/usr/bin/env", ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", Run.gpuprep,
                                           "check", "--fix", "--root", h.path])
        #expect(run.status == 74, "\(run.stderr)")
        #expect(run.stderr.contains("etc/default/grub") && run.stderr.contains("Permission denied"))
        #expect(read(h, "etc/default/grub") == original)
        #expect(read(h, "etc/default/grub.gpuprep-bak") == nil)
    }

    @Test func unrecognisedBootLoaderIsNeverTouched() throws {
        let h = try Fixtures.scratch("fix-none")
        try h.setCPU(vendor: "GenuineIntel", flags: ["vmx"])
        let run = try Run.gpuprep(["check", "--fix", "--root", h.path])
        #expect(run.status == 65 && run.stderr.contains("no boot loader configuration recognised"))
    }

    @Test func diffFormat() {
        #expect(UnifiedDiff.make("a\nb\nc\n", "a\nB\nc\n", path: "/f") == "--- /f\n+++ /f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n")
        #expect(UnifiedDiff.make("same\n", "same\n", path: "/f") == "")
    }
}
