import Foundation
import LMDB
import Testing

@testable import EventStore

@Suite struct ReadTests {
    /// A log with three streams whose events alternate, written by two actors.
    func populated(clock: ManualClock = ManualClock(stepNanoseconds: 1_000_000)) async throws -> EventLog {
        let log = try openLog(clock: clock)
        for round in 0..<10 {
            for name in ["order-a", "order-b", "goods-c"] {
                let actor = round.isMultiple(of: 2) ? "user:alice:customer" : "user:bob:merchant"
                _ = try await log.append(
                    to: stream(name), expected: .any,
                    events: [event(name.hasPrefix("order") ? "OrderNoted" : "StockAdded", payload: "\(round)", actor: actor)])
            }
        }
        return log
    }

    @Test func streamsAreListedByPrefixWithTheirCountsAndPagedByName() async throws {
        let log = try await populated()
        _ = try await log.append(to: stream("order"), expected: .any, events: [event("OrderNoted", payload: "bare")])
        _ = try await log.append(to: stream("orderNumbers-x"), expected: .any, events: [event("Reserved", payload: "1")])
        let orders = try log.streams(prefix: "order-", limit: 10)
        #expect(orders.streams.map(\.stream) == ["order-a", "order-b"] && orders.next == nil)
        #expect(orders.streams.map(\.events) == [10, 10])
        #expect(
            try orders.streams.map(\.lastPosition) == ["order-a", "order-b"].map { try log.readStream(stream($0)).last?.position ?? 0 })
        // Paged: one per page, the next page after the last name listed.
        let first = try log.streams(prefix: "order", limit: 2)
        #expect(first.streams.map(\.stream) == ["order", "order-a"] && first.next == "order-a")
        let second = try log.streams(prefix: "order", after: first.next, limit: 2)
        #expect(second.streams.map(\.stream) == ["order-b", "orderNumbers-x"] && second.next == nil)
        #expect(try log.streams(prefix: "", limit: 500).streams.count == 5)
        #expect(try log.streams(prefix: "refund-", limit: 10).streams.isEmpty)
        // Categories: the text before the first "-", with how many streams each has.
        #expect(
            try log.streamCategories()
                == [
                    StreamCategory(category: "goods", streams: 1), StreamCategory(category: "order", streams: 3),
                    StreamCategory(category: "orderNumbers", streams: 1),
                ])
    }

    @Test func aScanSelectingStreamsDecodesOnlyThoseInOrder() async throws {
        let log = try await populated()
        var all: [RecordedEvent] = []
        try log.scan {
            all.append($0); return true
        }
        struct Seen: Equatable { var position, version: UInt64; var schemaVersion: UInt32; var stream, type: String; var payload: [UInt8] }
        var selected: [Seen] = []
        var reported: [UInt64] = []
        try log.scanViews(from: 4, through: 25, selecting: { $0.starts(with: Array("order-".utf8)) }, progress: { reported.append($0) }) {
            view in
            selected.append(
                Seen(
                    position: view.position, version: view.version, schemaVersion: view.schemaVersion, stream: view.stream,
                    type: view.type, payload: Array(view.payload)))
            return true
        }
        let expected = all.filter { $0.position >= 4 && $0.position <= 25 && $0.stream.rawValue.hasPrefix("order-") }
        #expect(
            selected
                == expected.map {
                    Seen(
                        position: $0.position, version: $0.version, schemaVersion: $0.schemaVersion,
                        stream: $0.stream.rawValue, type: $0.type, payload: $0.payload)
                })
        #expect(reported.last == 25)
        var first: [UInt64] = []
        try log.scanViews(through: 30, selecting: { _ in true }) {
            first.append($0.position); return first.count < 3
        }
        #expect(first == [1, 2, 3], "the body stops the scan")
    }

    @Test func namesReusedDuringAScanAreTheNamesStored() async throws {
        // Same length, first, middle and last byte: one slot of `RecentNames`, different names.
        let actors = ["user:ab:customer", "user:cd:customer", "user:ef:customer"]
        let twins = actors.map { Array($0.utf8) }.map { bytes in bytes.withUnsafeBytes { RecentNames.slot($0) } }
        #expect(Set(twins).count == 1, "the test's names must share a slot")
        var names = RecentNames.forScan()
        Array(actors[0].utf8).withUnsafeBytes { bytes in names.remember(actors[0], slot: RecentNames.slot(bytes)) }
        Array(actors[1].utf8).withUnsafeBytes { bytes in #expect(names.lookup(bytes) == nil) }
        Array(actors[0].utf8).withUnsafeBytes { bytes in #expect(names.lookup(bytes) == actors[0]) }

        let log = try openLog()
        var appended: [(stream: String, type: String, actor: String)] = []
        for round in 0..<30 {
            let name = ["order-ab", "order-cd", "goods-ab"][round % 3]
            let type = ["TypeAb1", "TypeCd1"][round % 2]
            let actor = actors[(round * 7) % 3]
            _ = try await log.append(to: stream(name), expected: .any, events: [event(type, actor: actor)])
            appended.append((name, type, actor))
        }
        var scanned: [(stream: String, type: String, actor: String)] = []
        try log.scan {
            scanned.append(($0.stream.rawValue, $0.type, $0.metadata.actor)); return true
        }
        #expect(scanned.map(\.stream) == appended.map(\.stream))
        #expect(scanned.map(\.type) == appended.map(\.type))
        #expect(scanned.map(\.actor) == appended.map(\.actor))
        #expect(try log.read(from: 1).map(\.metadata.actor) == appended.map(\.actor))
        let byStream = try log.readStream(stream("order-cd"))
        #expect(byStream.map(\.metadata.actor) == appended.filter { $0.stream == "order-cd" }.map(\.actor))
        for event in try log.events(byActor: actors[1]) { #expect(event.metadata.actor == actors[1]) }
        #expect(try log.events(byActor: actors[1]).count == appended.filter { $0.actor == actors[1] }.count)
    }

    // Reads by stream, position, actor, type, correlation and time, and time strictly increasing, are the conformance
    // suite's (`ReadConformanceTests`, on both backends); what follows is the LMDB log's own API.

    @Test func aScanVisitsARangeInOrder() async throws {
        let log = try await populated()
        var scanned: [UInt64] = []
        try log.scan(from: 5, through: 9) {
            scanned.append($0.position); return true
        }
        #expect(scanned == [5, 6, 7, 8, 9])
    }

    @Test func positionsAreFoundAtOrBeforeATime() async throws {
        let clock = ManualClock(start: 1_000_000_000, stepNanoseconds: 1_000_000)
        let log = try await populated(clock: clock)
        let seventh = try log.read(from: 1)[6].recordedAt
        #expect(try log.position(atOrBefore: seventh) == 7)
        #expect(try log.position(atOrBefore: Timestamp(nanosecondsSinceEpoch: seventh.nanosecondsSinceEpoch + 1)) == 7)
        #expect(try log.position(atOrBefore: Timestamp(nanosecondsSinceEpoch: 0)) == 0)
        #expect(try log.position(atOrBefore: Timestamp(nanosecondsSinceEpoch: Int64.max)) == 30)
    }

    @Test func digestsKeepTheirBytesInOrder() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let bytes = (0..<Digest.byteCount).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let digest = Digest(bytes: bytes)
            #expect(digest.bytes == bytes)
            #expect(digest.withUnsafeBytes { Array($0) } == bytes)
            #expect(Digest(hex: digest.hex) == digest)
            #expect(digest.hex == bytes.map { String(format: "%02x", $0) }.joined())
            var changed = bytes
            changed[Int.random(in: 0..<Digest.byteCount, using: &generator)] ^= 0x01
            #expect(Digest(bytes: changed) != digest)
            #expect(Set([digest, Digest(bytes: bytes), Digest(bytes: changed)]).count == 2)
        }
        #expect(Digest.zero.bytes == [UInt8](repeating: 0, count: 32))
        #expect(Digest(hex: "00") == nil)
    }

    @Test func datesBeyondSixtyFourBitsOfNanosecondsAreClamped() {
        #expect(Timestamp(Date(timeIntervalSince1970: 1e12)).nanosecondsSinceEpoch == 9_000_000_000_000_000_000)
        #expect(Timestamp(Date(timeIntervalSince1970: -1e12)).nanosecondsSinceEpoch == -9_000_000_000_000_000_000)
        #expect(Timestamp(Date.distantFuture) > Timestamp(Date(timeIntervalSince1970: 2e9)))
        #expect(Timestamp(Date(timeIntervalSince1970: 1.5)).nanosecondsSinceEpoch == 1_500_000_000)
    }

    @Test func outsideTextInMessagesIsCutWithItsLength() {
        #expect(LogLimits.shown("order-1") == "order-1")
        let exact = String(repeating: "é", count: LogLimits.shownCharactersMax)
        #expect(LogLimits.shown(exact) == exact)
        let long = String(repeating: "é", count: LogLimits.shownCharactersMax + 1)
        #expect(
            LogLimits.shown(long) == String(repeating: "é", count: LogLimits.shownCharactersMax)
                + "… (\((LogLimits.shownCharactersMax + 1) * 2) bytes)")
    }

    @Test func timestampsPrintAsISO8601() {
        #expect(Timestamp(nanosecondsSinceEpoch: 1_790_000_000_123_456_789).description == "2026-09-21T14:13:20.123456Z")
        #expect(Timestamp(nanosecondsSinceEpoch: -1_000).description == "1969-12-31T23:59:59.999999Z")
    }

    @Test func theLogSurvivesReopeningAndKeepsItsChain() async throws {
        let directory = temporaryDirectory()
        var log: EventLog? = try openLog(directory)
        _ = try await log?.append(to: stream("user-1"), expected: .noStream, events: [event(), event()])
        let head = try log?.head()
        log?.close()
        log = nil
        let reopened = try openLog(directory)
        #expect(try reopened.head() == head)
        let next = try await reopened.append(to: stream("user-1"), expected: .exact(2), events: [event()])
        #expect(next.positions == [3])
        #expect(try reopened.read(from: 3).first?.previousHash == head?.hash)
        #expect(try reopened.verify().isHealthy)
        reopened.close()
        await expectLogError(.closed) { _ = try await reopened.append(to: stream("user-1"), expected: .any, events: [event()]) }
        // Reads after close are refused the same way (they used a freed LMDB environment).
        await expectLogError(.closed) { _ = try reopened.read(from: 1) }
        await expectLogError(.closed) { _ = try reopened.readStream(stream("user-1")) }
    }

    @Test func aLogOutgrowsItsInitialMap() async throws {
        let log = try openLog(initialMapSizeBytes: 1 << 20)
        let payload = String(repeating: "x", count: 8_000)
        for round in 0..<40 {
            _ = try await log.append(
                to: stream("goods-\(round)"), expected: .noStream,
                events: (0..<20).map { _ in event(payload: payload) })
        }
        #expect(try log.head().position == 800)
        #expect(log.storedBytes > 1 << 20)
        #expect(try log.verify().isHealthy)
    }
}

