import Foundation
import PostgresStore
import PostgresTestSupport
import Testing

@testable import EventStore

/// The backends of the log, each opened empty for one test.
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case lmdb, postgres

    var testDescription: String { rawValue }

    func open(clock: any LogClock = SystemClock(), _ label: String = #function) async throws -> any LogBackend {
        switch self {
        case .lmdb: return try openLog(clock: clock)
        case .postgres:
            return try await TestPostgres.log(try await TestPostgres.database(label)) { options in
                options.clock = clock
                options.pollInterval = .milliseconds(100)
            }
        }
    }
}

/// The log's API contract: every backend of the log passes this suite.
@Suite struct AppendConformanceTests {
    @Test(arguments: Backend.allCases) func aNewStreamStartsAtVersionOneAndPositionsAreGapless(_ backend: Backend) async throws {
        let log = try await backend.open()
        let first = try await log.append(to: stream("order-1"), expected: .noStream, events: [event(), event()])
        #expect(first.positions == [1, 2])
        #expect(first.streams == [StreamAppendResult(stream: stream("order-1"), firstVersion: 1, lastVersion: 2)])
        let second = try await log.append(to: stream("goods-1"), expected: .noStream, events: [event()])
        #expect(second.positions == [3])
        #expect(try await log.streamVersion(stream("order-1")) == 2)
        #expect(try await log.streamVersion(stream("goods-1")) == 1)
        #expect(try await log.streamVersion(stream("cart-404")) == nil)
        #expect(try await log.head().position == 3)
    }

    /// Names are UTF-8, not ASCII: a stream, actor and type beyond ASCII are stored and found as given, on the first
    /// append (PostgreSQL: the locked path) and on later ones (the one-statement path, its arrays encoded by hand).
    @Test(arguments: Backend.allCases) func namesBeyondASCIIAreStoredAndFoundAsGiven(_ backend: Backend) async throws {
        let log = try await backend.open()
        let (name, actor, type) = ("commande-café-注文", "user:zoë:customer", "Größe変更")
        for round in 1...3 {
            let appended = try await log.append(
                to: stream(name), expected: round == 1 ? .noStream : .exact(UInt64(2 * (round - 1))),
                events: [event(type, actor: actor), event("Tested", actor: "user:plain:customer")])
            #expect(appended.positions == [UInt64(2 * round - 1), UInt64(2 * round)])
        }
        let everything = try await log.read(from: 1, limit: 100)
        #expect(everything.count == 6 && everything.allSatisfy { $0.stream.rawValue == name })
        #expect(try await log.streamVersion(stream(name)) == 6)
        #expect(try await log.readStream(stream(name), from: nil, backward: false, limit: 100) == everything)
        #expect(try await log.events(byActor: actor, from: 1, limit: 100).map(\.position) == [1, 3, 5])
        #expect(try await log.events(ofType: type, from: 1, limit: 100).map(\.position) == [1, 3, 5])
        #expect(try await log.verify(progress: nil).isHealthy)
    }

    @Test(arguments: Backend.allCases) func noStreamRejectsAnExistingStream(_ backend: Backend) async throws {
        let log = try await backend.open()
        _ = try await log.append(to: stream("user-1"), expected: .noStream, events: [event()])
        await expectLogError(.wrongExpectedVersion(stream: stream("user-1"), expected: .noStream, current: 1)) {
            _ = try await log.append(to: stream("user-1"), expected: .noStream, events: [event()])
        }
        #expect(try await log.head().position == 1)
    }

    @Test(arguments: Backend.allCases) func exactMustMatchTheCurrentVersion(_ backend: Backend) async throws {
        let log = try await backend.open()
        _ = try await log.append(to: stream("cart-1"), expected: .noStream, events: [event(), event(), event()])
        await expectLogError(.wrongExpectedVersion(stream: stream("cart-1"), expected: .exact(2), current: 3)) {
            _ = try await log.append(to: stream("cart-1"), expected: .exact(2), events: [event()])
        }
        let ok = try await log.append(to: stream("cart-1"), expected: .exact(3), events: [event()])
        #expect(ok.streams.first?.firstVersion == 4)
        await expectLogError(.wrongExpectedVersion(stream: stream("cart-9"), expected: .exact(1), current: nil)) {
            _ = try await log.append(to: stream("cart-9"), expected: .exact(1), events: [event()])
        }
    }

