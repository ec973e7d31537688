import ArgumentParser
import CommandEngine
import Commerce
import EventStore
import Foundation
import History

/// A point in the log: a position, or an ISO-8601 time (the last event at or before it).
enum LogPoint: ExpressibleByArgument, CustomStringConvertible {
    case position(UInt64)
    case time(Timestamp)

    init?(argument: String) {
        if let position = UInt64(argument) {
            self = .position(position)
        } else if let time = Self.parseTime(argument) {
            self = .time(time)
        } else {
            return nil
        }
    }

    static func parseTime(_ text: String) -> Timestamp? {
        let formatter = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [
            [.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime], [.withFullDate],
        ] {
            formatter.formatOptions = options
            if let date = formatter.date(from: text) {
                // A bare date means the end of that day (UTC): "as of 2026-05-01" includes the whole day.
                let end = options == [.withFullDate] ? date.addingTimeInterval(86_400 - 1e-6) : date
                return Timestamp(end)
            }
        }
        return nil
    }

    func position(in replayer: Replayer) throws -> UInt64 {
        switch self {
        case .position(let position):
            let head = replayer.log.headPosition
            guard position <= head else {
                throw CommandFailure(.dataError, "position \(position) is past the log's head, \(head); the log holds positions 1…\(head)")
            }
            return position
        case .time(let time): return try replayer.position(at: time)
        }
    }

    var description: String {
        switch self {
        case .position(let position): return "position \(position)"
        case .time(let time): return time.description
        }
    }
}

extension DataOptions {
    /// Runs `body` with the log and the key vault opened read-only, and closes both afterwards.
    func reading<R>(_ body: (EventLog, KeyVault?) throws -> R) throws -> R {
        let log = try openLog(readOnly: true)
        let vault = openVaultForReading()
        defer {
            log.close()
            vault?.close()
        }
        return try body(log, vault)
    }

    /// The vault, read-only, to wrap into a key archive; there must be one.
    func openVaultForArchive() throws -> KeyVault { try openVault(readOnly: true) }

    /// The vault for reading personal data; without one every personal field reads as erased.
    func openVaultForReading() -> KeyVault? {
        do {
            return try openVault(readOnly: true)
        } catch {
            FileHandle.standardError.write(Data("note: \(error); personal fields show as erased\n".utf8))
            return nil
        }
    }
}