@Suite struct SubscriptionTests {
    @Test func aSubscriptionCatchesUpThenFollowsNewCommits() async throws {
        let log = try openLog()
        _ = try await log.append(to: stream("s-1"), expected: .any, events: (0..<5).map { _ in event() })
        let received = Task {
            var positions: [UInt64] = []
            for try await event in log.subscribe(from: 3) {
                positions.append(event.position)
                if positions.count == 8 { break }
            }
            return positions
        }
        for _ in 0..<5 {
            _ = try await log.append(to: stream("s-2"), expected: .any, events: [event()])
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(try await received.value == Array(3...10))
    }

    @Test func aFilteredSubscriptionSeesOnlyMatchingEvents() async throws {
        let log = try openLog()
        let received = Task {
            var types: [String] = []
            for try await event in log.subscribe(where: { $0.stream.category == "order" }) {
                types.append(event.type)
                if types.count == 3 { break }
            }
            return types
        }
        for index in 0..<6 {
            let name = index.isMultiple(of: 2) ? "order-\(index)" : "goods-\(index)"
            _ = try await log.append(to: stream(name), expected: .any, events: [event("E\(index)")])
        }
        #expect(try await received.value == ["E0", "E2", "E4"])
    }

    @Test func aSubscriptionEndsWhenCancelledOrWhenTheLogCloses() async throws {
        let log = try openLog()
        let waiting = Task { () -> Int in
            var count = 0
            for try await _ in log.subscribe() { count += 1 }
            return count
        }
        try await Task.sleep(for: .milliseconds(20))
        waiting.cancel()
        #expect(try await waiting.value == 0)
        let second = Task { () -> Int in
            var count = 0
            for try await _ in log.subscribe() { count += 1 }
            return count
        }
        _ = try await log.append(to: stream("s-1"), expected: .any, events: [event()])
        try await Task.sleep(for: .milliseconds(20))
        log.close()
        #expect(try await second.value == 1)
    }
}

@Suite struct VerifyTests {
    /// Writes 20 events, closes the log and returns its directory.
    func closedLog() async throws -> String {
        let directory = temporaryDirectory()
        let log = try openLog(directory)
        for index in 0..<20 {
            _ = try await log.append(to: stream("order-\(index % 4)"), expected: .any, events: [event(payload: "{\"n\":\(index)}")])
        }
        log.close()
        return directory
    }

