import Foundation

/// One PCI function of a fake host.
public struct FakeFunction: Sendable {
    public var address: String
    public var vendor: UInt16
    public var device: UInt16
    public var subsystemVendor: UInt16? = nil
    public var subsystemDevice: UInt16? = nil
    /// 24-bit class code (base, sub, prog-if).
    public var classCode: UInt32
    public var revision: UInt8 = 0xa1
    public var driver: String? = nil
    public var iommuGroup: Int? = nil
    /// -1 is what the kernel writes when it does not know.
    public var numaNode: Int? = -1
    public var bootVGA: Bool? = nil
    public var driverOverride: String? = nil
    /// The upstream bridge (its directory holds this one, as in /sys/devices).
    public var parent: String? = nil
    public var sriovTotalVFs: Int? = nil
    public var physfn: String? = nil
    /// Raw configuration space; generated from the ids when nil.
    public var config: [UInt8]? = nil
    public var resetMethods: String? = nil
    /// PCIe port type for the PCI Express capability (4 root port, 5 upstream, 6 downstream, 0 endpoint).
    public var pcieType: UInt8? = nil
    /// ACS control register; nil: no ACS capability. Needs `pcieType` (libpci reads extended
    /// capabilities only behind a PCI Express capability).
    public var acsControl: UInt16? = nil

    public init(_ address: String, vendor: UInt16, device: UInt16, classCode: UInt32,
                subsystem: (UInt16, UInt16)? = nil, driver: String? = nil, group: Int? = nil,
                numa: Int? = -1, parent: String? = nil) {
        self.address = address
        self.vendor = vendor
        self.device = device
        self.classCode = classCode
        self.subsystemVendor = subsystem?.0
        self.subsystemDevice = subsystem?.1
        self.driver = driver
        self.iommuGroup = group
        self.numaNode = numa
        self.parent = parent
        if classCode >> 8 == 0x0300 { bootVGA = false }
    }

    /// The modalias the kernel would show for this function.
    public var modalias: String {
        func h(_ v: UInt16) -> String { String(format: "%08X", UInt32(v)) }
        return "pci:v\(h(vendor))d\(h(device))sv\(h(subsystemVendor ?? 0))sd\(h(subsystemDevice ?? 0))"
            + String(format: "bc%02Xsc%02Xi%02X", classCode >> 16, (classCode >> 8) & 0xff, classCode & 0xff)
    }

    /// A 256-byte configuration space with the ids, class and header type filled in.
    public var generatedConfig: [UInt8] {
        var c = [UInt8](repeating: 0, count: 256)
        func put16(_ at: Int, _ v: UInt16) { c[at] = UInt8(v & 0xff); c[at + 1] = UInt8(v >> 8) }
        put16(0, vendor); put16(2, device)
        put16(4, 0x0006)                        // memory + bus master
        c[8] = revision
        c[9] = UInt8(classCode & 0xff); c[10] = UInt8((classCode >> 8) & 0xff); c[11] = UInt8(classCode >> 16)
        let isBridge = classCode >> 8 == 0x0604
        c[14] = isBridge ? 0x01 : 0x00
        if !isBridge, let sv = subsystemVendor, let sd = subsystemDevice { put16(0x2c, sv); put16(0x2e, sd) }
        guard let pcieType else { return c }
        // A PCI Express capability at 0x40, then (optionally) ACS as the first extended capability.
        c += [UInt8](repeating: 0, count: 4096 - 256)
        put16(6, 0x0010)                        // status: capability list
        c[0x34] = 0x40
        c[0x40] = 0x10; c[0x41] = 0x00          // PCI_CAP_ID_EXP, last in the list
        put16(0x42, UInt16(pcieType) << 4 | 0x2)
        if let acsControl {
            put16(0x100, 0x000d); put16(0x102, 0x0001)   // PCI_EXT_CAP_ID_ACS, version 1, no next
            put16(0x104, 0x001f)                         // SV, TB, RR, CR, UF supported
            put16(0x106, acsControl)
        }
        return c
    }
}

