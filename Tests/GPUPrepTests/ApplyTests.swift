import Foundation
import GPUPrepCore
import GPUPrepSystem
import HostFixtures
import Testing

/// gpuprep-yaml, built beside the gpuprep the CLI tests run.
let yamlHelper = URL(fileURLWithPath: Run.gpuprep).deletingLastPathComponent().appendingPathComponent("gpuprep-yaml").path

func layout(_ text: String, source: String = "gpuprep.yaml") throws(GPUPrepError) -> HostLayout {
    let document = try YAMLDocument.parse(Array(text.utf8), source: source, environment: ["GPUPREP_YAML": yamlHelper])
    return try LayoutParser(source: source).parse(document)
}

/// The message of the error a layout gives (nil: it parsed).
func layoutError(_ text: String) -> GPUPrepError? {
    do { _ = try layout(text); return nil } catch { return error }
}

/// `apply` through the library, with the simulated kernel acting on the writes.
func applyLayout(_ text: String, on host: FakeHost, _ kernel: SimulatedKernel, check: Bool = false, dryRun: Bool = false,
                 profile: String? = nil, settle: Int = 15) throws(GPUPrepError) -> ApplyReport {
    let root = host.path
    var session = ChangeSession(command: "apply", dryRun: dryRun || check) { () throws(GPUPrepError) in try HostContext(root: root) }
    session.writer = { _ in kernel }
    var run = ApplyRun(planner: ApplyPlanner(layout: try layout(text).choosing(profile: profile)), session: session)
    run.check = check
    run.settleSeconds = settle
    return try run.run()
}

