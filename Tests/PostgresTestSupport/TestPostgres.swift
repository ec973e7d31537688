import Foundation
import Logging
import PostgresNIO
import PostgresStore
import Synchronization
import TestSupport

/// One throwaway PostgreSQL server per test process (Debian's package, as
/// `tools/setup.sh --with-postgres` installs it), on 127.0.0.1 and a port of
/// its own, its data in a temporary directory, stopped when the process
/// exits; each test gets a fresh database on it. Tests that need PostgreSQL
/// fail, never skip, when it is not installed.
public enum TestPostgres {
    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    private static let server = Mutex<Result<Server, Unavailable>?>(nil)

    struct Server: Sendable {
        let bin: String
        let dataDirectory: String
        let port: Int
    }

    /// A new, empty database on the shared server.
    public static func database(_ label: String = #function) async throws -> PostgresEndpoint {
        let server = try await startedOffThePool()
        let name = "t_" + label.lowercased().filter { $0.isLetter }.prefix(20) + "_" + UUID().uuidString.prefix(8).lowercased()
        try await admin(server) { client in try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)")) }
        return PostgresEndpoint(host: "127.0.0.1", port: server.port, user: "postgres", database: name)
    }

    /// A PostgreSQL log on `endpoint` with a generous answer timeout: the suite runs in parallel on a small machine, and
    /// a slow answer is not what these tests are about (the tests of timeouts set their own).
    public static func log(
        _ endpoint: PostgresEndpoint, _ configure: (inout PostgresLog.Options) -> Void = { _ in }
    ) async throws -> PostgresLog {
        var options = PostgresLog.Options()
        options.answerTimeout = .seconds(60)
        configure(&options)
        return try await PostgresLog.connect(endpoint, options: options)
    }

    /// The shared server's port (for tests that start processes pointing at it).
    public static func port() async throws -> Int { try await startedOffThePool().port }

