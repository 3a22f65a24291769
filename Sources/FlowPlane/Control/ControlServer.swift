import CBPF
import Foundation
import NIOCore
import NIOPosix

/// `struct ucred` (glibc hides it without _GNU_SOURCE): what SO_PEERCRED returns.
struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// The daemon's control socket: a Unix stream socket (mode 0600) serving one newline-ended
/// JSON `ControlRequest` per connection with one JSON `ControlResponse` line, then closing.
/// Peers are checked with SO_PEERCRED: only uid 0 (or the daemon's own uid) is served.
public final class ControlServer {
    public let path: String
    private let group: MultiThreadedEventLoopGroup
    private var channel: Channel?
    /// Serves a request; calls the completion exactly once, on any thread.
    public typealias Handler = @Sendable (ControlRequest, @escaping @Sendable (ControlResponse) -> Void) -> Void
    private let handler: Handler

    public init(path: String, handler: @escaping Handler) {
        self.path = path
        self.handler = handler
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    /// Binds the socket (replacing a stale socket file) and starts serving.
    /// - Throws: NIO's `IOError` naming the failing call.
    public func start() throws {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty && !FileManager.default.fileExists(atPath: dir) {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
        let handler = self.handler
        let allowed: Set<UInt32> = [0, UInt32(geteuid())]
        let old = umask(0o177)
        defer { umask(old) }
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 64)
            .childChannelInitializer { ch in
                ch.pipeline.addHandler(RequestHandler(handler: handler, allowedUIDs: allowed))
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).wait()
        chmod(path, 0o600)
    }

    /// Stops serving and removes the socket file.
    public func stop() {
        try? channel?.close().wait()
        channel = nil
        try? group.syncShutdownGracefully()
        unlink(path)
    }
}

/// One connection: checks the peer, collects one line, answers, closes.
final class RequestHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let handler: ControlServer.Handler
    let allowedUIDs: Set<UInt32>
    var buffer: [UInt8] = []
    var allowed = false
    var answered = false
    static let maxRequest = 1 << 20

    init(handler: @escaping ControlServer.Handler, allowedUIDs: Set<UInt32>) {
        self.handler = handler
        self.allowedUIDs = allowedUIDs
    }

    func channelActive(context: ChannelHandlerContext) {
        let ctx = context
        if let provider = context.channel as? SocketOptionProvider {
            let f: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET),
                                                                            name: SocketOptionName(SO_PEERCRED))
            f.whenComplete { r in
                if case .success(let cred) = r, self.allowedUIDs.contains(cred.uid) {
                    self.allowed = true
                    self.process(ctx)
                } else {
                    self.reply(ctx, ControlResponse(status: .refused, message: "permission denied: the control socket serves root only"))
                }
            }
        } else {
            reply(ctx, ControlResponse(status: .failed, message: "cannot check the peer's credentials"))
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var b = unwrapInboundIn(data)
        buffer += b.readBytes(length: b.readableBytes) ?? []
        if buffer.count > Self.maxRequest {
            reply(context, ControlResponse(status: .refused, message: "request too large"))
            return
        }
        process(context)
    }

    private func process(_ context: ChannelHandlerContext) {
        guard allowed, !answered, let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) else { return }
        answered = true
        let line = Data(buffer[..<nl])
        let request: ControlRequest
        do { request = try JSONDecoder().decode(ControlRequest.self, from: line) } catch {
            reply(context, ControlResponse(status: .failed, message: "malformed request: \(error)"), force: true)
            return
        }
        let loop = context.eventLoop
        let ctx = context
        handler(request) { response in
            loop.execute { self.reply(ctx, response, force: true) }
        }
    }

    private func reply(_ context: ChannelHandlerContext, _ response: ControlResponse, force: Bool = false) {
        if !force && answered { return }
        answered = true
        var data = (try? JSONEncoder().encode(response)) ?? Data()
        data.append(UInt8(ascii: "\n"))
        let out = context.channel.allocator.buffer(bytes: data)
        let large = data.count >= Self.largeReply
        context.writeAndFlush(wrapOutboundOut(out)).whenComplete { _ in
            context.close(promise: nil)
            // A large reply (dump-fdb of a big table) leaves its buffers freed but kept by the
            // allocator: give them back once the write is done.
            if large { context.eventLoop.execute { _ = cbpf_release_free_memory(Self.largeReply) } }
        }
    }

    /// Replies of at least this many bytes are followed by returning freed memory to the kernel.
    static let largeReply = 1 << 20

    func errorCaught(context: ChannelHandlerContext, error: Error) { context.close(promise: nil) }
}
