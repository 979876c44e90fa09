import Foundation
import HostFixtures
import Testing

/// The binary as a user runs it: exit statuses, one-line errors, JSON errors, environment.
@Suite struct CLITests {
    let desktop = Fixtures.host("desktop-b550")

    @Test func listsWithExitZero() throws {
        let run = try Run.gpuprep(["list", "--root", desktop, "--pci-ids", Fixtures.pciIDs])
        #expect(run.status == 0)
        #expect(run.stdout.contains("0000:2b:00.0  gpu"))
        #expect(!run.stdout.contains("\u{1B}["), "no colour when output is not a terminal")
        #expect(run.stderr.isEmpty)
    }

    @Test func rootComesFromTheEnvironmentToo() throws {
        let run = try Run.gpuprep(["list", "--json"], environment: ["GPUPREP_ROOT": desktop, "GPUPREP_PCI_IDS": Fixtures.pciIDs])
        #expect(run.status == 0)
        let document = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        #expect(document?["schemaVersion"] as? Int == 1)
        #expect((document?["devices"] as? [Any])?.count == 6)
    }

    struct Failure: Sendable, CustomStringConvertible {
        var arguments: [String]
        var status: Int32
        var code: String
        var says: String
        var description: String { arguments.joined(separator: " ") }
    }

    static let failures: [Failure] = [
        Failure(arguments: ["list", "--root", "/nonexistent/host"], status: 66, code: "invalid-root", says: "does not exist"),
        Failure(arguments: ["list", "--root", "/etc/hostname"], status: 66, code: "invalid-root", says: "is not a directory"),
        Failure(arguments: ["list", "--root", "/tmp"], status: 69, code: "no-pci-bus", says: "sys/bus/pci/devices"),
        Failure(arguments: ["list", "3b:00"], status: 64, code: "usage", says: "malformed PCI address '3b:00'"),
        Failure(arguments: ["list", "../../etc/passwd"], status: 64, code: "usage", says: "malformed PCI address"),
        Failure(arguments: ["list", "7f:00.0"], status: 66, code: "unknown-device", says: "no PCI function 0000:7f:00.0"),
        Failure(arguments: ["list", "--all", "2b:00.0"], status: 64, code: "usage", says: "exclude each other"),
        Failure(arguments: ["list", "--pci-ids", "/nonexistent/pci.ids"], status: 66, code: "unreadable-file", says: "pci.ids"),
    ]

    @Test(arguments: failures)
    func badInputGivesOneLineAndItsStatus(failure: Failure) throws {
        var arguments = failure.arguments
        if !arguments.contains("--root") { arguments += ["--root", desktop] }
        let text = try Run.gpuprep(arguments)
        #expect(text.status == failure.status)
        #expect(text.stdout.isEmpty)
        #expect(text.stderr.hasPrefix("gpuprep: error: ") && text.stderr.contains(failure.says))
        #expect(text.stderr.split(separator: "\n").count == 1, "one line: \(text.stderr)")

        let json = try Run.gpuprep(arguments + ["--json"])
        #expect(json.status == failure.status)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stderr.utf8)) as? [String: Any])
        let error = try #require(document["error"] as? [String: Any])
        #expect(error["code"] as? String == failure.code)
        #expect(error["exitStatus"] as? Int == Int(failure.status))
    }

    @Test func unknownOptionIsAUsageError() throws {
        let run = try Run.gpuprep(["list", "--frobnicate"])
        #expect(run.status == 64)
        #expect(run.stderr.contains("--frobnicate"))
    }

    @Test func noGPUHostExitsZeroAndSuggestsAll() throws {
        let host = try Fixtures.scratch("cli-nogpu")
        try host.add(FakeFunction("0000:00:14.0", vendor: 0x8086, device: 0xa36d, classCode: 0x0c0330, driver: "xhci_hcd", group: 2))
        let run = try Run.gpuprep(["list", "--root", host.path])
        #expect(run.status == 0)
        #expect(run.stdout.contains("No NVIDIA GPU found") && run.stdout.contains("gpuprep list --all"))
    }