@Suite struct LayoutFileTests {
    @Test func theContractsExampleReads() throws {
        let read = try layout("""
        version: 1
        passthrough:                  # functions bound to a VFIO driver
          - match: {address: "0000:2b:00.0"}
            driver: vfio-pci
            companions: true
          - match: {vendor: "10de", device: "1e84"}
            driver: auto
        sriov:
          - match: {address: 26:00.0}
            vfs: max
        vgpus:
          - match: {gpu: "0000:26:00.0"}
            type: "NVIDIA L40S-24Q"
            count: 2
          - match: {parent: mtty}
            type: mtty-2
            count: max
        profiles:
          small: {vgpus: [{match: {vendor: "10de", device: "26b9"}, type: "NVIDIA L40S-8Q", count: max}]}
        """)
        #expect(read.passthrough.map(\.match.address?.description) == ["0000:2b:00.0", nil])
        #expect(read.passthrough[1].match.ids.map(\.description) == ["10de:1e84"] && read.passthrough[1].driver == "auto")
        #expect(read.sriov == [HostLayout.SRIOVEntry(match: .init(address: PCIAddress("0000:26:00.0")), vfs: .max, line: 9)])
        #expect(read.vgpus.map(\.count) == [.exactly(2), .max] && read.vgpus[1].match.parent == "mtty")
        #expect(read.vgpus.map(\.line) == [12, 15])
        let small = try read.choosing(profile: "small")
        #expect(small.vgpus.map(\.type) == ["NVIDIA L40S-8Q"] && small.passthrough == read.passthrough && small.sriov == read.sriov)
        #expect(throws: GPUPrepError(.badConfig, "gpuprep.yaml: no profile 'smal'; did you mean 'small'? (the file has small)")) {
            try read.choosing(profile: "smal")
        }
    }

    @Test func jsonIsYAMLToo() throws {
        let read = try layout(#"{"version": 1, "vgpus": [{"match": {"parent": "mtty"}, "type": "mtty-1", "count": 3}]}"#)
        #expect(read.vgpus == [HostLayout.VGPUEntry(match: .init(parent: "mtty"), type: "mtty-1", count: .exactly(3), line: 1)])
    }

    /// Each mistake is named with its line, and what to write instead.
    @Test(arguments: [
        ("version: 1\npassthrough:\n  - match: {adress: 2b:00.0}\n", "gpuprep.yaml:3: unknown key 'adress' in match; did you mean 'address'? (known: address, vendor, device)"),
        ("version: 1\nsriov:\n  - match: {address: 2b:00.0}\n", "gpuprep.yaml:3: this sriov entry has no 'vfs': give a number or max"),
        ("version: 1\nvgpus:\n  - match: {gpu: 2b:00.0}\n    type: T4-2Q\n    count: two\n", "gpuprep.yaml:5: 'count' is 'two': give a whole number (0 or more) or max"),
        ("version: 1\npassthrough:\n  - match: {address: 2b:00}\n", "gpuprep.yaml:3: '2b:00' is not a PCI address: expected DDDD:BB:DD.F or BB:DD.F in hex, e.g. 0000:3b:00.0"),
        ("version: 1\npassthrough:\n  - match: {vendor: 10de}\n", "gpuprep.yaml:3: match needs both 'vendor' and 'device' (4 hex digits each, as 'lspci -nn' shows them)"),
        ("version: 1\npassthrough:\n  - match: {address: 2b:00.0, vendor: 10de, device: 1e84}\n", "gpuprep.yaml:3: match gives more than one way to choose devices: keep one of them"),
        ("version: 1\npassthrough:\n  - match: {address: 2b:00.0}\n    driver: ../evil\n", "gpuprep.yaml:4: driver '../evil' is not a module name: use vfio-pci, auto, or a VFIO variant driver's module name"),
        ("version: 2\n", "gpuprep.yaml:1: version '2' is not one this gpuprep reads: use 'version: 1'"),
        ("passthrough: []\n", "gpuprep.yaml:1: the file has no 'version': start it with 'version: 1'"),
        ("version: 1\nvgpu:\n  - {}\n", "gpuprep.yaml:2: unknown key 'vgpu' in the file; did you mean 'vgpus'? (known: version, regenerate, passthrough, sriov, vgpus, profiles)"),
        ("version: 1\nvgpus:\n  match: {gpu: 2b:00.0}\n", "gpuprep.yaml:3: 'vgpus' must be a list (lines starting with '- ')"),
        ("version: 1\nvgpus: [\n  {match: {gpu: 2b:00.0}}\n", "gpuprep.yaml:4:1: not valid YAML: did not find expected ',' or ']' (while parsing a flow sequence at line 2)"),
        ("version: 1\nversion: 1\n", "gpuprep.yaml:1:1: not valid YAML: the key 'version' appears twice in one mapping"),
        ("", "gpuprep.yaml: the file is empty: it needs at least 'version: 1'"),
        ("version: 1\nsriov:\n  - match: {address: 26:00.0}\n    vfs: 4\n  - match: {address: 0000:26:00.0}\n    vfs: max\n",
         "gpuprep.yaml:5: the VF count of 0000:26:00.0 is already given at line 3: keep one entry"),
        ("version: 1\nvgpus:\n  - {match: {gpu: 26:00.0}, type: x, count: 1}\n  - {match: {gpu: 26:00.0}, type: x, count: 2}\n",
         "gpuprep.yaml:4: the 'x' vGPUs on 0000:26:00.0 are already given at line 3: keep one entry"),
        ("version: 1\nvgpus:\n  - {match: {parent: mtty}, type: mtty-1, count: 1, uuids: [nope]}\n",
         "gpuprep.yaml:3: 'nope' is not a UUID: expected 8-4-4-4-12 hex digits"),
    ])
    func mistakesNameTheirLine(text: String, message: String) {
        let error = layoutError(text)
        #expect(error?.message == message)
        #expect(error?.exitStatus == 64)
    }

    /// NVIDIA vgpu-device-manager's own format: labels become profiles, `default` when none is named.
    @Test func vgpuDeviceManagerFilesAreReadAsTheyAre() throws {
        let file = try layout("""
        version: v1
        vgpu-configs:
          default:
            - devices: all
              vgpu-devices:
                "T4-2Q": 3
          A2-mixed:
            - devices: [0]
              device-filter: ["0x25B610DE"]
              vgpu-devices:
                "A2-4Q": 1
                "A2-4C": 2
        """)
        let chosen = try file.choosing(profile: nil)
        // `devices: all` is every NVIDIA GPU, as the device manager counts them: not every PCI function.
        #expect(chosen.vgpus == [HostLayout.VGPUEntry(match: .init(nvidiaGPUs: true), type: "T4-2Q", count: .exactly(3), line: 6)])
        #expect(chosen.sriov.allSatisfy(\.onlyWhereCapable) && chosen.passthrough.isEmpty)
        let mixed = try file.choosing(profile: "A2-mixed")
        #expect(mixed.vgpus.map(\.type) == ["A2-4Q", "A2-4C"])
        #expect(mixed.vgpus[0].match == HostLayout.Match(ids: [.init(vendor: 0x10de, device: 0x25b6)], index: 0))
        #expect(layoutError("version: v1\nvgpu-configs:\n  x:\n    - devices: some\n      vgpu-devices: {}\n")?.message
                == "gpuprep.yaml:4: 'devices' is 'some': give all or a list of GPU indexes")
        // The subsystem form (A16 and A2 share 0x25B6): 0xDDDDVVVV:0xSSSSVVVV.
        let a16 = try layout("version: v1\nvgpu-configs:\n  default:\n    - devices: all\n      device-filter: \"0x25B610DE:0x14A910DE\"\n      vgpu-devices: {\"A16-8Q\": 2}\n")
        #expect(try a16.choosing(profile: nil).vgpus.first?.match.ids == [.init(vendor: 0x10de, device: 0x25b6, subsystemVendor: 0x10de, subsystemDevice: 0x14a9)])
        #expect(layoutError("version: v1\nvgpu-configs:\n  default:\n    - devices: all\n      device-filter: \"0x25B610DE:14A9\"\n      vgpu-devices: {\"A16-8Q\": 2}\n")?.message
                .hasPrefix("gpuprep.yaml:5: device-filter '0x25B610DE:14A9' is not 0xDDDDVVVV or 0xDDDDVVVV:0xSSSSVVVV") == true)
    }
}

