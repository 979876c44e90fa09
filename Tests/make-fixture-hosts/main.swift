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
    for name in names {
        _ = try Catalog.build(name, at: out.appendingPathComponent(name), data: data)
        print("built \(out.appendingPathComponent(name).path)")
    }
} catch {
    FileHandle.standardError.write(Data("make-fixture-hosts: \(error)\n".utf8))
    exit(1)
}