    @Test func version() throws {
        let run = try Run.gpuprep(["--version"])
        #expect(run.status == 0 && run.stdout.range(of: #"^\d+\.\d+\.\d+\n$"#, options: .regularExpression) != nil)
    }

    @Test func addressesCompleteFromTheHost() throws {
        // What completions/gpuprep.bash runs for `gpuprep list 2b<TAB>`: word index, cursor offset, the words.
        let run = try Run.gpuprep(["---completion", "list", "--", "positional@0", "2", "2", "gpuprep", "list", "2b"],
                                  environment: ["GPUPREP_ROOT": desktop])
        // Typed in the short form, offered in the short form: a shell keeps only candidates that
        // start with what was typed, so "0000:2b:00.0" would be dropped for "2b".
        #expect(run.stdout.split(separator: "\n") == ["2b:00.0", "2b:00.1", "2b:00.2", "2b:00.3"])
        // A --root on the line wins over the environment.
        let other = try Run.gpuprep(["---completion", "list", "--", "positional@0", "4", "2", "gpuprep", "list", "--root",
                                     Fixtures.host("dgx-a100"), "c4"], environment: ["GPUPREP_ROOT": desktop])
        #expect(other.stdout.split(separator: "\n") == ["c4:00.0"])
    }
}

/// Every JSON document gpuprep prints validates against the published schema.
@Suite struct SchemaTests {
    func validate(_ document: String, against schema: String) throws -> Run {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-doc-\(UUID().uuidString).json")
        try document.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        // A schema may refer to another beside it (change -> vgpus): resolve those from Schemas/.
        let script = """
        import json, os, sys, jsonschema
        folder = os.path.dirname(sys.argv[1])
        schemas = [json.load(open(os.path.join(folder, n))) for n in os.listdir(folder) if n.endswith(".json")]
        schema = json.load(open(sys.argv[1])); doc = json.load(open(sys.argv[2]))
        jsonschema.Draft202012Validator.check_schema(schema)
        try:    # jsonschema >= 4.18
            from referencing import Registry, Resource
            registry = Registry().with_resources([(s["$id"], Resource.from_contents(s)) for s in schemas])
            validator = jsonschema.Draft202012Validator(schema, registry=registry)
        except ImportError:    # Debian 12's python3-jsonschema
            resolver = jsonschema.RefResolver.from_schema(schema, store={s["$id"]: s for s in schemas})
            validator = jsonschema.Draft202012Validator(schema, resolver=resolver)
        errors = list(validator.iter_errors(doc))
        for e in errors: print(list(e.absolute_path), e.message)
        sys.exit(1 if errors else 0)
        """
        return try Run("/usr/bin/env", ["python3", "-c", script,
                                        Fixtures.packageRoot.appendingPathComponent("Schemas/\(schema)").path, file.path])
    }

    @Test(arguments: Catalog.names)
    func listValidates(host: String) throws {
        for all in [false, true] {
            let run = try Run.gpuprep(["list", "--json", "--root", Fixtures.host(host)] + (all ? ["--all"] : []))
            #expect(run.status == 0)
            let check = try validate(run.stdout, against: "list.schema.json")
            #expect(check.status == 0, "\(host) all=\(all): \(check.stdout)\(check.stderr)")
        }
    }

