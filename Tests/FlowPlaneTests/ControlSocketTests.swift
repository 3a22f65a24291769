import Foundation
import Testing
@testable import FlowPlane

/// The control socket in process: NIO server, blocking client.
@Suite(.serialized) struct ControlSocketTests {
    @Test func roundTripAndSocketMode() throws {
        let path = NSTemporaryDirectory() + "fp-sock-\(getpid())-\(UInt32.random(in: 0...UInt32.max))/c.sock"
        let server = ControlServer(path: path) { req, reply in
            if case .addBridge(let n, _) = req { reply(.ok(.names([n]))) } else { reply(ControlResponse(status: .refused, message: "no")) }
        }
        try server.start()
        defer { server.stop(); try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try ControlClient.send(.addBridge(name: "x", mayExist: false), socketPath: path, timeoutSeconds: 5).payload == .names(["x"]))
        #expect(try ControlClient.send(.show, socketPath: path, timeoutSeconds: 5).status == .refused)
    }

    @Test func noDaemon() {
        #expect(throws: ControlClientError.self) { try ControlClient.send(.show, socketPath: "/nonexistent/fp.sock", timeoutSeconds: 1) }
    }
}
