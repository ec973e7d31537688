import Commerce
import Fixtures
import Foundation
import LMDB
import Testing

@testable import CommandEngine
@testable import EventStore
@testable import History

/// A seeded demo shop (a few hundred events), shared by the read-only tests below.
actor SeededShop {
    static let shared = SeededShop()
    private var built: (log: EventLog, vault: KeyVault, directory: String)?

    func get() async throws -> (log: EventLog, vault: KeyVault, directory: String) {
        if let built { return built }
        let directory = temporaryDirectory("audit")
        let clock = SeedClock()
        var options = EventLog.Options()
        options.clock = clock
        options.initialMapSizeBytes = 32 << 20
        let log = try EventLog(directory: directory + "/log", options: options)
        let keyBytes = SeededBytes(seed: 9)
        let vault = try KeyVault(directory: directory + "/keys", randomBytes: { keyBytes.next($0) })
        let configuration = Engine.Configuration.seeded(
            5, clock: clock, tokenSecret: Array(repeating: 3, count: 32), sandboxSecret: Array(repeating: 4, count: 32))
        var size = DemoShop.Size()
        size.goods = 24
        size.customers = 6
        size.orders = 60
        _ = try await DemoShop.seed(
            engine: try Engine(log: log, vault: vault, configuration: configuration), clock: clock, size: size, seed: 5)
        built = (log, vault, directory)
        return (log, vault, directory)
    }
}

@Suite struct AuditTests {
    /// Every page of a query, following `next`.
    func allPages(_ auditor: Auditor, _ query: AuditQuery) throws -> [UInt64] {
        var query = query
        var positions: [UInt64] = []
        while true {
            let page = try auditor.query(query)
            #expect(page.events.count <= query.limit)
            positions += page.events.map(\.position)
            guard let next = page.next else { return positions }
            #expect(page.events.count == query.limit, "only a full page has a next page")
            query.after = next
        }
    }

    @Test func filtersAgreeWithABruteForceScan() async throws {
        let (log, _, _) = try await SeededShop.shared.get()
        var everything: [RecordedEvent] = []
        try log.scan {
            everything.append($0); return true
        }
        #expect(everything.count > 500)
        let auditor = Auditor(log: log)
        var random = SplitMix64(seed: 11)
        func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }
        let streams = Array(Set(everything.map(\.stream.rawValue))).sorted()
        let actors = Array(Set(everything.map(\.metadata.actor))).sorted()
        let userIds = actors.compactMap { actor -> String? in
            let parts = actor.split(separator: ":")
            return parts.count == 3 ? "user:\(parts[1])" : nil
        }
        let types = Array(Set(everything.map(\.type))).sorted()
        let correlations = everything.map(\.metadata.correlationId)
        let times = everything.map(\.recordedAt)
        for round in 0..<120 {
            var query = AuditQuery()
            if random.next() % 3 == 0 { query.stream = pick(streams) }
            if random.next() % 3 == 0 { query.actor = random.next() % 2 == 0 ? pick(actors) : pick(userIds) }
            if random.next() % 3 == 0 { query.type = pick(types) }
            if random.next() % 5 == 0 { query.correlationId = pick(correlations) }
            if random.next() % 3 == 0 { query.from = pick(times) }
            if random.next() % 3 == 0 { query.to = pick(times) }
            if round == 0 { query.actor = pick(userIds) }  // a user across roles is always tried
            query.limit = [1, 7, 50, 1_000][Int(random.next() % 4)]
            let expected = everything.filter { query.matches($0) }.map(\.position)
            #expect(try allPages(auditor, query) == expected, "\(query)")
        }
        // A role change is one user: `user:<id>` finds both roles' events.
        #expect(AuditQuery.actor("user:abc:merchant", matches: "user:abc"))
        #expect(!AuditQuery.actor("user:abcd:merchant", matches: "user:abc"))
    }

    @Test func thePresentedEventCarriesEveryHeaderFieldAndTheDecodedData() async throws {
        let (log, vault, _) = try await SeededShop.shared.get()
        let first = try #require(try log.event(at: 2))
        let line = try EventPresenter(cipher: vault).jsonLine(first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        for field in [
            "position", "stream", "version", "type", "schemaVersion", "eventId", "recordedAt", "recordedAtNanos", "actor",
            "correlationId", "causationId", "prevHash", "hash", "payloadBase64", "data",
        ] {
            #expect(object[field] != nil, "missing \(field)")
        }
        #expect(first.type == "UserRegistered")
        let stored = try #require((object["payloadBase64"] as? String).flatMap { Data(base64Encoded: $0) })
        #expect(Array(stored) == first.payload, "the stored payload, byte for byte")
        #expect(String(decoding: stored, as: UTF8.self).contains("sealed:v1:"), "personal fields are sealed in the stored payload")
        #expect((object["data"] as? [String: Any])?["email"] as? String == DemoShop.adminEmail, "and opened in the presented data")
        let blind = try #require(
            try JSONSerialization.jsonObject(with: Data(EventPresenter(cipher: nil).jsonLine(first))) as? [String: Any])
        #expect((blind["data"] as? [String: Any])?["email"] as? String == PersonalData.erased)
    }
}