@Suite struct ApplyRunTests {
    let v100 = """
    version: 1
    vgpus:
      - match: {gpu: "0000:c1:00.0"}
        type: V100-4Q
        count: 3
    """

    /// Applied, then applied again: the second run changes nothing; --check agrees, and finds
    /// the difference once a vGPU is destroyed by hand.
    @Test func appliesOnceThenMatches() throws {
        let (host, kernel) = try vgpuHost("vgpu-mdev")
        #expect(try applyLayout(v100, on: host, kernel, check: true).changed)
        let first = try applyLayout(v100, on: host, kernel)
        #expect(first.failure == nil && first.changed && first.created.count == 3)
        #expect(first.before.vgpus == ["0000:c1:00.0": ["V100-4Q": 0]] && first.after.vgpus == ["0000:c1:00.0": ["V100-4Q": 3]])
        let context = try HostContext(root: host.path)
        #expect(GPUHoldings.read(context, withCapacity: false).vgpus.filter { $0.type == "nvidia-107" }.count == 3)
        let again = try applyLayout(v100, on: host, kernel)
        #expect(!again.changed && again.plan.isEmpty && again.outcome == nil)
        #expect(!(try applyLayout(v100, on: host, kernel, check: true).changed))

        let one = try #require(first.created.first?.uuid?.uuidString.lowercased())
        try kernel.write(HostPath.sysBusMdevDevices.child(one, "remove"), "1")
        let drifted = try applyLayout(v100, on: host, kernel, check: true)
        #expect(drifted.changed && drifted.after.vgpus == ["0000:c1:00.0": ["V100-4Q": 3]] && drifted.before.vgpus == ["0000:c1:00.0": ["V100-4Q": 2]])
        #expect(try applyLayout(v100, on: host, kernel).created.count == 1)
    }