/// A kernel module of a fake host, for libkmod to find by alias.
public struct FakeModule: Sendable {
    public var name: String
    public var aliases: [String]
    public init(_ name: String, aliases: [String]) { self.name = name; self.aliases = aliases }
}

/// An mdev type offered by a parent device.
public struct FakeMdevType: Sendable {
    public var id: String
    public var name: String
    public var description: String?
    public var deviceAPI = "vfio-pci"
    public var availableInstances: Int
    public init(id: String, name: String, description: String?, available: Int) {
        self.id = id; self.name = name; self.description = description; self.availableInstances = available
    }
}

/// Builds a fake Linux host tree (sysfs, procfs, modules) that libpci, libkmod and
/// lspci read exactly as they read a real one.
public final class FakeHost {
    public let root: URL
    public var release = "6.1.0-fixture-amd64"
    private let fm = FileManager.default
    private var functions: [String: FakeFunction] = [:]

    public init(root: URL) throws {
        self.root = root
        try? fm.removeItem(at: root)
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        for dir in ["sys/bus/pci/devices", "sys/bus/pci/drivers", "sys/devices", "proc/sys/kernel"] {
            try mkdir(dir)
        }
        try write("proc/sys/kernel/osrelease", release)
        try write("sys/bus/pci/drivers_probe", "")
        try write("sys/bus/pci/rescan", "")
    }

    public var path: String { root.path }

    // MARK: PCI functions

    public func add(_ function: FakeFunction) throws {
        functions[function.address] = function
        let dir = devicePath(function.address)
        try mkdir(dir)
        func attr(_ name: String, _ value: String) throws { try write(dir + "/" + name, value) }
        try attr("vendor", String(format: "0x%04x", function.vendor))
        try attr("device", String(format: "0x%04x", function.device))
        try attr("class", String(format: "0x%06x", function.classCode))
        try attr("revision", String(format: "0x%02x", function.revision))
        if let sv = function.subsystemVendor, let sd = function.subsystemDevice {
            try attr("subsystem_vendor", String(format: "0x%04x", sv))
            try attr("subsystem_device", String(format: "0x%04x", sd))
        }
        try attr("irq", "0")
        try attr("resource", String(repeating: "0x0000000000000000 0x0000000000000000 0x0000000000000000\n", count: 13))
        try attr("modalias", function.modalias)
        // As pci_uevent writes it (the driver line, which changes with binding, is left out).
        var uevent = String(format: "PCI_CLASS=%04X\nPCI_ID=%04X:%04X\n", function.classCode, function.vendor, function.device)
        if let sv = function.subsystemVendor, let sd = function.subsystemDevice { uevent += String(format: "PCI_SUBSYS_ID=%04X:%04X\n", sv, sd) }
        uevent += "PCI_SLOT_NAME=\(function.address)\nMODALIAS=\(function.modalias)\n"
        try attr("uevent", uevent)
        if let numa = function.numaNode { try attr("numa_node", String(numa)) }
        try attr("driver_override", function.driverOverride ?? "(null)")
        if let vga = function.bootVGA { try attr("boot_vga", vga ? "1" : "0") }
        if let methods = function.resetMethods { try attr("reset_method", methods) }
        try writeData(dir + "/config", Data(function.config ?? function.generatedConfig))
        try symlink("sys/bus/pci/devices/\(function.address)", to: dir)
        if let driver = function.driver { try bind(function.address, to: driver) }
        if let group = function.iommuGroup { try joinGroup(function.address, group) }
        if let total = function.sriovTotalVFs {
            try attr("sriov_totalvfs", String(total))
            try attr("sriov_numvfs", "0")
        }
        try appendProcLine(function)
        if let pf = function.physfn {
            try symlink(dir + "/physfn", to: devicePath(pf))
            let pfDir = devicePath(pf)
            let index = (try? fm.contentsOfDirectory(atPath: root.appendingPathComponent(pfDir).path)
                .filter { $0.hasPrefix("virtfn") }.count) ?? 0
            try symlink(pfDir + "/virtfn\(index)", to: dir)
            let count = index + 1
            try write(pfDir + "/sriov_numvfs", String(count))
        }
    }