@Suite struct TransferTests {
    func export(_ log: EventLog, _ vault: KeyVault?) throws -> String {
        let path = temporaryDirectory("export") + ".jsonl"
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try Exporter(log: log, cipher: vault).export(to: handle)
        try handle.close()
        return path
    }

    func lines(_ path: String) throws -> [String] {
        String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self).split(separator: "\n").map(String.init)
    }

    func write(_ lines: [String]) throws -> String {
        let path = temporaryDirectory("damaged") + ".jsonl"
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func exportThenImportReproducesEveryHash() async throws {
        let (log, vault, _) = try await SeededShop.shared.get()
        let path = try export(log, vault)
        let target = temporaryDirectory("import") + "/log"
        let head = try await Importer().importFile(path, into: target)
        #expect(head == (try log.head()))
        var options = EventLog.Options()
        options.readOnly = true
        let imported = try EventLog(directory: target, options: options)
        defer { imported.close() }
        var original: [RecordedEvent] = []
        try log.scan {
            original.append($0); return true
        }
        var copy: [RecordedEvent] = []
        try imported.scan {
            copy.append($0); return true
        }
        #expect(copy == original, "every header field, link and hash")
        #expect(try imported.verify().isHealthy)
        // The copy answers the same index queries.
        let actor = try #require(original.last?.metadata.actor)
        #expect(try imported.events(byActor: actor, limit: 1_000) == (try log.events(byActor: actor, limit: 1_000)))
        // Re-exported, the stored payloads and headers are the same bytes (data differs: the copy has no keys).
        let again = try lines(try export(imported, nil)).dropFirst().map { try JSONDecoder().decode(EventRecord.self, from: Data($0.utf8)) }
        let first = try lines(path).dropFirst().map { try JSONDecoder().decode(EventRecord.self, from: Data($0.utf8)) }
        #expect(Array(again) == first)
    }

    @Test(arguments: [
        "flipped payload", "reordered pair", "removed line", "truncated", "edited header field", "not json", "wrong format",
        "version zero", "largest version",
    ])
    func aDamagedFileIsRefusedAndWritesNothing(_ damage: String) async throws {
        let (log, vault, _) = try await SeededShop.shared.get()
        var lines = try lines(try export(log, vault))
        switch damage {
        case "flipped payload":
            var record = try JSONDecoder().decode(EventRecord.self, from: Data(lines[40].utf8))
            var bytes = try #require(record.payloadBytes)
            bytes[bytes.count / 2] ^= 0x01
            record.payloadBase64 = Data(bytes).base64EncodedString()
            lines[40] = String(decoding: try record.jsonLine(data: nil), as: UTF8.self)
        case "reordered pair": lines.swapAt(30, 31)
        case "removed line": lines.remove(at: 55)
        case "truncated": lines.removeLast(3)
        case "edited header field":
            var record = try JSONDecoder().decode(EventRecord.self, from: Data(lines[12].utf8))
            record.actor = "user:00000000-0000-7000-8000-000000000000:admin"
            lines[12] = String(decoding: try record.jsonLine(data: nil), as: UTF8.self)
        case "not json": lines[20] = "{\"position\": 20,"
        case "version zero", "largest version":
            // Versions are read as they are batched, before any hash is checked: 0 - 1 and the largest + 1 trapped.
            let records = try lines.dropFirst().map { try JSONDecoder().decode(EventRecord.self, from: Data($0.utf8)) }
            let index = try #require(
                records.indices.dropLast().first { records[$0].stream == records[$0 + 1].stream && records[$0].version > 1 })
            var record = records[index]
            record.version = damage == "version zero" ? 0 : UInt64.max
            lines[index + 1] = String(decoding: try record.jsonLine(data: nil), as: UTF8.self)
        default: lines[0] = "{\"format\":\"something-else\",\"formatVersion\":1,\"events\":1,\"headHash\":\"\"}"
        }
        let root = temporaryDirectory("refused")
        let target = root + "/log"
        await #expect(throws: TransferError.self) { try await Importer().importFile(try write(lines), into: target) }
        #expect(!FileManager.default.fileExists(atPath: target), "nothing written")
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        #expect(leftovers.isEmpty, "no scratch directory left: \(leftovers)")
    }

    @Test func importRefusesADirectoryThatHoldsALog() async throws {
        let (log, vault, directory) = try await SeededShop.shared.get()
        let path = try export(log, vault)
        await #expect(throws: TransferError.self) { try await Importer().importFile(path, into: directory + "/log") }
    }
}