    /// `max` fills what the GPU can take and is then satisfied; a smaller count removes the extra.
    @Test func maxFillsAndFewerRemoves() throws {
        let (host, kernel) = try vgpuHost("vgpu-mdev")
        let max = v100.replacingOccurrences(of: "count: 3", with: "count: max")
        #expect(try applyLayout(max, on: host, kernel).created.count == 4)   // V100 16 GB / 4 GB
        #expect(!(try applyLayout(max, on: host, kernel).changed))
        let fewer = try applyLayout(v100.replacingOccurrences(of: "count: 3", with: "count: 1"), on: host, kernel)
        #expect(fewer.destroyed.count == 3 && fewer.created.isEmpty && fewer.after.vgpus == ["0000:c1:00.0": ["V100-4Q": 1]])
    }

    /// Within capacity: an over-ask is refused before anything is written, and names the line.
    @Test func anOverAskChangesNothing() throws {
        let (host, kernel) = try vgpuHost("vgpu-mdev")
        let error = #expect(throws: GPUPrepError.self) {
            try applyLayout(v100.replacingOccurrences(of: "count: 3", with: "count: 5"), on: host, kernel)
        }
        #expect(error?.code == .refused && error?.message.hasPrefix("gpuprep.yaml:3: only 4 more 'GRID V100-4Q' fit") == true)
        #expect(kernel.writes.isEmpty && !host.exists("run/gpuprep.lock"))
    }

    /// A count below what VMs are using is refused like destroy refuses it, naming the VM.
    @Test func removingWhatAVMUsesIsRefused() throws {
        let (host, kernel) = try vgpuHost("vgpu-a2-t4-busy")
        let file = "version: 1\nvgpus:\n  - match: {gpu: 3b:00.0}\n    type: T4-2Q\n    count: 0\n"
        let error = #expect(throws: GPUPrepError.self) { try applyLayout(file, on: host, kernel) }
        #expect(error?.code == .refused && error?.message.contains("desk-07") == true)
        #expect(kernel.writes.isEmpty)
        // What the file does not mention stays: the A2's three vGPUs are not the file's business.
        let more = try applyLayout(file.replacingOccurrences(of: "count: 0", with: "count: 3"), on: host, kernel)
        #expect(more.created.count == 1 && more.destroyed.isEmpty)
        #expect(GPUHoldings.read(try HostContext(root: host.path), withCapacity: false).vgpus.count == 3 + 3)
    }

    /// Bindings first, then vGPUs, each verified; a vgpu-device-manager file on the same host.
    @Test func bindingsAndVGPUsInOneRun() throws {
        let (host, kernel) = try bindHost("apply")
        let file = "version: 1\npassthrough:\n  - match: {vendor: \"10de\", device: \"1e84\"}\n"
        let report = try applyLayout(file, on: host, kernel)
        #expect(report.failure == nil && report.outcome?.devices.map(\.to) == ["vfio-pci", "vfio-pci", "vfio-pci", "vfio-pci"])
        #expect(kernel.state(gpuCard) == gpuCard.map { "\($0) vfio-pci vfio-pci" })
        #expect(report.after.passthrough["0000:01:00.1"] == .some("vfio-pci") && report.before.passthrough["0000:01:00.1"] == .some("snd_hda_intel"))
        #expect(!(try applyLayout(file, on: host, kernel).changed))

        let (t4, t4kernel) = try vgpuHost("vgpu-a2-t4-busy")
        let manager = "version: v1\nvgpu-configs:\n  default:\n    - devices: all\n      device-filter: \"0x1EB810DE\"\n      vgpu-devices:\n        \"T4-2Q\": 4\n"
        let made = try applyLayout(manager, on: t4, t4kernel)
        #expect(made.created.count == 2 && made.created.allSatisfy { $0.parent == "0000:3b:00.0" && $0.type == "nvidia-231" })
    }

    /// The boot VGA device is refused as bind refuses it: nothing written, not even the lock.
    @Test func refusalsWriteNothing() throws {
        let (host, kernel) = try bindHost("apply-refused")
        let file = "version: 1\npassthrough:\n  - match: {address: 02:00.0}\n"
        let error = #expect(throws: GPUPrepError.self) { try applyLayout(file, on: host, kernel) }
        #expect(error?.code == .refused && error?.message.hasPrefix("gpuprep.yaml:3: 0000:02:00.0 is the boot VGA device") == true)
        #expect(kernel.writes.isEmpty && !host.exists("run/gpuprep.lock"))
        let unknown = #expect(throws: GPUPrepError.self) {
            try applyLayout("version: 1\nsriov:\n  - match: {address: 09:00.0}\n    vfs: 2\n", on: host, kernel)
        }
        #expect(unknown?.exitStatus == 66 && unknown?.message.hasPrefix("gpuprep.yaml:3: no PCI function 0000:09:00.0") == true)
    }

    /// At boot a GPU named by its ids is waited for until its driver has it, bounded; what is
    /// waited for is said as it changes.
    @Test func bootWaitsForTheDriverOfGPUsNamedByID() throws {
        let (host, kernel) = try vgpuHost("vgpu-mdev")
        try host.unbindDriver("0000:c1:00.0")
        let root = host.path
        var session = ChangeSession(command: "apply", dryRun: false) { () throws(GPUPrepError) in try HostContext(root: root) }
        session.writer = { _ in kernel }
        let file = "version: 1\nvgpus:\n  - match: {vendor: \"10de\", device: \"1db4\"}\n    type: V100-4Q\n    count: 1\n"
        var run = ApplyRun(planner: ApplyPlanner(layout: try layout(file)), session: session)
        run.boot = true
        run.waitSeconds = 1
        final class Said: @unchecked Sendable { var lines: [String] = [] }
        let said = Said()
        run.progress = { said.lines.append($0) }
        let report = try run.run()
        #expect(said.lines.first == "waiting for: a driver to bind 0000:c1:00.0")
        #expect(said.lines.contains("gave up waiting after 1 s for: a driver to bind 0000:c1:00.0"))
        #expect(report.failure == nil && report.created.count == 1)
    }

    /// VFs enabled, then the vGPUs on them; when their types never come, the whole run is undone,
    /// the VFs included, and the report says so.
    @Test func aLaterFailureRollsBackEarlierEntries() throws {
        let (host, kernel) = try vgpuHost("vgpu-l40s-sriov")
        let file = "version: 1\nsriov:\n  - match: {address: a1:00.0}\n    vfs: 4\nvgpus:\n  - match: {gpu: a1:00.0}\n    type: L40S-12Q\n    count: 4\n"
        let preview = try applyLayout(file, on: host, kernel, dryRun: true)
        #expect(preview.pending == ["gpuprep.yaml:6: 4 'L40S-12Q' on 0000:a1:00.0, planned once the VFs are there"])
        #expect(preview.after.sriov == ["0000:a1:00.0": 4] && preview.after.vgpus == ["0000:a1:00.0": ["L40S-12Q": 4]])
        let report = try applyLayout(file, on: host, kernel, settle: 1)
        let failure = try #require(report.failure)
        #expect(failure.code == .applyFailed && failure.message.hasPrefix("gpuprep.yaml:6: 0000:a1:00.0 does not offer 'L40S-12Q' now") && failure.message.contains("rolled back: 1 step undone"))
        #expect(try String(contentsOfFile: host.path + "/sys/bus/pci/devices/0000:a1:00.0/sriov_numvfs", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        #expect(!report.changed && report.after.sriov == ["0000:a1:00.0": 0])
    }
}

