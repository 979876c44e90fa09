import Foundation
import GPUPrepCore
@testable import GPUPrepSystem
import HostFixtures
import Testing

/// A host tree crafted against gpuprep: every shape a file can take where an attribute belongs.
/// gpuprep runs on it as root, as it would on a captured tree, with the real writer (no
/// simulated kernel): what it writes lands in the tree, or nowhere.
@Suite struct HostileTreeTests {
    /// A one-device host (0000:07:00.0, no driver, its own group) and a file outside its root.
    func host(_ label: String) throws -> (FakeHost, URL) {
        let (host, _) = try bindHost("hostile-\(label)")
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-outside-\(UUID().uuidString)")
        try "precious\n".write(to: outside, atomically: true, encoding: .utf8)
        return (host, outside)
    }

    func override(_ host: FakeHost) -> String { host.devicePath("0000:07:00.0") + "/driver_override" }

    enum Shape: String, CaseIterable { case absoluteLinkOut, relativeLinkOut, danglingLink, fifo, directory }

    func craft(_ shape: Shape, at relative: String, in host: FakeHost, outside: URL) throws {
        let path = host.root.appendingPathComponent(relative).path
        try? FileManager.default.removeItem(atPath: path)
        switch shape {
        case .absoluteLinkOut: try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: outside.path)
        case .relativeLinkOut:
            let depth = relative.split(separator: "/").count - 1 + host.root.path.split(separator: "/").count
            let up = String(repeating: "../", count: depth)
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: up + outside.path.dropFirst())
        case .danglingLink: try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "nowhere")
        case .fifo: #expect(mkfifo(path, 0o644) == 0)
        case .directory: try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        }
    }

    @Test(arguments: Shape.allCases)
    func aWriteNeverLeavesTheRootNorHangs(shape: Shape) throws {
        let (host, outside) = try host(shape.rawValue)
        try craft(shape, at: override(host), in: host, outside: outside)
        let start = Date()
        let run = try Run.gpuprep(["bind", "0000:07:00.0", "--root", host.path], environment: ["GPUPREP_WRITE_TIMEOUT": "2"])
        #expect(Date().timeIntervalSince(start) < 20)
        #expect(run.status == 74 || run.status == 70, "\(run.stderr)")
        #expect(run.stderr.contains("driver_override"), "\(run.stderr)")
        #expect(try String(contentsOf: outside, encoding: .utf8) == "precious\n")
        // Nothing was made where the link points, inside the tree or out.
        #expect(!FileManager.default.fileExists(atPath: host.root.appendingPathComponent(String(outside.path.dropFirst())).path))
    }

    @Test func aLinkInsideTheRootIsResolvedInsideIt() throws {
        // A captured tree's absolute link names a path of the captured host: it is followed in the tree.
        let (host, outside) = try host("absolute-inside")
        try host.write("elsewhere/override", "")
        try craft(.absoluteLinkOut, at: override(host), in: host, outside: outside)
        try FileManager.default.removeItem(atPath: host.root.appendingPathComponent(override(host)).path)
        try FileManager.default.createSymbolicLink(atPath: host.root.appendingPathComponent(override(host)).path, withDestinationPath: "/elsewhere/override")
        let root = try HostRoot(host.path)
        let sysfs = Sysfs(root: root)
        #expect(sysfs.exists(HostPath.sysBusPCIDevices.child("0000:07:00.0", "driver_override")))
        // Written with O_NOFOLLOW all the same: an attribute is never a link.
        #expect(throws: SystemError.notRegular(path: "/sys/bus/pci/devices/0000:07:00.0/driver_override", kind: "a symbolic link")) {
            try SysfsWriter(root: root).write(HostPath.sysBusPCIDevices.child("0000:07:00.0", "driver_override"), "vfio-pci")
        }
        #expect(try String(contentsOf: outside, encoding: .utf8) == "precious\n")
    }

    @Test func configurationFilesAreWrittenInsideTheRoot() throws {
        // /etc/modprobe.d as a link out of the root: the persistent files go into the tree's own.
        let (host, outside) = try host("etc-link")
        let outsideDir = outside.deletingLastPathComponent().appendingPathComponent("gpuprep-outside-dir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: outsideDir, withIntermediateDirectories: true)
        try host.mkdir("etc")
        try FileManager.default.createSymbolicLink(atPath: host.root.appendingPathComponent("etc/modprobe.d").path,
                                                   withDestinationPath: outsideDir.path)
        // Inside the root the link names a directory the tree does not have: refused, not followed out.
        #expect(throws: SystemError.io(path: "/etc/modprobe.d/gpuprep-vfio.conf", errno: ENOENT)) {
            try AtomicFile(root: try HostRoot(host.path)).write(.persistModprobe, "softdep nouveau pre: vfio-pci\n")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: outsideDir.path).isEmpty)
        // Once the tree has that directory, the file goes there.
        try host.mkdir(String(outsideDir.path.dropFirst()))
        try AtomicFile(root: try HostRoot(host.path)).write(.persistModprobe, "softdep nouveau pre: vfio-pci\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outsideDir.path).isEmpty)
        #expect(host.exists(String(outsideDir.path.dropFirst()) + "/gpuprep-vfio.conf"))
    }

    @Test func readsOfHostileFilesAreBoundedAndNeverBlock() throws {
        let (host, outside) = try host("reads")
        // Files gpuprep reads itself (libpci reads others, such as modalias and config, its own way).
        let dir = host.devicePath("0000:01:00.0")
        try craft(.fifo, at: dir + "/driver_override", in: host, outside: outside)
        try craft(.absoluteLinkOut, at: dir + "/boot_vga", in: host, outside: outside)
        let zero = host.root.appendingPathComponent(host.devicePath("0000:04:00.0") + "/driver_override").path
        try FileManager.default.removeItem(atPath: zero)
        try FileManager.default.createSymbolicLink(atPath: zero, withDestinationPath: "/dev/zero")
        try host.writeData(host.devicePath("0000:02:00.0") + "/driver_override", Data(repeating: 0x41, count: 3 << 20))
        try craft(.fifo, at: "proc/cmdline", in: host, outside: outside)
        let start = Date()
        let list = try Run.gpuprep(["list", "--all", "--json", "--root", host.path])
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.contains("0000:01:00.0") && list.stdout.contains("0000:02:00.0"))
        let check = try Run.gpuprep(["check", "--root", host.path])
        #expect(check.status == 0 || check.status == 1, "\(check.stderr)")
        #expect(Date().timeIntervalSince(start) < 20)
        // The sysfs readers themselves: the FIFO reads as empty, the link out of the root as nothing.
        let sysfs = Sysfs(root: try HostRoot(host.path))
        #expect(sysfs.read(HostPath.sysBusPCIDevices.child("0000:01:00.0", "boot_vga")) == nil)
        #expect(sysfs.readBytes(HostPath.procCmdline) == nil)
        #expect(sysfs.read(HostPath.sysBusPCIDevices.child("0000:02:00.0", "driver_override")).map(\.utf8.count) ?? 0 <= (1 << 20) + 65536)
    }

    /// libpci opens its files (modalias, config) without O_NONBLOCK: a FIFO there waited for
    /// ever. Its open is now interrupted after 2 s, and libpci goes on without that file.
    @Test func aFIFOWhereLibpciReadsDoesNotHangList() throws {
        let (host, outside) = try host("libpci-fifo")
        try craft(.fifo, at: host.devicePath("0000:01:00.0") + "/modalias", in: host, outside: outside)
        let start = Date()
        let list = try Run.gpuprep(["list", "--all", "--json", "--root", host.path])
        #expect(Date().timeIntervalSince(start) < 10, "one 2 s wait, not for ever")
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.contains("\"address\": \"0000:01:00.0\""), "the device is still listed")
    }
}

