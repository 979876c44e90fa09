import ArgumentParser
import GPUPrepCore
import GPUPrepSystem

/// `--regenerate` / `--no-regenerate`, for the commands that write files the next boot reads.
struct RegenerateOption: ParsableArguments {
    @Flag(inversion: .prefixedNo,
          help: ArgumentHelp("Then run this host's own commands that rebuild what boots from the files written (update-initramfs, dracut or mkinitcpio; update-grub, grub2-mkconfig, grubby, kernel-install, proxmox-boot-tool or kernelstub).",
                             discussion: "Bounded in time, their output shown; one that fails exits 74 with the written files kept. The default is 'regenerate:' in /etc/gpuprep/gpuprep.yaml, else off. On the live host only: under --root the plan shows the commands and none is run."))
    var regenerate: Bool?

    /// The flag, else the site's default from the host's layout file (a file with an error is
    /// said, and its default not taken).
    func resolved(_ global: GlobalOptions) -> Bool {
        if let regenerate { return regenerate }
        guard let root = try? HostRoot(global.resolvedRoot) else { return false }
        do throws(GPUPrepError) {
            guard let text = try LayoutFile.hostText(root: root) else { return false }
            return try LayoutFile.parse(text, shown: HostPath.layoutFile.string).regenerate ?? false
        } catch {
            Terminal.writeError("gpuprep: warning: \(error.message); its 'regenerate' default is not used\n")
            return false
        }
    }
}