@Suite struct VerifyTests {
    /// A copy of the reference shop's data file, changed behind the log's back.
    func tamperedCopy(_ body: (Transaction, LogSchema) throws -> Void) async throws -> EventLog {
        let shop = try await ReferenceShop()
        shop.close()
        let copy = temporaryDirectory("tampered")
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: shop.directory + "/log/data.mdb", toPath: copy + "/data.mdb")
        let environment = try Environment(directory: copy)
        let schema = try LogSchema(environment: environment)
        try environment.write { try body($0, schema) }
        environment.close()
        var options = EventLog.Options()
        options.readOnly = true
        return try EventLog(directory: copy, options: options)
    }

    @Test func theReferenceShopVerifies() async throws {
        let shop = try await ReferenceShop()
        defer { shop.close() }
        let report = try ShopVerifier(log: shop.log).verify()
        #expect(report.isHealthy)
        #expect(report.aggregates > 10)
    }

    @Test func aFlippedPayloadByteIsNamed() async throws {
        let log = try await tamperedCopy { txn, schema in
            var record = try #require(try txn.get(schema.events, key: Key.u64(20)).map { Array($0) })
            record[record.count - 40] ^= 0x01
            try txn.put(schema.events, key: Key.u64(20), value: record)
        }
        defer { log.close() }
        let report = try ShopVerifier(log: log).verify()
        #expect(!report.isHealthy)
        #expect(report.log.firstProblem?.kind == .hashMismatch && report.log.firstProblem?.position == 20)
        #expect(report.firstProblem?.contains("20") == true)
    }

    @Test func aRemovedEventIsNamed() async throws {
        let log = try await tamperedCopy { txn, schema in _ = try txn.delete(schema.events, key: Key.u64(17)) }
        defer { log.close() }
        let report = try ShopVerifier(log: log).verify()
        #expect(report.log.firstProblem?.kind == .positionGap && report.log.firstProblem?.position == 17)
    }

    @Test func aReorderedPairIsNamed() async throws {
        let log = try await tamperedCopy { txn, schema in
            let first = try #require(try txn.get(schema.events, key: Key.u64(10)).map { Array($0) })
            let second = try #require(try txn.get(schema.events, key: Key.u64(11)).map { Array($0) })
            try txn.put(schema.events, key: Key.u64(10), value: second)
            try txn.put(schema.events, key: Key.u64(11), value: first)
        }
        defer { log.close() }
        let report = try ShopVerifier(log: log).verify()
        #expect(!report.isHealthy)
        #expect(report.log.firstProblem?.position == 10)
    }

    @Test func anEventThatDoesNotDecodeIsNamed() async throws {
        let directory = temporaryDirectory("undecodable")
        let log = try EventLog(directory: directory)
        defer { log.close() }
        let metadata = EventMetadata(actor: "system", correlationId: UUID())
        _ = try await log.append(
            to: try StreamName("order-\(UUID().uuidString.lowercased())"), expected: .noStream,
            events: [
                ProposedEvent(eventId: UUID(), type: "OrderPaid", payload: Array("{\"amount\":\"lots\"}".utf8), metadata: metadata)
            ])
        let report = try ShopVerifier(log: log).verify()
        #expect(report.log.isHealthy, "the record itself is sound")
        #expect(report.decodeProblem?.contains("position 1") == true)
        #expect(!report.isHealthy)
    }
}