@Suite struct BootUnitTests {
    /// The README shows the unit exactly as gpuprep writes it (for a gpuprep in /usr/local/bin).
    @Test func theReadmeShowsTheUnit() throws {
        let readme = try String(contentsOf: Fixtures.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let block = try #require(readme.components(separatedBy: "```ini\n").dropFirst().first?.components(separatedBy: "```\n").first)
        #expect(block == BootUnit.text(binary: "/usr/local/bin/gpuprep"))
    }

    /// systemd's own parser accepts it (where systemd-analyze is installed).
    @Test func systemdAcceptsTheUnit() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") else { return }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-unit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let unit = dir.appendingPathComponent("gpuprep-apply.service")
        try BootUnit.text(binary: "/bin/true").write(to: unit, atomically: true, encoding: .utf8)
        let run = try Run("/usr/bin/systemd-analyze", ["verify", "--man=no", unit.path])
        // Units it orders against may be missing here; a syntax error in ours may not.
        let ours = run.stderr.split(separator: "\n").filter { $0.contains("gpuprep-apply.service:") }
        #expect(ours.isEmpty, "\(run.stderr)")
    }
}

@Suite struct ApplyCommandTests {
    let env = ["GPUPREP_PCI_IDS": Fixtures.pciIDs, "NO_COLOR": "1"]

