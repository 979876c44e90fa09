import ArgumentParser
import GPUPrepCore
import GPUPrepSystem

struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Print the host's passthrough and vGPU state as Prometheus metrics.",
        discussion: """
        Prometheus's text format, for node_exporter's textfile collector: per GPU its model, \
        driver and role (passthrough, vgpu, host, unbound), VFs enabled of total, holders by \
        role, MIG GPU instances; vGPUs by type and state (in_use: a VM holds it; idle: a \
        defined VM names it, in /etc/libvirt/qemu or /etc/pve/qemu-server, but none holds it; \
        orphaned: nothing holds or names it); how many more of each type fit; the IOMMU; \
        check's findings by status; and the last apply's result and time (apply records it \
        in /var/lib/gpuprep/last-apply). DCGM does not see GPUs on vfio-pci: these do.

        --textfile DIR writes DIR/gpuprep.prom atomically (a temporary file renamed over it), \
        as the collector requires, and prints nothing; run it from a timer, the boot unit or \
        the DaemonSet.
        """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Write DIR/gpuprep.prom for node_exporter's textfile collector instead of printing.", valueName: "dir"),
            completion: .directory)
    var textfile: String?

    func run() throws {
        try global.run { () throws(GPUPrepError) in
            let report = try MetricsReport.make(host: try global.openHost())
            if let textfile {
                let directory: HostRoot
                do throws(SystemError) {
                    directory = try HostRoot(textfile)
                    try AtomicFile(root: directory).write(.metricsTextfile, MetricsText.render(report))
                } catch {
                    throw GPUPrepError(.system, "cannot write \(textfile)/gpuprep.prom: \(error.message) (give node_exporter's --collector.textfile.directory, which must exist)")
                }
                return ("", 0)
            }
            return (global.json ? JSONOutput.render(report) : MetricsText.render(report), 0)
        }
    }
}