    /// Changes the stored bytes behind the log's back, as a disk fault or an attacker would.
    func tamper(_ directory: String, _ body: (Transaction, LogSchema) throws -> Void) throws {
        let environment = try Environment(directory: directory)
        let schema = try LogSchema(environment: environment)
        try environment.write { try body($0, schema) }
        environment.close()
    }

    func verify(_ directory: String) throws -> VerifyReport {
        var options = EventLog.Options()
        options.readOnly = true
        let log = try EventLog(directory: directory, options: options)
        defer { log.close() }
        return try log.verify()
    }

    @Test func aHealthyLogVerifies() async throws {
        let report = try verify(try await closedLog())
        #expect(report.isHealthy)
        #expect(report.eventsChecked == 20)
        #expect(report.streamsSeen == 4)
    }

    @Test func aFlippedPayloadByteIsFoundAtItsPosition() async throws {
        let directory = try await closedLog()
        try tamper(directory) { txn, schema in
            var record = try #require(try txn.get(schema.events, key: Key.u64(7)).map { Array($0) })
            let lastPayloadByte = record.count - 32 - 1  // the payload ends where the hash begins
            record[lastPayloadByte] ^= 0x01
            try txn.put(schema.events, key: Key.u64(7), value: record)
        }
        let report = try verify(directory)
        #expect(report.firstProblem?.kind == .hashMismatch)
        #expect(report.firstProblem?.position == 7)
    }

