import GPUPrepSystem

/// A PCI expansion ROM's images, from the headers the PCI Firmware Specification (3.0, 5.1)
/// defines: each image starts with 55 AA and points (offset 0x18) at its PCI data structure
/// ("PCIR"), which gives the image's length in 512-byte units (0x10), its code type (0x14:
/// 0 x86 BIOS, 1 Open Firmware, 3 UEFI) and whether it is the last one (bit 7 of 0x15).
///
/// OVMF (a UEFI VM) shows nothing on a passed-through GPU until the guest's driver loads
/// unless the GPU's ROM has a UEFI image (the Arch wiki's "PCI passthrough via OVMF", "UEFI
/// (OVMF) compatibility in VBIOS"); old cards ship a BIOS image only.
public struct ExpansionROM: Sendable, Equatable {
    public enum CodeType: Sendable, Equatable {
        case x86BIOS, openFirmware, uefi, other(UInt8)
        public var name: String {
            switch self {
            case .x86BIOS: return "x86 BIOS"
            case .openFirmware: return "Open Firmware"
            case .uefi: return "UEFI"
            case .other(let code): return "code type \(code)"
            }
        }
    }

    public var images: [CodeType]
    public var hasUEFI: Bool { images.contains(.uefi) }

    /// Nil when the bytes hold no ROM (no 55 AA at the start: unreadable, shadowed, or empty).
    public init?(_ bytes: [UInt8]) {
        var images: [CodeType] = []
        var offset = 0
        // A ROM holds a handful of images; the bound keeps a forged chain finite.
        while images.count < 16, offset + 0x1a <= bytes.count, bytes[offset] == 0x55, bytes[offset + 1] == 0xaa {
            let pcir = offset + Int(Self.le16(bytes, offset + 0x18))
            guard pcir + 0x18 <= bytes.count, Array(bytes[pcir..<(pcir + 4)]) == Array("PCIR".utf8) else { break }
            let code = bytes[pcir + 0x14]
            images.append(code == 0 ? .x86BIOS : code == 1 ? .openFirmware : code == 3 ? .uefi : .other(code))
            let length = Int(Self.le16(bytes, pcir + 0x10)) * 512
            if bytes[pcir + 0x15] & 0x80 != 0 || length == 0 { break }
            offset += length
        }
        guard !images.isEmpty else { return nil }
        self.images = images
    }

    static func le16(_ bytes: [UInt8], _ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }

    /// The ROM of a device. The kernel's `rom` attribute reads nothing until "1" is written to
    /// it (Documentation/ABI/testing/sysfs-bus-pci), so on the live host it is read only when
    /// asked (`enable`: "1", the read, "0" again, as root); in a --root tree it is a plain file,
    /// read as it is and never written. Nil: no ROM attribute, or nothing readable in it.
    public static func read(_ host: HostContext, _ address: PCIAddress, enable: Bool) -> (rom: ExpansionROM?, problem: String?)? {
        let path = HostPath.sysBusPCIDevices.child(address.description, "rom")
        guard host.sysfs.exists(path) else { return nil }
        if host.root.isLiveHost {
            guard enable else { return nil }
            let writer = SysfsWriter(root: host.root)
            do throws(SystemError) { try writer.write(path, "1") } catch { return (nil, "its ROM cannot be enabled for reading (\(error.message))") }
            defer { try? writer.write(path, "0") }
            return parsed(host.sysfs.readBytes(path))
        }
        return parsed(host.sysfs.readBytes(path))
    }

    static func parsed(_ bytes: [UInt8]?) -> (rom: ExpansionROM?, problem: String?) {
        guard let bytes, let rom = ExpansionROM(bytes) else {
            return (nil, "its ROM reads as no ROM image (a boot VGA device's ROM may be shadowed by the firmware)")
        }
        return (rom, nil)
    }
}
