import Foundation
import GPUPrepCore
import GPUPrepSystem
import HostFixtures
import Testing

/// gpu.rom: the images of a GPU's expansion ROM, from its headers (PCI Firmware Specification
/// 3.0, 5.1), and whether a UEFI (OVMF) VM gets one.
@Suite struct ExpansionROMTests {
    /// One image: 55 AA, the PCIR pointer at 0x18, the PCI data structure with its length in
    /// 512-byte units, code type and last-image bit.
    static func image(code: UInt8, last: Bool, blocks: UInt16 = 1) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Int(blocks) * 512)
        bytes[0] = 0x55; bytes[1] = 0xaa; bytes[2] = UInt8(blocks)
        if code == 3 { bytes[4] = 0xf1; bytes[5] = 0x0e }      // the EFI image signature
        bytes[0x18] = 0x40
        let pcir = 0x40
        bytes.replaceSubrange(pcir..<(pcir + 4), with: Array("PCIR".utf8))
        bytes[pcir + 4] = 0xde; bytes[pcir + 5] = 0x10           // NVIDIA
        bytes[pcir + 0x0a] = 0x18
        bytes[pcir + 0x10] = UInt8(blocks & 0xff); bytes[pcir + 0x11] = UInt8(blocks >> 8)
        bytes[pcir + 0x14] = code
        bytes[pcir + 0x15] = last ? 0x80 : 0
        return bytes
    }

    @Test func imagesAreReadFromTheHeaders() {
        let both = ExpansionROM(Self.image(code: 0, last: false, blocks: 2) + Self.image(code: 3, last: true))
        #expect(both?.images == [.x86BIOS, .uefi] && both?.hasUEFI == true)
        #expect(ExpansionROM(Self.image(code: 0, last: true))?.hasUEFI == false)
        // What follows the last image is not read; nothing that is no ROM is one.
        #expect(ExpansionROM(Self.image(code: 0, last: true) + Self.image(code: 3, last: true))?.images == [.x86BIOS])
        #expect(ExpansionROM([]) == nil && ExpansionROM([UInt8](repeating: 0xff, count: 4096)) == nil)
        // A chain that never ends (a length of 0, or images that always point on) stops.
        var zero = Self.image(code: 0, last: false); zero[0x40 + 0x10] = 0
        #expect(ExpansionROM(zero)?.images == [.x86BIOS])
        let endless = (0..<40).flatMap { _ in Self.image(code: 0, last: false) }
        #expect(ExpansionROM(endless)?.images.count == 16)
        // A PCIR pointer past the end, or a truncated ROM.
        var pastEnd = Self.image(code: 3, last: true); pastEnd[0x18] = 0xff; pastEnd[0x19] = 0xff
        #expect(ExpansionROM(pastEnd) == nil && ExpansionROM(Array(Self.image(code: 3, last: true).prefix(0x30))) == nil)
    }

    /// In a --root tree the rom file is read as it is (no write); on the live host only with --rom.
    @Test func checkSaysWhetherOVMFGetsAUEFIImage() throws {
        let host = try Catalog.build("desktop-b550", at: FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-rom-\(UUID().uuidString)"),
                                     data: Fixtures.data)
        let rtx = host.devicePath("0000:2b:00.0") + "/rom", gt710 = host.devicePath("0000:04:00.0") + "/rom"
        try Data(Self.image(code: 0, last: false) + Self.image(code: 3, last: true)).write(to: host.root.appendingPathComponent(rtx))
        try Data(Self.image(code: 0, last: true)).write(to: host.root.appendingPathComponent(gt710))
        let findings = try CheckReport.make(host: try HostContext(root: host.path)).findings.filter { $0.id == "gpu.rom" }
        let byDevice = Dictionary(uniqueKeysWithValues: findings.map { ($0.device!.description, $0) })
        #expect(byDevice["0000:2b:00.0"]?.status == .pass && byDevice["0000:2b:00.0"]?.summary.hasSuffix("ROM has a UEFI image (x86 BIOS, UEFI): a UEFI (OVMF) VM shows its output from the start") == true)
        #expect(byDevice["0000:04:00.0"]?.status == .warn && byDevice["0000:04:00.0"]?.remedy?.hasPrefix("use a BIOS (SeaBIOS) VM for it") == true)
        // Never written in a tree.
        #expect(try Data(contentsOf: host.root.appendingPathComponent(gt710)) == Data(Self.image(code: 0, last: true)))
        // A ROM the firmware shadowed reads as zeros: said, not guessed.
        try Data(count: 1024).write(to: host.root.appendingPathComponent(gt710))
        let shadowed = try CheckReport.make(host: try HostContext(root: host.path)).findings.first { $0.id == "gpu.rom" && $0.device?.description == "0000:04:00.0" }
        #expect(shadowed?.status == .warn && shadowed?.summary.contains("reads as no ROM image") == true)
        #expect(try Run.gpuprep(["check", "--fix", "--rom", "--root", host.path]).status == 64)
    }
}