func writeJSON(_ value: some Encodable, to path: String?) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    let data = try encoder.encode(value)
    if let path {
        guard FileManager.default.createFile(atPath: path, contents: data + Data([0x0A])) else {
            throw CommandFailure(.cantCreate, "cannot write \(path)")
        }
    } else {
        FileHandle.standardOutput.write(data + Data([0x0A]))
    }
}

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild the shop, or one stream, as it was at a past position or time.",
        discussion: """
            Uses the same evolve functions as the engine. Examples:
              emporium replay --at 2026-06-01T12:00:00Z
              emporium replay --position 1200 --stream order-<id>
              emporium replay --diff 1000 2000
              emporium replay --at 2026-06-01 --out shop.json
              emporium replay --at 2026-11-11T00:30:00Z --cart <user-id>   (what that cart cost then, promotions and all)
            """)

    @OptionGroup var data: DataOptions
    @Option(help: "An ISO-8601 time: the state after the last event at or before it.") var at: String?
    @Option(help: "A log position: the state after that event.") var position: UInt64?
    @Option(help: "One stream (e.g. order-<id>): its state and the events that built it.") var stream: String?
    @Option(help: "Write the state as JSON to this file.") var out: String?
    @Option(help: "A user id: price that user's cart as it stood then, with the prices, promotions and coupon of that moment.")
    var cart: String?
    @Option(name: .customLong("diff"), parsing: .upToNextOption, help: "Two points (positions or times): what changed between them.")
    var diff: [String] = []
    @Flag(help: "Print the state as JSON instead of a summary.") var json = false
    @Flag(help: "Fold from the first event even where a snapshot exists.") var noSnapshots = false

    func validate() throws {
        if !diff.isEmpty {
            guard diff.count == 2, diff.allSatisfy({ LogPoint(argument: $0) != nil }) else {
                throw ValidationError("--diff takes two points, each a position or an ISO-8601 time")
            }
            guard at == nil, position == nil else { throw ValidationError("--diff replaces --at and --position") }
            guard cart == nil else { throw ValidationError("--cart prices a cart at one point, not a diff") }
        } else {
            guard (at == nil) != (position == nil) else { throw ValidationError("give exactly one of --at and --position (or --diff A B)") }
            if let cart, UserId(cart) == nil { throw ValidationError("--cart takes a user id (a UUID)") }
            if let at, LogPoint.parseTime(at) == nil {
                throw ValidationError("--at \(LogLimits.shown(at)) is not an ISO-8601 time (e.g. 2026-06-01T12:00:00Z)")
            }
        }
    }

    func run() throws {
        let snapshots = noSnapshots ? nil : try data.openSnapshots(readOnly: true)
        defer { snapshots?.close() }
        try data.reading { log, vault in try replay(Replayer(log: log, cipher: vault, snapshots: snapshots)) }
    }

    private func replay(_ replayer: Replayer) throws {
        if !diff.isEmpty { return try runDiff(replayer) }
        let point: LogPoint = position.map(LogPoint.position) ?? .time(LogPoint.parseTime(at ?? "") ?? Timestamp(nanosecondsSinceEpoch: 0))
        let target = try point.position(in: replayer)
        if let stream { return try replayStream(stream, through: target, replayer) }
        if let cart { return try priceCart(cart, point: point, through: target, replayer) }
        let bar = ProgressBar(label: "replay")
        let shop = try replayer.shop(through: target) { bar.update(done: $0, total: $1) }
        bar.finish()
        if let out { try writeJSON(shop, to: out) }
        if json { return try writeJSON(shop, to: nil) }
        print("as of \(point): position \(shop.position)   recorded \(shop.recordedAt?.description ?? "-")")
        print("hash \(shop.hash)")
        for kind in AggregateKind.allCases {
            print("  \(kind.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)) \(shop.counts[kind] ?? 0)")
        }
        print("  engine events  \(shop.engineEvents)")
        if let out { print("state written to \(out)") }
    }

    private func priceCart(_ user: String, point: LogPoint, through target: UInt64, _ replayer: Replayer) throws {
        guard let owner = UserId(user) else { throw CommandFailure(.dataError, "--cart takes a user id (a UUID)") }
        // The moment promotions' windows are judged at: the time asked for, or when the event at the position was recorded.
        let at: Instant
        switch point {
        case .time(let asked): at = Instant(millisecondsSinceEpoch: asked.nanosecondsSinceEpoch / 1_000_000)
        case .position: at = try replayer.moment(of: target)
        }
        let priced = try replayer.cart(of: owner, through: target, at: at, policy: ShopPolicy())
        if let problem = priced.problem { throw CommandFailure(.dataError, "the cart could not have been checked out then: \(problem)") }
        if let out { try writeJSON(priced, to: out) }
        if json { return try writeJSON(priced, to: nil) }
        print("cart of \(user) as of \(point) (position \(target))")
        for line in priced.lines { print("  \(line.quantity) × \(line.title)  \(line.unitPrice)  = \(line.lineTotal)") }
        print("  subtotal \(priced.subtotal)")
        for promotion in priced.promotions { print("  − \(promotion.amount)  \(promotion.name)") }
        print("  discount \(priced.discount) (promotions and coupon)")
        print("  total    \(priced.total)")
    }

    private struct StreamOutput: Encodable {
        var stream: String
        var position: UInt64
        var version: UInt64
        var fromSnapshot: UInt64?
        var state: AnyAggregate
        var events: [EventRecord]
    }

    private func replayStream(_ stream: String, through target: UInt64, _ replayer: Replayer) throws {
        let replay: Replayer.StreamReplay
        do { replay = try replayer.stream(stream, through: target, useSnapshots: !noSnapshots) } catch {
            throw CommandFailure(.dataError, "\(error)")
        }
        let output = StreamOutput(
            stream: stream, position: target, version: replay.version, fromSnapshot: replay.fromSnapshot,
            state: replay.state, events: replay.events.map(EventRecord.init))
        if let out { try writeJSON(output, to: out) }
        if json { return try writeJSON(output, to: nil) }
        print(
            "\(stream) at position \(target): version \(replay.version)"
                + (replay.fromSnapshot.map { " (from the snapshot at version \($0))" } ?? ""))
        for event in replay.events {
            print("  \(event.position)\t\(event.recordedAt)\tv\(event.version)\t\(event.type)\t\(event.metadata.actor)")
        }
        print(String(decoding: replay.state.jsonPretty, as: UTF8.self))
    }

    private func runDiff(_ replayer: Replayer) throws {
        let points = diff.compactMap(LogPoint.init(argument:))
        let from = try points[0].position(in: replayer)
        let to = try points[1].position(in: replayer)
        let before = try replayer.shop(through: min(from, to))
        let after = try replayer.shop(through: max(from, to))
        let changes = Replayer.diff(before, after)
        if let out { try writeJSON(changes, to: out) }
        if json { return try writeJSON(changes, to: nil) }
        print("from position \(before.position) to \(after.position): \(changes.count) stream(s) changed")
        for change in changes {
            let fields = change.fields.isEmpty ? "" : "  fields: " + change.fields.joined(separator: ", ")
            print(
                "  \(change.kind.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(change.stream)  v\(change.fromVersion)→v\(change.toVersion)\(fields)"
            )
        }
    }
}

