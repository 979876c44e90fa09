// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "gpuprep",
    products: [
        .executable(name: "gpuprep", targets: ["gpuprep"]),
        .executable(name: "gpuprep-yaml", targets: ["gpuprep-yaml"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // YAML for `apply`'s file: libyaml's parser, with line and column for every node.
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // C libraries, as the system provides them.
        .systemLibrary(name: "CPCI", pkgConfig: "libpci", providers: [.apt(["libpci-dev"])]),
        // libkmod's header only: the library is opened on first use (CShims/gpuprep_kmod.c).
        .systemLibrary(name: "CKmod", providers: [.apt(["libkmod-dev"])]),
        // What Swift cannot call itself: libpci's variadic lookups and its non-returning error hook;
        // libkmod loaded when first needed.
        .target(name: "CShims", dependencies: ["CPCI", "CKmod"], linkerSettings: [.linkedLibrary("pci")]),

        // The only Swift code that imports C or touches host files.
        .target(name: "GPUPrepSystem", dependencies: ["CPCI", "CKmod", "CShims"]),
        // Model, discovery, reports and renderers: no C, no global state.
        .target(name: "GPUPrepCore", dependencies: ["GPUPrepSystem"]),
        // The command line.
        .executableTarget(name: "gpuprep", dependencies: [
            "GPUPrepCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // `apply`'s YAML reader, a program apart so that only `apply` pays for Foundation (see its main.swift).
        .executableTarget(name: "gpuprep-yaml", dependencies: [.product(name: "Yams", package: "Yams")]),

        // Builds fake host trees for tests and the bundled examples.
        .target(name: "HostFixtures", path: "Tests/HostFixtures"),
        .executableTarget(name: "make-fixture-hosts", dependencies: ["HostFixtures"], path: "Tests/make-fixture-hosts"),
        // Depends on the executable so that `swift test` builds the binary the CLI tests run.
        .testTarget(name: "GPUPrepTests", dependencies: ["GPUPrepCore", "GPUPrepSystem", "HostFixtures", "gpuprep", "gpuprep-yaml"],
                    exclude: ["Golden"]),
    ]
)