    @Test(arguments: Backend.allCases) func streamExistsAndAny(_ backend: Backend) async throws {
        let log = try await backend.open()
        await expectLogError(.wrongExpectedVersion(stream: stream("coupon-1"), expected: .streamExists, current: nil)) {
            _ = try await log.append(to: stream("coupon-1"), expected: .streamExists, events: [event()])
        }
        _ = try await log.append(to: stream("coupon-1"), expected: .any, events: [event()])
        _ = try await log.append(to: stream("coupon-1"), expected: .any, events: [event()])
        let exists = try await log.append(to: stream("coupon-1"), expected: .streamExists, events: [event()])
        #expect(exists.streams.first?.lastVersion == 3)
    }

    @Test(arguments: Backend.allCases) func oneFailedExpectationWritesNothingToAnyStream(_ backend: Backend) async throws {
        let log = try await backend.open()
        _ = try await log.append(to: stream("goods-a"), expected: .noStream, events: [event()])
        _ = try await log.append(to: stream("goods-b"), expected: .noStream, events: [event()])
        let headBefore = try await log.head()
        await expectLogError(.wrongExpectedVersion(stream: stream("goods-b"), expected: .exact(7), current: 1)) {
            _ = try await log.append([
                StreamAppend(stream: stream("order-x"), expected: .noStream, events: [event("OrderPlaced")]),
                StreamAppend(stream: stream("goods-a"), expected: .exact(1), events: [event("StockReserved")]),
                StreamAppend(stream: stream("goods-b"), expected: .exact(7), events: [event("StockReserved")]),
            ])
        }
        #expect(try await log.head() == headBefore)
        #expect(try await log.streamVersion(stream("order-x")) == nil)
        #expect(try await log.streamVersion(stream("goods-a")) == 1)
        #expect(try await log.events(ofType: "StockReserved", from: 1, limit: 100).isEmpty)
        let ok = try await log.append([
            StreamAppend(stream: stream("order-x"), expected: .noStream, events: [event("OrderPlaced")]),
            StreamAppend(stream: stream("goods-a"), expected: .exact(1), events: [event("StockReserved")]),
            StreamAppend(stream: stream("goods-b"), expected: .exact(1), events: [event("StockReserved")]),
        ])
        #expect(ok.positions == [3, 4, 5])
        #expect(ok.streams.map(\.lastVersion) == [1, 2, 2])
        #expect(try await log.verify(progress: nil).isHealthy)
    }

    @Test(arguments: Backend.allCases) func reAppendingStoredEventIdsReturnsTheStoredPositions(_ backend: Backend) async throws {
        let log = try await backend.open()
        let events = [event(), event()]
        let first = try await log.append(to: stream("payment-1"), expected: .noStream, events: events)
        let retry = try await log.append(to: stream("payment-1"), expected: .noStream, events: events)
        #expect(retry.positions == first.positions)
        #expect(retry.wasAlreadyStored)
        #expect(!first.wasAlreadyStored)
        #expect(retry.streams == first.streams)
        #expect(try await log.head().position == 2)
        await expectLogError(.partiallyStored(eventId: events[0].eventId)) {
            _ = try await log.append(to: stream("payment-1"), expected: .any, events: [events[0], event()])
        }
        #expect(try await log.head().position == 2)
    }

    @Test(arguments: Backend.allCases) func concurrentRetriesOfOneEventIdWriteItOnce(_ backend: Backend) async throws {
        let log = try await backend.open()
        let once = event("PaymentSucceeded")
        let results = try await withThrowingTaskGroup(of: AppendResult.self) { group in
            for _ in 0..<32 {
                group.addTask { try await log.append(to: stream("payment-2"), expected: .any, events: [once]) }
            }
            return try await group.reduce(into: [AppendResult]()) { $0.append($1) }
        }
        #expect(Set(results.map(\.positions)) == [[1]])
        #expect(results.filter { !$0.wasAlreadyStored }.count == 1)
        #expect(try await log.head().position == 1)
    }

