import Foundation
import GPUPrepCore
import GPUPrepSystem
import HostFixtures

/// NVIDIA's vGPU 17+ driver as the simulated kernel acts it out (see SimulatedKernel), from
/// what NVIDIA's driver is documented and reported to do (shared/notes/vgpu-and-stacks.md):
/// - `sriov_numvfs` (or `sriov-manage -e`) on a GPU on nvidia makes VFs, each a PCI function on
///   nvidia with `nvidia/creatable_vgpu_types` and `nvidia/current_vgpu_type`; 0 removes them.
/// - A VF lists only what can still be made on its card: nothing once it runs a vGPU, and on a
///   free VF the types that fit the card's framebuffer left, at the size the card already holds
///   (equal-size mode, NVIDIA's default). A full card lists only the header on every VF.
/// - `current_vgpu_type` takes a type only while the VF lists it (the driver refuses others).
/// - The lists may come late: `typesListed` false leaves them empty (the vGPU manager starting).
struct NVIDIACard {
    /// Every type of the model, in the driver's order: (id, name).
    var types: [(id: Int, name: String)]
    var totalMiB: Int
    var header = "ID    : vGPU Name"

    /// The L40S of the fixtures, from the real list of an L40S VF (harvester, Apache-2.0).
    static func l40s() throws -> NVIDIACard {
        let text = try String(contentsOf: Fixtures.data.appendingPathComponent("harvester_L40S-VF_0000-26-00.4_creatable_vgpu_types"), encoding: .utf8)
        return NVIDIACard(types: VGPUDiscovery.creatableTypes(text), totalMiB: 48 * 1024,
                          header: text.split(separator: "\n").first.map(String.init) ?? "ID    : vGPU Name")
    }

    func size(_ id: Int) -> Int? { types.first { $0.id == id }.flatMap { VGPUCapacityModel.framebufferMiB(name: $0.name) } }
}

extension SimulatedKernel {
    /// The VF address NVIDIA's GPUs give VF `index` (first VF offset 4, stride 1, as the L40S
    /// and A16 captures show: 0000:26:00.4 is virtfn0).
    static func vfAddress(_ pf: String, _ index: Int) -> String {
        let parts = pf.split(whereSeparator: { $0 == ":" || $0 == "." }).map { Int($0, radix: 16)! }
        let devfn = (parts[2] << 3 | parts[3]) + 4 + index
        return String(format: "%04x:%02x:%02x.%x", parts[0], parts[1], devfn >> 3, devfn & 7)
    }

    func setVFs(_ pf: String, _ wanted: Int, card: NVIDIACard, path: HostPath) throws {
        let current = host.virtualFunctions(of: pf)
        let total = Int(attribute(pf, "sriov_totalvfs") ?? "0") ?? 0
        guard (0...total).contains(wanted), current.isEmpty || wanted == 0 else { throw SystemError.io(path: path.string, errno: EBUSY) }
        if wanted == 0 {
            for vf in current { try host.remove(vf) }
            try host.setAttribute(pf, "sriov_numvfs", "0")
            return
        }
        guard let model = host.function(pf) else { throw SystemError.io(path: path.string, errno: ENODEV) }
        for index in 0..<wanted {
            var vf = FakeFunction(Self.vfAddress(pf, index), vendor: model.vendor, device: model.device, classCode: model.classCode,
                                  subsystem: model.subsystemVendor.map { ($0, model.subsystemDevice ?? 0) }, driver: "nvidia",
                                  group: nextGroup(), numa: model.numaNode, parent: model.parent)
            vf.physfn = pf
            try host.add(vf)
            try host.addNVIDIAVGPUFiles(vf.address, creatable: card.header + "\n", current: "0")
        }
        try relist(pf, card: card)
    }

    func setVGPUType(vf: String, _ value: String, card: NVIDIACard, path: HostPath) throws {
        let dir = host.devicePath(vf) + "/nvidia"
        guard host.exists(dir + "/current_vgpu_type"), let id = Int(value) else { throw SystemError.io(path: path.string, errno: EINVAL) }
        if id != 0 {
            let listed = VGPUDiscovery.creatableTypes(read(dir + "/creatable_vgpu_types") ?? "").map(\.id)
            guard listed.contains(id), read(dir + "/current_vgpu_type") == "0" else { throw SystemError.io(path: path.string, errno: EINVAL) }
        }
        try host.write(dir + "/current_vgpu_type", String(id))
        if let pf = physfn(vf) { try relist(pf, card: card) }
    }