    @Test func exitStatusesAsTheContractSays() throws {
        let host = Fixtures.host("vgpu-a2-t4-busy")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-apply-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("layout.yaml").path
        try "version: 1\nvgpus:\n  - match: {gpu: 3b:00.0}\n    type: T4-2Q\n    count: 2\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try Run.gpuprep(["apply", "--root", host, "-f", file, "--check"], environment: env).status == 0)
        try "version: 1\nvgpus:\n  - match: {gpu: 3b:00.0}\n    type: T4-2Q\n    count: 3\n".write(toFile: file, atomically: true, encoding: .utf8)
        let differs = try Run.gpuprep(["apply", "--root", host, "-f", file, "--check", "--json"], environment: env)
        #expect(differs.status == 1 && differs.stdout.contains("\"changed\": true") && differs.stdout.contains("\"T4-2Q\": 3"))

        // A mistake: exit 64, and with --json one error document naming the line.
        try "version: 1\nvgpus:\n  - match: {gpu: 3b:00.0}\n    type: T4-2Q\n".write(toFile: file, atomically: true, encoding: .utf8)
        let bad = try Run.gpuprep(["apply", "--root", host, "-f", file, "--json"], environment: env)
        #expect(bad.status == 64 && bad.stderr.contains("\"code\": \"bad-config\"") && bad.stderr.contains("layout.yaml:3: this vgpus entry has no 'count'"))

        // No file, a FIFO (never waited on), both --check and --dry-run.
        let missing = try Run.gpuprep(["apply", "--root", host], environment: env)
        #expect(missing.status == 66 && missing.stderr == "gpuprep: error: no layout file /etc/gpuprep/gpuprep.yaml: write one ('gpuprep apply --help' shows the format) or name another with -f\n")
        let fifo = dir.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o644) == 0)
        let blocked = try Run.gpuprep(["apply", "--root", host, "-f", fifo], environment: env)
        #expect(blocked.status == 66 && blocked.stderr.contains("is not a regular file"))
        #expect(try Run.gpuprep(["apply", "--root", host, "-f", file, "--check", "--dry-run"], environment: env).status == 64)
    }

    /// The default file is the one under the root; --persist plans the boot unit and its link.
    @Test func theDefaultFileAndPersist() throws {
        let host = try Catalog.build("vgpu-mdev", at: FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-apply-default-\(UUID().uuidString)"),
                                     data: Fixtures.data)
        try host.write("etc/gpuprep/gpuprep.yaml", "version: 1\nvgpus: []\n")
        let plain = try Run.gpuprep(["apply", "--root", host.path, "--dry-run"], environment: env)
        #expect(plain.status == 0 && plain.stdout == "The host matches /etc/gpuprep/gpuprep.yaml: nothing to do.\n")
        let persist = try Run.gpuprep(["apply", "--root", host.path, "--dry-run", "--persist"], environment: env)
        #expect(persist.status == 0 && persist.stdout.contains("write /etc/systemd/system/gpuprep-apply.service:")
                && persist.stdout.contains("ln -sf /etc/systemd/system/gpuprep-apply.service /etc/systemd/system/multi-user.target.wants/gpuprep-apply.service"))
        #expect(!host.exists("etc/systemd/system/gpuprep-apply.service") && !host.exists("run/gpuprep.lock"))
    }
}