    /// The shared server, started (initdb and pg_ctl take seconds) on a thread of its own: a test waiting for it must not
    /// hold one of the few threads Swift's concurrency runs every test's tasks on, or tests with timers starve meanwhile.
    private static func startedOffThePool() async throws -> Server {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try started() }) }
        }
    }

    /// Runs SQL as the superuser on `endpoint`'s database (a test that reaches past the log, to damage a row).
    public static func execute(_ sql: String, on endpoint: PostgresEndpoint) async throws {
        try await client(of: endpoint) { client in _ = try await client.query(PostgresQuery(unsafeSQL: sql)) }
    }

    /// The first column of the first row `sql` answers on `endpoint`'s database, as an integer (nil: no row, or NULL).
    public static func integer(_ sql: String, on endpoint: PostgresEndpoint) async throws -> Int64? {
        try await client(of: endpoint) { client in
            for try await value in try await client.query(PostgresQuery(unsafeSQL: sql)).decode(Int64?.self) { return value }
            return nil
        }
    }

    /// The first column of the first row `sql` answers on `endpoint`'s database, as text (nil: no row, or NULL).
    public static func text(_ sql: String, on endpoint: PostgresEndpoint) async throws -> String? {
        try await client(of: endpoint) { client in
            for try await value in try await client.query(PostgresQuery(unsafeSQL: sql)).decode(String?.self) { return value }
            return nil
        }
    }

    /// The payloads notified on `channel` of `endpoint`'s database while `body` ran, heard by a plain listening session (no
    /// node's: it holds none of the log's locks). Every notification committed before `body` returned is among them: a
    /// notification of the test's own is heard before and after it (PostgreSQL delivers them in the order they commit).
    public static func notifications(
        on channel: String, of endpoint: PostgresEndpoint, while body: () async throws -> Void
    ) async throws -> [String] {
        try await client(of: endpoint) { client in
            let heard = Heard()
            let listening = Task {
                try await client.withConnection { connection in
                    try await connection.listen(on: channel) { notifications in
                        for try await notification in notifications { heard.payloads.withLock { $0.append(notification.payload) } }
                    }
                }
            }
            defer { listening.cancel() }
            /// Notifies `payload` until it is heard (the session may not listen yet the first times).
            func mark(_ payload: String) async throws {
                let deadline = ContinuousClock.now + .seconds(30)
                while !heard.payloads.withLock({ $0.contains(payload) }) {
                    guard ContinuousClock.now < deadline else { throw Unavailable(description: "nothing was heard on \(channel)") }
                    _ = try await client.query("SELECT pg_notify(\(channel), \(payload))")
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            try await mark("test:start")
            try await body()
            try await mark("test:end")
            return heard.payloads.withLock { $0.filter { !$0.hasPrefix("test:") } }
        }
    }

    private final class Heard: Sendable {
        let payloads = Mutex<[String]>([])
    }

    /// A client of `endpoint`'s database, as the superuser, for `body` only.
    private static func client<R>(of endpoint: PostgresEndpoint, _ body: (PostgresClient) async throws -> R) async throws -> R {
        var configuration = PostgresClient.Configuration(
            host: endpoint.host, port: endpoint.port, username: "postgres", password: nil,
            database: endpoint.database, tls: .disable)
        configuration.options.minimumConnections = 0
        let client = PostgresClient(configuration: configuration, backgroundLogger: Logger(label: "test-postgres"))
        let runner = Task { await client.run() }
        defer { runner.cancel() }
        return try await body(client)
    }

    private static func admin(_ server: Server, _ body: (PostgresClient) async throws -> Void) async throws {
        var configuration = PostgresClient.Configuration(
            host: "127.0.0.1", port: server.port, username: "postgres", password: nil,
            database: "postgres", tls: .disable)
        configuration.options.minimumConnections = 0
        let client = PostgresClient(configuration: configuration, backgroundLogger: Logger(label: "test-postgres"))
        let runner = Task { await client.run() }
        defer { runner.cancel() }
        try await body(client)
    }

    private static func started() throws -> Server {
        try server.withLock { server in
            if server == nil { server = Result { try start() }.mapError { $0 as? Unavailable ?? Unavailable(description: "\($0)") } }
            guard let server else { throw Unavailable(description: "unreachable") }
            return try server.get()
        }
    }

    private static func start() throws -> Server {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let version = versions.compactMap(Int.init).max() else {
            throw Unavailable(description: "PostgreSQL is not installed: run tools/setup.sh --with-postgres (Debian's postgresql package)")
        }
        let bin = "/usr/lib/postgresql/\(version)/bin"
        let asPostgres = getuid() == 0 ? ["runuser", "-u", "postgres", "--"] : []
        stopLeftovers(bin: bin, asPostgres: asPostgres)
        let root = "\(rootPrefix)\(getpid())-\(UUID().uuidString.prefix(8))"
        let data = root + "/data"
        try FileManager.default.createDirectory(atPath: root + "/sock", withIntermediateDirectories: true)
        try run(["chmod", "755", root])
        if getuid() == 0 { try run(["chown", "-R", "postgres", root]) }
        try run(asPostgres + [bin + "/initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"])
        // A port of this process's own; when something holds it already (another server, or a client socket given it by
        // the kernel: the range overlaps the ephemeral ports), the next of a few others.
        var port = 30_000 + Int(getpid() % 20_000)
        for attempt in 1...5 {
            do {
                try run(
                    asPostgres + [
                        bin + "/pg_ctl", "-D", data, "-l", root + "/server.log", "-w", "-o",
                        "-c listen_addresses=127.0.0.1 -p \(port) -k \(root)/sock -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
                        "start",
                    ])
                break
            } catch {
                guard attempt < 5 else { throw error }
                port = 30_000 + (port - 30_000 + 4_999) % 20_000
            }
        }
        atexit {
            guard let server = TestPostgres.server.withLock({ try? $0?.get() }) else { return }
            let asPostgres = getuid() == 0 ? ["runuser", "-u", "postgres", "--"] : []
            try? TestPostgres.run(asPostgres + [server.bin + "/pg_ctl", "-D", server.dataDirectory, "-m", "immediate", "-w", "stop"])
            try? FileManager.default.removeItem(atPath: (server.dataDirectory as NSString).deletingLastPathComponent)
        }
        return Server(bin: bin, dataDirectory: data, port: port)
    }

    /// Where a test process keeps its server: the prefix, then the process's id and a random tag.
    private static let rootPrefix = "/var/tmp/emporium-test-pg-"

    /// Stops and removes the servers of test processes that no longer run (killed, so their `atexit` never ran): each
    /// would otherwise hold its memory, its port and its files until the machine restarts.
    private static func stopLeftovers(bin: String, asPostgres: [String]) {
        let parent = (rootPrefix as NSString).deletingLastPathComponent
        let prefix = (rootPrefix as NSString).lastPathComponent
        for name in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] where name.hasPrefix(prefix) {
            guard let owner = Int32(name.dropFirst(prefix.count).prefix { $0 != "-" }), owner != getpid() else { continue }
            guard kill(owner, 0) == -1, errno == ESRCH else { continue }  // its process still runs
            let root = parent + "/" + name
            if FileManager.default.fileExists(atPath: root + "/data/postmaster.pid") {
                try? run(asPostgres + [bin + "/pg_ctl", "-D", root + "/data", "-m", "immediate", "-w", "stop"])
            }
            try? FileManager.default.removeItem(atPath: root)
        }
    }

    /// Runs a command to completion with posix_spawn and waitpid. Not Foundation's `Process`: it learns of the child's exit
    /// through a socket the child inherits, and `pg_ctl start` leaves the server it forks holding that socket, so
    /// `waitUntilExit` would wait for the server to stop.
    static func run(_ arguments: [String]) throws {
        let output = temporaryDirectory("pg-out")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = (["/usr/bin/env"] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/usr/bin/env", &actions, nil, argv, environ)
        guard spawned == 0 else { throw Unavailable(description: "cannot start \(arguments[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exited = status & 0x7f == 0
        let code = (status >> 8) & 0xff
        guard exited, code == 0 else {
            let log = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            throw Unavailable(description: "\(arguments.joined(separator: " ")) failed (status \(status)): \(log.suffix(2_000))")
        }
    }
}
