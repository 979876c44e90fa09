import Foundation
import GPUPrepCore
import GPUPrepSystem
import HostFixtures
import Testing

/// `gpuprep metrics`: Prometheus's own checker accepts it on every sample host, and it says what
/// `vgpus` and `types` say.
@Suite struct MetricsTests {
    let env = ["GPUPREP_PCI_IDS": Fixtures.pciIDs, "NO_COLOR": "1"]

    func fresh(_ name: String) throws -> FakeHost {
        try Catalog.build(name, at: FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-metrics-\(name)-\(UUID().uuidString)"),
                          data: Fixtures.data)
    }

    /// promtool (Debian's prometheus package; make test installs it) reads every host's metrics.
    @Test(arguments: Catalog.names) func promtoolAccepts(_ name: String) throws {
        let run = try Run.gpuprep(["metrics", "--root", Fixtures.host(name)], environment: env)
        #expect(run.status == 0, "\(run.stderr)")
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-metrics-\(UUID().uuidString).prom")
        try run.stdout.write(to: input, atomically: true, encoding: .utf8)
        let check = try Run("/bin/sh", ["-c", "promtool check metrics < '\(input.path)'"])
        #expect(check.status == 0 && check.stdout.isEmpty && check.stderr.isEmpty,
                "promtool on \(name): \(check.stdout)\(check.stderr)")
    }

    @Test func theSameNumbersAsVGPUsAndTypes() throws {
        for name in ["vgpu-a2-t4-busy", "vgpu-l40s-sriov", "vgpu-mdev"] {
            let root = Fixtures.host(name)
            let metrics = try json(Run.gpuprep(["metrics", "--root", root, "--json"], environment: env).stdout)
            let families = Dictionary(uniqueKeysWithValues: (metrics["metrics"] as! [[String: Any]]).map { ($0["name"] as! String, $0["samples"] as! [[String: Any]]) })
            func labels(_ s: [String: Any]) -> [String: String] { s["labels"] as! [String: String] }

            // Every vGPU counted once, by its type, in_use exactly when vgpus shows a holder.
            let vgpus = try json(Run.gpuprep(["vgpus", "--root", root, "--json"], environment: env).stdout)["vgpus"] as! [[String: Any]]
            var expected: [String: Int] = [:]
            for v in vgpus {
                let held = !(v["holders"] as! [Any]).isEmpty
                expected["\(v["type"]!) \(held ? "in_use" : "not")", default: 0] += 1
            }
            var counted: [String: Int] = [:]
            for s in families["gpuprep_vgpus"]! {
                let l = labels(s)
                counted["\(l["type"]!) \(l["state"] == "in_use" ? "in_use" : "not")", default: 0] += s["value"] as! Int
            }
            #expect(counted == expected, "\(name)")

            // Free capacity per GPU and type is what types says can be made.
            let capacity = try json(Run.gpuprep(["types", "--root", root, "--json"], environment: env).stdout)["capacity"] as! [[String: Any]]
            let creatable = Dictionary(uniqueKeysWithValues: families["gpuprep_vgpu_creatable"]!.map { s in
                ("\(labels(s)["gpu"]!) \(labels(s)["type"]!)", s["value"] as! Int) })
            let shown = Dictionary(uniqueKeysWithValues: capacity.compactMap { c in
                (c["creatable"] as? Int).map { ("\(c["gpu"]!) \(c["id"]!)", $0) } })
            #expect(!shown.isEmpty && creatable == shown, "\(name)")
        }
    }

    /// A vGPU no VM holds is idle when a defined VM names it (libvirt's source address, a
    /// Proxmox hostpci line), orphaned when nothing does; a guest-side address names nothing.
    @Test func idleOrOrphaned() throws {
        let host = try fresh("vgpu-a2-t4-busy")
        func states() throws -> [String: String] {
            let text = try Run.gpuprep(["metrics", "--root", host.path], environment: env).stdout
            var result: [String: String] = [:]
            for line in text.split(separator: "\n") where line.hasPrefix("gpuprep_vgpus{") {
                let type = line.firstRange(of: "type=\"").map { line[$0.upperBound...].prefix { $0 != "\"" } } ?? ""
                let state = line.firstRange(of: "state=\"").map { line[$0.upperBound...].prefix { $0 != "\"" } } ?? ""
                result["\(type) \(state)"] = String(line.split(separator: " ").last!)
            }
            return result
        }
        #expect(try states()["nvidia-231 orphaned"] == "1" && states()["nvidia-746 orphaned"] == "1")
        try host.write("etc/libvirt/qemu/desk-08.xml", """
            <domain type='kvm'>
              <name>desk-08</name>
              <uuid>11111111-2222-3333-4444-555555555555</uuid>
              <devices>
                <hostdev mode='subsystem' type='mdev' model='vfio-pci' display='off'>
                  <source>
                    <address uuid='9d7e0a5c-6f1b-4c2e-9a54-7b6c5d4e8f95'/>
                  </source>
                  <address type='pci' domain='0x0000' bus='0x08' slot='0x00' function='0x4'/>
                </hostdev>
              </devices>
            </domain>
            """)
        let after = try states()
        #expect(after["nvidia-231 idle"] == "1" && after["nvidia-231 orphaned"] == nil && after["nvidia-231 in_use"] == "1")
        #expect(after["nvidia-746 orphaned"] == "1", "the guest-side address of 08:00.4 names nothing on the host")

        var proxmox = VMDefinitions()
        proxmox.addProxmox("boot: order=scsi0\nhostpci0: 0000:26:00.5,pcie=1\nhostpci1: 27:00;28:00.1,x-vga=1\n[before-gpu]\nhostpci2: 0000:26:00.6\n")
        #expect(proxmox.addresses == Set(["0000:26:00.5", "0000:27:00.0", "0000:28:00.1"].compactMap { PCIAddress($0) }),
                "a snapshot's section is the past, not the VM")
    }

    /// apply records its result; metrics reports it; --check and --dry-run record nothing.
    @Test func theLastApply() throws {
        let host = try fresh("vgpu-a2-t4-busy")
        let file = host.path + "/layout.yaml"
        func last() throws -> String {
            try Run.gpuprep(["metrics", "--root", host.path], environment: env).stdout.split(separator: "\n")
                .filter { $0.hasPrefix("gpuprep_apply_last_") && !$0.hasPrefix("gpuprep_apply_last_timestamp") }.joined(separator: "\n")
        }
        #expect(try last() == "")
        try "version: 1\nvgpus:\n  - match: {gpu: 3b:00.0}\n    type: T4-2Q\n    count: 2\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try Run.gpuprep(["apply", "--root", host.path, "-f", file, "--check"], environment: env).status == 0)
        #expect(try Run.gpuprep(["apply", "--root", host.path, "-f", file, "--dry-run"], environment: env).status == 0)
        #expect(!host.exists("var/lib/gpuprep/last-apply"))
        #expect(try Run.gpuprep(["apply", "--root", host.path, "-f", file], environment: env).status == 0)
        #expect(try last() == "gpuprep_apply_last_success 1\ngpuprep_apply_last_result{result=\"unchanged\",status=\"0\",profile=\"\"} 1\ngpuprep_apply_last_steps 0")

        // Nine T4-2Q do not fit a 16 GB T4: refused (65), recorded as such.
        try "version: 1\nvgpus:\n  - match: {gpu: 3b:00.0}\n    type: T4-2Q\n    count: 9\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try Run.gpuprep(["apply", "--root", host.path, "-f", file], environment: env).status == 65)
        #expect(try last() == "gpuprep_apply_last_success 0\ngpuprep_apply_last_result{result=\"refused\",status=\"65\",profile=\"\"} 1\ngpuprep_apply_last_steps 0")
        let stamp = try Run.gpuprep(["metrics", "--root", host.path], environment: env).stdout.split(separator: "\n")
            .first { $0.hasPrefix("gpuprep_apply_last_timestamp_seconds ") }.flatMap { Int($0.split(separator: " ")[1]) }
        #expect(stamp.map { abs($0 - Int(Date().timeIntervalSince1970)) < 600 } == true)

        #expect(ApplyRecord.parse(ApplyRecord(time: 5, result: .failed, status: 74, steps: 3, profile: "small").text)
                == ApplyRecord(time: 5, result: .failed, status: 74, steps: 3, profile: "small"))
        #expect(ApplyRecord.parse("# nothing\n") == nil)
    }

    /// --textfile replaces DIR/gpuprep.prom whole (no temporary file left), and a missing
    /// directory is an error that says what to give.
    @Test func textfile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-textfile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "stale\n".write(to: dir.appendingPathComponent("gpuprep.prom"), atomically: true, encoding: .utf8)
        let run = try Run.gpuprep(["metrics", "--root", Fixtures.host("vgpu-l40s-sriov"), "--textfile", dir.path], environment: env)
        #expect(run.status == 0 && run.stdout.isEmpty)
        let written = try String(contentsOf: dir.appendingPathComponent("gpuprep.prom"), encoding: .utf8)
        let printed = try Run.gpuprep(["metrics", "--root", Fixtures.host("vgpu-l40s-sriov")], environment: env).stdout
        #expect(written == printed && written.contains("gpuprep_gpu_vfs{gpu=\"0000:26:00.0\"} 4\n"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["gpuprep.prom"])
        let missing = try Run.gpuprep(["metrics", "--root", Fixtures.host("vgpu-l40s-sriov"), "--textfile", dir.path + "/absent"], environment: env)
        #expect(missing.status == 74 && missing.stderr.hasPrefix("gpuprep: error: cannot write \(dir.path)/absent/gpuprep.prom:"))
    }

    /// MIG GPU instances from NVIDIA's capability files (by the GPU's device minor), and the
    /// placement mode of GPUs holding vGPUs.
    @Test func migAndPlacementMode() throws {
        let host = try fresh("dgx-a100-services")
        for gi in ["gi1", "gi2", "gi9"] { try host.mkdir("proc/driver/nvidia/capabilities/gpu1/mig/\(gi)") }
        try host.write("proc/driver/nvidia/capabilities/gpu1/mig/config", "DeviceFileMinor: 1\n")
        let text = try Run.gpuprep(["metrics", "--root", host.path], environment: env).stdout
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("gpuprep_gpu_mig_instances{") } == ["gpuprep_gpu_mig_instances{gpu=\"0000:47:00.0\"} 3"])
        let busy = try Run.gpuprep(["metrics", "--root", Fixtures.host("vgpu-a2-t4-busy")], environment: env).stdout
        #expect(busy.contains("gpuprep_gpu_vgpu_mixed_size{gpu=\"0000:08:00.0\"} 0\ngpuprep_gpu_vgpu_mixed_size{gpu=\"0000:3b:00.0\"} 0\n"))
    }

    @Test func golden() throws {
        let run = try Run.gpuprep(["metrics", "--root", try fresh("vgpu-l40s-sriov").path], environment: env)
        try expectGolden(run.stdout, "metrics/vgpu-l40s-sriov.prom")
    }

    func json(_ text: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
    }
}
