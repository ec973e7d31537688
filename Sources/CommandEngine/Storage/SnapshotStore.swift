import Commerce
import EventCodec
import Foundation
import History
import LMDB

/// Aggregate snapshots: a stream's state every `interval` events, so loading
/// a long stream is a snapshot plus its tail. Kept in their own LMDB
/// environment (`<data>/snapshots`), apart from the log: they are a cache that
/// can be deleted at any time, and they are written without fsync.
///
/// Key: stream name, 0x00, version (big-endian). Value: the state's
/// `snapshotSchemaVersion` (UInt32, big-endian) and its JSON, personal fields
/// sealed like the log's payloads. A snapshot of another schema version is
/// ignored, and the caller folds from the first event.
public final class SnapshotStore: SnapshotSource, @unchecked Sendable {
    public static let defaultInterval: UInt64 = 100

    public let interval: UInt64
    private let environment: Environment
    private let snapshots: Database

    public init(directory: String, interval: UInt64 = SnapshotStore.defaultInterval, readOnly: Bool = false) throws {
        precondition(interval > 0, "a snapshot interval is at least 1")
        if !readOnly { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        var options = EnvironmentOptions()
        options.durable = false
        options.readOnly = readOnly
        options.maxDatabases = 2
        environment = try Environment(directory: directory, options: options)
        snapshots = try environment.openDatabase("snapshots")
        self.interval = interval
    }

    public func close() { environment.close() }

    /// True when a stream that moved from `before` to `after` crossed a snapshot boundary.
    public func isDue(from before: UInt64, to after: UInt64) -> Bool { after / interval > before / interval }

    public func save<S: AggregateState>(_ state: S, stream: String, version: UInt64, cipher: (any PersonalDataCipher)?) throws {
        var value = Self.u32(UInt32(S.snapshotSchemaVersion))
        value += try EventCodec.encodeValue(state, sealingFor: state.personalDataOwner, with: cipher)
        try environment.write { txn in try txn.put(snapshots, key: Self.key(stream, version), value: value) }
    }

    /// The newest usable snapshot of `stream` at or before `version`.
    public func latest<S: AggregateState>(
        _ stream: String, atOrBefore version: UInt64, as: S.Type = S.self,
        cipher: (any PersonalDataCipher)?
    ) throws -> (state: S, version: UInt64)? {
        let found: (UInt64, [UInt8])? = try environment.read { txn in
            try txn.withCursor(snapshots) { cursor in
                guard let entry = try cursor.seek(atMost: Self.key(stream, version)) else { return nil }
                let prefix = Array(stream.utf8) + [0]
                guard entry.key.count == prefix.count + 8, entry.key.starts(with: prefix) else { return nil }
                return (Self.readU64(Array(entry.key.suffix(8))), Array(entry.value))
            }
        }
        guard let (at, value) = found, value.count >= 4, Self.readU32(Array(value.prefix(4))) == UInt32(S.snapshotSchemaVersion) else {
            return nil
        }
        guard let state = try? EventCodec.decoder(opening: cipher).decode(S.self, from: Data(value.dropFirst(4))) else { return nil }
        return (state, at)
    }

    /// Every snapshot's key (stream, version), for tools and tests.
    public func count() throws -> Int { try environment.read { try $0.count(snapshots) } }

    /// Stores raw bytes under a key: for tests that plant a snapshot of another schema version.
    func putRaw(stream: String, version: UInt64, schemaVersion: UInt32, json: [UInt8]) throws {
        try environment.write { txn in try txn.put(snapshots, key: Self.key(stream, version), value: Self.u32(schemaVersion) + json) }
    }

    static func key(_ stream: String, _ version: UInt64) -> [UInt8] {
        Array(stream.utf8) + [0] + withUnsafeBytes(of: version.bigEndian) { Array($0) }
    }

    static func u32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }
    static func readU32(_ bytes: [UInt8]) -> UInt32 { bytes.reduce(0) { $0 << 8 | UInt32($1) } }
    static func readU64(_ bytes: [UInt8]) -> UInt64 { bytes.reduce(0) { $0 << 8 | UInt64($1) } }
}
