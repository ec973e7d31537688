import Commerce
import Fixtures
import Foundation
import Testing

@testable import CommandEngine
@testable import EventStore
@testable import History

/// The reference scenario's export and its replayed states at four marks are
/// locked in `Snapshots/reference/`. Regenerate on purpose only:
/// `EMPORIUM_REGENERATE_SNAPSHOTS=1 swift test --filter ReferenceTests`,
/// then review the diff like code.
@Suite struct ReferenceTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Snapshots/reference")
    static let regenerate = ProcessInfo.processInfo.environment["EMPORIUM_REGENERATE_SNAPSHOTS"] == "1"

    static func pretty(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return Array(try encoder.encode(value)) + [0x0A]
    }

    func compare(_ bytes: [UInt8], with name: String) throws {
        let file = Self.directory.appendingPathComponent(name)
        if Self.regenerate {
            try FileManager.default.createDirectory(at: Self.directory, withIntermediateDirectories: true)
            try Data(bytes).write(to: file)
        }
        let stored = Array(try Data(contentsOf: file))
        #expect(
            stored.elementsEqual(bytes),
            "\(name) differs from a fresh run of the reference scenario: regenerate on purpose and review the diff")
    }

    @Test func theExportAndTheReplayedStatesAreTheLockedOnes() async throws {
        let shop = try await ReferenceShop()
        defer { shop.close() }
        let exportPath = temporaryDirectory("export") + ".jsonl"
        #expect(FileManager.default.createFile(atPath: exportPath, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: exportPath))
        try Exporter(log: shop.log, cipher: shop.vault).export(to: handle)
        try handle.close()
        try compare(Array(try Data(contentsOf: URL(fileURLWithPath: exportPath))), with: "export.jsonl")
        let replayer = Replayer(log: shop.log, cipher: shop.vault)
        for (index, mark) in ReferenceScenario.markNames.enumerated() {
            let position = try #require(shop.outcome.marks[mark])
            try compare(try Self.pretty(try replayer.shop(through: position)), with: "state-\(index + 1)-\(mark).json")
        }
    }

    @Test func replayAtEveryPositionEqualsWhatTheEngineHad() async throws {
        let shop = try await ReferenceShop(snapshotInterval: 2)
        defer { shop.close() }
        #expect(try shop.snapshots.count() > 0, "the engine wrote snapshots while the scenario ran")
        let withSnapshots = Replayer(log: shop.log, cipher: shop.vault, snapshots: shop.snapshots)
        let head = shop.log.headPosition
        #expect(head == shop.outcome.marks["end"])
        // At each command's end, every stream replayed equalled the engine's own state at that moment.
        #expect(shop.checks.count == shop.outcome.steps.count)
        for check in shop.checks { #expect(check.mismatches.isEmpty, "at position \(check.position): \(check.mismatches)") }
        #expect(shop.checks.map(\.streams).reduce(0, +) > 100)
        for position in 1...head {
            let whole = try withSnapshots.shop(through: position)
            #expect(whole.position == position)
            // One stream replayed on its own (from a snapshot where there is one) equals the whole-shop fold.
            for (name, stream) in whole.streams {
                let single = try withSnapshots.stream(name, through: position)
                #expect(single.state == stream.state && single.version == stream.version, "\(name) at position \(position)")
                if let from = single.fromSnapshot { #expect(from <= single.version) }
            }
        }
        // By time: the last event at or before a time, never a later one.
        let shippedAt = try #require(shop.outcome.marks["shipped"])
        let marked = try #require(try shop.log.event(at: shippedAt))
        #expect(try withSnapshots.position(at: marked.recordedAt) == marked.position)
    }

    /// The locked export is a log written before goods had variants (every goods event in its version 2 form):
    /// imported as it is, it replays to the locked states, each goods a goods with one default variant.
    /// The reference export as it was before review moderation (`export-before-moderation.jsonl`, locked): its review
    /// is a version 2 `ReviewPosted`, published at once, and replays as approved and counted, as it always was.
    @Test func aLogFromBeforeModerationCountsItsReviewAsPublished() async throws {
        let shop = try await ReferenceShop()
        defer { shop.close() }
        let target = temporaryDirectory("reference-before-moderation") + "/log"
        try await Importer().importFile(Self.directory.appendingPathComponent("export-before-moderation.jsonl").path, into: target)
        var options = EventLog.Options()
        options.readOnly = true
        let imported = try EventLog(directory: target, options: options)
        defer { imported.close() }
        var reviewVersions: Set<UInt32> = []
        try imported.scan { recorded in
            if recorded.type == ReviewPosted.eventType { reviewVersions.insert(recorded.schemaVersion) }
            return true
        }
        #expect(reviewVersions == [2])
        let replayed = try Replayer(log: imported, cipher: shop.vault).shop(through: imported.headPosition)
        let reviewed = replayed.streams.values.compactMap { stream -> GoodsState? in
            guard case .goods(let goods) = stream.state, !goods.reviews.isEmpty else { return nil }
            return goods
        }
        #expect(reviewed.count == 1)
        #expect(reviewed.first?.reviews.map(\.status) == [.approved])
        #expect(reviewed.first?.ratingCount == 1 && reviewed.first?.ratingTotal == 5)
    }

    @Test func aLogFromBeforeVariantsReplaysToTheLockedStates() async throws {
        let shop = try await ReferenceShop()  // for its key vault, which opens the export's sealed fields
        defer { shop.close() }
        let target = temporaryDirectory("reference-import") + "/log"
        try await Importer().importFile(Self.directory.appendingPathComponent("export.jsonl").path, into: target)
        var options = EventLog.Options()
        options.readOnly = true
        let imported = try EventLog(directory: target, options: options)
        defer { imported.close() }
        var versions: [String: Int] = [:]
        try imported.scan { recorded in
            versions[recorded.type] = max(versions[recorded.type] ?? 0, Int(recorded.schemaVersion))
            return true
        }
        #expect(versions["StockReserved"] == 2 && versions["OrderPlaced"] == 2 && versions["CartItemAdded"] == 2)
        let replayer = Replayer(log: imported, cipher: shop.vault)
        for (index, mark) in ReferenceScenario.markNames.enumerated() {
            let position = try #require(shop.outcome.marks[mark])
            let replayed = try replayer.shop(through: position)
            try compare(try Self.pretty(replayed), with: "state-\(index + 1)-\(mark).json")
            for case .goods(let goods) in replayed.streams.values.map(\.state) {
                #expect(goods.variants.count == 1 && goods.variants.first?.variantId == goods.goodsId?.defaultVariant)
            }
        }
    }

    /// `emporium seed --scenario reference` runs without snapshots; the tests with them. Sealing a
    /// snapshot must not disturb the seeded nonces of the log's payloads, or the two would differ.
    @Test func theLogDoesNotDependOnWhenSnapshotsAreTaken() async throws {
        let often = try await ReferenceShop(snapshotInterval: 1)
        let never = try await ReferenceShop(snapshotInterval: 1_000_000)
        defer {
            often.close()
            never.close()
        }
        #expect(try often.snapshots.count() > 0 && never.snapshots.count() == 0)
        #expect(try often.log.head() == never.log.head())
    }

    @Test func theDiffNamesTheStreamsAndFieldsThatChanged() async throws {
        let shop = try await ReferenceShop()
        defer { shop.close() }
        let replayer = Replayer(log: shop.log, cipher: shop.vault)
        let placed = try replayer.shop(through: try #require(shop.outcome.marks["placed"]))
        let shipped = try replayer.shop(through: try #require(shop.outcome.marks["shipped"]))
        let changes = Replayer.diff(placed, shipped)
        let order = try #require(changes.first { $0.stream.hasPrefix("order-") })
        #expect(order.kind == .changed && order.fields.contains("status") && order.fields.contains("carrier"))
        #expect(changes.contains { $0.stream.hasPrefix("payment-") && $0.kind == .added })
        #expect(!changes.contains { $0.stream.hasPrefix("coupon-") }, "the coupon did not change between placing and shipping")
        #expect(Replayer.diff(shipped, shipped).isEmpty)
    }
}