/// What libkmod opens under --root is checked first: a FIFO (which blocks libkmod for ever) or a
/// link out of the tree (which it would follow to this machine's file) is refused with 66 naming
/// the path, at once, and nothing of the outside is read or printed.
@Suite struct LibkmodInputTests {
    static let inputs = ["etc/modprobe.d/evil.conf", "run/modprobe.d/evil.conf", "lib/modules/6.1.0-fixture-amd64/modules.softdep",
                         "lib/modules/6.1.0-fixture-amd64/modules.alias.bin", "etc/modprobe.d"]

    /// The desktop sample host: its modules and modprobe.d are libkmod's to read.
    func desktop(_ label: String) throws -> FakeHost {
        try Catalog.build("desktop-b550", at: FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-\(label)-\(UUID().uuidString)"), data: Fixtures.data)
    }

    @Test(arguments: inputs)
    func aFIFOWhereLibkmodReadsIsRefusedNotWaitedOn(input: String) throws {
        let host = try desktop("kmod-fifo")
        defer { try? FileManager.default.removeItem(at: host.root) }
        let path = host.root.appendingPathComponent(input)
        try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: path)
        if input == "etc/modprobe.d" { try? FileManager.default.removeItem(at: path) }
        #expect(mkfifo(path.path, 0o644) == 0)
        for command in [["list"], ["check"], ["iommu"], ["bind", "0000:2b:00.1", "--dry-run"]] {
            let start = Date()
            let run = try Run("/usr/bin/timeout", ["20", Run.gpuprep] + command + ["--root", host.path])
            #expect(Date().timeIntervalSince(start) < 10 && run.status == 66, "\(command) \(input): \(run.status) \(run.stderr.prefix(300))")
            #expect(run.stderr.contains("/" + input + " is a FIFO"), "\(run.stderr.prefix(300))")
        }
    }

    @Test(arguments: ["etc/modprobe.d/outside.conf", "etc/modprobe.d"])
    func aLinkOutOfTheTreeIsNotFollowed(input: String) throws {
        let host = try desktop("kmod-link")
        defer { try? FileManager.default.removeItem(at: host.root) }
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-outside-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: outside) }
        try "blacklist vfio_pci # secret-outside\n".write(to: outside.appendingPathComponent("outside.conf"), atomically: true, encoding: .utf8)
        let path = host.root.appendingPathComponent(input)
        try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: path)
        try FileManager.default.createSymbolicLink(atPath: path.path, withDestinationPath: input.hasSuffix(".conf") ? outside.appendingPathComponent("outside.conf").path : outside.path)
        let run = try Run.gpuprep(["check", "--root", host.path])
        #expect(run.status == 66 && run.stderr.contains("/\(input) is a link to") && run.stderr.contains("outside the root"), "\(run.status) \(run.stderr.prefix(300))")
        #expect(!run.stdout.contains("secret-outside") && !run.stderr.contains("secret-outside"))
    }

    /// A link inside the tree (a captured host's own layout) is read as before.
    @Test func aLinkInsideTheTreeIsRead() throws {
        let host = try desktop("kmod-inside")
        defer { try? FileManager.default.removeItem(at: host.root) }
        try host.write("usr/lib/modprobe.d/vfio.conf", "options vfio_pci ids=10de:1e84\n")
        try FileManager.default.createDirectory(at: host.root.appendingPathComponent("etc/modprobe.d"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: host.root.appendingPathComponent("etc/modprobe.d/vfio.conf").path,
                                                   withDestinationPath: "../../usr/lib/modprobe.d/vfio.conf")
        let run = try Run.gpuprep(["list", "--root", host.path])
        #expect(run.status == 0, "\(run.stderr)")
    }
}