    /// Removes a function as the kernel does when it goes (a VF when SR-IOV is disabled): its
    /// directory, its bus, driver and group links, and its PF's virtfn link and count.
    public func remove(_ address: String) throws {
        let dir = devicePath(address)
        let url = root.appendingPathComponent(dir)
        if let driver = driver(of: address) { try? fm.removeItem(at: root.appendingPathComponent("sys/bus/pci/drivers/\(driver)/\(address)")) }
        if let group = try? fm.destinationOfSymbolicLink(atPath: url.appendingPathComponent("iommu_group").path) {
            try? fm.removeItem(at: root.appendingPathComponent("sys/kernel/iommu_groups/\((group as NSString).lastPathComponent)/devices/\(address)"))
        }
        if let pf = functions[address]?.physfn {
            let pfURL = root.appendingPathComponent(devicePath(pf))
            let links = (try? fm.contentsOfDirectory(atPath: pfURL.path).filter { $0.hasPrefix("virtfn") }) ?? []
            for link in links where (try? fm.destinationOfSymbolicLink(atPath: pfURL.appendingPathComponent(link).path))
                .map({ ($0 as NSString).lastPathComponent == address }) == true {
                try fm.removeItem(at: pfURL.appendingPathComponent(link))
            }
            try write(devicePath(pf) + "/sriov_numvfs", String(max(0, links.count - 1)))
        }
        try? fm.removeItem(at: root.appendingPathComponent("sys/bus/pci/devices/\(address)"))
        try fm.removeItem(at: url)
        functions[address] = nil
    }

    /// The functions a PF's VFs are (its virtfn links), in virtfn order.
    public func virtualFunctions(of pf: String) -> [String] {
        let pfURL = root.appendingPathComponent(devicePath(pf))
        let links = (try? fm.contentsOfDirectory(atPath: pfURL.path).filter { $0.hasPrefix("virtfn") }) ?? []
        return links.sorted { Int($0.dropFirst(6)) ?? 0 < Int($1.dropFirst(6)) ?? 0 }.compactMap {
            (try? fm.destinationOfSymbolicLink(atPath: pfURL.appendingPathComponent($0).path)).map { ($0 as NSString).lastPathComponent }
        }
    }

    /// A function as it was added.
    public func function(_ address: String) -> FakeFunction? { functions[address] }

    /// The function's line in /proc/bus/pci/devices, as drivers/pci/proc.c writes it: bus and
    /// devfn, vendor and device, irq, seven resource starts and seven sizes, the driver.
    private func appendProcLine(_ function: FakeFunction) throws {
        let parts = function.address.split(whereSeparator: { $0 == ":" || $0 == "." }).map { Int($0, radix: 16)! }
        let devfn = parts[2] << 3 | parts[3]
        let zeros = String(repeating: "\t" + String(repeating: " ", count: 15) + "0", count: 14)
        let line = String(format: "%02x%02x\t%04x%04x\t%x", parts[1], devfn, function.vendor, function.device, 0)
            + zeros + "\t" + (function.driver ?? "") + "\n"
        let url = root.appendingPathComponent("proc/bus/pci/devices")
        if !fm.fileExists(atPath: url.path) {
            try mkdir("proc/bus/pci")
            fm.createFile(atPath: url.path, contents: nil)
        }
        let file = try FileHandle(forWritingTo: url)
        defer { try? file.close() }
        try file.seekToEnd()
        try file.write(contentsOf: Data(line.utf8))
    }

    /// The sysfs directory of a function: nested under its parent bridges, as the kernel does.
    public func devicePath(_ address: String) -> String {
        var chain = [address]
        var current = functions[address]?.parent
        while let parent = current {
            chain.insert(parent, at: 0)
            current = functions[parent]?.parent
        }
        // pciDDDD:BB of the root's domain and bus (a VMD domain has five or more digits).
        let root = chain[0].split(separator: ":")
        let domainBus = "pci" + root[0] + ":" + (functions[chain[0]] != nil && root.count > 1 ? root[1] : "00")
        return "sys/devices/" + domainBus + "/" + chain.joined(separator: "/")
    }

