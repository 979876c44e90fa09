import Foundation
import HostFixtures

// Writes the fixture hosts into a folder: `make-fixture-hosts DATA-DIR OUT-DIR [NAME...]`.
let arguments = CommandLine.arguments.dropFirst()
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: make-fixture-hosts DATA-DIR OUT-DIR [NAME...]\n".utf8))
    exit(64)
}
let data = URL(fileURLWithPath: arguments[arguments.startIndex])
let out = URL(fileURLWithPath: arguments[arguments.startIndex + 1])
let names = arguments.count > 2 ? Array(arguments.dropFirst(2)) : Catalog.names
do {
    // Benchmark hosts: bench-big (16 GPUs x 16 VFs x 15 types, 3 NICs x 1000 VFs) and bench-small.
    if names.first == "bench" {
        _ = try BenchHosts.build(gpus: 16, vfsPerGPU: 16, typesPerVF: 15, nics: 3, vfsPerNIC: 1000,
                                 at: out.appendingPathComponent("bench-big"))
        _ = try BenchHosts.build(gpus: 2, vfsPerGPU: 4, typesPerVF: 15, nics: 1, vfsPerNIC: 100,
                                 at: out.appendingPathComponent("bench-small"))
        print("built \(out.path)/bench-big and bench-small")
        exit(0)
    }
    for name in names {
        _ = try Catalog.build(name, at: out.appendingPathComponent(name), data: data)
        print("built \(out.appendingPathComponent(name).path)")
    }
} catch {
    FileHandle.standardError.write(Data("make-fixture-hosts: \(error)\n".utf8))
    exit(1)
}