extension AnyAggregate {
    var jsonPretty: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { Array($0) } ?? []
    }
}

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Who did what, when: events filtered by stream, actor, type, correlation id and time.",
        discussion: """
            Every filter given must hold. --actor takes a stored actor (user:<id>:<role>, system, provider:<name>) or user:<id> for all of a user's roles.
            Pages follow positions: the last line names the --after of the next page.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, jsonl }

    @OptionGroup var data: DataOptions
    @Option(help: "Only this stream.") var stream: String?
    @Option(help: "Only this actor.") var actor: String?
    @Option(help: "Only this event type.") var type: String?
    @Option(help: "Only this correlation id (an HTTP request's X-Request-Id, a CLI run).") var correlationId: String?
    @Option(help: "From this ISO-8601 time.") var from: String?
    @Option(help: "Up to this ISO-8601 time.") var to: String?
    @Option(help: "Only events after this position (the cursor of the previous page).") var after: UInt64 = 0
    @Option(help: "Events per page (1…\(AuditQuery.pageSizeMax)).") var limit = AuditQuery.pageSizeDefault
    @Flag(help: "Every page, not just the first.") var all = false
    @Option(help: "table or jsonl.") var format: Format = .table
    @Flag(
        help:
            "Open personal fields in jsonl output (hidden otherwise). The operator holds the keys, so this is not recorded as an HTTP reveal is."
    )
    var revealPersonal = false

    func validate() throws {
        guard (1...AuditQuery.pageSizeMax).contains(limit) else { throw ValidationError("--limit takes 1…\(AuditQuery.pageSizeMax)") }
        if let correlationId, UUID(uuidString: correlationId) == nil { throw ValidationError("--correlation-id is not a UUID") }
        if let from, LogPoint.parseTime(from) == nil { throw ValidationError("--from is not an ISO-8601 time") }
        if let to, LogPoint.parseTime(to) == nil { throw ValidationError("--to is not an ISO-8601 time") }
    }

    func run() throws {
        try data.reading { log, vault in try audit(log, vault) }
    }

    private func audit(_ log: EventLog, _ vault: KeyVault?) throws {
        var query = AuditQuery()
        query.stream = stream
        query.actor = actor
        query.type = type
        query.correlationId = correlationId.flatMap(UUID.init(uuidString:))
        query.from = from.flatMap(LogPoint.parseTime)
        query.to = to.flatMap(LogPoint.parseTime)
        query.after = after
        query.limit = limit
        let auditor = Auditor(log: log)
        let presenter = EventPresenter(cipher: revealPersonal ? vault : HiddenPersonalData(), redactingSecrets: true)
        if format == .table { print("position\trecorded at\tstream@version\ttype\tactor\tcorrelation") }
        while true {
            let page = try auditor.query(query)
            for event in page.events {
                switch format {
                case .table:
                    print(
                        "\(event.position)\t\(event.recordedAt)\t\(event.stream)@\(event.version)\t\(event.type)\t\(event.metadata.actor)\t\(event.metadata.correlationId.uuidString.lowercased())"
                    )
                case .jsonl:
                    FileHandle.standardOutput.write(Data(try presenter.jsonLine(event) + [0x0A]))
                }
            }
            guard let next = page.next else { return }
            guard all else {
                if format == .table { print("more: --after \(next)") }
                return
            }
            query.after = next
        }
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the whole log as JSON lines: a header, then every event with every header field.",
        discussion:
            "`payload` is the stored payload byte for byte (personal fields sealed); `data` is the decoded event, personal fields opened or erased. `emporium import` rebuilds the same hashes from it."
    )

    @OptionGroup var data: DataOptions
    @Option(help: "Write to this file instead of standard output.") var out: String?
    @Option(help: "Also write the key vault to this file, wrapped under a passphrase (see --passphrase-file), for import --keys.")
    var keysOut: String?
    @OptionGroup var passphrase: PassphraseOptions

    func run() throws {
        if let keysOut {
            let vault = try data.openVaultForArchive()
            defer { vault.close() }
            let archive: KeyArchive
            do { archive = try KeyArchive.seal(try vault.contents(), passphrase: try passphrase.passphrase()) } catch let error
                as TransferError
            {
                throw CommandFailure(.config, "\(error)")
            }
            try writeJSON(archive, to: keysOut)
            FileHandle.standardError.write(Data("wrote the key vault, wrapped, to \(keysOut)\n".utf8))
        }
        try data.reading { log, vault in try export(log, vault) }
    }

    private func export(_ log: EventLog, _ vault: KeyVault?) throws {
        let handle: FileHandle
        if let out {
            guard FileManager.default.createFile(atPath: out, contents: nil), let file = FileHandle(forWritingAtPath: out) else {
                throw CommandFailure(.cantCreate, "cannot write \(out)")
            }
            handle = file
        } else {
            handle = FileHandle.standardOutput
        }
        let bar = ProgressBar(label: "export")
        let count = try Exporter(log: log, cipher: vault).export(to: handle) { bar.update(done: $0, total: $1) }
        bar.finish()
        if let out {
            try handle.close()
            FileHandle.standardError.write(Data("exported \(count) events to \(out)\n".utf8))
        }
    }
}

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild a log from an export into an empty data directory.",
        discussion: """
            The file is checked as it is read; a broken, truncated or reordered file is refused and nothing is written. Personal fields stay \
            sealed in the log: give the exporting shop's key archive (export --keys-out) with --keys, or `emporium serve` refuses the shop \
            (it will not make a new vault under a log whose personal data it cannot open: logins would fail and emails could be claimed twice).
            """)

    @OptionGroup var data: DataOptions
    @Argument(help: "The export file (JSON lines).") var file: String
    @Option(help: "The key archive written by export --keys-out: without it, a log with personal data cannot be served.") var keys: String?
    @OptionGroup var passphrase: PassphraseOptions

    func run() async throws {
        try data.prepareDirectory()
        if let keys {
            guard let bytes = FileManager.default.contents(atPath: keys),
                let archive = try? JSONDecoder().decode(KeyArchive.self, from: bytes)
            else {
                throw CommandFailure(.noInput, "\(keys) is not a key archive")
            }
            do {
                let contents = try archive.open(passphrase: try passphrase.passphrase())
                let vault = try data.openVault()
                defer { vault.close() }
                try vault.load(contents)
            } catch let error as TransferError {
                throw CommandFailure(.dataError, "import refused, nothing written: \(error)")
            } catch let error as VaultError {
                throw CommandFailure(.dataError, "import refused: \(error)")
            }
        }
        let bar = ProgressBar(label: "import")
        do {
            let head = try await Importer().importFile(file, into: data.logDirectory) { bar.update(done: $0, total: $1) }
            bar.finish()
            print("imported \(head.position) events; head hash \(head.hash.hex)")
        } catch let error as TransferError {
            bar.finish()
            throw CommandFailure(.dataError, "import refused, nothing written: \(error)")
        }
    }
}
