import ArgumentParser
import Assembly
import CommandEngine
import EventStore
import Foundation
import Logging
import PostgresStore

/// The log of record a cluster command talks to: `--log` or EMPORIUM_LOG.
struct LogOfRecordOptions: ParsableArguments {
    @Option(
        name: .customLong("log"),
        help: "The log of record, postgres://user:password@host:port/database (or EMPORIUM_LOG); for serve, without it the local LMDB log.")
    var logURL: String?
    @Option(
        help: ArgumentHelp(
            "How long connecting to the log of record may take, its schema created, checked or upgraded (1-3600; at least the answer timeout).",
            discussion: """
                Under the migration lock: a node started beside others waits for their upgrade, and an older log of record \
                is rewritten in steps, each within this time (a step cut short goes on at the next start).
                """))
    var logStartSeconds = 30.0

    func validate() throws { _ = try startTimeout() }

    /// The start timeout `--log-start-seconds` sets.
    func startTimeout() throws -> Duration {
        guard (1...3600).contains(logStartSeconds) else {
            throw ValidationError("--log-start-seconds must be between 1 and 3600, not \(logStartSeconds)")
        }
        return .milliseconds(Int64(logStartSeconds * 1_000))
    }

    func endpoint() throws -> PostgresEndpoint {
        guard let endpoint = try optionalEndpoint() else {
            throw ValidationError("give the log of record with --log postgres://… or EMPORIUM_LOG")
        }
        return endpoint
    }

    /// The log of record, or nil when neither `--log` nor EMPORIUM_LOG is set (a shop on its local LMDB log).
    func optionalEndpoint() throws -> PostgresEndpoint? {
        guard let text = logURL ?? ProcessInfo.processInfo.environment["EMPORIUM_LOG"], !text.isEmpty else { return nil }
        guard let endpoint = PostgresEndpoint(url: text) else {
            throw ValidationError("--log must be postgres://user[:password]@host[:port]/database")
        }
        return endpoint
    }

    func connect() async throws -> PostgresLog {
        let endpoint = try endpoint()
        var options = PostgresLog.Options()
        options.startTimeout = try startTimeout()
        do {
            return try await PostgresLog.connect(endpoint, options: options)
        } catch {
            throw CommandFailure(.unavailable, "cannot reach the log of record at \(endpoint.redacted): \(error)")
        }
    }
}

/// The vault secret of a cluster: `--vault-secret` or EMPORIUM_VAULT_SECRET.
struct VaultSecretOption: ParsableArguments {
    @Option(help: "Secret that wraps the keys of the vault all nodes share (or EMPORIUM_VAULT_SECRET; at least 32 characters).")
    var vaultSecret: String?

    func resolve() throws -> String {
        let secret = vaultSecret ?? ProcessInfo.processInfo.environment["EMPORIUM_VAULT_SECRET"] ?? ""
        guard secret.utf8.count >= 32 else {
            throw CommandFailure(
                .config, "give the cluster's vault secret with --vault-secret or EMPORIUM_VAULT_SECRET (at least 32 characters)")
        }
        return secret
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy an LMDB shop (log and key vault) into an empty PostgreSQL log of record.",
        discussion: """
            Every record is placed in PostgreSQL as an append would be and checked to come out identical (position, version, \
            links, time and hash), so the two logs share one head hash when it ends. The keys are published to the shared \
            vault, wrapped under --vault-secret. Stop the server first; then start nodes with emporium serve --log. A \
            migrate that stopped part way (interrupted, or PostgreSQL out of reach) is resumed by running it again: a log \
            of record holding the beginning of this shop's log is copied on from its head; one holding anything else is \
            refused and left as it is.
            """)

    @OptionGroup var data: DataOptions
    @Option(
        name: .customLong("to"),
        help: "The log of record (empty, or a migrate of this shop stopped part way), postgres://user:password@host:port/database.")
    var target: String
    @OptionGroup var secret: VaultSecretOption

    func run() async throws {
        guard let endpoint = PostgresEndpoint(url: target) else {
            throw ValidationError("--to must be postgres://user[:password]@host[:port]/database")
        }
        let vaultSecret = try secret.resolve()
        let bar = ProgressBar(label: "copying")
        let head: LogHead
        do {
            head = try await Shop.migrate(directory: data.shop, to: endpoint, vaultSecret: vaultSecret) { done, total in
                bar.update(done: done, total: total)
            }
        } catch let error as ShopOpenError {
            if case .missing = error.reason { throw CommandFailure(.noInput, error.description) }
            throw CommandFailure(.dataError, error.description)
        } catch let error as EventLogError {
            if case .unavailable = error { throw CommandFailure(.unavailable, error.description) }
            throw CommandFailure(.dataError, error.description)
        }
        bar.finish()
        print("migrated \(head.position) events to \(endpoint.redacted); head hash \(head.hash.hex)")
    }
}

struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster", abstract: "A shop whose log of record is PostgreSQL: its nodes, its check, a local copy.",
        subcommands: [Status.self, ClusterVerify.self, Sync.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the nodes, each with its replica's head and its lag behind the log of record.")
        @OptionGroup var log: LogOfRecordOptions
        @Flag(help: "Print JSON.") var json = false

        struct Output: Encodable {
            struct Node: Encodable {
                var name: String
                var address: String
                var replicaHead: UInt64
                var lag: UInt64
                var secondsSinceSeen: Double
            }
            var logOfRecord: String
            var head: UInt64
            var nodes: [Node]
        }

        func run() async throws {
            let ofRecord = try await log.connect()
            defer { Task { await ofRecord.close() } }
            let head = try await ofRecord.head().position
            let now = SystemClock().now().nanosecondsSinceEpoch
            let nodes = try await ofRecord.nodes().map {
                Output.Node(
                    name: $0.name, address: $0.address, replicaHead: $0.replicaHead, lag: head - min(head, $0.replicaHead),
                    secondsSinceSeen: Double(now - $0.seenAt.nanosecondsSinceEpoch) / 1e9)
            }
            let output = Output(logOfRecord: ofRecord.endpoint.redacted, head: head, nodes: nodes)
            if json { return try writeJSON(output, to: nil) }
            print("log of record \(output.logOfRecord): head \(head)")
            if nodes.isEmpty { print("no node has reported yet") }
            for node in nodes {
                let seen = node.secondsSinceSeen > 5 ? "   last seen \(Int(node.secondsSinceSeen)) s ago" : ""
                print("\(node.name)  \(node.address)  replica \(node.replicaHead)  lag \(node.lag)\(seen)")
            }
        }
    }

    struct ClusterVerify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify", abstract: "Check the PostgreSQL log: every record's hash, the chain, positions, versions and links.",
            discussion: "Exits 0 when sound, 1 when a problem was found (the first is named).")
        @OptionGroup var log: LogOfRecordOptions

        func run() async throws {
            let ofRecord = try await log.connect()
            let bar = ProgressBar(label: "verifying")
            let report = try await ofRecord.verify { done, total in bar.update(done: UInt64(done), total: total) }
            bar.finish()
            await ofRecord.close()
            print("events checked: \(report.eventsChecked)   streams: \(report.streamsSeen)")
            print("head: position \(report.head.position)   hash \(report.head.hash.hex)")
            guard let first = report.firstProblem else { return print("OK: the log of record is intact") }
            print("FAILED: \(report.problems.count) problem(s); the first:\n  \(first)")
            throw ExitCode(1)
        }
    }

    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bring a local copy of the shop (log and keys) up to the log of record, checking every record.",
            discussion: """
                The copy is a data directory like any other: emporium verify, audit, replay and export then read the \
                PostgreSQL shop's history from it (a node's own data directory is such a copy too).
                """)
        @OptionGroup var data: DataOptions
        @OptionGroup var log: LogOfRecordOptions
        @OptionGroup var secret: VaultSecretOption

        func run() async throws {
            try data.prepareDirectory()
            let endpoint = try log.endpoint()
            var engine = Engine.Configuration(tokenSecret: Array(repeating: 1, count: 32), sandboxSecret: Array(repeating: 1, count: 32))
            engine.logger.logLevel = .warning
            let bar = ProgressBar(label: "copying")
            let shop: Shop
            do {
                shop = try await Shop.open(
                    directory: data.shop, options: commandOnlyShop(engine),
                    cluster: ClusterOptions(logOfRecord: endpoint, vaultSecret: try secret.resolve(), nodeName: "sync", address: "-")
                ) { done, total in bar.update(done: done, total: total) }
            } catch {
                throw CommandFailure(.unavailable, "cannot copy from \(endpoint.redacted): \(error)")
            }
            bar.finish()
            print(
                "\(data.dataDirectory) holds the log of record through position \(shop.log.headPosition); head hash \(try shop.log.head().hash.hex)"
            )
            await shop.cluster?.ofRecord.close()
            shop.close()
        }
    }
}
