import Commerce
import Fixtures
import Foundation
import Testing

@testable import CommandEngine
@testable import EventStore
@testable import History

@Suite struct ShreddingTests {
    @Test func aForgottenUsersPersonalDataIsUnreadableInTheRawFilesAndReplayStillWorks() async throws {
        let shop = try await ReferenceShop()
        let meimei = "han.meimei@reference.emporium"
        let lilei = "li.lei@reference.emporium"
        let directory = shop.directory
        // Replay to the end works: the forgotten customer's fields are erased, everyone else's intact.
        let replayer = Replayer(log: shop.log, cipher: shop.vault)
        let end = try replayer.shop(through: shop.log.headPosition)
        let users = end.streams.values.compactMap { stream -> UserState? in if case .user(let user) = stream.state { user } else { nil } }
        #expect(users.contains { $0.email == lilei && $0.name == "Li Lei 李雷" })
        #expect(users.contains { $0.isForgotten && $0.email.isEmpty })
        // Before the forgetting, time travel shows her events' personal fields as erased: the key is gone for every point in time.
        let placed = try replayer.shop(through: try #require(shop.outcome.marks["placed"]))
        let hers = try #require(
            placed.streams.values.compactMap { stream -> UserState? in if case .user(let user) = stream.state { user } else { nil } }
                .first { $0.name == PersonalData.erased })
        #expect(hers.email == PersonalData.erased && hers.addresses.allSatisfy { $0.address.line1 == PersonalData.erased })
        // Audit and export show the same.
        let registered = try #require(
            try shop.log.events(ofType: "UserRegistered", limit: 10).first { event in
                event.stream.rawValue == "user-\(hers.userId?.description ?? "")"
            })
        let data = try #require(
            try JSONSerialization.jsonObject(with: Data(EventPresenter(cipher: shop.vault).data(registered))) as? [String: Any])
        #expect(data["email"] as? String == PersonalData.erased && data["role"] as? String == "customer")
        shop.close()
        // No file of the shop holds her address, name or email in clear; nor anyone else's email (sealed from the start).
        let log = try allBytes(under: directory + "/log")
        let everything = try allBytes(under: directory)
        #expect(log.count > 0 && everything.count > log.count)
        for secret in [meimei, "Han Meimei", "韩梅梅", lilei, "Li Lei", "Nanjing Road"] {
            #expect(!everything.contains(bytesOf: secret), "\(secret) is readable in the raw files")
        }
        // The comparison finds what is there: non-personal text is stored in clear.
        #expect(log.contains(bytesOf: "Longjing green tea"))
    }

    @Test func systemRandomBytesComeInTheCountAskedFor() {
        for count in [0, 1, 7, 8, 9, 12, 16, 32, 33] {
            #expect(KeyVault.systemRandomBytes(count).count == count, "\(count)")
        }
        // Two draws differ, and 32 bytes are not a few values repeated.
        let first = KeyVault.systemRandomBytes(32)
        #expect(first != KeyVault.systemRandomBytes(32))
        #expect(Set(first).count > 8)
    }

    @Test func aForgottenUsersKeyCanNeverBeMadeAgain() throws {
        let vault = try KeyVault(directory: temporaryDirectory("vault"))
        defer { vault.close() }
        let user = UserId(UUID())
        let sealed = try vault.seal("secret@example.com", owner: user)
        #expect(vault.open(sealed) == "secret@example.com")
        // Bound to its owner: moved to another user's id, it does not open.
        let other = UserId(UUID())
        _ = try vault.seal("x", owner: other)
        #expect(vault.open(sealed.replacingOccurrences(of: user.description, with: other.description)) == nil)
        try vault.destroyKey(for: user)
        #expect(vault.open(sealed) == nil)
        #expect(throws: VaultError.self) { try vault.seal("again", owner: user) }
        #expect(try !vault.hasKey(for: user))
    }
}

