import ArgumentParser
import EventStore
import Foundation
import History
import LMDB

/// What a backup holds, written last into it (`backup.json`): a directory
/// without it is not a finished backup.
struct BackupManifest: Codable {
    static let formatName = "emporium-backup"
    static let fileName = "backup.json"

    var format: String
    var formatVersion: Int
    var emporiumVersion: String
    var createdAt: String
    var logPosition: UInt64
    var logHash: String
    /// The stores copied, in the order they were copied.
    var stores: [String]
}

/// `emporium backup`: a consistent copy of a shop, taken while it serves.
struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy a shop (log, keys, read models, snapshots, secrets) into a new directory, while it serves.",
        discussion: """
            Each store is copied with LMDB's own copy (mdb_env_copy2, compacted) inside one read transaction, so each copy is a
            committed state. The order makes the set consistent: the read models and snapshots first (so they are never ahead of
            the log copied after them; a restored server folds what they lack), then the log, then the key vault (every key the
            copied log needs existed before it), then secrets.json. The manifest (backup.json) names the log's head and hash.
            """)

    @OptionGroup var data: DataOptions
    @Option(help: "An empty or new directory to write the backup into.") var out: String

    func run() throws {
        guard FileManager.default.fileExists(atPath: data.logDirectory + "/data.mdb") else {
            throw CommandFailure(.noInput, "no event log in \(data.dataDirectory) (expected \(data.logDirectory)/data.mdb)")
        }
        try Self.prepareEmpty(out)
        var stores: [String] = []
        for store in ["projections", "snapshots", "log", "keys"] {
            let source = data.dataDirectory + "/" + store
            guard FileManager.default.fileExists(atPath: source + "/data.mdb") else { continue }
            try Self.copy(store: source, to: out + "/" + store)
            stores.append(store)
        }
        let secrets = data.dataDirectory + "/secrets.json"
        if FileManager.default.fileExists(atPath: secrets) {
            do { try FileManager.default.copyItem(atPath: secrets, toPath: out + "/secrets.json") } catch {
                throw CommandFailure(.cantCreate, "cannot copy secrets.json into \(out): \(error.localizedDescription)")
            }
            stores.append("secrets.json")
        }
        var options = EventLog.Options()
        options.readOnly = true
        let head: LogHead
        do {
            let log = try EventLog(directory: out + "/log", options: options)
            defer { log.close() }
            head = try log.head()
        } catch {
            throw CommandFailure(.ioError, "the copied log in \(out)/log cannot be read: \(error)")
        }
        let manifest = BackupManifest(
            format: BackupManifest.formatName, formatVersion: 1, emporiumVersion: Emporium.version,
            createdAt: ISO8601DateFormatter().string(from: Date()), logPosition: head.position, logHash: head.hash.hex, stores: stores)
        try writeJSON(manifest, to: out + "/" + BackupManifest.fileName)
        FileHandle.standardError.write(
            Data("backed up \(stores.joined(separator: ", ")) to \(out): log at position \(head.position), hash \(head.hash.hex)\n".utf8))
    }

    static func prepareEmpty(_ directory: String) throws {
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        guard contents.isEmpty else { throw CommandFailure(.cantCreate, "\(directory) is not empty; back up into a new directory") }
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw CommandFailure(.cantCreate, "cannot create \(directory): \(error.localizedDescription)")
        }
    }

    /// One LMDB environment, copied compacted from a read-only handle (a server may be writing it).
    static func copy(store source: String, to target: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
            var options = EnvironmentOptions()
            options.readOnly = true
            let environment = try Environment(directory: source, options: options)
            defer { environment.close() }
            try environment.copy(toDirectory: target, compact: true)
        } catch {
            throw CommandFailure(.ioError, "cannot copy \(source) to \(target): \(error)")
        }
    }
}

/// `emporium restore`: a backup into a data directory that holds no shop.
struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore a backup into a data directory that holds no shop, and check its log.",
        discussion:
            "The log's hash chain is checked and its head compared with the manifest before the restore is reported done; `emporium serve` then folds the read models up to the log's head."
    )

    @OptionGroup var data: DataOptions
    @Argument(help: "The backup directory (written by emporium backup).") var backup: String

    func run() throws {
        let manifestPath = backup + "/" + BackupManifest.fileName
        guard let bytes = FileManager.default.contents(atPath: manifestPath),
            let manifest = try? JSONDecoder().decode(BackupManifest.self, from: bytes), manifest.format == BackupManifest.formatName
        else {
            throw CommandFailure(.noInput, "\(backup) is not a finished backup (no readable \(BackupManifest.fileName))")
        }
        if FileManager.default.fileExists(atPath: data.logDirectory + "/data.mdb") {
            throw CommandFailure(.dataError, "\(data.dataDirectory) holds a shop already; restore into a new data directory")
        }
        try data.prepareDirectory()
        for store in manifest.stores {
            let source = backup + "/" + store
            let target = data.dataDirectory + "/" + store
            do {
                if store.hasSuffix(".json") {
                    try FileManager.default.copyItem(atPath: source, toPath: target)
                    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: target)
                } else {
                    try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
                    try FileManager.default.copyItem(atPath: source + "/data.mdb", toPath: target + "/data.mdb")
                }
            } catch {
                throw CommandFailure(.ioError, "cannot restore \(store) into \(data.dataDirectory): \(error.localizedDescription)")
            }
        }
        let log = try data.openLog(readOnly: true)
        defer { log.close() }
        let report = try log.verify()
        guard report.isHealthy, report.head.position == manifest.logPosition, report.head.hash.hex == manifest.logHash else {
            throw CommandFailure(
                .dataError, "the restored log does not check: \(report.firstProblem?.description ?? "its head is not the manifest's")")
        }
        print(
            "restored \(manifest.stores.joined(separator: ", ")) into \(data.dataDirectory): log at position \(report.head.position), hash \(report.head.hash.hex), chain verified"
        )
    }
}

/// The passphrase that wraps a key archive: `--passphrase-file`, else `EMPORIUM_KEYS_PASSPHRASE`.
struct PassphraseOptions: ParsableArguments {
    @Option(help: "A file whose first line is the key archive's passphrase (or EMPORIUM_KEYS_PASSPHRASE).") var passphraseFile: String?

    func passphrase() throws -> String {
        if let passphraseFile {
            guard let text = try? String(contentsOfFile: passphraseFile, encoding: .utf8) else {
                throw CommandFailure(.noInput, "cannot read \(passphraseFile)")
            }
            return String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
        }
        guard let passphrase = ProcessInfo.processInfo.environment["EMPORIUM_KEYS_PASSPHRASE"] else {
            throw CommandFailure(.config, "a key archive needs a passphrase: --passphrase-file FILE or EMPORIUM_KEYS_PASSPHRASE")
        }
        return passphrase
    }
}