    /// Every VF's list of a card, from what its VFs run.
    func relist(_ pf: String, card: NVIDIACard) throws {
        let vfs = host.virtualFunctions(of: pf)
        let running = vfs.compactMap { vf in read(host.devicePath(vf) + "/nvidia/current_vgpu_type").flatMap { Int($0) } }.filter { $0 != 0 }
        let sizes = running.compactMap(card.size)
        let free = card.totalMiB - sizes.reduce(0, +)
        let held = sizes.first
        let fits = card.types.filter { type in
            guard let size = card.size(type.id) else { return false }
            return size <= free && (held == nil || size == held)
        }
        for vf in vfs {
            let busy = (read(host.devicePath(vf) + "/nvidia/current_vgpu_type").flatMap { Int($0) } ?? 0) != 0
            let lines = busy || !typesListed ? [] : fits.map { String($0.id).padding(toLength: 6, withPad: " ", startingAt: 0) + ": " + $0.name }
            try host.write(host.devicePath(vf) + "/nvidia/creatable_vgpu_types", ([card.header] + lines).joined(separator: "\n") + "\n")
        }
    }

    /// The vGPU manager lists its types now (see `typesListed`).
    func listTypes() throws {
        typesListed = true
        guard let card = nvidiaCard else { return }
        for pf in perVFCards() { try relist(pf, card: card) }
    }

    /// Another unit (nvidia-sriov.service, pve-nvidia-sriov@ALL.service) enables every VF.
    func enableAllVFs(_ pf: String) throws {
        try write(HostPath.sysBusPCIDevices.child(pf, "sriov_numvfs"), attribute(pf, "sriov_totalvfs") ?? "0")
    }

    /// A reboot: VFs and vGPUs are gone, overrides cleared and each device back on the driver
    /// that claims it at boot: vfio for what gpuprep's persisted rules name (the udev rule and
    /// early binding files claim them first), its own driver for the rest.
    func reboot() throws {
        for pf in perVFCards() { for vf in host.virtualFunctions(of: pf) { try host.remove(vf) }; try host.setAttribute(pf, "sriov_numvfs", "0") }
        let mdevs = (try? FileManager.default.contentsOfDirectory(atPath: host.root.appendingPathComponent("sys/bus/mdev/devices").path)) ?? []
        for uuid in mdevs { try removeMdev(uuid, path: HostPath.sysBusMdevDevices.child(uuid, "remove")) }
        let persisted = PersistentBindings.parse(AtomicFile(root: try HostRoot(host.path)).read(.persistUdevRules))
        for address in (try? FileManager.default.contentsOfDirectory(atPath: host.root.appendingPathComponent("sys/bus/pci/devices").path)) ?? [] {
            let rule = persisted.first { $0.address.description == address }
            guard override(address) != nil || rule != nil else { continue }
            try host.setAttribute(address, "driver_override", rule?.driver ?? "(null)")
            let driver = rule?.driver ?? nativeDrivers[address]
            if host.driver(of: address) != driver {
                try host.unbindDriver(address)
                if let driver { try host.bind(address, to: driver) }
            }
        }
        typesListed = !typesLateAtBoot
    }

    /// GPUs on nvidia that can make VFs.
    func perVFCards() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: host.root.appendingPathComponent("sys/bus/pci/devices").path)) ?? []).filter {
            attribute($0, "sriov_totalvfs") != nil && physfn($0) == nil && host.driver(of: $0) == "nvidia"
        }.sorted()
    }

    func attribute(_ address: String, _ name: String) -> String? { read(host.devicePath(address) + "/" + name) }

    func read(_ relative: String) -> String? {
        (try? String(contentsOf: host.root.appendingPathComponent(relative), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func physfn(_ address: String) -> String? {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: host.root.appendingPathComponent(host.devicePath(address) + "/physfn").path))
            .map { ($0 as NSString).lastPathComponent }
    }
}