/// libpci opens a function's attributes as plain paths: a link out of the tree would have it read
/// this machine's files. Such a function is not read by libpci at all, and says why.
@Suite struct LibPCIInputTests {
    /// The desktop sample host, and its GPU's root port (whose config space `iommu` and
    /// `conflicts` read through libpci).
    func desktop(_ label: String) throws -> (FakeHost, URL) {
        let host = try Catalog.build("desktop-b550", at: FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-\(label)-\(UUID().uuidString)"), data: Fixtures.data)
        return (host, host.root.appendingPathComponent("sys/bus/pci/devices/0000:00:03.1"))
    }

    func bridgeConfig(_ host: FakeHost) throws -> (LibPCI, PCIDeviceHandle) {
        let pci = try LibPCI(root: try HostRoot(host.path))
        let handle = try #require(pci.functions.first { $0.bus == 0 && $0.device == 3 && $0.function == 1 })
        return (pci, handle)
    }

    /// `config` linked to a file outside, or the device entry itself linked to a directory outside
    /// (absolute: libpci would follow it on this machine, gpuprep's own reads would not).
    @Test(arguments: ["config", "device entry"])
    func aLinkOutOfTheTreeIsNotReadByLibpci(what: String) throws {
        let (host, entry) = try desktop("pci-link")
        defer { try? FileManager.default.removeItem(at: host.root) }
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-outside-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: outside) }
        let device = entry.resolvingSymlinksInPath()
        if what == "config" {
            try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
            try Data(repeating: 0x5a, count: 4096).write(to: outside.appendingPathComponent("config"))
            try FileManager.default.removeItem(at: device.appendingPathComponent("config"))
            try FileManager.default.createSymbolicLink(atPath: device.appendingPathComponent("config").path, withDestinationPath: outside.appendingPathComponent("config").path)
        } else {
            try FileManager.default.copyItem(at: device, to: outside)
            try Data(repeating: 0x5a, count: 4096).write(to: outside.appendingPathComponent("config"))
            try FileManager.default.removeItem(at: entry)
            try FileManager.default.createSymbolicLink(atPath: entry.path, withDestinationPath: outside.path)
        }
        let (pci, handle) = try bridgeConfig(host)
        let shown = "/sys/bus/pci/devices/0000:00:03.1" + (what == "config" ? "/config" : "") + " is a link to " + outside.path
        #expect(pci.config(handle, offset: 0, count: 4) == nil, "the outside file's bytes were read")
        #expect(pci.pcieType(handle) == nil && pci.acs(handle) == nil)
        #expect(pci.outsideRoot(handle)?.hasPrefix(shown) == true && pci.details(handle).error?.contains("outside the root") == true, "\(pci.outsideRoot(handle) ?? "nil")")
        // The commands that read it still list the host, from gpuprep's own reads.
        for command in [["list"], ["iommu"]] {
            let run = try Run.gpuprep(command + ["--root", host.path])
            #expect(run.status == 0 && run.stdout.contains("2b:00.0"), "\(command) \(what): \(run.status) \(run.stderr.prefix(300))")
        }
    }

    /// A link that stays in the tree (a captured host's own layout) is read as before.
    @Test func aLinkInsideTheTreeIsRead() throws {
        let (host, entry) = try desktop("pci-inside")
        defer { try? FileManager.default.removeItem(at: host.root) }
        let device = entry.resolvingSymlinksInPath()
        let original = try Data(contentsOf: device.appendingPathComponent("config"))
        try FileManager.default.moveItem(at: device.appendingPathComponent("config"), to: host.root.appendingPathComponent("config-copy"))
        let depth = device.path.dropFirst(host.root.path.count).split(separator: "/").count
        try FileManager.default.createSymbolicLink(atPath: device.appendingPathComponent("config").path,
                                                   withDestinationPath: String(repeating: "../", count: depth) + "config-copy")
        let (pci, handle) = try bridgeConfig(host)
        #expect(pci.outsideRoot(handle) == nil)
        #expect(pci.config(handle, offset: 0, count: 4) == Array(original.prefix(4)))
    }
}

/// A small layout whose nested aliases expand to 9^9 nodes ("billion laughs") is a file error
/// (64) at once, not 30 s and 2 GB.
@Suite struct BoundedYAMLTests {
    @Test func nestedAliasesAreRefusedAtOnce() throws {
        var lines = ["a: &a [" + Array(repeating: "\"lol\"", count: 9).joined(separator: ",") + "]"]
        for level in 1...8 {
            let name = String(UnicodeScalar(UInt8(97 + level))), previous = String(UnicodeScalar(UInt8(96 + level)))
            lines.append("\(name): &\(name) [" + Array(repeating: "*" + previous, count: 9).joined(separator: ",") + "]")
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-bomb-\(UUID().uuidString).yaml")
        try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let start = Date()
        let run = try Run("/usr/bin/timeout", ["20", Run.gpuprep, "apply", "-f", file.path, "--dry-run", "--root", Fixtures.host("vgpu-l40s-sriov")])
        // Unbounded, the expansion takes 30 s and 2 GB; bounded it ends at once. The margin is wide
        // (the test runs beside the others on 2 cores): what counts is the refusal below.
        #expect(Date().timeIntervalSince(start) < 12, "refused long before the expansion would end")
        #expect(run.status == 64 && run.stderr.contains("expands to more than 100000 nodes"), "\(run.status) \(run.stderr.prefix(300))")
    }
}

/// A process-level fake kernel: a helper process that holds a file lease on an attribute, so that
/// gpuprep's write to it blocks in the kernel (open(2) waits for a lease to be released, as a
/// sysfs write waits for a device to be let go), then lets go after `seconds` (or never).
final class BlockingAttribute {
    let process = Process()

    /// A read lease makes opens for writing wait; a write lease (`write`) makes every open wait.
    init(_ path: String, seconds: Double, write: Bool = false) throws {
        let script = """
        import fcntl, os, signal, sys, time
        signal.signal(signal.SIGIO, lambda *a: None)
        write = sys.argv[3] == "1"
        fd = os.open(sys.argv[1], os.O_RDWR if write else os.O_RDONLY)
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK if write else fcntl.F_RDLCK)
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
        """
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, path, String(seconds), write ? "1" : "0"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        _ = out.fileHandleForReading.availableData   // "held": the lease is in place
    }

    /// SIGKILL: the test runner may start children with SIGTERM blocked.
    func release() { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    deinit { if process.isRunning { release() } }
}

/// A kernel in another process that acts on a probe later, as a real one can: it waits for the
/// address in drivers_probe, then, `seconds` later, binds the device to the driver its
/// driver_override names (the `driver` link, as the kernel makes it); an unbind written to that
/// driver afterwards takes the link away again.
final class LateProbe {
    let process = Process()

