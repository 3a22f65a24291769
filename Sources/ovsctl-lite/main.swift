import ArgumentParser
import Foundation
import FlowPlane
import Logging

/// Options every client command takes.
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: "The daemon's control socket (default $FLOWCTL_SOCKET or /run/flowplane/flowplane.sock).")
    var socket: String?

    var path: String { socket ?? ProcessInfo.processInfo.environment["FLOWCTL_SOCKET"] ?? ControlClient.defaultSocket }
}

enum OutputFormat: String, ExpressibleByArgument { case text, json }

/// Sends a request; prints warnings and errors; maps the outcome to the exit code contract:
/// 0 ok, 1 refused, 3 no daemon, 4 internal.
func call(_ request: ControlRequest, _ options: ClientOptions) throws -> ControlPayload? {
    let response: ControlResponse
    do { response = try ControlClient.send(request, socketPath: options.path) } catch let e as ControlClientError {
        FileHandle.standardError.write(Data("flowctl: \(e)\n".utf8))
        switch e {
        case .noDaemon: throw ExitCode(3)
        case .permissionDenied: throw ExitCode(1)
        case .badReply: throw ExitCode(4)
        }
    }
    for w in response.warnings { FileHandle.standardError.write(Data("flowctl: warning: \(w)\n".utf8)) }
    switch response.status {
    case .ok: return response.payload
    case .refused:
        FileHandle.standardError.write(Data("flowctl: \(response.message ?? "refused")\n".utf8))
        throw ExitCode(1)
    case .failed:
        FileHandle.standardError.write(Data("flowctl: internal error: \(response.message ?? "unknown")\n".utf8))
        throw ExitCode(4)
    }
}

func emit(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }

struct Flowctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flowctl",
        abstract: "Control FlowPlane, an XDP virtual switch (ovs-vsctl style).",
        subcommands: [Daemon.self, AddBr.self, DelBr.self, ListBr.self, AddPort.self, DelPort.self, ListPorts.self, Show.self,
                      SetCmd.self, ClearCmd.self, DumpFDB.self, FDBAdd.self, FDBDel.self, FDBFlush.self, FDBStatsCmd.self,
                      DumpPorts.self, STPShow.self])
}

struct Daemon: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the control plane in the foreground (stops on SIGTERM).")
    @Option(help: "The control socket (default $FLOWCTL_SOCKET or /run/flowplane/flowplane.sock).") var socket: String?
    @Option var db = "/var/lib/flowplane/flowplane.db"
    @Option(name: .customLong("pin-root")) var pinRoot = "/sys/fs/bpf/flowplane"
    @Option(name: .customLong("fdb-capacity"), help: "FDB capacity in entries when the FDB map is created (default 131072; a pinned FDB keeps its own).") var fdbCapacity: Int?
    @Flag(name: .long) var verbose = false

    func validate() throws {
        if let c = fdbCapacity, !(1...FlowPlaneDaemon.maxFDBCapacity).contains(c) {
            throw ValidationError("--fdb-capacity must be 1 ... \(FlowPlaneDaemon.maxFDBCapacity) entries, not \(c)")
        }
    }

    func run() throws {
        let level: Logger.Level = verbose ? .debug : .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        var o = FlowPlaneDaemon.Options()
        o.socketPath = socket ?? ProcessInfo.processInfo.environment["FLOWCTL_SOCKET"] ?? ControlClient.defaultSocket
        o.dbPath = db; o.pinRoot = pinRoot; o.fdbCapacity = fdbCapacity
        let d = FlowPlaneDaemon(options: o, logger: Logger(label: "flowplane"))
        do { try d.run() } catch {
            FileHandle.standardError.write(Data("flowctl daemon: \(error)\n".utf8))
            throw ExitCode(error is FlowPlaneDaemon.DaemonError ? 1 : 4)
        }
    }
}

struct AddBr: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add-br", abstract: "Add a bridge.")
    @OptionGroup var client: ClientOptions
    @Flag(name: .customLong("may-exist")) var mayExist = false
    @Argument var bridge: String
    func run() throws { _ = try call(.addBridge(name: bridge, mayExist: mayExist), client) }
}

struct DelBr: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "del-br", abstract: "Delete a bridge and its ports.")
    @OptionGroup var client: ClientOptions
    @Flag(name: .customLong("if-exists")) var ifExists = false
    @Argument var bridge: String
    func run() throws { _ = try call(.deleteBridge(name: bridge, ifExists: ifExists), client) }
}

struct ListBr: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list-br", abstract: "List bridges.")
    @OptionGroup var client: ClientOptions
    func run() throws {
        if case .names(let n)? = try call(.listBridges, client) { emit(n.map { $0 + "\n" }.joined()) }
    }
}

struct AddPort: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add-port", abstract: "Add an interface to a bridge: add-port BR IFACE [key=value...].")
    @OptionGroup var client: ClientOptions
    @Flag(name: .customLong("may-exist")) var mayExist = false
    @Argument var bridge: String
    @Argument var iface: String
    @Argument var settings: [String] = []
    func run() throws { _ = try call(.addPort(bridge: bridge, port: iface, settings: settings, mayExist: mayExist), client) }
}

