import Foundation
import GPUPrepCore
import GPUPrepSystem
import HostFixtures
import Testing

/// Tests/export/validate.py: each export read by its stack's parser (PyYAML and KubeVirt's
/// types, oslo.config as Nova registers its options, virt-xml-validate, PCI.pm's patterns).
func validateExport(_ format: ExportFormat, _ content: String) throws -> Run {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-export-\(UUID().uuidString)")
    try content.write(to: file, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: file) }
    return try Run("/usr/bin/env", ["python3", Fixtures.packageRoot.appendingPathComponent("Tests/export/validate.py").path, format.rawValue, file.path])
}

@Suite struct ExportTests {
    /// Passthrough with a companion left on its host driver, mdev vGPUs on VFs and on a T4,
    /// vGPU 17+ on VFs, mdev types without vGPUs, a variant driver, a GPU a VM holds.
    static let hosts = ["desktop-b550", "vgpu-a2-t4-busy", "vgpu-l40s-sriov", "vgpu-mdev", "gh200-arm64", "dgx-a100", "stacks-mix"]

    /// Every host's exports read by the stacks' own code: Nova 34 from PyPI (Tests/export/
    /// nova_accepts.py, in the venv `make deps` makes) and, for the stacks no registry ships,
    /// their rules as data with file:line sources (Tests/export/stack_rules.py). One process
    /// each for all hosts: Nova takes seconds to import.
    @Test func eachStackAcceptsWhatItIsGiven() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-stacks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var nova: [[String: Any]] = [], others: [[String: Any]] = []
        for host in Self.hosts {
            let inventory = try ExportInventory.read(try context(host))
            for format in ExportFormat.allCases {
                let export = Export.make(format, inventory, node: "pve1")
                let file = dir.appendingPathComponent("\(host).\(format.rawValue)")
                try export.content.write(to: file, atomically: true, encoding: .utf8)
                let entry: [String: Any] = ["host": host, "root": Fixtures.host(host), "format": format.rawValue,
                                            "export": file.path, "warnings": export.warnings, "node": "pve1"]
                if format == .nova { nova.append(entry) } else { others.append(entry) }
            }
        }
        for (name, entries) in [("nova", nova), ("rules", others)] {
            try JSONSerialization.data(withJSONObject: entries).write(to: dir.appendingPathComponent("\(name).json"))
        }
        let novaPython = ProcessInfo.processInfo.environment["GPUPREP_NOVA_PYTHON"]
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/gpuprep-nova/bin/python").path
        #expect(FileManager.default.isExecutableFile(atPath: novaPython), "no Nova to test with at \(novaPython): run make deps")
        let script = Fixtures.packageRoot.appendingPathComponent("Tests/export").path
        let novaRun = try Run(novaPython, ["\(script)/nova_accepts.py", dir.appendingPathComponent("nova.json").path])
        #expect(novaRun.status == 0, "Nova refuses: \(novaRun.stdout)\(novaRun.stderr)")
        let rules = try Run("/usr/bin/env", ["python3", "\(script)/stack_rules.py", dir.appendingPathComponent("rules.json").path])
        #expect(rules.status == 0, "\(rules.stdout)\(rules.stderr)")
    }

    @Test(arguments: hosts)
    func everyFormatParsesAsItsStackReadsIt(host: String) throws {
        let inventory = try ExportInventory.read(try context(host))
        for format in ExportFormat.allCases {
            let export = Export.make(format, inventory, node: "pve1")
            let warnings = export.warnings.map { "# warning: \($0)\n" }.joined()
            try expectGolden(export.content + (warnings.isEmpty ? "" : "\n" + warnings), "export/\(host).\(format.rawValue)")
            let check = try validateExport(format, export.content)
            #expect(check.status == 0, "\(host) \(format): \(check.stdout)\(check.stderr)")
        }
    }

    /// What each stack would match: NVIDIA's device plugin advertises the pci.ids name of a
    /// vfio-pci GPU, KubeVirt selects the mdev by its type name, Nova's classes are custom.
    @Test func namesAreTheStacksOwn() throws {
        let t4 = try ExportInventory.read(try context("vgpu-a2-t4-busy"))
        let kubevirt = Export.make(.kubevirt, t4).content
        #expect(kubevirt.contains("- mdevNameSelector: \"GRID T4-2Q\"\n          resourceName: \"nvidia.com/GRID_T4-2Q\"\n"))
        let desktop = Export.make(.kubevirt, try ExportInventory.read(try context("desktop-b550"))).content
        #expect(desktop.contains("pciVendorSelector: \"10DE:1E84\"\n          resourceName: \"nvidia.com/TU104_GEFORCE_RTX_2070_SUPER\""))
        let nova = Export.make(.nova, try ExportInventory.read(try context("vgpu-l40s-sriov"))).content
        #expect(nova.contains("\"address\": \"0000:26:00.5\", \"managed\": \"no\", \"resource_class\": \"CUSTOM_NVIDIA_L40S_24Q\""))
        // A2 vGPUs live on VFs, each of which says it can make one: Nova is told how many fit.
        #expect(Export.make(.nova, t4).content.contains("[mdev_nvidia-746]\ndevice_addresses = 0000:08:00.4,"))
        #expect(Export.make(.nova, t4).content.contains("mdev_class = CUSTOM_NVIDIA_A2_4Q\nmax_instances = 2\n"))
    }

    /// The names, for every NVIDIA device in the fixture pci.ids and every vGPU type in the real
    /// data, against the stacks' own code: os_resource_classes.normalize_name (Nova's, from
    /// PyPI), and the device plugin's getDeviceName/readVgpuIDFromFile transforms, written
    /// again in Python from its Go source with the same regular expressions.
    @Test func normalisationAgreesWithTheStacksCode() throws {
        let ids = try String(contentsOfFile: Fixtures.pciIDs, encoding: .utf8)
        var devices: [String] = []
        var inNVIDIA = false
        for line in ids.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix("\t") && !line.hasPrefix("#") && !line.isEmpty { inNVIDIA = line.hasPrefix("10de ") }
            else if inNVIDIA, line.hasPrefix("\t"), !line.hasPrefix("\t\t") { devices.append(String(line.dropFirst(7))) }
        }
        var types = Set<String>()
        for host in Catalog.names { for type in try TypesReport.make(host: try context(host), parent: nil, availableOnly: false).types { types.insert(type.name ?? type.id) } }
        #expect(devices.count > 20 && types.count > 50)
        let ours = devices.map { ["device", $0, StackNames.kubevirtPCIResource(deviceName: $0, deviceID: 0)] }
            + types.sorted().map { ["vgpu", $0, StackNames.kubevirtVGPUResource(typeName: $0)] }
            + (devices + types.sorted()).map { ["nova", $0, StackNames.novaResourceClass($0)] }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-names-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: ours).write(to: file)
        let script = """
        import json, re, sys, os_resource_classes
        def device(name):          # kubevirt-gpu-device-plugin, getDeviceName
            name = name.strip().upper().replace("/", "_").replace(".", "_")
            name = re.sub(r"\\s+", "_", name)
            return "nvidia.com/" + re.sub(r"[^a-zA-Z0-9_.]+", "", name)
        def vgpu(name):            # readVgpuIDFromFileFunc
            return "nvidia.com/" + re.sub(r"\\s+", "_", name.strip("\\n"))
        rules = {"device": device, "vgpu": vgpu, "nova": os_resource_classes.normalize_name}
        bad = [(k, n, got, rules[k](n)) for k, n, got in json.load(open(sys.argv[1])) if rules[k](n) != got]
        for b in bad: print(b)
        sys.exit(1 if bad else 0)
        """
        let run = try Run("/usr/bin/env", ["python3", "-c", script, file.path])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
    }

    /// A host name is tree-supplied text: one that is not a Proxmox node name (a newline that
    /// would start a forged `map` line) is not written; NODE stands in, and the user is told.
    @Test func aHostNameThatIsNoNodeNameIsNotWritten() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-hostname-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try Catalog.build("desktop-b550", at: dir, data: Fixtures.data)
        try "pve1\n\tmap id=10de:1e84,node=pve1,path=0000:00:00.0\n".write(to: dir.appendingPathComponent("proc/sys/kernel/hostname"), atomically: true, encoding: .utf8)
        let export = Export.make(.proxmox, try ExportInventory.read(try HostContext(root: dir.path, pciIDs: Fixtures.pciIDs)))
        #expect(!export.content.contains("path=0000:00:00.0") && export.content.contains("node=NODE,"))
        #expect(export.warnings.contains { $0.contains("is not a Proxmox node name") })
    }

    @Test func addressesLimitWhatIsExported() throws {
        let only = try ExportInventory.read(try context("vgpu-a2-t4-busy"), only: [PCIAddress("3b:00.0")!])
        #expect(only.mdevTypes.map(\.id) == ["nvidia-231"] && only.mdevTypes[0].instances.count == 2)
        let vf = try ExportInventory.read(try context("vgpu-a2-t4-busy"), only: [PCIAddress("08:00.5")!])
        #expect(vf.mdevTypes.map(\.id) == ["nvidia-751"])
        #expect(throws: GPUPrepError.self) { try ExportInventory.read(try context("vgpu-a2-t4-busy"), only: [PCIAddress("99:00.0")!]) }
    }

    @Test func theCommand() throws {
        let env = ["GPUPREP_PCI_IDS": Fixtures.pciIDs, "NO_COLOR": "1"]
        let libvirt = try Run.gpuprep(["export", "libvirt", "--root", Fixtures.host("desktop-b550")], environment: env)
        #expect(libvirt.status == 0 && libvirt.stdout.contains("<address domain='0x0000' bus='0x2b' slot='0x00' function='0x0'/>"))
        #expect(libvirt.stderr.hasPrefix("gpuprep: warning: IOMMU group 14 of 0000:2b:00.0 also holds 0000:2b:00.1 on snd_hda_intel"))
        let json = try Run.gpuprep(["export", "proxmox", "--json", "--node", "pve1", "--root", Fixtures.host("desktop-b550")], environment: env)
        let document = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(json.status == 0 && document?["format"] as? String == "proxmox" && (document?["warnings"] as? [String])?.count == 1)
        #expect((document?["content"] as? String)?.contains("\tmap id=10de:1e84,iommugroup=14,node=pve1,path=0000:2b:00.0") == true)
        #expect(try Run.gpuprep(["export", "xml", "--root", Fixtures.host("desktop-b550")], environment: env).status == 64)
        #expect(try Run.gpuprep(["export", "proxmox", "--node", "a,b", "--root", Fixtures.host("desktop-b550")], environment: env).status == 64)
        #expect(try Run.gpuprep(["export", "nfd", "99:00.0", "--root", Fixtures.host("desktop-b550")], environment: env).status == 66)
    }
}