    init(_ host: FakeHost, _ address: String, after seconds: Double) throws {
        let script = """
        import os, sys, time
        root, address, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
        probe = os.path.join(root, "sys/bus/pci/drivers_probe")
        print("watching", flush=True)
        while True:
            try:
                if address in open(probe).read(): break
            except OSError: pass
            time.sleep(0.01)
        time.sleep(delay)
        device = os.path.realpath(os.path.join(root, "sys/bus/pci/devices", address))
        override = open(os.path.join(device, "driver_override")).read().strip()
        driver = os.path.join(root, "sys/bus/pci/drivers", override)
        os.makedirs(driver, exist_ok=True)
        os.symlink(os.path.relpath(driver, device), os.path.join(device, "driver"))
        # Then, as the kernel does, an unbind written to that driver takes the device off it.
        unbind = os.path.join(driver, "unbind")
        while True:
            try:
                if address in open(unbind).read(): break
            except OSError: pass
            time.sleep(0.01)
        os.unlink(os.path.join(device, "driver"))
        time.sleep(60)
        """
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, host.path, address, String(seconds)]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        _ = out.fileHandleForReading.availableData   // "watching"
    }

    func release() { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    deinit { if process.isRunning { release() } }
}

/// Names the tree supplies never become a second statement in a file gpuprep writes.
@Suite struct InjectionTests {
    /// vfio-pci's driver name as a hostile tree gives it (a quote and a newline, then a rule of
    /// its own): refused before anything is written, naming the path.
    @Test func aDriverNameFromTheTreeIsCheckedBeforeItIsUsed() throws {
        let (host, _) = try bindHost("hostile-driver-name")
        defer { try? FileManager.default.removeItem(at: host.root) }
        let drivers = host.root.appendingPathComponent("sys/module/vfio_pci/drivers")
        for entry in try FileManager.default.contentsOfDirectory(atPath: drivers.path) { try FileManager.default.removeItem(at: drivers.appendingPathComponent(entry)) }
        try FileManager.default.createDirectory(at: drivers.appendingPathComponent("pci:x\"\nSUBSYSTEM==\"pci\", ATTR{remove}=\"1"), withIntermediateDirectories: true)
        let run = try Run.gpuprep(["bind", "0000:07:00.0", "--persist", "--root", host.path])
        #expect(run.status == 66 && run.stderr.contains("names no PCI driver a kernel can have"), "\(run.status) \(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: host.root.appendingPathComponent("etc/udev/rules.d/61-gpuprep-vfio.rules").path))
        #expect(try String(contentsOf: host.root.appendingPathComponent(host.devicePath("0000:07:00.0") + "/driver_override"), encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines) == "(null)")
    }

    /// A type name with terminal escapes (set the window title, clear the screen) is shown, not
    /// obeyed: every control character is written as \xNN, in tables, plans and messages.
    @Test func controlCharactersFromTheTreeAreShownNotObeyed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-escapes-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try Catalog.build("vgpu-mdev", at: dir, data: Fixtures.data)
        let types = dir.appendingPathComponent("sys/bus/pci/devices/0000:41:00.0/mdev_supported_types")
        let first = try #require(try FileManager.default.contentsOfDirectory(atPath: types.path).sorted().first)
        try "GRID\u{1b}]0;pwned\u{07}\u{1b}[2J\u{9b}6n RTX6000-1Q\n".write(to: types.appendingPathComponent("\(first)/name"), atomically: true, encoding: .utf8)
        let run = try Run.gpuprep(["types", "--root", dir.path], environment: ["GPUPREP_PCI_IDS": Fixtures.pciIDs])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("GRID\\x1b]0;pwned\\x07\\x1b[2J\\x9b6n RTX6000-1Q"), "\(run.stdout.prefix(600))")
        #expect(!run.stdout.utf8.contains(0x1b) && !run.stdout.utf8.contains(0x07))
    }

    /// The host driver's module, as the tree links it, goes into a softdep line: a name with a new
    /// line (a second modprobe statement) is refused before anything is written.
    @Test func aModuleNameFromTheTreeIsCheckedBeforeItIsWritten() throws {
        let (host, _) = try bindHost("hostile-module-name")
        defer { try? FileManager.default.removeItem(at: host.root) }
        // No modalias, so no index lookup: the module is the one its driver links to.
        let device = host.root.appendingPathComponent(host.devicePath("0000:05:00.0"))
        try? FileManager.default.removeItem(at: device.appendingPathComponent("modalias"))
        let uevent = try String(contentsOf: device.appendingPathComponent("uevent"), encoding: .utf8)
        try uevent.split(separator: "\n").filter { !$0.hasPrefix("MODALIAS=") }.map { $0 + "\n" }.joined()
            .write(to: device.appendingPathComponent("uevent"), atomically: true, encoding: .utf8)
        let link = host.root.appendingPathComponent("sys/bus/pci/drivers/xhci_hcd/module")
        try? FileManager.default.removeItem(at: link)
        try FileManager.default.createDirectory(at: host.root.appendingPathComponent("sys/module/xhci\ninstall vfio_pci evil"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "../../../../module/xhci\ninstall vfio_pci evil")
        let run = try Run.gpuprep(["bind", "0000:05:00.0", "--persist", "--force", "--root", host.path])
        #expect(run.status == 66 && run.stderr.contains("/sys/bus/pci/drivers/xhci_hcd/module names a module 'xhci\\x0ainstall vfio_pci evil'"), "\(run.status) \(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: host.root.appendingPathComponent("etc/modprobe.d/gpuprep-vfio.conf").path))
        #expect(host.driver(of: "0000:05:00.0") == "xhci_hcd")
    }

    /// A type directory whose name no kernel type can have (a new line and a section header) is
    /// no type: it is neither listed nor written into Nova's configuration.
    @Test func aTypeNameFromTheTreeIsNoSectionOfAnExport() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-type-id-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try Catalog.build("vgpu-mdev", at: dir, data: Fixtures.data)
        let types = dir.appendingPathComponent("sys/bus/pci/devices/0000:41:00.0/mdev_supported_types")
        let first = try #require(try FileManager.default.contentsOfDirectory(atPath: types.path).sorted().first)
        try FileManager.default.copyItem(at: types.appendingPathComponent(first), to: types.appendingPathComponent("nvidia-1]\n[DEFAULT]\ntransport_url=rabbit:"))
        for command in [["types"], ["export", "nova"]] {
            let run = try Run.gpuprep(command + ["--root", dir.path], environment: ["GPUPREP_PCI_IDS": Fixtures.pciIDs])
            #expect(run.status == 0, "\(command) \(run.stderr)")
            #expect(!run.stdout.contains("[DEFAULT]") && !run.stdout.contains("transport_url"), "\(command) \(run.stdout.prefix(800))")
        }
    }

