import Foundation

/// The fixture hosts tests and the bundled examples use. Each is built from real data
/// (see Tests/Fixtures/data/SOURCES.md) or modelled on a documented real machine.
public enum Catalog {
    public static let names = ["desktop-b550", "dgx-a100", "vgpu-l40s-sriov", "vgpu-mdev", "t4-server", "p6t6-no-iommu",
                               "laptop-gtx765m", "plx-rtx2080ti", "vgpu-a2-t4-busy", "gh200-arm64", "stacks-mix", "dgx-a100-services"]

    /// Builds the named host under `root`. `data` is the folder with the real data files.
    public static func build(_ name: String, at root: URL, data: URL) throws -> FakeHost {
        switch name {
        case "desktop-b550": return try desktopB550(root)
        case "dgx-a100": return try dgxA100(root)
        case "dgx-a100-services": return try dgxA100Services(root)
        case "vgpu-l40s-sriov": return try vgpuL40S(root, data: data)
        case "vgpu-mdev": return try vgpuMdev(root, data: data)
        case "vgpu-a2-t4-busy": return try vgpuA2T4Busy(root, data: data)
        case "gh200-arm64": return try gh200(root)
        case "stacks-mix": return try stacksMix(root, data: data)
        case "t4-server": return try t4Server(root, data: data)
        case "p6t6-no-iommu": return try p6t6(root, data: data)
        case "laptop-gtx765m":
            return try fromGroupListing(root, data: data, file: "MobilePassThrough-issue7_GTX765M_laptop_excerpt.txt",
                                        gpuDriver: "nvidia", parents: ["01": "00:01.0"])
        case "plx-rtx2080ti":
            return try fromGroupListing(root, data: data, file: "kata-containers-issue6779_8xRTX2080Ti_excerpt.txt",
                                        gpuDriver: "vfio-pci", parents: ["1b": "19:08.0", "1c": "19:0c.0"], acsPorts: true)
        default: throw FixtureError("no fixture host named \(name)")
        }
    }

    /// Modules that drive the functions of these hosts, with the aliases their real builds carry.
    static let commonModules = [
        FakeModule("nouveau", aliases: ["pci:v000010DEd*sv*sd*bc03sc*i*", "pci:v000012D2d*sv*sd*bc03sc*i*"]),
        // nvidia.ko also provides the nvidia-nvswitch driver.
        FakeModule("nvidia", aliases: ["pci:v000010DEd*sv*sd*bc03sc00i00", "pci:v000010DEd*sv*sd*bc03sc02i00",
                                       "pci:v000010DEd*sv*sd*bc06sc80i00"]),
        FakeModule("snd_hda_intel", aliases: ["pci:v000010DEd*sv*sd*bc04sc03i00", "pci:v00001022d00001487sv*sd*bc*sc*i*",
                                                "pci:v00008086d00003A6Esv*sd*bc*sc*i*"]),
        FakeModule("xhci_pci", aliases: ["pci:v*d*sv*sd*bc0Csc03i30"]),
        FakeModule("ehci_pci", aliases: ["pci:v*d*sv*sd*bc0Csc03i20"]),
        FakeModule("uhci_hcd", aliases: ["pci:v*d*sv*sd*bc0Csc03i00"]),
        FakeModule("i2c_nvidia_gpu", aliases: ["pci:v000010DEd*sv*sd*bc0Csc80i00"]),
        FakeModule("ahci", aliases: ["pci:v*d*sv*sd*bc01sc06i01"]),
        FakeModule("r8169", aliases: ["pci:v000010ECd00008168sv*sd*bc*sc*i*", "pci:v000010ECd00008125sv*sd*bc*sc*i*"]),
        FakeModule("mlx5_core", aliases: ["pci:v000015B3d0000101Bsv*sd*bc*sc*i*"]),
        FakeModule("i2c_piix4", aliases: ["pci:v00001022d0000790Bsv*sd*bc*sc*i*"]),
        FakeModule("ccp", aliases: ["pci:v00001022d00001486sv*sd*bc*sc*i*"]),
        FakeModule("vfio_pci", aliases: ["vfio_pci:v*d*sv*sd*bc*sc*i*"]),
        FakeModule("vfio", aliases: []),
        FakeModule("vfio_iommu_type1", aliases: []),
    ]

    static let bootImage = "BOOT_IMAGE=/boot/vmlinuz-6.1.0-fixture-amd64"

    // MARK: desktop-b550: a gaming desktop, GT 710 for the host and RTX 2070 SUPER for a VM

