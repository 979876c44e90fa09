import ArgumentParser

// Every command names itself (commandName): without it ArgumentParser derives the name with
// String(describing:), whose first use per type scans every protocol conformance in the binary,
// and that was half of the start-up time (measured with callgrind; see README, Performance).
@main
struct GPUPrep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpuprep",
        abstract: "Prepare Linux KVM hosts for NVIDIA GPU passthrough and vGPU.",
        discussion: """
        gpuprep reads the host through libpci, libkmod and sysfs. Every host file is \
        taken relative to --root (default /), so a captured host tree is inspected like a live one.

        EXIT STATUS
          0   success
          1   the report found problems (a failed check, a conflict)
          64  bad usage: an unknown option, a malformed address
          66  no such input: --root is not a directory, an address names no device
          69  the root has no PCI bus (sys/bus/pci/devices is missing)
          74  a read or a library call failed

        With --json, errors are one JSON document on standard error:
          {"schemaVersion": 1, "error": {"code": "...", "message": "...", "exitStatus": N}}
        """,
        version: GPUPrepVersion.string,
        subcommands: [Check.self, List.self, IOMMU.self, Conflicts.self, Bind.self, Unbind.self, Types.self, VGPUs.self, Create.self, Destroy.self, SRIOV.self]
    )
}

enum GPUPrepVersion {
    static let string = "0.1.0"
}