    /// A record line someone put in the rules file is parsed, and one whose names are no driver's
    /// is no record: it is never written back as a live rule.
    @Test func aForgedRecordIsNotARecord() {
        let rules = """
        # gpuprep-device address=0000:07:00.0 driver=x",RUN+="/bin/evil module=vfio_pci host=
        # gpuprep-device address=0000:08:00.0 driver=vfio-pci module=vfio_pci host=nouveau,x"y
        """
        let parsed = PersistentBindings.parse(rules)
        #expect(parsed.map(\.address.description) == ["0000:08:00.0"] && parsed.first?.hostModules == ["nouveau"])
    }

    /// The boot unit's program as systemd reads ExecStart=: an install path with a space or a `%`
    /// names that program, not another.
    @Test func theUnitQuotesItsProgram() {
        #expect(BootUnit.execWord("/usr/local/bin/gpuprep") == "/usr/local/bin/gpuprep")
        #expect(BootUnit.execWord("/opt/my tools/100%/gpuprep") == "\"/opt/my tools/100%%/gpuprep\"")
        #expect(BootUnit.execWord("/srv/$HOME/a\"b\\c") == "\"/srv/$$HOME/a\\\"b\\\\c\"")
        #expect(BootUnit.text(binary: "/opt/my tools/gpuprep").contains("\nExecStart=\"/opt/my tools/gpuprep\" apply --boot --wait 120\n"))
    }
}

/// A file of the tree hard-linked to one outside it: RESOLVE_IN_ROOT does not see hard links, so
/// gpuprep looks at the link count before it writes.
@Suite struct HardLinkTests {
    @Test(arguments: ["driver_override", "lock"])
    func aHardLinkOutOfTheRootIsNotWrittenThrough(target: String) throws {
        let (host, _) = try bindHost("hardlink-\(target)")
        defer { try? FileManager.default.removeItem(at: host.root) }
        // The outside file must be on the same file system: beside the tree.
        let outside = host.root.deletingLastPathComponent().appendingPathComponent("gpuprep-outside-\(UUID().uuidString)")
        try "precious\n".write(to: outside, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: outside) }
        let inside = target == "lock" ? "run/gpuprep.lock" : host.devicePath("0000:07:00.0") + "/driver_override"
        try FileManager.default.createDirectory(at: host.root.appendingPathComponent(inside).deletingLastPathComponent(), withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: host.root.appendingPathComponent(inside))
        #expect(link(outside.path, host.root.appendingPathComponent(inside).path) == 0)
        let run = try Run.gpuprep(["bind", "0000:07:00.0", "--root", host.path])
        #expect(run.status == 74 && run.stderr.contains("hard links"), "\(run.status) \(run.stderr)")
        #expect(try String(contentsOf: outside, encoding: .utf8) == "precious\n")
    }
}

/// The host's layout file is read inside the root: a link out of the tree is not followed out,
/// and the outside file's content is neither applied nor echoed.
@Suite struct RootedLayoutFileTests {
    @Test func aLayoutFileLinkedOutOfTheTreeIsNotRead() throws {
        let (host, _) = try bindHost("layout-link")
        defer { try? FileManager.default.removeItem(at: host.root) }
        let outside = host.root.deletingLastPathComponent().appendingPathComponent("gpuprep-outside-\(UUID().uuidString).yaml")
        try "version: 1\nsecret-key: hunter2\n".write(to: outside, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: outside) }
        try FileManager.default.createDirectory(at: host.root.appendingPathComponent("etc/gpuprep"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: host.root.appendingPathComponent("etc/gpuprep/gpuprep.yaml").path, withDestinationPath: outside.path)
        let run = try Run.gpuprep(["apply", "--check", "--root", host.path])
        #expect(run.status == 66 && run.stderr.contains("no layout file /etc/gpuprep/gpuprep.yaml") && !run.stderr.contains("hunter2"), "\(run.status) \(run.stderr)")
        #expect(try LayoutStore.load(root: try HostRoot(host.path)) == nil)
    }
}

/// What crashed gpuprep rather than being said (exit 134, 132): an error now, with its status.
@Suite struct NoCrashTests {
    /// A devices folder libpci cannot open (as a normal user, one without read permission).
    @Test func aDevicesFolderLibpciCannotOpenIsAnError() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { return }
        let (host, _) = try bindHost("unreadable-devices")
        defer { try? FileManager.default.removeItem(at: host.root) }
        let binary = host.root.deletingLastPathComponent().appendingPathComponent("gpuprep-\(UUID().uuidString)")
        try FileManager.default.copyItem(atPath: Run.gpuprep, toPath: binary.path)
        defer { try? FileManager.default.removeItem(at: binary) }
        #expect(chmod(binary.path, 0o755) == 0 && chmod(host.root.appendingPathComponent("sys/bus/pci/devices").path, 0) == 0)
        let run = try Run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", binary.path, "list", "--root", host.path])
        #expect(run.status == 74 && run.stderr.contains("libpci: Cannot open"), "\(run.status) \(run.stderr.prefix(300))")
    }

    /// GPUPREP_WRITE_TIMEOUT past what the deadline timer holds: clamped, not a crash at the first write.
    @Test(arguments: ["inf", "nan", "1e300", "2147484"])
    func anyWriteTimeoutIsClamped(value: String) throws {
        let (host, _) = try bindHost("timeout-\(value)")
        defer { try? FileManager.default.removeItem(at: host.root) }
        let run = try Run.gpuprep(["bind", "0000:07:00.0", "--root", host.path], environment: ["GPUPREP_WRITE_TIMEOUT": value])
        // No kernel acts on the tree: the bind is verified, found undone, and rolled back.
        #expect(run.status == 74 && run.stderr.contains("rolled back"), "\(run.status) \(run.stderr.prefix(300))")
    }
}