    /// IOMMU groups, ids and names from a real MSI B550M MORTAR listing (vga-passthrough, CC BY-SA 4.0).
    /// The RTX 2070 SUPER is on vfio-pci but its HDMI audio was left on snd_hda_intel, the
    /// classic trap; the GT 710 shares group 13 with the chipset's USB, SATA and NIC.
    static func desktopB550(_ root: URL) throws -> FakeHost {
        let host = try FakeHost(root: root)
        let amd: UInt16 = 0x1022, nv: UInt16 = 0x10de
        // The CPU's root ports enforce ACS; the 500-series chipset switch below 00:01.2 has none on its
        // downstream ports, which is why its USB, SATA, NIC and the GT 710 share group 13.
        let ports: [String: (type: UInt8, acs: UInt16?)] = [
            "00:01.2": (4, 0x001d), "00:03.1": (4, 0x001d), "00:07.1": (4, 0x001d), "00:08.1": (4, 0x001d),
            "02:00.2": (5, nil), "03:00.0": (6, nil), "03:09.0": (6, nil),
        ]
        func f(_ a: String, _ v: UInt16, _ d: UInt16, _ c: UInt32, _ drv: String?, _ g: Int, parent: String? = nil) throws {
            var function = FakeFunction("0000:" + a, vendor: v, device: d, classCode: c, driver: drv, group: g,
                                        parent: parent.map { "0000:" + $0 })
            if let port = ports[a] { function.pcieType = port.type; function.acsControl = port.acs }
            try host.add(function)
        }
        try f("00:01.0", amd, 0x1482, 0x060000, nil, 0)
        try f("00:01.2", amd, 0x1483, 0x060400, "pcieport", 1)
        try f("00:02.0", amd, 0x1482, 0x060000, nil, 2)
        try f("00:03.0", amd, 0x1482, 0x060000, nil, 3)
        try f("00:03.1", amd, 0x1483, 0x060400, "pcieport", 4)
        try f("00:04.0", amd, 0x1482, 0x060000, nil, 5)
        try f("00:05.0", amd, 0x1482, 0x060000, nil, 6)
        try f("00:07.0", amd, 0x1482, 0x060000, nil, 7)
        try f("00:07.1", amd, 0x1484, 0x060400, "pcieport", 8)
        try f("00:08.0", amd, 0x1482, 0x060000, nil, 9)
        try f("00:08.1", amd, 0x1484, 0x060400, "pcieport", 10)
        try f("00:14.0", amd, 0x790b, 0x0c0500, "piix4_smbus", 11)
        try f("00:14.3", amd, 0x790e, 0x060100, nil, 11)
        for fn in 0...7 { try f("00:18.\(fn)", amd, 0x1440 + UInt16(fn), 0x060000, fn == 3 ? "k10temp" : nil, 12) }
        try f("02:00.0", amd, 0x43ee, 0x0c0330, "xhci_hcd", 13, parent: "00:01.2")
        try f("02:00.1", amd, 0x43eb, 0x010601, "ahci", 13, parent: "00:01.2")
        try f("02:00.2", amd, 0x43e9, 0x060400, "pcieport", 13, parent: "00:01.2")
        try f("03:00.0", amd, 0x43ea, 0x060400, "pcieport", 13, parent: "02:00.2")
        try f("03:09.0", amd, 0x43ea, 0x060400, "pcieport", 13, parent: "02:00.2")
        var gt710 = FakeFunction("0000:04:00.0", vendor: nv, device: 0x128b, classCode: 0x030000, driver: "nouveau",
                                 group: 13, parent: "0000:03:00.0")
        gt710.bootVGA = true
        gt710.resetMethods = "bus"
        try host.add(gt710)
        try f("04:00.1", nv, 0x0e0f, 0x040300, "snd_hda_intel", 13, parent: "03:00.0")
        try f("2a:00.0", 0x10ec, 0x8125, 0x020000, "r8169", 13, parent: "03:09.0")
        var rtx = FakeFunction("0000:2b:00.0", vendor: nv, device: 0x1e84, classCode: 0x030000, driver: "vfio-pci",
                               group: 14, parent: "0000:00:03.1")
        rtx.driverOverride = "vfio-pci"
        rtx.resetMethods = "flr bus"
        try host.add(rtx)
        try f("2b:00.1", nv, 0x10f8, 0x040300, "snd_hda_intel", 14, parent: "00:03.1")
        try f("2b:00.2", nv, 0x1ad8, 0x0c0330, "xhci_hcd", 14, parent: "00:03.1")
        try f("2b:00.3", nv, 0x1ad9, 0x0c8000, "nvidia-gpu", 14, parent: "00:03.1")
        try f("2c:00.0", amd, 0x148a, 0x130000, nil, 15, parent: "00:07.1")
        try f("2d:00.0", amd, 0x1485, 0x130000, nil, 16, parent: "00:08.1")
        try f("2d:00.1", amd, 0x1486, 0x108000, "ccp", 17, parent: "00:08.1")
        try f("2d:00.3", amd, 0x149c, 0x0c0330, "xhci_hcd", 18, parent: "00:08.1")
        try f("2d:00.4", amd, 0x1487, 0x040300, "snd_hda_intel", 19, parent: "00:08.1")
        try host.addModules(commonModules)
        // A Debian desktop on AMD: iommu=pt was added to GRUB and update-grub run, but not rebooted yet.
        try host.setCPU(vendor: "AuthenticAMD", flags: ["svm", "npt"])
        try host.addIOMMUFirmware(table: "IVRS", units: ["ivhd0"])
        try host.setRunningCommandLine("\(bootImage) root=UUID=2f6c6b4e-9a3b-4c0e-8f1e-5b7d0c1a2e3f ro quiet")
        try host.write("etc/default/grub", """
            # If you change this file, run 'update-grub' afterwards to update
            # /boot/grub/grub.cfg.
            GRUB_DEFAULT=0
            GRUB_TIMEOUT=5
            GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`
            GRUB_CMDLINE_LINUX_DEFAULT="quiet iommu=pt"
            GRUB_CMDLINE_LINUX=""
            """)
        try host.write("usr/sbin/update-grub", "#!/bin/sh\n")
        try host.loadModules(["vfio", "vfio_iommu_type1", "vfio_pci", "nouveau"])
        return host
    }

    // MARK: hosts rebuilt from real IOMMU group listings

