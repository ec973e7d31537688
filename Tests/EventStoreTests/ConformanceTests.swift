import Foundation
import Testing

@testable import EventStore

/// The log's API contract. Every backend of the log must pass this suite.
@Suite struct AppendConformanceTests {
    @Test func aNewStreamStartsAtVersionOneAndPositionsAreGapless() async throws {
        let log = try openLog()
        let first = try await log.append(to: stream("order-1"), expected: .noStream, events: [event(), event()])
        #expect(first.positions == [1, 2])
        #expect(first.streams == [StreamAppendResult(stream: stream("order-1"), firstVersion: 1, lastVersion: 2)])
        let second = try await log.append(to: stream("goods-1"), expected: .noStream, events: [event()])
        #expect(second.positions == [3])
        #expect(try log.streamVersion(stream("order-1")) == 2)
        #expect(try log.streamVersion(stream("goods-1")) == 1)
        #expect(try log.streamVersion(stream("cart-404")) == nil)
        #expect(try log.head().position == 3)
    }

    @Test func noStreamRejectsAnExistingStream() async throws {
        let log = try openLog()
        _ = try await log.append(to: stream("user-1"), expected: .noStream, events: [event()])
        await expectLogError(.wrongExpectedVersion(stream: stream("user-1"), expected: .noStream, current: 1)) {
            _ = try await log.append(to: stream("user-1"), expected: .noStream, events: [event()])
        }
        #expect(try log.head().position == 1)
    }

    @Test func exactMustMatchTheCurrentVersion() async throws {
        let log = try openLog()
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

    @Test func streamExistsAndAny() async throws {
        let log = try openLog()
        await expectLogError(.wrongExpectedVersion(stream: stream("coupon-1"), expected: .streamExists, current: nil)) {
            _ = try await log.append(to: stream("coupon-1"), expected: .streamExists, events: [event()])
        }
        _ = try await log.append(to: stream("coupon-1"), expected: .any, events: [event()])
        _ = try await log.append(to: stream("coupon-1"), expected: .any, events: [event()])
        let exists = try await log.append(to: stream("coupon-1"), expected: .streamExists, events: [event()])
        #expect(exists.streams.first?.lastVersion == 3)
    }

    @Test func oneFailedExpectationWritesNothingToAnyStream() async throws {
        let log = try openLog()
        _ = try await log.append(to: stream("goods-a"), expected: .noStream, events: [event()])
        _ = try await log.append(to: stream("goods-b"), expected: .noStream, events: [event()])
        let headBefore = try log.head()
        await expectLogError(.wrongExpectedVersion(stream: stream("goods-b"), expected: .exact(7), current: 1)) {
            _ = try await log.append([
                StreamAppend(stream: stream("order-x"), expected: .noStream, events: [event("OrderPlaced")]),
                StreamAppend(stream: stream("goods-a"), expected: .exact(1), events: [event("StockReserved")]),
                StreamAppend(stream: stream("goods-b"), expected: .exact(7), events: [event("StockReserved")]),
            ])
        }
        #expect(try log.head() == headBefore)
        #expect(try log.streamVersion(stream("order-x")) == nil)
        #expect(try log.streamVersion(stream("goods-a")) == 1)
        #expect(try log.events(ofType: "StockReserved").isEmpty)
        let ok = try await log.append([
            StreamAppend(stream: stream("order-x"), expected: .noStream, events: [event("OrderPlaced")]),
            StreamAppend(stream: stream("goods-a"), expected: .exact(1), events: [event("StockReserved")]),
            StreamAppend(stream: stream("goods-b"), expected: .exact(1), events: [event("StockReserved")]),
        ])
        #expect(ok.positions == [3, 4, 5])
        #expect(ok.streams.map(\.lastVersion) == [1, 2, 2])
        #expect(try log.verify().isHealthy)
    }

    @Test func reAppendingStoredEventIdsReturnsTheStoredPositions() async throws {
        let log = try openLog()
        let events = [event(), event()]
        let first = try await log.append(to: stream("payment-1"), expected: .noStream, events: events)
        let retry = try await log.append(to: stream("payment-1"), expected: .noStream, events: events)
        #expect(retry.positions == first.positions)
        #expect(retry.wasAlreadyStored)
        #expect(!first.wasAlreadyStored)
        #expect(retry.streams == first.streams)
        #expect(try log.head().position == 2)
        await expectLogError(.partiallyStored(eventId: events[0].eventId)) {
            _ = try await log.append(to: stream("payment-1"), expected: .any, events: [events[0], event()])
        }
        #expect(try log.head().position == 2)
    }

    @Test func concurrentRetriesOfOneEventIdWriteItOnce() async throws {
        let log = try openLog()
        let once = event("PaymentSucceeded")
        let results = try await withThrowingTaskGroup(of: AppendResult.self) { group in
            for _ in 0..<32 {
                group.addTask { try await log.append(to: stream("payment-2"), expected: .any, events: [once]) }
            }
            return try await group.reduce(into: [AppendResult]()) { $0.append($1) }
        }
        #expect(Set(results.map(\.positions)) == [[1]])
        #expect(results.filter { !$0.wasAlreadyStored }.count == 1)
        #expect(try log.head().position == 1)
    }

    @Test func invalidAppendsAreRejectedBeforeAnythingIsQueued() async throws {
        let log = try openLog()
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
        #expect(try log.head().position == 0)
    }

    @Test func anOversizedEventIsRefusedAndNothingIsWritten() async throws {
        let log = try openLog()
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
        #expect(try log.head().position == 1)
        #expect(try log.streamVersion(stream("goods-1")) == 1)
    }

    @Test func positionsAndVersionsStayGaplessUnderConcurrentAppenders() async throws {
        let log = try openLog()
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
        let report = try log.verify()
        #expect(report.isHealthy, "\(report.problems)")
        #expect(report.head.position == UInt64(report.eventsChecked))
        var versions: [StreamName: [UInt64]] = [:]
        try log.scan {
            versions[$0.stream, default: []].append($0.version); return true
        }
        for (name, list) in versions { #expect(list == Array(1...UInt64(list.count)), "\(name)") }
        #expect(versions.count == appenders * appendsEach + 5)
    }

    /// Appends to a contended stream with an exact expectation, re-reading the version on conflict.
    func appendWithRetry(_ log: EventLog, shared: StreamName, own: StreamName, count: Int) async throws {
        for _ in 0..<100 {
            let current = try log.streamVersion(shared)
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
