import Foundation
import GRDB

/// The durable configuration: bridges, ports and static FDB entries in SQLite through GRDB
/// (WAL journal, `synchronous = FULL`, so a committed change survives a crash or power loss).
/// The controller writes every change here before it applies it to the datapath.
///
/// The database file and its WAL companions are mode 0600; the directory is created (0700)
/// when missing.
public final class ConfigStore {
    public let path: String
    private let db: DatabaseQueue

    /// Opens (creating and migrating) the database at `path`.
    /// - Throws: GRDB's `DatabaseError`, or a `CocoaError` when the directory cannot be created.
    public init(path: String) throws {
        self.path = path
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
        if !FileManager.default.fileExists(atPath: path) {
            let fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
            if fd >= 0 { close(fd) }
        }
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        db = try DatabaseQueue(path: path, configuration: config)
        try Self.migrator.migrate(db)
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            chmod(path + suffix, 0o600)
        }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.create(table: "bridge") { t in
                t.primaryKey("name", .text)
                t.column("number", .integer).notNull().unique()
                t.column("settings", .blob).notNull()
            }
            try db.create(table: "port") { t in
                t.primaryKey("name", .text)
                t.column("bridge", .text).notNull().references("bridge", onDelete: .cascade)
                t.column("settings", .blob).notNull()
            }
            try db.create(table: "static_fdb") { t in
                t.column("bridge", .text).notNull().references("bridge", onDelete: .cascade)
                t.column("vlan", .integer).notNull()
                t.column("mac", .text).notNull()
                t.column("port", .text).notNull().references("port", onDelete: .cascade)
                t.primaryKey(["bridge", "vlan", "mac"])
            }
        }
        m.registerMigration("v2-stp-snapshot") { db in
            try db.create(table: "stp_snapshot") { t in
                t.primaryKey("bridge", .text).references("bridge", onDelete: .cascade)
                t.column("data", .blob).notNull()
            }
        }
        return m
    }

    /// Stores a bridge's spanning tree status (JSON of `RSTPSnapshot`), so a restarted daemon
    /// keeps discarding ports discarding. Removed with the bridge.
    public func saveSTPSnapshot(bridge: String, _ data: Data) throws {
        try db.write { db in
            try db.execute(sql: "INSERT INTO stp_snapshot (bridge, data) VALUES (?, ?) ON CONFLICT(bridge) DO UPDATE SET data = excluded.data",
                           arguments: [bridge, data])
        }
    }

    /// The stored spanning tree status of a bridge, nil when none.
    public func loadSTPSnapshot(bridge: String) throws -> Data? {
        try db.read { db in try Data.fetchOne(db, sql: "SELECT data FROM stp_snapshot WHERE bridge = ?", arguments: [bridge]) }
    }

    private static let encoder: JSONEncoder = { let e = JSONEncoder(); e.outputFormatting = .sortedKeys; return e }()
    private static let decoder = JSONDecoder()

    /// Everything stored.
    public func load() throws -> SwitchConfig {
        try db.read { db in
            var c = SwitchConfig()
            for row in try Row.fetchAll(db, sql: "SELECT settings FROM bridge") {
                let b = try Self.decoder.decode(BridgeConfig.self, from: row["settings"] as Data)
                c.bridges[b.name] = b
            }
            for row in try Row.fetchAll(db, sql: "SELECT settings FROM port") {
                let p = try Self.decoder.decode(PortConfig.self, from: row["settings"] as Data)
                c.ports[p.name] = p
            }
            for row in try Row.fetchAll(db, sql: "SELECT bridge, vlan, mac, port FROM static_fdb ORDER BY bridge, vlan, mac") {
                let mac: String = row["mac"]
                let vlan: Int = row["vlan"]
                guard let m = MACAddress(mac), let v = VLANID(rawValue: UInt16(vlan)) else { continue }
                c.staticFDB.append(StaticFDBConfig(bridge: row["bridge"], vlan: v, mac: m, port: row["port"]))
            }
            return c
        }
    }

    /// Replaces the stored configuration with `config` in one durable transaction, writing
    /// only what differs from `old`.
    public func save(_ config: SwitchConfig, replacing old: SwitchConfig) throws {
        try db.write { db in
            for name in old.ports.keys where config.ports[name] == nil || config.ports[name]!.bridge != old.ports[name]!.bridge {
                try db.execute(sql: "DELETE FROM port WHERE name = ?", arguments: [name])
            }
            for name in old.bridges.keys where config.bridges[name] == nil {
                try db.execute(sql: "DELETE FROM bridge WHERE name = ?", arguments: [name])
            }
            for (name, b) in config.bridges where old.bridges[name] != b {
                try db.execute(sql: "INSERT INTO bridge (name, number, settings) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET number = excluded.number, settings = excluded.settings",
                               arguments: [name, Int(b.number), try Self.encoder.encode(b)])
            }
            for (name, p) in config.ports where old.ports[name] != p {
                try db.execute(sql: "INSERT INTO port (name, bridge, settings) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET bridge = excluded.bridge, settings = excluded.settings",
                               arguments: [name, p.bridge, try Self.encoder.encode(p)])
            }
            let newStatic = Set(config.staticFDB), oldStatic = Set(old.staticFDB)
            for s in oldStatic.subtracting(newStatic) {
                try db.execute(sql: "DELETE FROM static_fdb WHERE bridge = ? AND vlan = ? AND mac = ?",
                               arguments: [s.bridge, Int(s.vlan.rawValue), s.mac.description])
            }
            for s in newStatic.subtracting(oldStatic) {
                try db.execute(sql: "INSERT OR REPLACE INTO static_fdb (bridge, vlan, mac, port) VALUES (?, ?, ?, ?)",
                               arguments: [s.bridge, Int(s.vlan.rawValue), s.mac.description, s.port])
            }
        }
    }

    /// The journal mode and synchronous setting in force (for tests): e.g. ("wal", 2).
    public func durability() throws -> (journalMode: String, synchronous: Int) {
        try db.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "", try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1)
        }
    }
}