@Suite struct BoundedChangeTests {
    /// The probe binds a second after drivers_probe returns: the bind waits for it, within the
    /// verify window, and succeeds.
    @Test func aProbeThatBindsLateIsWaitedFor() throws {
        let (host, _) = try bindHost("late-probe")
        let kernel = try LateProbe(host, "0000:07:00.0", after: 1.0)
        defer { kernel.release() }
        let started = Date()
        let run = try Run.gpuprep(["bind", "0000:07:00.0", "--root", host.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(Date().timeIntervalSince(started) >= 1.0, "the driver link came a second after the probe")
        #expect(host.driver(of: "0000:07:00.0") == "vfio-pci")
    }

    /// The probe binds only after the 3 s verify window: the bind fails, says the kernel bound
    /// nothing, and puts the override back.
    @Test func aProbePastTheVerifyWindowIsRolledBack() throws {
        let (host, _) = try bindHost("probe-too-late")
        let kernel = try LateProbe(host, "0000:07:00.0", after: 8.0)
        defer { kernel.release() }
        let run = try Run.gpuprep(["bind", "0000:07:00.0", "--root", host.path])
        #expect(run.status == 74, "\(run.stderr)")
        #expect(run.stderr.contains("the kernel reported success but bound nothing") && run.stderr.contains("rolled back"), "\(run.stderr)")
        #expect(host.driver(of: "0000:07:00.0") == nil)
        let override = try String(contentsOfFile: host.root.appendingPathComponent(host.devicePath("0000:07:00.0") + "/driver_override").path, encoding: .utf8)
        #expect(override.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty || override.hasPrefix("(null)"), "\(override)")
    }


    func overridePath(_ host: FakeHost) -> String {
        host.root.appendingPathComponent(host.devicePath("0000:07:00.0") + "/driver_override").path
    }

    @Test func aWriteThatBlocksEndsAtItsDeadlineAndSaysWhatIsLeft() throws {
        let (host, _) = try bindHost("blocked")
        try host.addProcess(pid: 4321, name: "qemu-system-x86", openFiles: ["/dev/vfio/7"], arguments: ["qemu-system-x86_64", "-name", "guest=vm7"])
        let lease = try BlockingAttribute(overridePath(host), seconds: 60)
        defer { lease.release() }
        let start = Date()
        let run = try Run.gpuprep(["bind", "0000:07:00.0", "--force", "--root", host.path], environment: ["GPUPREP_WRITE_TIMEOUT": "1"])
        #expect(Date().timeIntervalSince(start) < 15)
        #expect(run.status == 70, "\(run.stderr)")
        #expect(run.stderr.contains("still blocked in the kernel after 1 s"), "\(run.stderr)")
        #expect(run.stderr.contains("/dev/vfio/7 is held by qemu-system-x86 (pid 4321, VM vm7)"), "\(run.stderr)")
        #expect(run.stderr.contains("left: 0000:07:00.0 is on no driver"), "\(run.stderr)")
    }

    @Test func sigtermFinishesTheStepThenRollsBack() throws {
        let (host, _) = try bindHost("sigterm")
        let path = overridePath(host)
        let before = try String(contentsOfFile: path, encoding: .utf8)
        let lease = try BlockingAttribute(path, seconds: 1.5)
        defer { lease.release() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Run.gpuprep)
        process.arguments = ["bind", "0000:07:00.0", "--root", host.path]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        usleep(500_000)
        process.terminate()   // SIGTERM while the override write waits
        let said = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 74, "\(said)")
        #expect(said.contains("interrupted by SIGTERM") && said.contains("rolled back"), "\(said)")
        // Cleared, as the kernel reads an empty override back: "(null)".
        func cleared(_ text: String) -> String { let t = text.trimmingCharacters(in: .whitespacesAndNewlines); return t.isEmpty ? "(null)" : t }
        #expect(cleared(try String(contentsOfFile: path, encoding: .utf8)) == cleared(before))
    }

    /// SIGTERM while the bind's last step waits for the kernel to bind the device: the kernel then
    /// binds it and the step succeeds, but the change is still rolled back and said so, not exit 0.
    @Test func sigtermDuringTheLastStepStillRollsBack() throws {
        let (host, _) = try bindHost("sigterm-last")
        let kernel = try LateProbe(host, "0000:07:00.0", after: 1.0)
        defer { kernel.release() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Run.gpuprep)
        process.arguments = ["bind", "0000:07:00.0", "--root", host.path]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        usleep(500_000)
        process.terminate()   // SIGTERM while the bind waits for the driver link
        let said = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 74, "\(said)")
        #expect(said.contains("interrupted by SIGTERM") && said.contains("rolled back"), "\(said)")
        #expect(host.driver(of: "0000:07:00.0") == nil, "the device is put back on no driver")
    }

    @Test func aHostDriverIsNoBindTarget() throws {
        let run = try Run.gpuprep(["bind", "0000:01:00.0", "--driver", "nouveau", "--dry-run", "--root", Fixtures.host("desktop-b550")])
        #expect(run.status == 64 && run.stderr.contains("'nouveau' is not a VFIO driver"), "\(run.stderr)")
    }

