import Foundation
import HostFixtures
import Testing

/// `gpuprep capture` makes a tree that every read command replays exactly, leaves out what it
/// says it leaves out, and stays within its bounds on hostile trees.
@Suite struct CaptureTests {
    let env = ["GPUPREP_PCI_IDS": Fixtures.pciIDs, "NO_COLOR": "1"]
    static let readCommands: [[String]] = [["list", "--all"], ["list", "--json"], ["iommu"], ["conflicts"], ["check", "--json"], ["types", "--json"],
                                           ["vgpus", "--json"], ["metrics"], ["doctor", "--json"], ["export", "kubevirt"], ["export", "nova"],
                                           ["export", "libvirt"], ["export", "nfd"]]

    func scratch(_ label: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-capture-\(label)-\(UUID().uuidString)").path
    }

    /// Every read command prints the same on the capture as on the host it was taken from.
    @Test(arguments: Catalog.names) func replaysEveryCommand(_ name: String) throws {
        let source = Fixtures.host(name)
        let copy = scratch(name)
        let run = try Run.gpuprep(["capture", "--root", source, "-o", copy], environment: env)
        #expect(run.status == 0 && run.stdout.hasPrefix("Captured "), "\(run.stdout)\(run.stderr)")
        for command in Self.readCommands {
            let original = try Run.gpuprep(command + ["--root", source], environment: env)
            let replayed = try Run.gpuprep(command + ["--root", copy], environment: env)
            #expect(replayed.status == original.status, "\(name): \(command.joined(separator: " "))")
            #expect(replayed.stdout.replacingOccurrences(of: copy, with: "ROOT") == original.stdout.replacingOccurrences(of: source, with: "ROOT"),
                    "\(name): gpuprep \(command.joined(separator: " ")) differs on the capture")
        }
    }

    /// An archive (zstd, as the README shows) unpacks to the same tree; the staging folder is gone.
    @Test func anArchive() throws {
        let dir = scratch("archive")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let archive = dir + "/host.tar.zst"
        let run = try Run.gpuprep(["capture", "--root", Fixtures.host("vgpu-l40s-sriov"), "-o", archive], environment: env)
        #expect(run.status == 0 && run.stdout.contains("Replay: mkdir host && tar -xf \(archive) -C host"), "\(run.stdout)\(run.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["host.tar.zst"])
        try FileManager.default.createDirectory(atPath: dir + "/host", withIntermediateDirectories: true)
        #expect(try Run("/usr/bin/env", ["tar", "-xf", archive, "-C", dir + "/host"]).status == 0)
        let original = try Run.gpuprep(["types", "--json", "--root", Fixtures.host("vgpu-l40s-sriov")], environment: env).stdout
        #expect(try Run.gpuprep(["types", "--json", "--root", dir + "/host"], environment: env).stdout == original)
        let manifest = try String(contentsOfFile: dir + "/host/gpuprep-capture.txt", encoding: .utf8)
        #expect(manifest.contains("gpuprep=") && manifest.contains("root=\(Fixtures.host("vgpu-l40s-sriov"))"))
    }

    /// Secrets stay out: a VMM's command line but its -name, a domain's passwords; BARs, the ROM
    /// and a FIFO are never read, and the capture does not hang on the FIFO.
    @Test func whatIsLeftOut() throws {
        let host = try Catalog.build("vgpu-a2-t4-busy", at: URL(fileURLWithPath: scratch("host")), data: Fixtures.data)
        try host.addProcess(pid: 6161, name: "qemu-system-x86", openFiles: ["/dev/vfio/100"],
                            arguments: ["/usr/bin/qemu-system-x86_64", "-name", "guest=desk-09,debug-threads=on", "-vnc", ":1,password=s3cret-vnc",
                                        "-object", "secret,id=sec0,data=s3cret-key"])
        try host.write("proc/6161/environ", "AWS_SECRET_ACCESS_KEY=s3cret-env\0")
        try host.write("etc/libvirt/qemu/desk-09.xml", """
            <domain type='kvm'><name>desk-09</name>
              <devices>
                <graphics type='vnc' port='-1' passwd='s3cret-xml'/>
                <hostdev mode='subsystem' type='mdev' model='vfio-pci'>
                  <source><address uuid='9d7e0a5c-6f1b-4c2e-9a54-7b6c5d4e8f95'/></source>
                </hostdev>
              </devices>
            </domain>
            """)
        try host.setAttribute("0000:3b:00.0", "resource0", "BAR CONTENT")
        try host.setAttribute("0000:3b:00.0", "rom", "ROM CONTENT")
        try host.mkdir("etc/modprobe.d")
        #expect(mkfifo(host.path + "/etc/modprobe.d/blocked.conf", 0o644) == 0)

        let copy = scratch("copy")
        let run = try Run.gpuprep(["capture", "--root", host.path, "-o", copy, "--json"], environment: env)
        #expect(run.status == 0, "\(run.stderr)")
        let grep = try Run("/usr/bin/env", ["grep", "-r", "-l", "s3cret", copy])
        #expect(grep.stdout.isEmpty, "secrets in the capture: \(grep.stdout)")
        #expect(run.stdout.contains("/etc/modprobe.d/blocked.conf: not a regular file (a FIFO, socket or device is never opened)"))
        let device = try FileManager.default.destinationOfSymbolicLink(atPath: copy + "/sys/bus/pci/devices/0000:3b:00.0")
        let dir = URL(fileURLWithPath: copy + "/sys/bus/pci/devices/" + device).standardized.path
        #expect(FileManager.default.fileExists(atPath: dir + "/config") && !FileManager.default.fileExists(atPath: dir + "/resource0")
                && !FileManager.default.fileExists(atPath: dir + "/rom"))
        // What the secrets sat beside still replays: the VM's name holding the vGPU, the domain naming the other.
        let vgpus = try Run.gpuprep(["vgpus", "--root", copy], environment: env).stdout
        #expect(vgpus == (try Run.gpuprep(["vgpus", "--root", host.path], environment: env).stdout))
        #expect(try Run.gpuprep(["metrics", "--root", copy], environment: env).stdout.contains("type=\"nvidia-231\",type_name=\"GRID T4-2Q\",state=\"idle\"} 1"))
    }

    @Test func boundsAndErrors() throws {
        let host = try Catalog.build("vgpu-l40s-sriov", at: URL(fileURLWithPath: scratch("big")), data: Fixtures.data)
        try host.write("usr/share/nvidia/vgpu/vgpuConfig.xml", String(repeating: "<!-- padding -->\n", count: 80_000))
        let copy = scratch("small")
        let run = try Run.gpuprep(["capture", "--root", host.path, "-o", copy, "--max-mib", "1"], environment: env)
        #expect(run.status == 0 && run.stdout.contains("1 left out"), "\(run.stdout)")
        #expect(try String(contentsOfFile: copy + "/gpuprep-capture.txt", encoding: .utf8)
                    .contains("left-out=/usr/share/nvidia/vgpu/vgpuConfig.xml: 1360000 bytes, over the 1 MiB limit of one file"))

        // Into a folder that has files: refused, nothing written.
        let taken = try Run.gpuprep(["capture", "--root", host.path, "-o", copy], environment: env)
        #expect(taken.status == 74 && taken.stderr.hasPrefix("gpuprep: error: cannot capture into \(copy):"))
        #expect(try Run.gpuprep(["capture", "--root", host.path, "-o", copy + "2", "--timeout", "0"], environment: env).status == 64)
    }
}