@Suite struct SnapshotTests {
    func orderStream(_ shop: ReferenceShop) throws -> (StreamId, String, UInt64) {
        let name = try #require(try shop.log.events(ofType: "OrderPlaced", limit: 1).first?.stream)
        let version = try #require(try shop.log.streamVersion(name))
        return (try #require(StreamId(name: name.rawValue)), name.rawValue, version)
    }

    func freshEngine(_ shop: ReferenceShop) throws -> Engine {
        try Engine(
            log: shop.log, vault: shop.vault, snapshots: shop.snapshots, configuration: ReferenceScenario.configuration(clock: SeedClock()))
    }

    /// A goods' history folds from the newest snapshot far enough back, and says what folding from its first event says.
    @Test func aGoodsHistoryStartsFromASnapshotAndEqualsTheWholeFold() async throws {
        let shop = try await ReferenceShop(snapshotInterval: 2)
        defer { shop.close() }
        let configuration = ReferenceScenario.configuration(clock: SeedClock())
        let snapshotted = try Engine(log: shop.log, vault: shop.vault, snapshots: shop.snapshots, configuration: configuration)
        let whole = try Engine(log: shop.log, vault: shop.vault, configuration: configuration)
        var fromSnapshots = 0
        for recorded in try shop.log.events(ofType: "GoodsListed", limit: 100) {
            guard case .goods(let id)? = StreamId(name: recorded.stream.rawValue), let merchant = UserId(try whole.goods(id).merchantId)
            else { continue }
            let events = try shop.log.readStream(recorded.stream)
            for limit in [1, 2, 3, 200] {
                let history = try snapshotted.goodsHistory(id, for: .user(merchant, .merchant), limit: limit)
                #expect(history == (try whole.goodsHistory(id, for: .user(merchant, .merchant), limit: limit)))
                #expect(history.map(\.position) == events.suffix(limit).reversed().map(\.position), "the latest \(limit), newest first")
                let reach = UInt64(events.count) > UInt64(limit) ? UInt64(events.count - limit) : 0
                if reach > 0,
                    try shop.snapshots.latest(recorded.stream.rawValue, atOrBefore: reach, as: GoodsState.self, cipher: shop.vault) != nil
                {
                    fromSnapshots += 1
                }
            }
        }
        #expect(fromSnapshots > 0, "some histories started from a snapshot")
    }

    @Test func theEngineStartsFromASnapshotOfItsSchemaVersionAndIgnoresOthers() async throws {
        let shop = try await ReferenceShop(snapshotInterval: 1_000)
        defer { shop.close() }
        let (stream, name, version) = try orderStream(shop)
        let replayer = Replayer(log: shop.log, cipher: shop.vault)
        let truth = try replayer.stream(name, through: shop.log.headPosition, useSnapshots: false).state
        // A snapshot of the current schema version at the stream's head is taken as it is (proved by planting a changed one).
        guard case .order(var planted) = truth else { Issue.record("not an order"); return }
        planted.trackingNumber = "PLANTED"
        try shop.snapshots.save(planted, stream: name, version: version, cipher: shop.vault)
        #expect(try freshEngine(shop).aggregate(stream) == .order(planted))
        // One of another schema version is ignored: the engine folds from the first event.
        try shop.snapshots.putRaw(
            stream: name, version: version, schemaVersion: UInt32(OrderState.snapshotSchemaVersion + 1),
            json: Array("{\"nonsense\":1}".utf8))
        #expect(try freshEngine(shop).aggregate(stream) == truth)
        // And an undecodable one of the right version is ignored too.
        try shop.snapshots.putRaw(
            stream: name, version: version, schemaVersion: UInt32(OrderState.snapshotSchemaVersion), json: Array("{\"nonsense\":1}".utf8))
        #expect(try freshEngine(shop).aggregate(stream) == truth)
    }

    @Test func replayToAPointUsesTheNewestSnapshotAtOrBeforeIt() async throws {
        let shop = try await ReferenceShop(snapshotInterval: 2)
        defer { shop.close() }
        let (_, name, version) = try orderStream(shop)
        #expect(version >= 4)
        let replayer = Replayer(log: shop.log, cipher: shop.vault, snapshots: shop.snapshots)
        var used = 0
        var stream: [RecordedEvent] = []
        try shop.log.scan { event in
            if event.stream.rawValue == name { stream.append(event) }
            return true
        }
        for event in stream {
            let replay = try replayer.stream(name, through: event.position)
            let plain = try replayer.stream(name, through: event.position, useSnapshots: false)
            #expect(replay.state == plain.state && replay.version == event.version)
            if let from = replay.fromSnapshot {
                used += 1
                let newest = try shop.snapshots.latest(name, atOrBefore: event.version, as: OrderState.self, cipher: shop.vault)?.version
                #expect(from == newest && from <= event.version, "the newest snapshot at or before the point")
                #expect(
                    replay.events.map(\.version) == stream.map(\.version).filter { $0 > from && $0 <= event.version }, "then only the tail")
            }
        }
        #expect(used > 0)
        // A name too long to be a stream is refused, and the message does not repeat all of it.
        let long = "order-" + String(repeating: "x", count: 70_000)
        do {
            _ = try replayer.stream(long, through: shop.log.headPosition)
            Issue.record("a 70 KB stream name was replayed")
        } catch let error as ReplayError {
            #expect(String(describing: error).utf8.count < 400 && String(describing: error).contains("70006 bytes"), "\(error)")
        }
        // Snapshots hold personal data sealed, like the log.
        #expect(try shop.snapshots.count() > 0)
    }
}