    @Test func theLockIsWaitedForAndSaidSo() throws {
        let (host, _) = try bindHost("lock-wait")
        try host.mkdir("run")
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = [host.root.appendingPathComponent("run/gpuprep.lock").path, "sleep", "2"]
        try holder.run()
        usleep(300_000)
        let dry = try Run.gpuprep(["bind", "0000:07:00.0", "--dry-run", "--root", host.path])
        #expect(dry.status == 0 && dry.stderr.contains("another gpuprep is changing this host now"), "\(dry.stderr)")
        let run = try Run.gpuprep(["bind", "0000:07:00.0", "--root", host.path])
        #expect(run.stderr.contains("waiting up to 10 s for another gpuprep to finish"), "\(run.stderr)")
        holder.waitUntilExit()
    }

    @Test func aRollbackRemovesTheDirectoriesItMade() throws {
        let (host, kernel) = try bindHost("rollback-dirs")
        kernel.failingFile = "/etc/systemd/system/gpuprep-apply.service"
        let planner = try BindPlanner(host: try HostContext(root: host.path))
        let outcome = try apply(try planner.planBind([PCIAddress("07:00.0")!], driver: .vfioPCI, companions: true, force: false, persist: true), host, kernel)
        #expect(outcome.failure?.code == .applyFailed)
        for directory in ["etc/udev", "etc/modules-load.d", "etc/modprobe.d", "etc/gpuprep", "etc/systemd"] {
            #expect(!host.exists(directory), "\(directory) was left behind")
        }
    }
}

/// /etc/default/grub as written in the wild. After `check --fix` the shell (bash, which is what
/// grub-mkconfig runs) must read every argument the file had, plus the IOMMU ones; a second
/// `--fix` finds nothing to do; the first backup is the original, with its mode.
/// Reads of the attributes the kernel shows under a device's lock (LockedAttributes): one that
/// waits past the deadline is reported busy, and the ones after it are still read. A write lease
/// held by another process, which makes every open of the file wait, stands in for
/// driver_override while an unbind holds the device's lock.
@Suite struct LockedAttributeTests {
    @Test func aReadStillWaitingAtTheDeadlineIsBusyAndTheRestAreRead() throws {
        let dir = FileManager.default.temporaryDirectory.appending(path: "gpuprep-locked-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, value) in [("driver_override", "vfio-pci\n"), ("held", "nvidia\n"), ("sriov_numvfs", "3\n")] {
            try value.write(to: dir.appending(path: name), atomically: true, encoding: .utf8)
        }
        try FileManager.default.createSymbolicLink(atPath: dir.appending(path: "linked").path, withDestinationPath: "driver_override")
        #expect(mkfifo(dir.appending(path: "fifo").path, 0o600) == 0)
        let lease = try BlockingAttribute(dir.appending(path: "held").path, seconds: 60, write: true)
        defer { lease.release() }

        var reads = LockedAttributes(root: try HostRoot(dir.path), deadline: 0.5)
        let slots = ["driver_override", "held", "sriov_numvfs", "no_such_attribute", "linked", "fifo"].map { reads.add(HostPath.trusted("/" + $0)) }
        let started = ContinuousClock.now
        let readings = reads.readAll()
        let took = ContinuousClock.now - started

        #expect(readings[slots[0]] == .value("vfio-pci"))
        #expect(readings[slots[1]] == .busy)
        #expect(readings[slots[2]] == .value("3"))
        #expect(readings[slots[3]] == .unreadable)
        #expect(readings[slots[4]] == .unreadable, "a link where an attribute should be is not followed")
        #expect(readings[slots[5]] == .unreadable, "a FIFO is not read, nor waited on")
        #expect(took < .seconds(3), "a busy read is given up at its deadline, not waited for: \(took)")
    }

    /// `list` beside a device whose lock the kernel holds (here: a lease on its uevent and
    /// driver_override): done within the deadline, the device still listed with what reads
    /// without the lock, and what could not be read said.
    @Test func listDoesNotWaitForABusyDevice() throws {
        let (host, _) = try vgpuHost("vgpu-l40s-sriov")
        defer { try? FileManager.default.removeItem(at: host.root) }
        let device = host.root.appendingPathComponent(host.devicePath("0000:26:00.0")).path
        let leases = try ["uevent", "driver_override"].map { try BlockingAttribute(device + "/" + $0, seconds: 60, write: true) }
        defer { leases.forEach { $0.release() } }
        let started = Date()
        let run = try Run.gpuprep(["list", "0000:26:00.0", "--json", "--root", host.path])
        #expect(Date().timeIntervalSince(started) < 8, "one deadline of 2 s, not the lease's 45 s break time")
        #expect(run.status == 0, "\(run.stderr)")
        let listed = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let gpu = try #require((listed["devices"] as? [[String: Any]])?.first)
        // Its ids read without the lock (its name depends on the machine's pci.ids: Debian 12's predates the L40S).
        #expect(gpu["vendorId"] as? String == "10de" && gpu["deviceId"] as? String == "26b9" && gpu["kind"] as? String == "gpu")
        #expect(gpu["driver"] as? String == "nvidia")
        #expect((gpu["sriov"] as? [String: Any])?["numVFs"] as? Int == 4, "counted from the virtfn links")
        let problems = gpu["problems"] as? [String] ?? []
        #expect(problems.contains { $0.hasPrefix("driver_override unreadable: the kernel holds this device") }, "\(problems)")
    }

    /// A link's target joined to its directory's resolved place, as the kernel would walk it.
    @Test(arguments: [
        ("/sys/devices/pci0000:25/0000:25:01.0/0000:26:00.6/../../../../../sys/bus/pci/drivers/nvidia", "/sys/bus/pci/drivers/nvidia"),
        ("/sys/devices/x/../../../../../../etc/passwd", "/etc/passwd"),
        ("/a//b/./c/", "/a/b/c"),
        ("/..", "/"),
        ("/", "/"),
    ])
    func linkTargetsJoinTheirDirectoryAsTheKernelWalksThem(joined: String, expected: String) {
        #expect(HostPath.normalized(joined) == expected)
    }
}