    public func bind(_ address: String, to driver: String) throws {
        let driverDir = "sys/bus/pci/drivers/" + driver
        try mkdir(driverDir)
        for file in ["bind", "unbind", "new_id", "remove_id"] where !exists(driverDir + "/" + file) {
            try write(driverDir + "/" + file, "")
        }
        // The module that provides the driver (module names use _ where driver names may use -).
        let module = driver.replacingOccurrences(of: "-", with: "_")
        // As the kernel links them: the module's drivers/pci:<driver> (which also keeps the
        // folder in git, which drops empty ones) and the driver's module.
        try symlink("sys/module/\(module)/drivers/pci:\(driver)", to: driverDir)
        if !exists(driverDir + "/module") { try symlink(driverDir + "/module", to: "sys/module/\(module)") }
        try symlink(devicePath(address) + "/driver", to: driverDir)
        try symlink(driverDir + "/" + address, to: devicePath(address))
    }

    /// The driver a function is bound to (the `driver` link's target name), if any.
    public func driver(of address: String) -> String? {
        (try? fm.destinationOfSymbolicLink(atPath: root.appendingPathComponent(devicePath(address) + "/driver").path))
            .map { ($0 as NSString).lastPathComponent }
    }

    /// Removes the links between a function and its driver, as the kernel's unbind does.
    public func unbindDriver(_ address: String) throws {
        guard let driver = driver(of: address) else { return }
        try fm.removeItem(at: root.appendingPathComponent(devicePath(address) + "/driver"))
        try? fm.removeItem(at: root.appendingPathComponent("sys/bus/pci/drivers/\(driver)/\(address)"))
    }

    /// Moves a function from one driver to another, as a completed bind leaves sysfs.
    public func bind(_ address: String, to driver: String, replacing old: String) throws {
        try? FileManager.default.removeItem(at: root.appendingPathComponent("sys/bus/pci/drivers/\(old)/\(address)"))
        try bind(address, to: driver)
        try setAttribute(address, "driver_override", driver)
    }

    /// A process with open files (`/proc/PID/fd/N` links, `/proc/PID/comm`) and, if given, its
    /// command line (`/proc/PID/cmdline`, NUL-separated as the kernel writes it).
    /// `cgroup`: its line of `/proc/PID/cgroup` (`0::/system.slice/nvidia-persistenced.service`).
    public func addProcess(pid: Int, name: String, openFiles: [String], arguments: [String]? = nil, cgroup: String? = nil) throws {
        try write("proc/\(pid)/comm", name)
        if let cgroup { try write("proc/\(pid)/cgroup", cgroup + "\n") }
        if let arguments { try write("proc/\(pid)/cmdline", arguments.map { $0 + "\0" }.joined()) }
        try mkdir("proc/\(pid)/fd")
        for (fd, target) in openFiles.enumerated() {
            let link = root.appendingPathComponent("proc/\(pid)/fd/\(fd + 3)")
            try? fm.removeItem(at: link)
            try fm.createSymbolicLink(atPath: link.path, withDestinationPath: target)
        }
    }

    /// NVIDIA's vGPU manager daemon, running as its unit starts it (it holds the driver's control node).
    public func runVGPUManager(pid: Int = 690) throws {
        try addProcess(pid: pid, name: "nvidia-vgpu-mgr", openFiles: ["/dev/nvidiactl"], cgroup: "0::/system.slice/nvidia-vgpu-mgr.service")
    }

    public func joinGroup(_ address: String, _ group: Int) throws {
        let groupDir = "sys/kernel/iommu_groups/\(group)"
        try mkdir(groupDir + "/devices")
        try write(groupDir + "/type", "DMA")
        try symlink(devicePath(address) + "/iommu_group", to: groupDir)
        try symlink(groupDir + "/devices/" + address, to: devicePath(address))
    }

