// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "FlowPlane",
    products: [
        .executable(name: "flowctl", targets: ["ovsctl-lite"]),
        .library(name: "FlowPlane", targets: ["FlowPlane"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // C over libbpf 1.1 (Debian 12) and the ABI shared with bpf/.
        .target(
            name: "CBPF",
            linkerSettings: [.linkedLibrary("bpf"), .linkedLibrary("elf"), .linkedLibrary("z")]
        ),
        // Compiles bpf/*.bpf.c with the toolchain's clang and embeds the objects.
        .plugin(name: "BPFObjectPlugin", capability: .buildTool()),
        .target(
            name: "FlowPlane",
            dependencies: [
                "CBPF",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: [.swiftLanguageMode(.v5)],
            plugins: ["BPFObjectPlugin"]
        ),
        .executableTarget(
            name: "ovsctl-lite",
            dependencies: [
                "FlowPlane",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        // The benchmark (issue 5): `make bench`.
        .executableTarget(
            name: "fp-bench",
            dependencies: [
                "FlowPlane", "CBPF",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.swiftLanguageMode(.v5)],
            // Embeds bpf/bench_redirect.bpf.c (the reference programs) for fp-bench itself.
            plugins: ["BPFObjectPlugin"]
        ),
        .testTarget(
            name: "FlowPlaneTests",
            dependencies: ["FlowPlane"],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        // BPF_PROG_TEST_RUN and live frames through real veths (root; see TEAM.md).
        .testTarget(
            name: "DatapathTests",
            dependencies: [
                "FlowPlane", "CBPF",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
    ]
)
