import GPUPrepSystem

/// `/proc/bus/pci/devices`: the kernel's list of every PCI function in one file, a line each,
/// `BBDF<TAB>VVVVDDDD<TAB>IRQ<TAB>...`: bus and devfn, vendor and device, in hex. It has no
/// domain, so it can only rule functions out: a function whose bus and devfn have no line of
/// the vendor, in any domain, is not the vendor's. Reading it is one file for the whole host,
/// where reading each function's `vendor` is a file per function.
enum ProcPCIDevices {
    /// The bus/devfn keys (`PCIAddress.busSlot`) of the vendor's functions. Nil when the file
    /// is missing, unparsable, or lists other than `expectedCount` functions (a captured tree
    /// whose /proc is not its /sys): the caller then reads every function.
    static func busSlots(of vendor: UInt16, host: HostContext, expectedCount: Int) -> Set<UInt16>? {
        guard let bytes = host.sysfs.readBytes(.procBusPCIDevices) else { return nil }
        return busSlots(of: vendor, in: bytes, expectedCount: expectedCount)
    }

    static func busSlots(of vendor: UInt16, in bytes: [UInt8], expectedCount: Int) -> Set<UInt16>? {
        var slots = Set<UInt16>()
        var lines = 0
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            // "0100\t10de2204\t..." : 4 digits, a tab, 8 digits.
            guard end - start >= 13, bytes[start + 4] == UInt8(ascii: "\t"),
                  let slot = hexNumber(bytes[start..<(start + 4)]), let ids = hexNumber(bytes[(start + 5)..<(start + 13)]) else { return nil }
            lines += 1
            if ids >> 16 == UInt32(vendor) { slots.insert(UInt16(slot)) }
            start = end + 1
        }
        return lines == expectedCount ? slots : nil
    }
}