    /// NVIDIA's vGPU 17+ files on a VF.
    public func addNVIDIAVGPUFiles(_ address: String, creatable: String, current: String) throws {
        let dir = devicePath(address) + "/nvidia"
        try mkdir(dir)
        try write(dir + "/creatable_vgpu_types", creatable)
        try write(dir + "/current_vgpu_type", current)
    }

    /// An mdev parent with its supported types, and its /sys/class/mdev_bus entry.
    public func addMdevTypes(_ address: String, _ types: [FakeMdevType]) throws {
        let dir = devicePath(address) + "/mdev_supported_types"
        for type in types {
            let typeDir = dir + "/" + type.id
            try mkdir(typeDir + "/devices")
            try write(typeDir + "/name", type.name)
            if let description = type.description { try write(typeDir + "/description", description) }
            try write(typeDir + "/device_api", type.deviceAPI)
            try write(typeDir + "/available_instances", String(type.availableInstances))
            try write(typeDir + "/create", "")
        }
        try mkdir("sys/class/mdev_bus")
        try symlink("sys/class/mdev_bus/" + address, to: devicePath(address))
    }

    /// An mdev that exists: its directory under the parent's, its type link, its own IOMMU group
    /// (the kernel gives each mdev one), and its /sys/bus/mdev/devices link.
    public func addMdev(parent: String, type: String, uuid: String, group: Int) throws {
        let device = devicePath(parent) + "/\(uuid)"
        try write(device + "/remove", "")
        try symlink(device + "/mdev_type", to: devicePath(parent) + "/mdev_supported_types/\(type)")
        let groupDir = "sys/kernel/iommu_groups/\(group)"
        try mkdir(groupDir + "/devices")
        try symlink(device + "/iommu_group", to: groupDir)
        try symlink(groupDir + "/devices/" + uuid, to: device)
        try mkdir("sys/bus/mdev/devices")
        try symlink("sys/bus/mdev/devices/\(uuid)", to: device)
    }

    /// Replaces an attribute's contents, or removes it (nil): for odd and broken hosts.
    public func setAttribute(_ address: String, _ name: String, _ value: String?) throws {
        let path = devicePath(address) + "/" + name
        if let value { try write(path, value) } else { try fm.removeItem(at: root.appendingPathComponent(path)) }
    }

    /// Points a link of a function at nothing, as a half-removed device leaves it.
    public func dangle(_ address: String, _ link: String) throws {
        let path = devicePath(address) + "/" + link
        try? fm.removeItem(at: root.appendingPathComponent(path))
        try fm.createSymbolicLink(atPath: root.appendingPathComponent(path).path, withDestinationPath: "../../../bus/pci/drivers/gone")
    }

    // MARK: the rest of the host: CPU, firmware, kernel, boot loader

    /// /proc/cpuinfo with one CPU of this vendor ("GenuineIntel", "AuthenticAMD") and flags.
    public func setCPU(vendor: String, flags: [String]) throws {
        try write("proc/cpuinfo", "processor\t: 0\nvendor_id\t: \(vendor)\nflags\t\t: \((["fpu", "sse2"] + flags).joined(separator: " "))\n")
    }

    /// The command line the running kernel was booted with.
    public func setRunningCommandLine(_ text: String) throws { try write("proc/cmdline", text) }

    /// ACPI tables (DMAR for Intel VT-d, IVRS for AMD-Vi) and IOMMU units in /sys/class/iommu.
    public func addIOMMUFirmware(table: String?, units: [String]) throws {
        // Every ACPI host has its fixed description table (FACP) beside the IOMMU's, if any.
        try write("sys/firmware/acpi/tables/FACP", "")
        if let table { try write("sys/firmware/acpi/tables/\(table)", "") }
        // As the kernel lays them out: a class link to the unit's device, which has files of its own
        // (so the tree survives git, which keeps no empty folder).
        for unit in units {
            try write("sys/devices/virtual/iommu/\(unit)/uevent", "")
            try symlink("sys/class/iommu/\(unit)", to: "sys/devices/virtual/iommu/\(unit)")
        }
    }

