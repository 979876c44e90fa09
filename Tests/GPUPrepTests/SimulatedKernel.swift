import Foundation
import GPUPrepCore
import GPUPrepSystem
import HostFixtures

/// Acts out what the kernel does with the PCI driver attributes, on a fake host tree, as
/// libvirt's test mock does: `driver_override` is stored, a driver's `unbind` removes the
/// `driver` link, `bind` and `drivers_probe` honour the override (vfio-pci, with no id table,
/// binds only devices whose override names it), and each device's own host driver is the
/// one it had when the fixture was built. Faults can be injected at any write.
final class SimulatedKernel: HostWriter, @unchecked Sendable {
    let host: FakeHost
    /// The driver each device binds to when probed without an override.
    let nativeDrivers: [String: String]
    /// A fault: the nth write (1-based) fails with this errno; or `probeBindsNothing`.
    var failingWrite: (index: Int, errno: Int32)?
    var probeBindsNothing = false
    /// The kernel accepts an mdev create but makes no device.
    var mdevNeverAppears = false
    /// NVIDIA's driver stores a `current_vgpu_type` but makes no vGPU (the VF's list stays).
    var vgpuTypeIgnored = false
    /// NVIDIA's vGPU 17+ driver for its cards (see SimulatedNVIDIA): VFs made and removed, every
    /// VF's list following what its card holds. Nil: the simpler behaviour below.
    var nvidiaCard: NVIDIACard?
    /// Whether the vGPU manager lists types yet (false: VFs list only the header).
    var typesListed = true
    /// After `reboot()`, types are listed only once `listTypes()` is called.
    var typesLateAtBoot = false
    private var groups = 900
    func nextGroup() -> Int { groups += 1; return groups }
    /// The creatable list each VF had before it took a vGPU, given back when it is cleared.
    private var creatableBefore: [String: String] = [:]
    private(set) var writes: [(path: String, value: String)] = []

    init(host: FakeHost, nativeDrivers: [String: String]) {
        self.host = host
        self.nativeDrivers = nativeDrivers
    }

