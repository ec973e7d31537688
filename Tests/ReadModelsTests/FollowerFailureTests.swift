import EventStore
import Foundation
import Logging
import TestSupport
import Testing

@testable import ReadModels

@Suite struct FollowerFailureTests {
    /// An event the read models cannot fold: the follower logs it, reports the failure (which `/health` shows), keeps
    /// retrying with a pause, and ends only when cancelled.
    @Test func aBatchThatCannotBeFoldedIsLoggedReportedAndRetried() async throws {
        let directory = temporaryDirectory("follower")
        var logOptions = EventLog.Options()
        logOptions.initialMapSizeBytes = 16 << 20
        let log = try EventLog(directory: directory + "/log", options: logOptions)
        defer { log.close() }
        let capture = LogCapture()
        var options = Projector.Options()
        options.retryPauseMax = .milliseconds(200)
        let projector = try Projector(directory: directory + "/projections", log: log, options: options)
        defer { projector.close() }
        let follower = Task { await projector.follow(logger: capture.logger()) }
        // A goods event whose payload is not a goods event.
        _ = try await log.append(
            to: try StreamName("goods-0193a1f2-0000-7000-8000-000000000003"), expected: .any,
            events: [
                ProposedEvent(
                    eventId: UUID(), type: "GoodsListed", schemaVersion: 2, payload: [0xFF, 0x01],
                    metadata: EventMetadata(actor: "system", correlationId: UUID()))
            ])
        // The retry comes a second after the first failure; the deadline is far longer because the full suite, on two
        // cores, can keep the concurrency pool's threads busy for tens of seconds (seen once at 30 s). It ends early.
        let started = ContinuousClock.now
        while capture.lines.filter({ $0.contains("folding the read models failed") }).count < 2,
            ContinuousClock.now < started + .seconds(120)
        {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(
            capture.lines.filter { $0.contains("folding the read models failed") }.count >= 2,
            "after \(ContinuousClock.now - started): \(capture.lines)")
        #expect(projector.failure != nil)
        follower.cancel()
        await follower.value
    }
}