@Suite struct GrubInTheWildTests {
    static let files: [(name: String, text: String)] = [
        ("backslash continuation", "GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash \\\n    crashkernel=512M resume=UUID=1234\"\nGRUB_CMDLINE_LINUX=\"\"\n"),
        ("unquoted continuation", "GRUB_CMDLINE_LINUX_DEFAULT=quiet\\ \\\nsplash\nGRUB_CMDLINE_LINUX=rd.lvm.lv=vg/root\n"),
        ("open quote over lines", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\n  crashkernel=auto resume=/dev/mapper/swap\n  rd.lvm.lv=rhel/root\"\n"),
        ("single quotes over lines", "GRUB_CMDLINE_LINUX_DEFAULT='quiet\nsplash'\n"),
        ("CRLF", "GRUB_DEFAULT=0\r\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash\"\r\nGRUB_CMDLINE_LINUX=\"\"\r\n"),
        ("both quotes and comments", "# set by the installer\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"' splash' # keep\n#GRUB_CMDLINE_LINUX_DEFAULT=\"nomodeset\"\n"),
        ("no trailing newline", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash\""),
        ("self-reference", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT splash\"\n"),
        ("unquoted variable", "BASE=\"crashkernel=256M quiet\"\nGRUB_CMDLINE_LINUX_DEFAULT=$BASE\n"),
        ("export and two on a line", "export GRUB_TIMEOUT=3 GRUB_CMDLINE_LINUX_DEFAULT=\"quiet resume=/dev/sda2\"\n"),
    ]

    /// What bash reads from the file: both command line variables, as words.
    func shellArguments(_ path: String) throws -> [String] {
        let run = try Run("/bin/bash", ["-c", ". \"$1\"; printf '%s ' \"$GRUB_CMDLINE_LINUX\" \"$GRUB_CMDLINE_LINUX_DEFAULT\"", "bash", path])
        #expect(run.status == 0, "\(run.stderr)")
        return run.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\r" }).map(String.init)
    }

    func host(_ text: String) throws -> FakeHost {
        let h = try Fixtures.scratch("grub-wild")
        try h.setCPU(vendor: "GenuineIntel", flags: ["vmx"])
        try h.setRunningCommandLine("ro quiet")
        try h.mkdir("etc/default")
        try h.writeData("etc/default/grub", Data(text.utf8))
        return h
    }

    @Test(arguments: files.indices)
    func everyArgumentIsKept(index: Int) throws {
        let (name, text) = Self.files[index]
        let h = try host(text)
        let path = h.root.appendingPathComponent("etc/default/grub").path
        let before = try shellArguments(path)
        let run = try Run.gpuprep(["check", "--fix", "--root", h.path])
        #expect(run.status == 0, "\(name): \(run.stderr)")
        let after = try shellArguments(path)
        let edited = try String(contentsOfFile: path, encoding: .utf8)
        #expect(after == before + ["intel_iommu=on", "iommu=pt"], "\(name): \(edited)")
        let again = try Run.gpuprep(["check", "--fix", "--root", h.path])
        #expect(again.stdout.contains("Nothing to fix"), "\(name): \(again.stdout)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path + ".gpuprep-bak")) == Data(text.utf8), "\(name)")
    }

    @Test func aCRLFFileKeepsItsLineEnds() throws {
        let h = try host("GRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash\"\r\n")
        _ = try Run.gpuprep(["check", "--fix", "--root", h.path])
        let text = try String(contentsOf: h.root.appendingPathComponent("etc/default/grub"), encoding: .utf8)
        #expect(text == "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet splash intel_iommu=on iommu=pt\"\r\n")
    }

    @Test func aSymlinkedFileIsEditedThroughItsLinkAndTheBackupKeepsMode() throws {
        let h = try host("")
        try h.write("srv/config/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n")
        let real = h.root.appendingPathComponent("srv/config/grub").path
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: real)
        let link = h.root.appendingPathComponent("etc/default/grub").path
        try FileManager.default.removeItem(atPath: link)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "../../srv/config/grub")
        let run = try Run.gpuprep(["check", "--fix", "--root", h.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == "../../srv/config/grub")
        #expect(try String(contentsOfFile: real, encoding: .utf8) == "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on iommu=pt\"\n")
        #expect(try FileManager.default.attributesOfItem(atPath: real)[.posixPermissions] as? Int == 0o600)
        #expect(try FileManager.default.attributesOfItem(atPath: link + ".gpuprep-bak")[.posixPermissions] as? Int == 0o600)
        #expect(try String(contentsOfFile: link + ".gpuprep-bak", encoding: .utf8) == "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n")
    }

    @Test func theFirstBackupIsNeverReplaced() throws {
        let h = try host("GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n")
        try h.write("etc/default/grub.gpuprep-bak", "the original\n")
        _ = try Run.gpuprep(["check", "--fix", "--root", h.path])
        #expect(try String(contentsOf: h.root.appendingPathComponent("etc/default/grub.gpuprep-bak"), encoding: .utf8) == "the original\n")
    }
}

@Suite struct RootedModuleConfigTests {
    /// libkmod reads the running kernel's /proc/cmdline whatever the root: a `modprobe.blacklist=`
    /// there must not count as the tree's. Shown by running gpuprep in a mount namespace whose
    /// /proc/cmdline blacklists nouveau, against a host that does not.
    @Test func theLiveCommandLineIsNotTheRootsBlacklist() throws {
        let cmdline = FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-cmdline-\(UUID().uuidString)")
        try "ro modprobe.blacklist=nouveau\n".write(to: cmdline, atomically: true, encoding: .utf8)
        let run = try Run("/usr/bin/unshare", ["-m", "sh", "-c", "mount --bind \"$1\" /proc/cmdline && exec \"$2\" check --root \"$3\"", "sh",
                                               cmdline.path, Run.gpuprep, Fixtures.host("vgpu-l40s-sriov")])
        guard !run.stderr.contains("unshare:") && !run.stderr.contains("mount:") else { return }   // no mount namespace here
        #expect(run.stdout.contains("nouveau is not blacklisted"), "\(run.stdout)")
    }
}