struct DelPort: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "del-port", abstract: "Remove a port: del-port [BR] IFACE.")
    @OptionGroup var client: ClientOptions
    @Flag(name: .customLong("if-exists")) var ifExists = false
    @Argument var names: [String]
    func validate() throws {
        guard (1...2).contains(names.count) else { throw ValidationError("del-port takes [BR] IFACE") }
    }
    func run() throws {
        let br = names.count == 2 ? names[0] : nil
        _ = try call(.deletePort(bridge: br, port: names.last!, ifExists: ifExists), client)
    }
}

struct ListPorts: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list-ports", abstract: "List a bridge's ports.")
    @OptionGroup var client: ClientOptions
    @Flag(name: .long) var long = false
    @Argument var bridge: String
    func run() throws {
        if case .ports(let p)? = try call(.listPorts(bridge: bridge), client) { emit(Formatting.ports(p, long: long)) }
    }
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the configuration (like ovs-vsctl show).")
    @OptionGroup var client: ClientOptions
    func run() throws {
        if case .bridges(let b)? = try call(.show, client) { emit(Formatting.show(b)) }
    }
}

struct SetCmd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "set", abstract: "set bridge BR key=value... | set port IFACE key=value...")
    @OptionGroup var client: ClientOptions
    @Argument var table: String
    @Argument var record: String
    @Argument var settings: [String] = []
    func validate() throws {
        guard ["bridge", "port", "interface"].contains(table) else { throw ValidationError("unknown table '\(table)': use bridge or port") }
        guard !settings.isEmpty else { throw ValidationError("nothing to set") }
    }
    func run() throws {
        _ = try call(table == "bridge" ? .setBridge(bridge: record, settings: settings) : .setPort(port: record, settings: settings), client)
    }
}

struct ClearCmd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "clear", abstract: "clear port IFACE tag|trunks|vlan_mode...")
    @OptionGroup var client: ClientOptions
    @Argument var table: String
    @Argument var record: String
    @Argument var keys: [String] = []
    func validate() throws {
        guard ["port", "interface"].contains(table) else { throw ValidationError("unknown table '\(table)': use port") }
        guard !keys.isEmpty else { throw ValidationError("nothing to clear") }
    }
    func run() throws { _ = try call(.clearPort(port: record, keys: keys), client) }
}

struct DumpFDB: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dump-fdb", abstract: "Show a bridge's MAC table.")
    @OptionGroup var client: ClientOptions
    @Option var format: OutputFormat = .text
    @Argument var bridge: String
    func run() throws {
        if case .fdb(let rows)? = try call(.dumpFDB(bridge: bridge), client) {
            emit(format == .json ? Formatting.fdbJSON(rows) : Formatting.fdbTable(rows))
        }
    }
}

struct FDBAdd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fdb-add", abstract: "Add a static entry: fdb-add BR PORT VLAN MAC.")
    @OptionGroup var client: ClientOptions
    @Argument var bridge: String
    @Argument var port: String
    @Argument var vlan: String
    @Argument var mac: String
    func run() throws { _ = try call(.addFDB(bridge: bridge, port: port, vlan: vlan, mac: mac), client) }
}

struct FDBDel: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fdb-del", abstract: "Delete an entry: fdb-del BR VLAN MAC.")
    @OptionGroup var client: ClientOptions
    @Argument var bridge: String
    @Argument var vlan: String
    @Argument var mac: String
    func run() throws { _ = try call(.deleteFDB(bridge: bridge, vlan: vlan, mac: mac), client) }
}

struct FDBFlush: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fdb-flush", abstract: "Remove learned (dynamic) entries.")
    @OptionGroup var client: ClientOptions
    @Argument var bridge: String?
    func run() throws { _ = try call(.flushFDB(bridge: bridge), client) }
}

struct FDBStatsCmd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fdb-stats", abstract: "Show MAC table statistics.")
    @OptionGroup var client: ClientOptions
    @Option var format: OutputFormat = .text
    @Argument var bridge: String
    func run() throws {
        if case .fdbStats(let s)? = try call(.fdbStats(bridge: bridge), client) {
            emit(format == .json ? Formatting.fdbStatsJSON(s) : Formatting.fdbStats(s))
        }
    }
}

struct DumpPorts: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dump-ports", abstract: "Show per-port counters.")
    @OptionGroup var client: ClientOptions
    @Option var format: OutputFormat = .text
    @Argument var bridge: String
    func run() throws {
        if case .portStats(let s)? = try call(.dumpPorts(bridge: bridge), client) {
            emit(format == .json ? Formatting.portStatsJSON(s) : Formatting.portStats(s))
        }
    }
}

struct STPShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stp-show", abstract: "Show spanning tree state.")
    @OptionGroup var client: ClientOptions
    @Option var format: OutputFormat = .text
    @Argument var bridge: String
    func run() throws {
        if case .stp(let s)? = try call(.stpShow(bridge: bridge), client) {
            emit(format == .json ? Formatting.stpJSON(s) : Formatting.stp(s))
        }
    }
}

/// ovs-vsctl puts `--may-exist`, `--if-exists` and `--socket PATH` before the command; move
/// them after it so the subcommand parses them.
func reorder(_ args: [String]) -> [String] {
    var globals: [String] = []
    var i = 0
    while i < args.count, args[i].hasPrefix("--"), args[i] != "--help" {
        globals.append(args[i])
        if args[i] == "--socket", i + 1 < args.count { globals.append(args[i + 1]); i += 1 }
        i += 1
    }
    guard i < args.count else { return args }
    return [args[i]] + globals + Array(args[(i + 1)...])
}

Flowctl.main(reorder(Array(CommandLine.arguments.dropFirst())))
