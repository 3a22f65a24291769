import Foundation
import PackagePlugin

/// Compiles every `bpf/*.bpf.c` with the toolchain's clang (`-target bpf`) and writes
/// `EmbeddedBPFObjects.swift`, which holds each object as a base64 `StaticString`.
///
/// SwiftPM 6.3 drops generated C files, so the objects travel as Swift source; the
/// daemon loads them with `bpf_object__open_mem` (see DESIGN.md, "Building the BPF object").
@main
struct BPFObjectPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let root = context.package.directoryURL
        let bpfDir = root.appending(path: "bpf")
        let abiDir = root.appending(path: "Sources/CBPF/include")
        let script = bpfDir.appending(path: "build-objects.sh")
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedBPFObjects.swift")
        let clang = try context.tool(named: "clang").url

        var inputs: [URL] = [script]
        let fm = FileManager.default
        for dir in [bpfDir, bpfDir.appending(path: "include"), abiDir] {
            let names = (try? fm.contentsOfDirectory(atPath: dir.path)) ?? []
            for name in names.sorted() where name.hasSuffix(".c") || name.hasSuffix(".h") {
                inputs.append(dir.appending(path: name))
            }
        }
        return [
            .buildCommand(
                displayName: "Compiling eBPF objects in bpf/",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: [script.path, clang.path, output.path],
                inputFiles: inputs,
                outputFiles: [output]
            )
        ]
    }
}