    @Test(arguments: Backend.allCases) func invalidAppendsAreRejectedBeforeAnythingIsQueued(_ backend: Backend) async throws {
        let log = try await backend.open()
        let twice = event()
        await expectLogError(.duplicateEventInAppend(eventId: twice.eventId)) {
            _ = try await log.append(to: stream("s-1"), expected: .any, events: [twice, twice])
        }
        await expectLogError(.emptyAppend) { _ = try await log.append(to: stream("s-1"), expected: .any, events: []) }
        await expectLogError(.duplicateStreamInAppend(stream: stream("s-1"))) {
            _ = try await log.append([
                StreamAppend(stream: stream("s-1"), expected: .any, events: [event()]),
                StreamAppend(stream: stream("s-1"), expected: .any, events: [event()]),
            ])
        }
        await expectLogError(.invalidField(field: "type", reason: "must not be empty")) {
            _ = try await log.append(to: stream("s-1"), expected: .any, events: [event("")])
        }
        #expect(throws: EventLogError.self) { try StreamName(String(repeating: "x", count: 201)) }
        #expect(throws: EventLogError.self) { try StreamName("bad\nname") }
        #expect(try await log.head().position == 0)
    }

    @Test(arguments: Backend.allCases) func anOversizedEventIsRefusedAndNothingIsWritten(_ backend: Backend) async throws {
        let log = try await backend.open()
        _ = try await log.append(to: stream("goods-1"), expected: .noStream, events: [event()])
        let huge = ProposedEvent(
            eventId: UUID(), type: "GoodsUpdated", payload: [UInt8](repeating: 1, count: LogLimits.eventBytesMax),
            metadata: EventMetadata(actor: "system", correlationId: UUID()))
        do {
            _ = try await log.append(to: stream("goods-1"), expected: .any, events: [event(), huge])
            Issue.record("an oversized event was accepted")
        } catch let error as EventLogError {
            #expect(error.code == "event_too_large")
        }
        #expect(try await log.head().position == 1)
        #expect(try await log.streamVersion(stream("goods-1")) == 1)
    }