    /// A systemd unit installed by a package (/usr/lib/systemd/system) and, if asked, enabled
    /// (the multi-user target's wants link, as `systemctl enable` makes it).
    public func installUnit(_ name: String, description: String, enabled: Bool) throws {
        try write("usr/lib/systemd/system/\(name)", "[Unit]\nDescription=\(description)\n\n[Install]\nWantedBy=multi-user.target\n")
        if enabled { try symlink("etc/systemd/system/multi-user.target.wants/\(name)", to: "usr/lib/systemd/system/\(name)") }
    }

    /// Modules the running kernel has loaded (/sys/module/NAME, with its `initstate`).
    public func loadModules(_ names: [String]) throws {
        for name in names { try write("sys/module/\(name)/initstate", "live") }
    }

    // MARK: kernel modules

    /// Compiles one tiny object per module whose `.modinfo` holds its aliases, then runs
    /// depmod over the tree, so libkmod's alias lookups answer as on a real host.
    public func addModules(_ modules: [FakeModule], modprobeConfig: [String: String] = [:]) throws {
        let moduleDir = "lib/modules/\(release)/kernel/drivers/fixture"
        try mkdir(moduleDir)
        let work = fm.temporaryDirectory.appendingPathComponent("gpuprep-ko-\(UUID().uuidString)")
        try fm.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: work) }
        for module in modules {
            var source = ""
            let entries = module.aliases.map { "alias=\($0)" } + ["license=GPL", "name=\(module.name)"]
            for (index, entry) in entries.enumerated() {
                source += "static const char m\(index)[] __attribute__((section(\".modinfo\"), used, aligned(1))) = \"\(entry)\";\n"
            }
            let c = work.appendingPathComponent(module.name + ".c")
            try source.write(to: c, atomically: true, encoding: .utf8)
            let ko = root.appendingPathComponent(moduleDir + "/" + module.name + ".ko")
            try run("/usr/bin/env", ["cc", "-c", "-o", ko.path, c.path])
        }
        for (name, text) in modprobeConfig {
            try mkdir("etc/modprobe.d")
            try write("etc/modprobe.d/" + name, text)
        }
        let order = modules.map { "kernel/drivers/fixture/\($0.name).ko" }.joined(separator: "\n")
        try write("lib/modules/\(release)/modules.order", order)
        try write("lib/modules/\(release)/modules.builtin", "")
        try write("lib/modules/\(release)/modules.builtin.modinfo", "")
        try run("/usr/bin/env", ["depmod", "-b", root.path, release])
    }

    // MARK: files

    public func write(_ relative: String, _ text: String) throws {
        let url = root.appendingPathComponent(relative)
        try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data((text.isEmpty || text.hasSuffix("\n") ? text : text + "\n").utf8).write(to: url)
    }

    public func writeData(_ relative: String, _ data: Data) throws {
        try fm.createDirectory(at: root.appendingPathComponent(relative).deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: root.appendingPathComponent(relative))
    }

    public func mkdir(_ relative: String) throws {
        try fm.createDirectory(at: root.appendingPathComponent(relative), withIntermediateDirectories: true)
    }

    public func exists(_ relative: String) -> Bool {
        fm.fileExists(atPath: root.appendingPathComponent(relative).path)
    }

    /// A relative symlink at `link` pointing to `target` (both relative to the root), as sysfs makes them.
    public func symlink(_ link: String, to target: String) throws {
        let linkURL = root.appendingPathComponent(link)
        try fm.createDirectory(at: linkURL.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? fm.removeItem(at: linkURL)
        let depth = link.split(separator: "/").count - 1
        let relative = String(repeating: "../", count: depth) + target
        try fm.createSymbolicLink(atPath: linkURL.path, withDestinationPath: relative)
    }

    private func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw FixtureError("\(arguments.joined(separator: " ")) failed with status \(process.terminationStatus)")
        }
    }
}

public struct FixtureError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