    func write(_ path: HostPath, _ value: String) throws(SystemError) {
        writes.append((path.string, value))
        if let fault = failingWrite, fault.index == writes.count { throw .io(path: path.string, errno: fault.errno) }
        let text = value.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = path.string.split(separator: "/").map(String.init)   // sys bus pci ...
        do {
            if parts.last == "driver_override" {
                try host.setAttribute(parts[parts.count - 2], "driver_override", text.isEmpty ? "(null)" : text)
            } else if parts.count == 6, parts[3] == "drivers", parts[5] == "unbind" {
                guard host.driver(of: text) == parts[4] else { throw SystemError.io(path: path.string, errno: ENODEV) }
                try host.unbindDriver(text)
            } else if parts.count == 6, parts[3] == "drivers", parts[5] == "bind" {
                guard host.driver(of: text) == nil else { throw SystemError.io(path: path.string, errno: EBUSY) }
                guard matches(text, parts[4]) else { throw SystemError.io(path: path.string, errno: ENODEV) }
                try host.bind(text, to: parts[4])
            } else if parts.count == 7, parts[1] == "class", parts[2] == "mdev_bus", parts[6] == "create" {
                try createMdev(parent: parts[3], type: parts[5], uuid: text, path: path)
            } else if parts.count == 6, parts[1] == "bus", parts[2] == "mdev", parts[5] == "remove" {
                try removeMdev(parts[4], path: path)
            } else if parts.last == "sriov_numvfs", let card = nvidiaCard, host.driver(of: parts[parts.count - 2]) == "nvidia" {
                try setVFs(parts[parts.count - 2], Int(text) ?? -1, card: card, path: path)
            } else if parts.last == "current_vgpu_type", let card = nvidiaCard {
                try setVGPUType(vf: parts[parts.count - 3], text, card: card, path: path)
            } else if parts.last == "sriov_numvfs" {
                // The kernel takes a new count only from 0, and makes (or removes) the VFs' links.
                let pf = parts[parts.count - 2]
                let current = Int(((try? String(contentsOf: host.root.appendingPathComponent(host.devicePath(pf) + "/sriov_numvfs"), encoding: .utf8)) ?? "0")
                    .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
                guard let wanted = Int(text), current == 0 || wanted == 0 else { throw SystemError.io(path: path.string, errno: EBUSY) }
                try host.setAttribute(pf, "sriov_numvfs", text)
                for index in 0..<max(current, wanted) {
                    let link = host.devicePath(pf) + "/virtfn\(index)"
                    if index < wanted { try host.mkdir(link) } else { try? FileManager.default.removeItem(at: host.root.appendingPathComponent(link)) }
                }
            } else if parts.last == "current_vgpu_type" {
                guard host.exists(String(path.string.dropFirst())) else { throw SystemError.io(path: path.string, errno: ENOENT) }
                try host.write(String(path.string.dropFirst()), text)
                // A VF carrying a vGPU lists nothing more; cleared, it lists what it did before.
                let list = String(path.string.dropFirst()).replacingOccurrences(of: "current_vgpu_type", with: "creatable_vgpu_types")
                let now = (try? String(contentsOf: host.root.appendingPathComponent(list), encoding: .utf8)) ?? ""
                if text != "0", !vgpuTypeIgnored {
                    creatableBefore[list] = now
                    try host.write(list, (now.split(separator: "\n").first.map(String.init) ?? "") + "\n")
                } else if text == "0", let before = creatableBefore.removeValue(forKey: list) {
                    try host.write(list, before)
                }
            } else if parts.last == "vgpu_params", parts.count >= 3, parts[parts.count - 2] == "nvidia" {
                // NVIDIA's vGPU plugin parameters: kept as written (a space clears them), on a vGPU
                // that exists (an mdev, or a VF carrying a vGPU).
                let device = parts.dropLast(2).joined(separator: "/")
                guard host.exists(device) else { throw SystemError.io(path: path.string, errno: ENOENT) }
                try host.write(String(path.string.dropFirst()), text + "\n")
            } else if parts.last == "drivers_probe" {
                // Success whatever happens: the kernel does not say whether anything bound.
                guard host.driver(of: text) == nil, !probeBindsNothing else { return }
                if let driver = override(text) ?? nativeDrivers[text], matches(text, driver),
                   host.exists("sys/bus/pci/drivers/\(driver)") {
                    try host.bind(text, to: driver)
                }
            } else {
                throw SystemError.io(path: path.string, errno: EACCES)
            }
        } catch let error as SystemError {
            throw error
        } catch {
            throw .io(path: path.string, errno: EIO)
        }
    }

    /// Configuration files are plain files: written as on the live host, with faults if asked.
    var failingFile: String?
    func replaceFile(_ path: HostPath, _ content: String?) throws(SystemError) {
        if failingFile == path.string { throw .io(path: path.string, errno: EROFS) }
        let files = AtomicFile(root: try HostRoot(host.path))
        if let content { try files.write(path, content) } else { try files.remove(path) }
    }

    /// NVIDIA's sriov-manage -e: every VF of the GPU, as a write of sriov_totalvfs would;
    /// systemctl as below; any other program is the host tree's own stand-in (a script that
    /// records its arguments and may fail, as Tests make for --regenerate), run for real.
    private(set) var programs: [String] = []
    var runsPrograms: Bool { true }
    func run(_ program: HostPath, _ run: ProgramRun) throws(SystemError) -> [String] {
        let arguments = run.arguments
        programs.append(([program.string] + arguments).joined(separator: " "))
        if program.string.hasSuffix("/systemctl") { try systemctl(program, arguments); return [] }
        let standIn = host.root.appendingPathComponent(String(program.string.dropFirst())).path
        if !program.string.hasSuffix("/sriov-manage"), Subprocess.isExecutable(standIn) {
            let result = try Subprocess.run([standIn] + arguments, input: [], timeoutSeconds: run.timeoutSeconds, mergingErrors: true)
            let lines = String(decoding: result.output, as: UTF8.self).split(separator: "\n").map(String.init)
            guard result.status == 0 else { throw .program(path: program.string, status: result.status, output: lines.last ?? "") }
            return lines
        }
        guard arguments.count == 2, arguments[0] == "-e",
              let total = try? String(contentsOf: host.root.appendingPathComponent(host.devicePath(arguments[1]) + "/sriov_totalvfs"), encoding: .utf8)
        else { throw .program(path: program.string, status: 1, output: "usage") }
        try write(HostPath.sysBusPCIDevices.child(arguments[1], "sriov_numvfs"), total)
        return []
    }

    /// systemd, as far as --release needs it: `stop UNIT` ends the unit's processes (those whose
    /// cgroup names it: their /proc entries go), `start UNIT` brings them back as they were.
    /// `systemctlFails`: a call (`start nvidia-persistenced.service`) that fails; `stopLeavesProcesses`:
    /// stop returns while the processes stay (one started outside the unit).
    var systemctlFails: String?
    var stopLeavesProcesses = false
    private var stoppedUnits: [String: [String]] = [:]
    private lazy var stash = FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-stopped-\(UUID().uuidString)")
    func systemctl(_ program: HostPath, _ arguments: [String]) throws(SystemError) {
        let call = arguments.joined(separator: " ")
        guard arguments.count == 2 else { throw .program(path: program.string, status: 1, output: "usage") }
        if call == systemctlFails { throw .program(path: program.string, status: 1, output: "Job for \(arguments[1]) failed.") }
        let fm = FileManager.default
        let proc = host.root.appendingPathComponent("proc")
        do {
            switch arguments[0] {
            case "stop":
                guard !stopLeavesProcesses else { return }
                let pids = (try fm.contentsOfDirectory(atPath: proc.path)).filter { pid in
                    Int(pid) != nil && ((try? String(contentsOf: proc.appendingPathComponent("\(pid)/cgroup"), encoding: .utf8))?.contains("/" + arguments[1]) ?? false)
                }
                try fm.createDirectory(at: stash, withIntermediateDirectories: true)
                for pid in pids { try fm.moveItem(at: proc.appendingPathComponent(pid), to: stash.appendingPathComponent(pid)) }
                stoppedUnits[arguments[1], default: []] += pids
            case "start":
                for pid in stoppedUnits.removeValue(forKey: arguments[1]) ?? [] {
                    try fm.moveItem(at: stash.appendingPathComponent(pid), to: proc.appendingPathComponent(pid))
                }
            default: throw SystemError.program(path: program.string, status: 1, output: "unknown command")
            }
        } catch let error as SystemError { throw error } catch {
            throw .program(path: program.string, status: 1, output: "\(error)")
        }
    }

    func backUp(_ source: HostPath, to backup: HostPath) throws(SystemError) {
        if failingFile == backup.string { throw .io(path: backup.string, errno: EROFS) }
        try AtomicFile(root: try HostRoot(host.path)).backUp(source, to: backup)
    }

    func makeLink(_ path: HostPath, to target: String) throws(SystemError) {
        if failingFile == path.string { throw .io(path: path.string, errno: EROFS) }
        try AtomicFile(root: try HostRoot(host.path)).link(path, to: target)
    }

    /// An mdev: a directory under its parent's, linked from /sys/bus/mdev/devices, one instance
    /// fewer available.
    func createMdev(parent: String, type: String, uuid: String, path: HostPath) throws {
        let typeDir = "sys/class/mdev_bus/\(parent)/mdev_supported_types/\(type)"
        let available = Int((try? String(contentsOf: host.root.appendingPathComponent(typeDir + "/available_instances"), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        guard available > 0, UUID(uuidString: uuid) != nil, !host.exists("sys/bus/mdev/devices/\(uuid)") else {
            throw SystemError.io(path: path.string, errno: EINVAL)
        }
        try host.write(typeDir + "/available_instances", String(available - 1))
        if mdevNeverAppears { return }
        let device = host.devicePath(parent) + "/\(uuid)"
        try host.write(device + "/remove", "")
        try host.symlink(device + "/mdev_type", to: host.devicePath(parent) + "/mdev_supported_types/\(type)")
        try host.symlink("sys/bus/mdev/devices/\(uuid)", to: device)
    }

    func removeMdev(_ uuid: String, path: HostPath) throws {
        let link = host.root.appendingPathComponent("sys/bus/mdev/devices/\(uuid)")
        guard let typeLink = try? FileManager.default.destinationOfSymbolicLink(atPath: link.path + "/mdev_type") else {
            throw SystemError.io(path: path.string, errno: ENODEV)
        }
        let typeDir = link.appendingPathComponent(typeLink).standardizedFileURL.resolvingSymlinksInPath()
        let availableFile = typeDir.appendingPathComponent("available_instances")
        let available = Int((try? String(contentsOf: availableFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        try FileManager.default.removeItem(at: link.resolvingSymlinksInPath())
        try FileManager.default.removeItem(at: link)
        try "\(available + 1)\n".write(to: availableFile, atomically: false, encoding: .utf8)
    }

    /// A module registers its PCI driver as the kernel's do: under the module's own name
    /// (KBUILD_MODNAME), except vfio_pci and pci_stub, which spell theirs with a dash.
    func loadModule(_ name: String) throws(SystemError) {
        let driver = ["vfio_pci": "vfio-pci", "pci_stub": "pci-stub"][name] ?? name
        do {
            try host.mkdir("sys/module/\(name)/drivers/pci:\(driver)")
            for file in ["bind", "unbind", "new_id", "remove_id"] { try host.write("sys/bus/pci/drivers/\(driver)/\(file)", "") }
        } catch {
            throw .libkmod("cannot load \(name)")
        }
    }

    func override(_ address: String) -> String? {
        let value = (try? String(contentsOf: host.root.appendingPathComponent(host.devicePath(address) + "/driver_override"), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return value == nil || value == "(null)" || value == "" ? nil : value
    }

    /// Whether a driver accepts a device: the override decides when set; vfio-pci takes nothing else.
    func matches(_ address: String, _ driver: String) -> Bool {
        if let override = override(address) { return override == driver }
        return driver != "vfio-pci" && nativeDrivers[address] == driver
    }

    /// Every device's driver and override, to compare before and after.
    func state(_ addresses: [String]) -> [String] {
        addresses.map { "\($0) \(host.driver(of: $0) ?? "none") \(override($0) ?? "(null)")" }
    }
}
