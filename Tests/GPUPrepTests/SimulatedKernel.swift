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

    func loadModule(_ name: String) throws(SystemError) {
        let driver = name.replacingOccurrences(of: "_", with: "-")
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