    @Test func goldenJSONValidates() throws {
        for command in ["list", "iommu", "conflicts", "check", "types", "vgpus"] {
            let dir = Fixtures.golden.appendingPathComponent(command)
            for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where name.hasSuffix(".json") {
                let check = try validate(try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8),
                                         against: "\(command).schema.json")
                #expect(check.status == 0, "\(command)/\(name): \(check.stdout)\(check.stderr)")
            }
        }
    }

    @Test(arguments: Catalog.names)
    func iommuAndConflictsValidate(host: String) throws {
        for (command, schema) in [("iommu", "iommu.schema.json"), ("conflicts", "conflicts.schema.json"), ("check", "check.schema.json"),
                                  ("metrics", "metrics.schema.json"), ("doctor", "doctor.schema.json")] {
            let run = try Run.gpuprep([command, "--json", "--root", Fixtures.host(host)])
            #expect(run.status == 0 || (command == "conflicts" || command == "check" || command == "doctor") && run.status == 1, "\(command): \(run.stderr)")
            let check = try validate(run.stdout, against: schema)
            #expect(check.status == 0, "\(command) on \(host): \(check.stdout)\(check.stderr)")
        }
    }

    @Test func changeReportsValidate() throws {
        let (host, _) = try bindHost("schema")
        let dry = try Run.gpuprep(["bind", "--json", "--dry-run", "--root", host.path, "01:00.0"])
        #expect(try validate(dry.stdout, against: "change.schema.json").status == 0)
        // A failed apply (no kernel behind a --root tree): steps, rollback and error validate too.
        let failed = try Run.gpuprep(["bind", "--json", "--root", host.path, "07:00.0"])
        #expect(failed.status == 74)
        let check = try validate(failed.stdout, against: "change.schema.json")
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(try validate(failed.stderr, against: "error.schema.json").status == 0)
    }

    @Test func applyReportsValidate() throws {
        let host = try Catalog.build("vgpu-l40s-sriov", at: FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-schema-\(UUID().uuidString)"),
                                     data: Fixtures.data)
        let layout = Fixtures.packageRoot.appendingPathComponent("examples/layouts/l40s-vgpu.yaml").path
        for flags in [["--dry-run"], ["--check"], ["--dry-run", "--persist"]] {
            let run = try Run.gpuprep(["apply", "--json", "--root", host.path, "-f", layout] + flags)
            let check = try validate(run.stdout, against: "apply.schema.json")
            #expect(check.status == 0, "\(flags): \(check.stdout)\(check.stderr)")
        }
        // No kernel behind the tree: the VF count never changes, the run is undone, and says so.
        let failed = try Run.gpuprep(["apply", "--json", "--root", host.path, "-f", layout])
        #expect(failed.status == 74 && failed.stdout.contains("\"changed\": false"))
        let check = try validate(failed.stdout, against: "apply.schema.json")
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }

    @Test func vgpuReportsValidate() throws {
        let host = try Catalog.build("vgpu-mdev", at: FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-schema-\(UUID().uuidString)"),
                                     data: Fixtures.data)
        let dry = try Run.gpuprep(["create", "--json", "--dry-run", "--root", host.path, "--type", "nvidia-256", "--count", "2"])
        #expect(dry.status == 0)
        #expect(try validate(dry.stdout, against: "change.schema.json").status == 0)
        // No kernel behind the tree: the mdev never appears, the create is undone, and the report says so.
        let failed = try Run.gpuprep(["create", "--json", "--root", host.path, "--type", "nvidia-256"])
        #expect(failed.status == 74)
        let check = try validate(failed.stdout, against: "change.schema.json")
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        for command in ["types", "vgpus"] {
            let run = try Run.gpuprep([command, "--json", "--root", Fixtures.host("vgpu-l40s-sriov")])
            #expect(try validate(run.stdout, against: "\(command).schema.json").status == 0)
        }
    }

    @Test func errorsValidate() throws {
        let run = try Run.gpuprep(["list", "--json", "--root", "/nonexistent"])
        let check = try validate(run.stderr, against: "error.schema.json")
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }

    @Test func schemaRejectsAMissingKey() throws {
        // The validator itself must be able to fail: drop a required key.
        let run = try Run.gpuprep(["list", "--json", "--root", Fixtures.host("dgx-a100")])
        let broken = run.stdout.replacingOccurrences(of: "\"iommuGroup\"", with: "\"iommuGroupX\"")
        #expect(try validate(broken, against: "list.schema.json").status != 0)
    }
}

/// Files generated from the code, committed for users and packagers, must match it.
@Suite struct GeneratedFilesTests {
    @Test(arguments: [("bash", "gpuprep.bash"), ("zsh", "_gpuprep"), ("fish", "gpuprep.fish")])
    func completionsAreCurrent(shell: String, file: String) throws {
        let run = try Run.gpuprep(["--generate-completion-script", shell])
        let committed = try String(contentsOf: Fixtures.packageRoot.appendingPathComponent("completions/\(file)"), encoding: .utf8)
        #expect(run.stdout == committed, "completions/\(file) is stale: run 'make generate'")
    }