    @Test func aRewrittenRecordWithAFreshHashBreaksTheChain() async throws {
        let directory = try await closedLog()
        try tamper(directory) { txn, schema in
            let original = try #require(try txn.get(schema.events, key: Key.u64(7)).map { Array($0) })
            var body = Array(original.dropLast(32))
            body[body.count - 2] ^= 0x01
            try txn.put(schema.events, key: Key.u64(7), value: body + RecordCodec.sha256(body).bytes)
        }
        let report = try verify(directory)
        #expect(report.firstProblem?.kind == .brokenChain)
        #expect(report.firstProblem?.position == 8)
    }

    @Test func aRemovedEventIsAGap() async throws {
        let directory = try await closedLog()
        try tamper(directory) { txn, schema in try txn.delete(schema.events, key: Key.u64(11)) }
        let report = try verify(directory)
        #expect(report.firstProblem?.kind == .positionGap)
        #expect(report.firstProblem?.position == 11)
    }

    @Test func aSwappedPairIsFound() async throws {
        let directory = try await closedLog()
        try tamper(directory) { txn, schema in
            let five = try #require(try txn.get(schema.events, key: Key.u64(5)).map { Array($0) })
            let six = try #require(try txn.get(schema.events, key: Key.u64(6)).map { Array($0) })
            try txn.put(schema.events, key: Key.u64(5), value: six)
            try txn.put(schema.events, key: Key.u64(6), value: five)
        }
        let report = try verify(directory)
        #expect(report.firstProblem?.kind == .undecodable)
        #expect(report.firstProblem?.position == 5)
    }

    @Test func aMissingOrExtraIndexEntryIsFound() async throws {
        let directory = try await closedLog()
        try tamper(directory) { txn, schema in
            try txn.delete(
                schema.eventIds, key: Array(try #require(txn.withCursor(schema.eventIds) { try $0.first()?.key }.map { Array($0) })))
            try txn.put(schema.chains, key: ChainKey(kind: .type, number: 999).headKey, value: ChainHead(count: 1, last: 3).bytes)
        }
        let report = try verify(directory)
        #expect(report.problems.contains { $0.kind == .indexMismatch && $0.detail.contains("eventIds") })
        #expect(report.problems.contains { $0.kind == .indexCount && $0.detail.contains("chains") })
    }

    @Test func aWrongChainHeadIsFound() async throws {
        let directory = try await closedLog()
        try tamper(directory) { txn, schema in
            let streamNumber = try #require(try txn.get(schema.names, key: Key.name(.stream, "order-1")).map { Key.readU64($0) })
            try txn.put(
                schema.chains, key: ChainKey(kind: .stream, number: streamNumber).headKey, value: ChainHead(count: 4, last: 14).bytes)
        }
        let report = try verify(directory)
        #expect(report.problems.contains { $0.kind == .chainMismatch && $0.detail.contains("head is 4@14") })
    }
}