    @Test(arguments: Backend.allCases) func positionsAndVersionsStayGaplessUnderConcurrentAppenders(_ backend: Backend) async throws {
        let log = try await backend.open()
        let appenders = 12
        let appendsEach = 60
        try await withThrowingTaskGroup(of: Void.self) { group in
            for appender in 0..<appenders {
                group.addTask {
                    var generator = SplitMix64(seed: UInt64(appender))
                    for round in 0..<appendsEach {
                        let shared = stream("goods-\(generator.next() % 5)")
                        let own = stream("order-\(appender)-\(round)")
                        try await appendWithRetry(log, shared: shared, own: own, count: Int(generator.next() % 3) + 1)
                    }
                }
            }
            try await group.waitForAll()
        }
        let report = try await log.verify(progress: nil)
        #expect(report.isHealthy, "\(report.problems)")
        #expect(report.head.position == UInt64(report.eventsChecked))
        var versions: [StreamName: [UInt64]] = [:]
        var next: UInt64 = 1
        while case let page = try await log.read(from: next, limit: 512), let last = page.last {
            for event in page { versions[event.stream, default: []].append(event.version) }
            next = last.position + 1
        }
        for (name, list) in versions { #expect(list == Array(1...UInt64(list.count)), "\(name)") }
        #expect(versions.count == appenders * appendsEach + 5)
    }

    /// Appends to a contended stream with an exact expectation, re-reading the version on conflict.
    func appendWithRetry(_ log: any LogBackend, shared: StreamName, own: StreamName, count: Int) async throws {
        for _ in 0..<100 {
            let current = try await log.streamVersion(shared)
            do {
                _ = try await log.append([
                    StreamAppend(stream: own, expected: .noStream, events: (0..<count).map { _ in event("OrderPlaced") }),
                    StreamAppend(
                        stream: shared, expected: current.map(ExpectedVersion.exact) ?? .noStream, events: [event("StockReserved")]),
                ])
                return
            } catch EventLogError.wrongExpectedVersion {
                continue
            }
        }
        Issue.record("an append never got through its conflicts")
    }
}

/// The log's read promises, on every backend: the same history answers the same reads.
@Suite struct ReadConformanceTests {
    /// Three streams whose events alternate, written by two actors.
    func populated(_ backend: Backend, clock: ManualClock = ManualClock(stepNanoseconds: 1_000_000)) async throws -> any LogBackend {
        let log = try await backend.open(clock: clock)
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

    @Test(arguments: Backend.allCases) func streamsReadForwardAndBackward(_ backend: Backend) async throws {
        let log = try await populated(backend)
        let all = try await log.readStream(stream("order-b"), from: nil, backward: false, limit: 100)
        #expect(all.map(\.version) == Array(1...10))
        #expect(try await log.readStream(stream("order-b"), from: 4, backward: false, limit: 3).map(\.version) == [4, 5, 6])
        #expect(try await log.readStream(stream("order-b"), from: nil, backward: true, limit: 2).map(\.version) == [10, 9])
        #expect(try await log.readStream(stream("order-b"), from: 3, backward: true, limit: 100).map(\.version) == [3, 2, 1])
        #expect(try await log.readStream(stream("nope-1"), from: nil, backward: false, limit: 100).isEmpty)
        #expect(String(decoding: all[6].payload, as: UTF8.self) == "6")
    }

    @Test(arguments: Backend.allCases) func theLogReadsInPositionOrderAndIndexesAgreeWithABruteForceScan(_ backend: Backend) async throws {
        let log = try await populated(backend)
        let everything = try await log.read(from: 1, limit: 1_000)
        #expect(everything.map(\.position) == Array(1...30))
        #expect(try await log.read(from: 28, limit: 10).map(\.position) == [28, 29, 30])
        #expect(try await log.read(from: 31, limit: 10).isEmpty)
        for actor in ["user:alice:customer", "user:bob:merchant"] {
            #expect(try await log.events(byActor: actor, from: 1, limit: 1_000) == everything.filter { $0.metadata.actor == actor })
        }
        #expect(try await log.events(ofType: "StockAdded", from: 1, limit: 1_000) == everything.filter { $0.type == "StockAdded" })
        #expect(try await log.events(ofType: "StockAdded", from: 10, limit: 2).map(\.position) == [12, 15])
        #expect(try await log.events(correlatedWith: testCorrelation, from: 1, limit: 1_000).count == 30)
        #expect(try await log.events(correlatedWith: UUID(), from: 1, limit: 10).isEmpty)
        #expect(try await log.events(byActor: "user:nobody:customer", from: 1, limit: 10).isEmpty)
        let target = everything[17]
        #expect(try await log.event(id: target.eventId) == target)
        #expect(try await log.event(at: 18) == target)
        #expect(try await log.event(at: 31) == nil)
        #expect(try await log.verify(progress: nil).isHealthy)
    }

    @Test(arguments: Backend.allCases) func timeStrictlyIncreasesAndPositionsAreFoundByTime(_ backend: Backend) async throws {
        let standing = ManualClock(stepNanoseconds: 0)
        let still = try await backend.open(clock: standing)
        _ = try await still.append(to: stream("s-1"), expected: .any, events: (0..<5).map { _ in event() })
        standing.set(1_000)  // the clock jumps backwards
        _ = try await still.append(to: stream("s-1"), expected: .any, events: [event()])
        let times = try await still.read(from: 1, limit: 10).map(\.recordedAt.nanosecondsSinceEpoch)
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 < $1 })

        let log = try await populated(backend, clock: ManualClock(start: 1_000_000_000, stepNanoseconds: 1_000_000))
        let seventh = try await log.read(from: 1, limit: 100)[6].recordedAt
        #expect(try await log.position(atOrAfter: seventh) == 7)
        #expect(try await log.position(atOrAfter: Timestamp(nanosecondsSinceEpoch: seventh.nanosecondsSinceEpoch - 1)) == 7)
        #expect(try await log.position(atOrAfter: Timestamp(nanosecondsSinceEpoch: seventh.nanosecondsSinceEpoch + 1)) == 8)
        #expect(try await log.position(atOrAfter: Timestamp(nanosecondsSinceEpoch: 0)) == 1)
        #expect(try await log.position(atOrAfter: Timestamp(nanosecondsSinceEpoch: Int64.max)) == nil)
    }

    @Test(arguments: Backend.allCases) func aSubscriptionCatchesUpThenFollowsNewCommits(_ backend: Backend) async throws {
        let log = try await backend.open()
        _ = try await log.append(to: stream("s-1"), expected: .any, events: (0..<5).map { _ in event() })
        let received = Task {
            var positions: [UInt64] = []
            for try await event in log.events(from: 3) {
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
}
