import ArgumentParser
import GPUPrepCore
import GPUPrepSystem

struct Capture: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Copy the host files gpuprep reads into a tree or archive that --root replays: a bug report anyone can run every command on.",
        discussion: """
        Taken: the PCI devices' sysfs directories (attributes, config space, links, vGPU type \
        lists, mdev children), PCI drivers, IOMMU groups and units, mdev buses, which modules are \
        loaded (parameters of VFIO's, NVIDIA's, nouveau's and KVM's), which ACPI tables exist \
        (names only); /proc's cmdline, cpuinfo, modules, PCI list, hostname, release and \
        /proc/driver/nvidia; for processes holding VFIO, NVIDIA or DRM nodes their name, \
        cgroup and those nodes (a VMM's -name, nothing else of its command line); boot-loader, \
        modprobe, module-loading, initramfs and gpuprep configuration; the units of gpuprep, \
        NVIDIA and display managers; libvirt domains and Proxmox VMs reduced to the host \
        devices they name; the kernel's module indexes; NVIDIA's vgpuConfig.xml; \
        /var/lib/gpuprep; which device nodes and tools exist (as empty files).

        Never taken: environments, other command-line arguments, passwords, ACPI table \
        contents, BAR, ROM or VPD contents (never read: reading an I/O BAR touches the device). \
        Attributes the kernel reads under a device's lock are read bounded. The capture stops \
        at --max-mib or --timeout and says so; gpuprep-capture.txt at its root lists what was \
        left out. Replay: tar -xf host.tar.zst -C DIR; gpuprep list --root DIR.
        """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("An archive (.tar, .tar.gz, .tar.xz, .tar.zst) or a new folder.", valueName: "file"),
            completion: .file(extensions: ["zst", "gz", "xz", "tar"]))
    var output: String

    @Option(help: ArgumentHelp("The most MiB to take.", valueName: "MiB"))
    var maxMib = 128

    @Option(help: ArgumentHelp("The most seconds to spend.", valueName: "seconds"))
    var timeout = 60

    func run() throws {
        try global.run { () throws(GPUPrepError) in
            guard (1...4096).contains(maxMib) else { throw GPUPrepError(.usage, "--max-mib must be between 1 and 4096") }
            guard (1...3600).contains(timeout) else { throw GPUPrepError(.usage, "--timeout must be between 1 and 3600 seconds") }
            var limits = HostCapture.Limits()
            limits.totalBytes = maxMib << 20
            limits.fileBytes = min(limits.fileBytes, limits.totalBytes)
            limits.seconds = Double(timeout)
            let report = try CaptureReport.make(host: try global.openHost(), output: output, limits: limits, version: GPUPrepVersion.string)
            if let stopped = report.summary.stoppedEarly { Terminal.writeError("gpuprep: warning: \(stopped)\n") }
            if global.json { return (JSONOutput.render(report), 0) }
            let s = report.summary
            var text = "Captured \(s.files) files and \(s.links) links (\(s.bytes >> 10) KiB) into \(report.output)"
            text += s.leftOut.isEmpty ? ".\n" : "; \(s.leftOut.count) left out (see gpuprep-capture.txt).\n"
            text += report.archived ? "Replay: mkdir host && tar -xf \(report.output) -C host && gpuprep list --root host\n"
                : "Replay: gpuprep list --root \(report.output)\n"
            return (text, 0)
        }
    }
}
