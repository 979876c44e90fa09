import FoundationEssentials

/// A vGPU type one parent offers.
public struct VGPUType: Sendable, Equatable {
    /// Whether a directory name can be a type the kernel made: `<driver>-<type>` of a driver's
    /// own names (`nvidia-256`, `i915-GVTg_V5_4`, `mtty-2`). Anything else in a tree (a new line,
    /// a quote, `]`) is no type: it would end up in a Nova section header or a YAML key, so it
    /// is left out of every list.
    public static func isKernelTypeID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 64 && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-.:".contains($0)) }
    }

    /// A PCI address, or the name of a non-PCI mdev parent (`mtty`, `nvidia`).
    public var parent: String
    public var interface: VGPUInterface
    /// `nvidia-N` for NVIDIA on both interfaces; the kernel's directory name otherwise (`mtty-2`).
    public var id: String
    public var name: String?
    public var description: String?
    public var deviceAPI: String?
    /// How many more can be made on this parent now (nil: the kernel does not say).
    public var availableInstances: Int?
    /// NVIDIA's `key=value` description, parsed (framebuffer, max_instance, ...).
    public var properties: [String: String]

    /// NVIDIA descriptions look like `num_heads=4, frl_config=60, framebuffer=2048M, max_instance=4`.
    /// A part without `=`, or with nothing before or after it, or with a key that has spaces,
    /// is no property. Parsed as bytes: a host can list thousands of types.
    static func properties(of description: String?) -> [String: String] {
        guard let description else { return [:] }
        var result: [String: String] = [:]
        let bytes = Array(description.utf8)
        for part in bytes.split(separator: UInt8(ascii: ",")) {
            guard let equals = part.firstIndex(of: UInt8(ascii: "=")), equals > part.startIndex, equals + 1 < part.endIndex else { continue }
            let key = trimmedASCII(part[part.startIndex..<equals])
            guard !key.isEmpty, !key.contains(UInt8(ascii: " ")) else { continue }
            result[String(decoding: key, as: UTF8.self)] = String(decoding: trimmedASCII(part[(equals + 1)...]), as: UTF8.self)
        }
        return result
    }

    private static func trimmedASCII(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0d).contains(byte) }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else { return [] }
        return bytes[first...last]
    }
}

/// An existing vGPU.
public struct VGPUInstance: Sendable, Equatable {
    /// The mdev's UUID; nil for nvidia-vfio (the VF is the vGPU).
    public var uuid: UUID?
    /// The VF carrying an nvidia-vfio vGPU; nil for mdev.
    public var address: PCIAddress?
    /// The mdev parent, or the VF's physical function.
    public var parent: String
    public var interface: VGPUInterface
    public var type: String
    public var typeName: String?
    /// The IOMMU group a VM would open (/dev/vfio/N).
    public var iommuGroup: Int?
    /// The nodes held and who holds them: its group or its vfio cdev, open by the VM that runs on it.
    public var held: [Holder] = []
    /// The processes using it through VFIO, each once.
    public var holders: [HostProcess] {
        var seen = Set<Int>()
        return held.map(\.process).filter { seen.insert($0.pid).inserted }
    }

    /// Its UUID (mdev) or its VF's address (nvidia-vfio): how commands name it.
    public var name: String { uuid?.uuidString.lowercased() ?? address?.description ?? "?" }
}