    /// The sample hosts `make demo` reads are the fixture builder's output, unedited.
    @Test(arguments: ["desktop-b550", "vgpu-l40s-sriov", "p6t6-no-iommu", "vgpu-a2-t4-busy"])
    func exampleHostsAreCurrent(host: String) throws {
        let shipped = Fixtures.packageRoot.appendingPathComponent("examples/hosts/\(host)")
        let built = Fixtures.hosts.appendingPathComponent(host)
        #expect(try tree(shipped) == tree(built), "examples/hosts/\(host) is stale: run 'make examples'")
    }

    /// git keeps no empty folder, so a sample host that needs one would read differently on a
    /// fresh clone (0 IOMMU units, vfio "not loaded"): the builder writes none.
    @Test(arguments: ["desktop-b550", "vgpu-l40s-sriov", "p6t6-no-iommu", "vgpu-a2-t4-busy"])
    func exampleHostsHaveNoEmptyFolderThatMatters(host: String) throws {
        let root = Fixtures.packageRoot.appendingPathComponent("examples/hosts/\(host)")
        let fm = FileManager.default
        var empty: [String] = []
        for case let relative as String in fm.enumerator(atPath: root.path)! {
            let path = root.appendingPathComponent(relative).path
            guard isDirectory(path), (try? fm.destinationOfSymbolicLink(atPath: path)) == nil,
                  (try? fm.contentsOfDirectory(atPath: path))?.isEmpty == true else { continue }
            // mdev_supported_types/<type>/devices is empty on a real host too, and nothing reads it.
            if relative.hasSuffix("/devices") && relative.contains("mdev_supported_types") { continue }
            empty.append(relative)
        }
        #expect(empty.isEmpty, "empty folders git would drop: \(empty.prefix(5))")
    }

    /// Every file's bytes and every link's target, by relative path (empty folders aside: git keeps none).
    func tree(_ root: URL) throws -> [String: String] {
        var entries: [String: String] = [:]
        let fm = FileManager.default
        for case let relative as String in fm.enumerator(atPath: root.path)! {
            let path = root.appendingPathComponent(relative).path
            if let target = try? fm.destinationOfSymbolicLink(atPath: path) {
                entries[relative] = "-> " + target
            } else if let data = fm.contents(atPath: path), !isDirectory(path) {
                entries[relative] = relative.hasSuffix(".ko") ? "object \(data.count)" : data.base64EncodedString()
            }
        }
        return entries
    }

    func isDirectory(_ path: String) -> Bool {
        var flag: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &flag) && flag.boolValue
    }
}

/// The architecture rules the design notes set.
@Suite struct ArchitectureTests {
    func sources(_ target: String) throws -> [(String, String)] {
        let dir = Fixtures.packageRoot.appendingPathComponent("Sources/\(target)")
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted().flatMap { name -> [(String, String)] in
            let url = dir.appendingPathComponent(name)
            if name.hasSuffix(".swift") { return [(name, try String(contentsOf: url, encoding: .utf8))] }
            return try sources("\(target)/\(name)")
        }
    }

    @Test func oneRootBuildsHostPaths() throws {
        let literal = try NSRegularExpression(pattern: #""/(sys|proc|etc|dev|run|boot|lib)(/|")"#)
        for target in ["GPUPrepSystem", "GPUPrepCore", "gpuprep"] {
            for (name, text) in try sources(target) where name != "HostRoot.swift" {
                let range = NSRange(text.startIndex..., in: text)
                #expect(literal.firstMatch(in: text, range: range) == nil, "\(target)/\(name) spells a host path: build it with HostPath")
            }
        }
    }

    @Test func onlyTheSystemLayerImportsC() throws {
        for target in ["GPUPrepCore", "gpuprep"] {
            for (name, text) in try sources(target) {
                for module in ["CPCI", "CKmod", "CShims", "Glibc"] {
                    #expect(!text.contains("import \(module)\n"), "\(target)/\(name) imports \(module)")
                }
            }
        }
    }
}