@Suite struct SRIOVManageTests {
    /// Where NVIDIA's sriov-manage is installed, all VFs are enabled with it (and said so); a
    /// smaller count is written to sriov_numvfs, since the tool has no count. Either way the
    /// kernel's count and the last VF are checked, and a failure is undone.
    @Test func sriovManageEnablesAllVFs() throws {
        let (host, kernel) = try vgpuHost("vgpu-l40s-sriov")
        var planner = SRIOVPlanner(host: try HostContext(root: host.path))
        #expect(planner.sriovManage == nil)    // never a program from a --root tree
        planner.sriovManage = .sriovManage
        let all = try planner.planEnable(PCIAddress("a1:00.0")!, count: nil)
        #expect(all.actions.first?.shell == "/usr/lib/nvidia/sriov-manage -e 0000:a1:00.0")
        #expect(all.notes == ["VFs enabled with NVIDIA's /usr/lib/nvidia/sriov-manage (-e), as NVIDIA asks"])
        #expect(try apply(all, host, kernel).failure == nil && kernel.programs == ["/usr/lib/nvidia/sriov-manage -e 0000:a1:00.0"])
        #expect(host.exists("sys/bus/pci/devices/0000:a1:00.0/virtfn31"))
        let some = try planner.planEnable(PCIAddress("c1:00.0")!, count: nil)
        // From 1 VF: through 0, then the tool, which fails; the one VF is given back.
        kernel.failingWrite = (kernel.writes.count + 2, EIO)
        let failed = try apply(some, host, kernel).failure
        #expect(failed?.code == .applyFailed && failed?.message.contains("rolled back: 1 step undone") == true, "\(String(describing: failed))")
        #expect(try String(contentsOfFile: host.path + "/sys/bus/pci/devices/0000:c1:00.0/sriov_numvfs", encoding: .utf8).hasPrefix("1"))
        let four = try SRIOVPlanner(host: try HostContext(root: host.path)).planEnable(PCIAddress("c1:00.0")!, count: 4)
        #expect(four.actions.map(\.action).contains(.run) == false)
    }
}

@Suite struct LayoutWriterTests {
    /// What --persist writes reads back as the same layout, and renders the same again: the
    /// test --persist uses to know a file is its own, which it may rewrite.
    @Test func whatIsWrittenReadsBack() throws {
        var original = HostLayout(source: "gpuprep.yaml")
        original.passthrough = [HostLayout.Passthrough(match: .init(address: PCIAddress("0000:2b:00.0")), driver: "vfio-pci"),
                                HostLayout.Passthrough(match: .init(ids: [.init(vendor: 0x10de, device: 0x1e84)]), driver: "auto", companions: false)]
        original.sriov = [HostLayout.SRIOVEntry(match: .init(address: PCIAddress("0000:26:00.0")), vfs: .max),
                          HostLayout.SRIOVEntry(match: .init(address: PCIAddress("0000:a1:00.0")), vfs: .exactly(4))]
        original.vgpus = [HostLayout.VGPUEntry(match: .init(address: PCIAddress("0000:26:00.0")), type: "NVIDIA L40S-24Q", count: .exactly(2)),
                          HostLayout.VGPUEntry(match: .init(parent: "mtty"), type: "mtty-2", count: .max,
                                               uuids: [UUID(uuidString: "0b5e0b5e-0000-4000-8000-00000000a001")!]),
                          HostLayout.VGPUEntry(match: .init(ids: [.init(vendor: 0x10de, device: 0x26b9)]), type: "say \"hi\"\\", count: .exactly(0))]
        original.profiles = ["small": HostLayout.Profile(vgpus: [HostLayout.VGPUEntry(match: .init(parent: "mdpy"), type: "mdpy-vga", count: .exactly(1))]),
                             "none": HostLayout.Profile(passthrough: [], sriov: [])]
        let text = LayoutWriter.render(original)
        let read = try layout(text)
        #expect(read == original)
        #expect(LayoutWriter.render(read) == text)
        #expect(LayoutWriter.render(HostLayout()) == LayoutWriter.header + "version: 1\n")
        #expect(try layout(LayoutWriter.render(HostLayout())).isEmpty)
    }
}
