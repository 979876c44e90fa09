import GPUPrepSystem

/// NVIDIA's vGPU plugin parameters: per vGPU, in its `nvidia/vgpu_params` (an mdev's, or on
/// vGPU 17+ the VF's), a comma-separated list of `name=value` that the vGPU manager reads when
/// a VM opens the vGPU: `frame_rate_limiter=0`, `disable_vnc=1`, `enable_uvm=1` (unified
/// memory), `enable_profiling=1`, ... A single space clears them. NVIDIA vGPU Software User
/// Guide, "Setting vGPU Plugin Parameters on a Linux with KVM Hypervisor". `apply` sets them
/// as a vgpus entry's `params`, before any VM opens the vGPU.
public struct VGPUParam: Sendable, Equatable {
    public var name: String
    public var value: String
    public init(name: String, value: String) { self.name = name; self.value = value }
}

public enum VGPUParams {
    /// The file of a vGPU.
    static func path(of v: VGPUInstance) -> HostPath? {
        if let uuid = v.uuid { return HostPath.sysBusMdevDevices.child(uuid.uuidString.lowercased(), "nvidia", "vgpu_params") }
        if let address = v.address { return HostPath.sysBusPCIDevices.child(address.description, "nvidia", "vgpu_params") }
        return nil
    }

    /// As NVIDIA's guide writes them; a space for none (what clears the file).
    public static func text(_ params: [VGPUParam]) -> String {
        params.isEmpty ? " " : params.map { "\($0.name)=\($0.value)" }.joined(separator: ", ")
    }

    /// What a file says (order and spacing aside).
    static func parse(_ text: String?) -> [VGPUParam] {
        (text ?? "").split(separator: ",").compactMap { part in
            let pair = part.trimmed().split(separator: "=", maxSplits: 1).map { $0.trimmed() }
            return pair.count == 2 && !pair[0].isEmpty ? VGPUParam(name: pair[0], value: pair[1]) : nil
        }
    }

    /// A name or value the list can carry: no comma, space, `=` or line end (they would
    /// split or end it), as in NVIDIA's own (`frame_rate_limiter`, `0`).
    public static func isPlain(_ word: String) -> Bool {
        !word.isEmpty && word.count <= 64 && word.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f || c == 0x2e || c == 0x2d
        }
    }

    static func same(_ a: [VGPUParam], _ b: [VGPUParam]) -> Bool {
        Set(a.map { "\($0.name)=\($0.value)" }) == Set(b.map { "\($0.name)=\($0.value)" })
    }

    /// Steps that give each vGPU the params: a vGPU made in this plan (`made`) gets them
    /// written; one already there only where its file says otherwise, and not while a VM has it
    /// open (the manager read them when the VM started: stop it first). A vGPU whose driver has
    /// no vgpu_params is refused, naming it.
    static func steps(_ params: [VGPUParam], made: [VGPUInstance], existing: [VGPUInstance], sysfs: Sysfs) throws(GPUPrepError) -> [Step] {
        var steps: [Step] = []
        let wanted = text(params)
        for v in made {
            guard let path = path(of: v) else { continue }
            steps.append(.write(path, wanted, device: v.address))
        }
        for v in existing {
            guard let path = path(of: v) else { continue }
            guard let current = sysfs.read(path) else {
                throw GPUPrepError(.refused, "vGPU \(v.name) has no \(path): this NVIDIA driver takes no vGPU plugin parameters; leave out 'params'")
            }
            guard !same(parse(current), params) else { continue }
            if !v.held.isEmpty {
                throw GPUPrepError(.refused, "vGPU \(v.name) has params '\(current)', not '\(wanted.trimmed())', and \(v.held.described): the vGPU manager reads them when a VM starts; stop the VM, then apply again")
            }
            var step = Step.write(path, wanted, device: v.address)
            step.undo = [.write(path, current.isEmpty ? " " : current, device: v.address)]
            steps.append(step)
        }
        return steps
    }
}
