import Foundation

/// Large synthetic hosts for `make bench`: GPUs with SR-IOV VFs that are mdev parents (15 types
/// each, as Ampere-era vGPU exposes them), and NICs with many VFs, so that NVIDIA functions are
/// a small part of the whole, as on a real cloud host.
public enum BenchHosts {
    public static func build(gpus: Int, vfsPerGPU: Int, typesPerVF: Int, nics: Int, vfsPerNIC: Int, at root: URL) throws -> FakeHost {
        let host = try FakeHost(root: root)
        var group = 1
        var bus = 1
        for gpu in 0..<gpus {
            let pfBus = bus
            let pf = String(format: "0000:%02x:00.0", pfBus)
            var function = FakeFunction(pf, vendor: 0x10de, device: 0x2235, classCode: 0x030200, subsystem: (0x10de, 0x145a),
                                        driver: "nvidia", group: group, numa: gpu * 2 / max(gpus, 1))
            function.sriovTotalVFs = vfsPerGPU
            try host.add(function)
            group += 1
            for index in 0..<vfsPerGPU {
                // VFs start at function 4, then fill the following device numbers, as on an A40.
                let slot = 4 + index
                let vf = String(format: "0000:%02x:%02x.%d", pfBus, slot / 8, slot % 8)
                var v = FakeFunction(vf, vendor: 0x10de, device: 0x2235, classCode: 0x030200, subsystem: (0x10de, 0x145a),
                                     driver: "nvidia", group: group, numa: gpu * 2 / max(gpus, 1))
                v.physfn = pf
                try host.add(v)
                group += 1
                try host.addMdevTypes(vf, (0..<typesPerVF).map { t in
                    let size = [1, 2, 3, 4, 6, 8, 12, 16, 24, 48][t % 10]
                    return FakeMdevType(id: "nvidia-\(555 + t)", name: "NVIDIA A40-\(size)\(["Q", "B", "A", "C"][t % 4])",
                                        description: "num_heads=4, frl_config=60, framebuffer=\(size * 1024)M, max_resolution=7680x4320, max_instance=\(48 / size)",
                                        available: t % 3 == 0 ? 0 : 1)
                })
            }
            bus += 1
        }
        for _ in 0..<nics {
            let nicBus = bus
            let pf = String(format: "0000:%02x:00.0", nicBus)
            var function = FakeFunction(pf, vendor: 0x15b3, device: 0x101d, classCode: 0x020000, subsystem: (0x15b3, 0x0083),
                                        driver: "mlx5_core", group: group, numa: 0)
            function.sriovTotalVFs = vfsPerNIC
            try host.add(function)
            group += 1
            for index in 0..<vfsPerNIC {
                // 256 functions per bus: a NIC's VFs take the buses after its own.
                let n = index + 1
                let vf = String(format: "0000:%02x:%02x.%d", nicBus + n / 256, (n % 256) / 8, n % 8)
                var v = FakeFunction(vf, vendor: 0x15b3, device: 0x101e, classCode: 0x020000, subsystem: (0x15b3, 0x0083),
                                     driver: "mlx5_core", group: group, numa: 0)
                v.physfn = pf
                try host.add(v)
                group += 1
            }
            bus += vfsPerNIC / 256 + 2
        }
        try host.addModules(Catalog.commonModules)
        return host
    }
}