    /// Any of the usual listing formats (`IOMMU Group N BB:DD.F ...`, or a group header line then
    /// member lines), with the class and ids that `lspci -nn` printed. Drivers follow the class;
    /// `parents` places a bus under a bridge, since the listings do not show the topology.
    static func fromGroupListing(_ root: URL, data: URL, file: String, gpuDriver: String,
                                 parents: [String: String], acsPorts: Bool = false) throws -> FakeHost {
        let host = try FakeHost(root: root)
        let text = try String(contentsOf: data.appendingPathComponent(file), encoding: .utf8)
        let groupPattern = try NSRegularExpression(pattern: #"IOMMU [Gg]roup (\d+)"#)
        let devicePattern = try NSRegularExpression(
            pattern: #"([0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) [^\[]*(?:\[[^\]]*\][^\[]*)*?\[([0-9a-f]{4})\]: .*\[([0-9a-f]{4}):([0-9a-f]{4})\]"#)
        let drivers: [UInt16: String] = [0x0604: "pcieport", 0x0403: "snd_hda_intel", 0x0c03: "xhci_hcd", 0x0c80: "nvidia-gpu",
                                         0x0200: "alx", 0x0280: "ath9k", 0x0104: "ahci", 0x0106: "ahci", 0x0c05: "i801_smbus",
                                         0x0601: "lpc_ich", 0x0780: "mei_me"]
        var group = 0
        for line in text.split(separator: "\n").map(String.init) {
            let range = NSRange(line.startIndex..., in: line)
            if let match = groupPattern.firstMatch(in: line, range: range), let r = Range(match.range(at: 1), in: line) {
                group = Int(line[r]) ?? group
            }
            guard let match = devicePattern.firstMatch(in: line, range: range) else { continue }
            func field(_ i: Int) -> String { String(line[Range(match.range(at: i), in: line)!]) }
            let address = "0000:" + field(1)
            let cls = UInt32(field(2), radix: 16)! << 8 | (field(2) == "0c03" ? 0x30 : 0)
            let vendor = UInt16(field(3), radix: 16)!, device = UInt16(field(4), radix: 16)!
            let driver = cls >> 16 == 0x03 && vendor == 0x10de ? gpuDriver : drivers[UInt16(cls >> 8)]
            let parent = parents[String(field(1).prefix(2))].map { "0000:" + $0 }
            var function = FakeFunction(address, vendor: vendor, device: device, classCode: cls, driver: driver, group: group,
                                        parent: parent)
            if cls >> 8 == 0x0604 { function.pcieType = acsPorts ? 6 : 4; function.acsControl = acsPorts ? 0x001d : nil }
            if cls >> 16 == 0x03 && vendor == 0x10de && gpuDriver == "vfio-pci" { function.driverOverride = "vfio-pci" }
            try host.add(function)
        }
        try host.addModules(commonModules)
        return host
    }

    // MARK: dgx-a100: eight SXM GPUs and six NVSwitches

    /// Modelled on NVIDIA's DGX A100 (addresses and NUMA layout as its user guide shows them):
    /// A100-SXM4-40GB 10de:20b0 behind PCIe switches, NVSwitch 10de:1af1, ConnectX-6 NICs.
    static func dgxA100(_ root: URL) throws -> FakeHost {
        let host = try FakeHost(root: root)
        let gpus = [("07", 3), ("0f", 3), ("47", 1), ("4e", 1), ("87", 7), ("90", 7), ("b7", 5), ("bd", 5)]
        var group = 20
        for (bus, numa) in gpus {
            // The switch's downstream port sits on the bus just before the GPU's.
            let upstream = String(format: "0000:%02x:00.0", Int(bus, radix: 16)! - 1)
            var bridge = FakeFunction(upstream, vendor: 0x1000, device: 0xc010, classCode: 0x060400,
                                      driver: "pcieport", group: group, numa: numa)
            bridge.revision = 0xb0
            bridge.pcieType = 6
            bridge.acsControl = 0x001d
            try host.add(bridge)
            group += 1
            var gpu = FakeFunction("0000:\(bus):00.0", vendor: 0x10de, device: 0x20b0, classCode: 0x030200,
                                   subsystem: (0x10de, 0x134f), driver: "nvidia", group: group, numa: numa, parent: upstream)
            gpu.resetMethods = "flr bus"
            // An A100 can do SR-IOV (20 VFs, for vGPU); passed through whole, it has none enabled.
            gpu.sriovTotalVFs = 20
            try host.add(gpu)
            group += 1
        }
        for (index, bus) in ["c4", "c5", "c6", "c7", "c8", "c9"].enumerated() {
            try host.add(FakeFunction("0000:\(bus):00.0", vendor: 0x10de, device: 0x1af1, classCode: 0x068000,
                                      subsystem: (0x10de, 0x1636), driver: "nvidia-nvswitch", group: 60 + index, numa: 6))
        }
        // The first GPU is on vfio-pci and a running QEMU holds its group open.
        try host.bind("0000:07:00.0", to: "vfio-pci", replacing: "nvidia")
        try host.addProcess(pid: 4242, name: "qemu-system-x86", openFiles: ["/dev/vfio/vfio", "/dev/vfio/21", "/dev/kvm"])
        try host.addProcess(pid: 1, name: "systemd", openFiles: ["/dev/null", "/run/systemd/notify"])
        for (index, bus) in ["0c", "12", "4b", "54", "8d", "94", "ba", "cc"].enumerated() {
            try host.add(FakeFunction("0000:\(bus):00.0", vendor: 0x15b3, device: 0x101b, classCode: 0x020700,
                                      subsystem: (0x15b3, 0x0007), driver: "mlx5_core", group: 70 + index,
                                      numa: gpus[index].1))
        }
        try host.addModules(commonModules, modprobeConfig: ["blacklist-nouveau.conf": "blacklist nouveau\noptions nouveau modeset=0\n"])
        // Ubuntu's layout: the command line is extended in a grub.d drop-in, and it is booted.
        try host.setCPU(vendor: "GenuineIntel", flags: ["vmx", "ept"])
        try host.addIOMMUFirmware(table: "DMAR", units: ["dmar0", "dmar1", "dmar2", "dmar3"])
        try host.setRunningCommandLine("\(bootImage) root=/dev/mapper/vg-root ro intel_iommu=on iommu=pt")
        try host.write("etc/default/grub", "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"\"\nGRUB_CMDLINE_LINUX=\"\"\n")
        try host.write("etc/default/grub.d/50-vfio.cfg", "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT intel_iommu=on iommu=pt\"\n")
        try host.write("usr/sbin/update-grub", "#!/bin/sh\n")
        try host.loadModules(["vfio", "vfio_iommu_type1", "vfio_pci", "nvidia"])
        return host
    }

    // MARK: dgx-a100-services: the same DGX with NVIDIA's services running

    /// dgx-a100 as it runs with NVIDIA's services: nvidia-persistenced holds /dev/nvidiaN of
    /// every GPU left on nvidia (the minor in /proc/driver/nvidia/gpus/ADDR/information), Fabric
    /// Manager the NVSwitches' nodes. Process names as /proc/PID/comm keeps them (15 bytes).
    static func dgxA100Services(_ root: URL) throws -> FakeHost {
        let host = try dgxA100(root)
        var nodes: [String] = []
        for (minor, bus) in ["0f", "47", "4e", "87", "90", "b7", "bd"].enumerated() {
            try host.write("proc/driver/nvidia/gpus/0000:\(bus):00.0/information",
                           "Model: \t\t NVIDIA A100-SXM4-40GB\nIRQ:   \t\t 110\nBus Location: \t 0000:\(bus):00.0\nDevice Minor: \t \(minor)\n")
            nodes.append("/dev/nvidia\(minor)")
        }
        try host.addProcess(pid: 912, name: "nvidia-persiste", openFiles: nodes + ["/dev/nvidiactl"],
                            cgroup: "0::/system.slice/nvidia-persistenced.service")
        try host.addProcess(pid: 913, name: "nv-fabricmanage", openFiles: (0..<6).map { "/dev/nvidia-nvswitch\($0)" } + ["/dev/nvidiactl"],
                            cgroup: "0::/system.slice/nvidia-fabricmanager.service")
        try host.installUnit("nvidia-persistenced.service", description: "NVIDIA Persistence Daemon", enabled: true)
        try host.installUnit("nvidia-fabricmanager.service", description: "NVIDIA fabric manager service", enabled: true)
        return host
    }

    // MARK: vgpu-l40s-sriov: NVIDIA vGPU 17+ on SR-IOV VFs

    /// Two L40S 10de:26b9. The first has 4 VFs enabled; VF 26:00.4 carries the real
    /// `creatable_vgpu_types` captured from an L40S VF (harvester, Apache-2.0), VF 26:00.5 runs an
    /// L40S-24Q (so the others can only take another 24Q, NVIDIA's one-size rule), and VF 26:00.7
    /// answers all ones in config space, as a VF in reset does. The second card has SR-IOV off.
    static func vgpuL40S(_ root: URL, data: URL) throws -> FakeHost {
        let host = try FakeHost(root: root)
        let creatable = try String(contentsOf: data.appendingPathComponent("harvester_L40S-VF_0000-26-00.4_creatable_vgpu_types"), encoding: .utf8)
        let header = creatable.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        try host.add(FakeFunction("0000:25:01.0", vendor: 0x8086, device: 0x352a, classCode: 0x060400, driver: "pcieport", group: 30, numa: 0))
        var pf = FakeFunction("0000:26:00.0", vendor: 0x10de, device: 0x26b9, classCode: 0x030200, subsystem: (0x10de, 0x1851),
                              driver: "nvidia", group: 31, numa: 0, parent: "0000:25:01.0")
        pf.sriovTotalVFs = 32
        pf.resetMethods = "bus"
        try host.add(pf)
        for (index, fn) in ["4", "5", "6", "7"].enumerated() {
            var vf = FakeFunction("0000:26:00.\(fn)", vendor: 0x10de, device: 0x26b9, classCode: 0x030200,
                                  subsystem: (0x10de, 0x1851), driver: "nvidia", group: 32 + index, numa: 0, parent: "0000:25:01.0")
            vf.physfn = "0000:26:00.0"
            if fn == "7" { vf.config = [UInt8](repeating: 0xff, count: 256) }
            try host.add(vf)
            switch fn {
            case "4": try host.addNVIDIAVGPUFiles(vf.address, creatable: header + "\n1155  : NVIDIA L40S-24Q\n", current: "0")
            case "5": try host.addNVIDIAVGPUFiles(vf.address, creatable: header + "\n", current: "1155")
            default: try host.addNVIDIAVGPUFiles(vf.address, creatable: header + "\n1155  : NVIDIA L40S-24Q\n", current: "0")
            }
        }
        var second = FakeFunction("0000:a1:00.0", vendor: 0x10de, device: 0x26b9, classCode: 0x030200, subsystem: (0x10de, 0x1851),
                                  driver: "nvidia", group: 50, numa: 1)
        second.sriovTotalVFs = 32
        second.resetMethods = "bus"
        try host.add(second)
        // The full list, as the first VF of a fresh card shows it: the real capture.
        var third = FakeFunction("0000:c1:00.0", vendor: 0x10de, device: 0x26b9, classCode: 0x030200, subsystem: (0x10de, 0x1851),
                                 driver: "nvidia", group: 60, numa: 1)
        third.resetMethods = "bus"
        try host.add(third)
        try host.setAttribute("0000:c1:00.0", "sriov_totalvfs", "32")
        try host.setAttribute("0000:c1:00.0", "sriov_numvfs", "1")
        var fresh = FakeFunction("0000:c1:00.4", vendor: 0x10de, device: 0x26b9, classCode: 0x030200, subsystem: (0x10de, 0x1851),
                                 driver: "nvidia", group: 61, numa: 1)
        fresh.physfn = "0000:c1:00.0"
        try host.add(fresh)
        try host.addNVIDIAVGPUFiles(fresh.address, creatable: creatable, current: "0")
        try host.addModules(commonModules)
        // RHEL 9: GRUB with BLS entries managed by grubby; no render node, so no vGPU display.
        try host.setCPU(vendor: "GenuineIntel", flags: ["vmx"])
        try host.addIOMMUFirmware(table: "DMAR", units: ["dmar0", "dmar1"])
        try host.setRunningCommandLine("BOOT_IMAGE=(hd0,gpt2)/vmlinuz-6.1.0-fixture-amd64 root=/dev/mapper/rhel-root ro crashkernel=1G-4G:192M intel_iommu=on iommu=pt")
        try host.write("etc/default/grub", "GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX=\"crashkernel=1G-4G:192M rd.lvm.lv=rhel/root\"\nGRUB_ENABLE_BLSCFG=true\n")
        try host.write("boot/loader/entries/0f1e2d3c4b5a69788796a5b4c3d2e1f0-6.1.0-fixture-amd64.conf", """
            title Red Hat Enterprise Linux (6.1.0-fixture-amd64) 9.4 (Plow)
            version 6.1.0-fixture-amd64
            linux /vmlinuz-6.1.0-fixture-amd64
            initrd /initramfs-6.1.0-fixture-amd64.img
            options root=/dev/mapper/rhel-root ro crashkernel=1G-4G:192M intel_iommu=on iommu=pt
            grub_users $grub_users
            """)
        try host.write("boot/grub2/grubenv", "# GRUB Environment Block\nsaved_entry=0f1e2d3c4b5a69788796a5b4c3d2e1f0-6.1.0-fixture-amd64\n")
        try host.installUnit("nvidia-vgpu-mgr.service", description: "NVIDIA vGPU Manager Daemon", enabled: true)
        try host.runVGPUManager()
        try host.loadModules(["vfio", "vfio_iommu_type1", "vfio_pci", "nvidia"])
        return host
    }

    // MARK: vgpu-mdev: vGPU over mdev (before vGPU 17)

    /// A V100 and an RTX 6000 with the real mdev type lists published for them (OpenStack charms, Apache-2.0).
    static func vgpuMdev(_ root: URL, data: URL) throws -> FakeHost {
        let host = try FakeHost(root: root)
        // Both reset through their bridge (secondary bus reset), as data-centre cards of their era do.
        var v100 = FakeFunction("0000:c1:00.0", vendor: 0x10de, device: 0x1db4, classCode: 0x030200, subsystem: (0x10de, 0x1214),
                                driver: "nvidia", group: 80, numa: 1)
        v100.resetMethods = "bus"
        try host.add(v100)
        var rtx6000 = FakeFunction("0000:41:00.0", vendor: 0x10de, device: 0x1e30, classCode: 0x030000, subsystem: (0x10de, 0x12ba),
                                   driver: "nvidia", group: 40, numa: 0)
        rtx6000.resetMethods = "bus"
        try host.add(rtx6000)
        for fn in 1...3 {
            let (device, cls): (UInt16, UInt32) = [(0x10f7, 0x040300), (0x1ad6, 0x0c0330), (0x1ad7, 0x0c8000)][fn - 1]
            try host.add(FakeFunction("0000:41:00.\(fn)", vendor: 0x10de, device: device, classCode: cls, driver: nil, group: 40, numa: 0))
        }
        for (file, parent) in [("charm-guide_vgpu-rst_V100-list-vgpu-types.txt", "0000:c1:00.0"),
                               ("charm-nova-compute-nvidia-vgpu_README_RTX6000-list-vgpu-types.txt", "0000:41:00.0")] {
            let text = try String(contentsOf: data.appendingPathComponent(file), encoding: .utf8)
            try host.addMdevTypes(parent, parseTypeList(text))
        }
        try host.addModules(commonModules, modprobeConfig: ["pve-blacklist.conf": "blacklist nvidiafb\nblacklist nouveau\n"])
        // Proxmox VE on ZFS: /etc/kernel/cmdline applied by proxmox-boot-tool; AMD's IOMMU is on by default.
        try host.setCPU(vendor: "AuthenticAMD", flags: ["svm"])
        try host.addIOMMUFirmware(table: "IVRS", units: ["ivhd0"])
        try host.setRunningCommandLine("initrd=\\EFI\\proxmox\\6.1.0-fixture-amd64\\initrd.img-6.1.0-fixture-amd64 root=ZFS=rpool/ROOT/pve-1 boot=zfs")
        try host.write("etc/kernel/cmdline", "root=ZFS=rpool/ROOT/pve-1 boot=zfs\n")
        try host.mkdir("etc/pve")
        try host.mkdir("dev/dri")
        try host.write("dev/dri/renderD128", "")
        try host.write("usr/lib/x86_64-linux-gnu/libEGL.so.1", "")
        try host.installUnit("nvidia-vgpu-mgr.service", description: "NVIDIA vGPU Manager Daemon", enabled: true)
        try host.runVGPUManager()
        try host.loadModules(["vfio", "vfio_iommu_type1", "nvidia"])
        return host
    }

    // MARK: gh200-arm64: a Grace Hopper node prepared for passthrough

    /// An arm64 Grace Hopper (GH200) host, healthy for passthrough, modelled on NVIDIA's and
    /// the kernel's documentation: Neoverse V2 cores (arm64 /proc/cpuinfo has no vendor_id or
    /// flags), SMMUv3 units described by the ACPI IORT table, devices in PCI domain 0009, the
    /// Hopper GPU 10de:2342 on its VFIO variant driver nvgrace_gpu_vfio_pci (which registers
    /// under its module's name), iommu.passthrough=1 (the generic form of x86's iommu=pt).
    static func gh200(_ root: URL) throws -> FakeHost {
        let host = try FakeHost(root: root)
        host.release = "6.8.0-1013-nvidia-64k"
        try host.write("proc/sys/kernel/osrelease", host.release)
        var port = FakeFunction("0009:00:00.0", vendor: 0x10de, device: 0x22b2, classCode: 0x060400, driver: "pcieport", group: 8, numa: 0)
        port.pcieType = 4
        port.acsControl = 0x001d
        try host.add(port)
        var gpu = FakeFunction("0009:01:00.0", vendor: 0x10de, device: 0x2342, classCode: 0x030200, subsystem: (0x10de, 0x16eb),
                               driver: "nvgrace_gpu_vfio_pci", group: 9, numa: 0, parent: "0009:00:00.0")
        gpu.driverOverride = "nvgrace_gpu_vfio_pci"
        gpu.resetMethods = "flr"
        try host.add(gpu)
        try host.addModules(commonModules + [FakeModule("nvgrace_gpu_vfio_pci", aliases: ["vfio_pci:v000010DEd00002342sv*sd*bc*sc*i*",
                                                                                          "vfio_pci:v000010DEd00002345sv*sd*bc*sc*i*"])],
                            modprobeConfig: ["blacklist-nouveau.conf": "blacklist nouveau\noptions nouveau modeset=0\n"])
        let core = """
            BogoMIPS\t: 2000.00
            Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs sb paca pacg dcpodp sve2 sveaes svepmull svebitperm svesha3 svesm4 flagm2 frint svei8mm svebf16 i8mm bf16 dgh bti
            CPU implementer\t: 0x41
            CPU architecture: 8
            CPU variant\t: 0x0
            CPU part\t: 0xd4f
            CPU revision\t: 0
            """
        try host.write("proc/cpuinfo", (0..<4).map { "processor\t: \($0)\n" + core + "\n" }.joined(separator: "\n"))
        try host.write("dev/kvm", "")
        // Linux 6.8 with iommufd and VFIO's per-device files: the GPU's is vfio0.
        try host.write("dev/iommu", "")
        try host.write("dev/vfio/devices/vfio0", "")
        try host.write(host.devicePath(gpu.address) + "/vfio-dev/vfio0/dev", "511:0")
        try host.addIOMMUFirmware(table: "IORT", units: ["smmu3.0x0000000016000000", "smmu3.0x0000000016600000"])
        try host.setRunningCommandLine("BOOT_IMAGE=/boot/vmlinuz-\(host.release) root=UUID=6b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e ro iommu.passthrough=1 init_on_alloc=0")
        try host.write("etc/default/grub", "GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX_DEFAULT=\"iommu.passthrough=1 init_on_alloc=0\"\nGRUB_CMDLINE_LINUX=\"\"\n")
        try host.write("usr/sbin/update-grub", "#!/bin/sh\n")
        try host.loadModules(["vfio", "vfio_iommu_type1", "vfio_pci", "nvgrace_gpu_vfio_pci"])
        return host
    }

    // MARK: stacks-mix: the shapes each stack's export must get right

    /// A host mixing what the stacks' exports must tell apart (issue 26): an L40S passed through
    /// whole though it can do SR-IOV (sriov_totalvfs 32, no VFs); an L40S in mixed-size mode
    /// carrying a 24Q and two 12Q on its VFs, full (its free VF lists nothing); an L40S carrying
    /// one 24Q with a free VF that offers another; an empty L40S whose VF lists every type (the
    /// real capture); a T4 behind an Intel VMD controller (PCI domain 10000); two laptop GPUs
    /// whose device ids pci.ids names alike, each with its audio function in its group, both on
    /// vfio-pci; and a ConnectX-6 Dx VF on the mlx5_vfio_pci variant driver.
    static func stacksMix(_ root: URL, data: URL) throws -> FakeHost {
        let host = try FakeHost(root: root)
        let creatable = try String(contentsOf: data.appendingPathComponent("harvester_L40S-VF_0000-26-00.4_creatable_vgpu_types"), encoding: .utf8)
        let header = creatable.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        func l40s(_ address: String, driver: String, group: Int) throws {
            var card = FakeFunction(address, vendor: 0x10de, device: 0x26b9, classCode: 0x030200, subsystem: (0x10de, 0x1851),
                                    driver: driver, group: group, numa: 0)
            card.sriovTotalVFs = 32
            card.resetMethods = "bus"
            try host.add(card)
        }
        func vf(_ address: String, of pf: String, group: Int, creatable: String, current: String) throws {
            var vf = FakeFunction(address, vendor: 0x10de, device: 0x26b9, classCode: 0x030200, subsystem: (0x10de, 0x1851),
                                  driver: "nvidia", group: group, numa: 0)
            vf.physfn = pf
            try host.add(vf)
            try host.addNVIDIAVGPUFiles(address, creatable: creatable, current: current)
        }
        try l40s("0000:41:00.0", driver: "vfio-pci", group: 41)
        try l40s("0000:61:00.0", driver: "nvidia", group: 61)
        for (fn, type) in [("4", "1155"), ("5", "1153"), ("6", "1153"), ("7", "0")] {
            try vf("0000:61:00.\(fn)", of: "0000:61:00.0", group: 62 + Int(fn)!, creatable: header + "\n", current: type)
        }
        try l40s("0000:81:00.0", driver: "nvidia", group: 81)
        try vf("0000:81:00.4", of: "0000:81:00.0", group: 82, creatable: header + "\n", current: "1155")
        try vf("0000:81:00.5", of: "0000:81:00.0", group: 83, creatable: header + "\n1155  : NVIDIA L40S-24Q\n", current: "0")
        try l40s("0000:a1:00.0", driver: "nvidia", group: 101)
        try vf("0000:a1:00.4", of: "0000:a1:00.0", group: 102, creatable: creatable, current: "0")
        // Intel VMD puts the NVMe and GPU behind it in a domain of its own, above ffff.
        try host.add(FakeFunction("0000:00:0e.0", vendor: 0x8086, device: 0x467f, classCode: 0x010400, driver: "vmd", group: 14, numa: 0))
        var vmdPort = FakeFunction("10000:e0:1d.0", vendor: 0x8086, device: 0x7ab0, classCode: 0x060400, driver: "pcieport", group: 15, numa: 0)
        vmdPort.pcieType = 4
        try host.add(vmdPort)
        try host.add(FakeFunction("10000:e1:00.0", vendor: 0x10de, device: 0x1eb8, classCode: 0x030200, subsystem: (0x10de, 0x12a2),
                                  driver: "vfio-pci", group: 15, numa: 0, parent: "10000:e0:1d.0"))
        for (bus, device, group) in [("0a", UInt16(0x27a0), 10), ("0b", UInt16(0x27e0), 11)] {
            try host.add(FakeFunction("0000:\(bus):00.0", vendor: 0x10de, device: device, classCode: 0x030000, subsystem: (0x1028, 0x0b1d), driver: "vfio-pci", group: group, numa: 0))
            try host.add(FakeFunction("0000:\(bus):00.1", vendor: 0x10de, device: 0x22bc, classCode: 0x040300, subsystem: (0x1028, 0x0b1d), driver: "vfio-pci", group: group, numa: 0))
        }
        var nic = FakeFunction("0000:c3:00.0", vendor: 0x15b3, device: 0x101d, classCode: 0x020000, subsystem: (0x15b3, 0x0016),
                               driver: "mlx5_core", group: 120, numa: 1)
        nic.sriovTotalVFs = 8
        try host.add(nic)
        var nicVF = FakeFunction("0000:c3:00.2", vendor: 0x15b3, device: 0x101e, classCode: 0x020000, subsystem: (0x15b3, 0x0016),
                                 driver: "mlx5_vfio_pci", group: 121, numa: 1)
        nicVF.physfn = "0000:c3:00.0"
        try host.add(nicVF)
        try host.addModules(commonModules)
        try host.setCPU(vendor: "GenuineIntel", flags: ["vmx"])
        try host.addIOMMUFirmware(table: "DMAR", units: ["dmar0", "dmar1"])
        try host.setRunningCommandLine("\(bootImage) root=/dev/sda2 ro intel_iommu=on iommu=pt")
        try host.write("etc/default/grub", "GRUB_CMDLINE_LINUX=\"intel_iommu=on iommu=pt\"\n")
        try host.write("proc/sys/kernel/hostname", "gpu-node-7\n")
        try host.installUnit("nvidia-vgpu-mgr.service", description: "NVIDIA vGPU Manager Daemon", enabled: true)
        try host.runVGPUManager()
        try host.loadModules(["vfio", "vfio_iommu_type1", "vfio_pci", "nvidia", "mlx5_vfio_pci"])
        return host
    }

    // MARK: vgpu-a2-t4-busy: vGPUs in use, on an SR-IOV card whose VFs are mdev parents and on a T4

    /// An A2 (16 GB) with its 16 VFs as mdev parents, holding three 4 GB vGPUs of the Q, A and C
    /// series on three VFs, as the real capture (harvester, Apache-2.0) shows: each free VF offers
    /// one of every 4 GB type and none of another size. A QEMU process runs the A2-4C (VM
    /// render-01). Beside it a T4 (16 GB, no SR-IOV) holding two T4-2Q, one used by VM desk-07
    /// through its VFIO device file (iommufd's cdev) rather than its group.
    static func vgpuA2T4Busy(_ root: URL, data: URL) throws -> FakeHost {
        let host = try FakeHost(root: root)
        var pf = FakeFunction("0000:08:00.0", vendor: 0x10de, device: 0x25b6, classCode: 0x030200, subsystem: (0x10de, 0x157e),
                              driver: "nvidia", group: 20, numa: 0)
        pf.sriovTotalVFs = 16
        pf.resetMethods = "flr bus"
        try host.add(pf)
        let vfs = (4...7).map { "0000:08:00.\($0)" } + (0...7).map { "0000:08:01.\($0)" } + (0...3).map { "0000:08:02.\($0)" }
        // The free VF's real list: ids, names, and what the kernel says each can still make.
        let capture = try String(contentsOf: data.appendingPathComponent("harvester_A2-VF_0000-08-02.0_mdev_available.txt"), encoding: .utf8)
        let listed: [(id: String, name: String, available: Int)] = capture.split(separator: "\n").compactMap { line in
            let parts = line.components(separatedBy: " available: ")
            guard parts.count == 2, let space = parts[0].firstIndex(of: " "), let available = Int(parts[1]) else { return nil }
            return (String(parts[0][..<space]), String(parts[0][parts[0].index(after: space)...]), available)
        }
        let held = ["0000:08:00.4": "nvidia-746", "0000:08:00.5": "nvidia-751", "0000:08:00.6": "nvidia-754"]
        for (index, address) in vfs.enumerated() {
            var vf = FakeFunction(address, vendor: 0x10de, device: 0x25b6, classCode: 0x030200, subsystem: (0x10de, 0x157e),
                                  driver: "nvidia", group: 21 + index, numa: 0)
            vf.physfn = pf.address
            try host.add(vf)
            try host.addMdevTypes(address, listed.map { type in
                FakeMdevType(id: type.id, name: type.name, description: a2Description(type.name),
                             available: held[address] == nil ? type.available : 0)
            })
        }
        let uuids = ["0000:08:00.4": "5f3a6c1e-2b7d-4e8a-9c10-3d2e1f0a4b51", "0000:08:00.5": "6a4b7d2f-3c8e-4f9b-8d21-4e3f2a1b5c62",
                     "0000:08:00.6": "7b5c8e3a-4d9f-4a0c-9e32-5f4a3b2c6d73"]
        for (offset, vf) in ["0000:08:00.4", "0000:08:00.5", "0000:08:00.6"].enumerated() {
            try host.addMdev(parent: vf, type: held[vf]!, uuid: uuids[vf]!, group: 100 + offset)
        }
        try host.addProcess(pid: 4242, name: "qemu-system-x86", openFiles: ["/dev/vfio/vfio", "/dev/vfio/102", "/dev/kvm"],
                            arguments: ["/usr/bin/qemu-system-x86_64", "-name", "guest=render-01,debug-threads=on", "-machine", "q35"])

        // The T4: the PF is the mdev parent; two T4-2Q leave room for six more of that size only.
        var t4card = FakeFunction("0000:3b:00.0", vendor: 0x10de, device: 0x1eb8, classCode: 0x030200, subsystem: (0x10de, 0x12a2),
                                  driver: "nvidia", group: 40, numa: 0)
        t4card.resetMethods = "bus"
        try host.add(t4card)
        let t4: [(id: Int, gb: Int, series: String)] = [(222, 1, "B"), (230, 1, "Q"), (231, 2, "Q"), (232, 4, "Q"), (233, 8, "Q"), (234, 16, "Q")]
        try host.addMdevTypes("0000:3b:00.0", t4.map { type in
            FakeMdevType(id: "nvidia-\(type.id)", name: "GRID T4-\(type.gb)\(type.series)",
                         description: "num_heads=4, frl_config=\(type.series == "B" ? 45 : 60), framebuffer=\(type.gb * 1024)M, max_resolution=\(type.gb == 1 ? "5120x2880" : "7680x4320"), max_instance=\(16 / type.gb)",
                         available: type.id == 231 ? 6 : 0)
        })
        let t4vGPUs = ["8c6d9f4b-5e0a-4b1d-8f43-6a5b4c3d7e84", "9d7e0a5c-6f1b-4c2e-9a54-7b6c5d4e8f95"]
        for (offset, uuid) in t4vGPUs.enumerated() { try host.addMdev(parent: "0000:3b:00.0", type: "nvidia-231", uuid: uuid, group: 110 + offset) }
        // iommufd's per-device file: sysfs names it under vfio-dev/ (its dev is the cdev's major:minor).
        try host.write("sys/bus/mdev/devices/\(t4vGPUs[0])/vfio-dev/vfio3/dev", "511:3")
        try host.write("dev/iommu", "")
        try host.write("dev/vfio/devices/vfio3", "")
        try host.addProcess(pid: 5151, name: "qemu-system-x86", openFiles: ["/dev/iommu", "/dev/vfio/devices/vfio3"],
                            arguments: ["/usr/bin/qemu-system-x86_64", "-name", "desk-07", "-machine", "q35"])

        try host.addModules(commonModules)
        try host.setCPU(vendor: "GenuineIntel", flags: ["vmx"])
        try host.addIOMMUFirmware(table: "DMAR", units: ["dmar0"])
        try host.setRunningCommandLine("\(bootImage) root=/dev/sda2 ro intel_iommu=on iommu=pt")
        try host.write("etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\nGRUB_CMDLINE_LINUX=\"intel_iommu=on iommu=pt\"\n")
        try host.installUnit("nvidia-vgpu-mgr.service", description: "NVIDIA vGPU Manager Daemon", enabled: true)
        try host.runVGPUManager()
        try host.loadModules(["vfio", "vfio_iommu_type1", "vfio_pci", "nvidia"])
        return host
    }

    /// An A2 type's description as NVIDIA's driver writes it, from NVIDIA's A2 type table: the
    /// number in the name is the framebuffer in GB of 16, B and Q have four heads, A and C one.
    static func a2Description(_ name: String) -> String {
        let suffix = name.split(separator: "-").last!
        let gb = Int(suffix.dropLast())!, series = suffix.last!
        let heads = series == "B" || series == "Q" ? 4 : 1
        let resolution: String
        switch series {
        case "A": resolution = "1280x1024"
        case "C": resolution = "4096x2160"
        default: resolution = gb == 1 || series == "B" ? "5120x2880" : "7680x4320"
        }
        return "num_heads=\(heads), frl_config=\(series == "B" ? 45 : 60), framebuffer=\(gb * 1024)M, max_resolution=\(resolution), max_instance=\(16 / gb)"
    }

    /// `<type dir>, <parent>, <name>, <description>` lines; available instances start at max_instance.
    static func parseTypeList(_ text: String) -> [FakeMdevType] {
        text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: ",", maxSplits: 3).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 4 else { return nil }
            let max = parts[3].components(separatedBy: "max_instance=").last.flatMap { Int($0.prefix { $0.isNumber }) } ?? 1
            return FakeMdevType(id: parts[0], name: parts[2], description: parts[3], available: max)
        }
    }

    // MARK: t4-server: a real server with a Tesla T4

    /// The functions of a real host's ghw snapshot (harvester, Apache-2.0), rebuilt with the
    /// files lspci needs (config, resource); the snapshot itself has no IOMMU groups.
    static func t4Server(_ root: URL, data: URL) throws -> FakeHost {
        let snapshot = FileManager.default.temporaryDirectory.appendingPathComponent("gpuprep-t4-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: snapshot) }
        try extractT4Snapshot(data: data, to: snapshot)
        let host = try FakeHost(root: root)
        let devices = snapshot.appendingPathComponent("sys/bus/pci/devices")
        let fm = FileManager.default
        func read(_ dir: URL, _ name: String) -> String? {
            (try? String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var functions: [FakeFunction] = []
        for name in try fm.contentsOfDirectory(atPath: devices.path).sorted() {
            let dir = devices.appendingPathComponent(name).resolvingSymlinksInPath()
            guard let vendor = read(dir, "vendor").flatMap({ UInt16($0.dropFirst(2), radix: 16) }),
                  let device = read(dir, "device").flatMap({ UInt16($0.dropFirst(2), radix: 16) }),
                  let cls = read(dir, "class").flatMap({ UInt32($0.dropFirst(2), radix: 16) }) else { continue }
            let driver = (try? fm.destinationOfSymbolicLink(atPath: dir.appendingPathComponent("driver").path))
                .map { ($0 as NSString).lastPathComponent }
            let parentName = dir.deletingLastPathComponent().lastPathComponent
            var function = FakeFunction(name, vendor: vendor, device: device, classCode: cls, driver: driver, group: nil,
                                        numa: read(dir, "numa_node").flatMap { Int($0) } ?? -1,
                                        parent: PCIAddressText.isAddress(parentName) ? parentName : nil)
            function.revision = read(dir, "revision").flatMap { UInt8($0.dropFirst(2), radix: 16) } ?? 0
            functions.append(function)
        }
        // Parents first, so each function nests under its bridge.
        for function in functions.sorted(by: { ($0.parent == nil ? 0 : 1, $0.address) < ($1.parent == nil ? 0 : 1, $1.address) }) {
            try host.add(function)
        }
        try host.addModules(commonModules)
        return host
    }

    /// Extracts the real snapshot as it was captured (no config, resource or IOMMU files).
    public static func extractT4Snapshot(data: URL, to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tar", "-xzf", data.appendingPathComponent("harvester-ghw-snapshot-T4.tar.gz").path, "-C", directory.path]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw FixtureError("tar failed on the T4 snapshot") }
    }

    // MARK: p6t6-no-iommu: a 2009 desktop, from its full config-space dump

    /// The pciutils test tree of an ASUS P6T6 (GPL-2.0-or-later): every function's 4 KiB config
    /// space, a GeForce 210 + HDA behind NF200 bridges. No IOMMU groups: VT-d is off.
    static func p6t6(_ root: URL, data: URL) throws -> FakeHost {
        let host = try FakeHost(root: root)
        let text = try String(contentsOf: data.appendingPathComponent("pciutils_tests_tree-asus-p6t6.lspci-xxxx.txt"), encoding: .utf8)
        let dumps = parseHexDump(text)
        // Bridges name the bus behind them (config byte 0x19): that is where their children live.
        var parentOfBus: [UInt8: String] = [:]
        for (address, config) in dumps where config[14] & 0x7f == 1 { parentOfBus[config[0x19]] = address }
        let drivers: [UInt16: String] = [0x0604: "pcieport", 0x0c03: "uhci_hcd", 0x0403: "snd_hda_intel", 0x0106: "ahci",
                                         0x0c05: "i801_smbus", 0x0200: "r8169", 0x0107: "mpt3sas", 0x0300: "nouveau"]
        func add(_ address: String) throws {
            guard let config = dumps[address], host.exists("sys/bus/pci/devices/\(address)") == false else { return }
            let bus = UInt8(address.dropFirst(5).prefix(2), radix: 16) ?? 0
            let parent = parentOfBus[bus]
            if let parent { try add(parent) }
            let cls = UInt32(config[11]) << 16 | UInt32(config[10]) << 8 | UInt32(config[9])
            var driver = drivers[UInt16(cls >> 8)]
            if cls == 0x0c0320 { driver = "ehci-pci" }
            var function = FakeFunction(address, vendor: UInt16(config[0]) | UInt16(config[1]) << 8,
                                        device: UInt16(config[2]) | UInt16(config[3]) << 8, classCode: cls,
                                        driver: driver, group: nil, numa: -1, parent: parent)
            if config[14] & 0x7f == 0 {
                function.subsystemVendor = UInt16(config[0x2c]) | UInt16(config[0x2d]) << 8
                function.subsystemDevice = UInt16(config[0x2e]) | UInt16(config[0x2f]) << 8
            }
            function.revision = config[8]
            function.config = config
            // The GeForce 210 has no FLR (its config space says so); the kernel offers a reset of
            // the bus behind its bridge.
            if cls >> 8 == 0x0300 { function.bootVGA = true; function.resetMethods = "bus" }
            try host.add(function)
        }
        for address in dumps.keys.sorted() { try add(address) }
        try host.addModules(commonModules)
        // VT-d is off in the firmware and the kernel was booted without intel_iommu=on.
        try host.setCPU(vendor: "GenuineIntel", flags: ["vmx"])
        try host.addIOMMUFirmware(table: nil, units: [])
        try host.setRunningCommandLine("\(bootImage) root=/dev/sda2 ro quiet splash")
        try host.write("etc/default/grub", """
            GRUB_DEFAULT=0
            GRUB_TIMEOUT_STYLE=hidden
            GRUB_CMDLINE_LINUX_DEFAULT='quiet splash'
            GRUB_CMDLINE_LINUX=""
            """)
        try host.write("usr/sbin/update-grub", "#!/bin/sh\n")
        try host.loadModules(["nouveau"])
        return host
    }

    /// `lspci -xxxx` text: a `BB:DD.F description` line, then `OFF: xx xx ...` rows.
    static func parseHexDump(_ text: String) -> [String: [UInt8]] {
        var result: [String: [UInt8]] = [:]
        var current: String?
        for line in text.split(separator: "\n") {
            let first = line.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
            if PCIAddressText.isAddress("0000:" + first) {
                current = "0000:" + first
                result[current!] = []
            } else if let address = current, first.hasSuffix(":"), let offset = Int(first.dropLast(), radix: 16) {
                let bytes = line.split(separator: " ").dropFirst().compactMap { UInt8($0, radix: 16) }
                var config = result[address]!
                if config.count < offset + bytes.count { config += [UInt8](repeating: 0xff, count: offset + bytes.count - config.count) }
                config.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
                result[address] = config
            }
        }
        return result
    }
}

enum PCIAddressText {
    /// `DDDD:BB:DD.F`
    static func isAddress(_ text: String) -> Bool {
        let parts = text.split(separator: ":")
        return parts.count == 3 && parts[0].count == 4 && parts[1].count == 2 && parts[2].count == 4
            && parts[2].dropFirst(2).first == "." && text.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
    }
}
