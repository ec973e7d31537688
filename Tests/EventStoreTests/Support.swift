import Foundation
import Synchronization
@_exported import TestSupport
import Testing

@testable import EventStore

func openLog(
    _ directory: String = temporaryDirectory(), clock: any LogClock = SystemClock(),
    initialMapSizeBytes: Int = 8 << 20
) throws -> EventLog {
    var options = EventLog.Options()
    options.clock = clock
    options.initialMapSizeBytes = initialMapSizeBytes
    return try EventLog(directory: directory, options: options)
}

let testCorrelation = UUID()

func event(
    _ type: String = "Tested", payload: String = "{}", actor: String = "user:tester:customer",
    correlation: UUID = testCorrelation, id: UUID = UUID()
) -> ProposedEvent {
    ProposedEvent(
        eventId: id, type: type, payload: Array(payload.utf8),
        metadata: EventMetadata(actor: actor, correlationId: correlation))
}

func stream(_ name: String) -> StreamName {
    do { return try StreamName(name) } catch { preconditionFailure("bad test stream \(name): \(error)") }
}

/// Expects `body` to throw exactly `expected`.
func expectLogError(
    _ expected: EventLogError, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async {
    do {
        try await body()
        Issue.record("expected \(expected.code), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as EventLogError {
        #expect(error == expected, sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(expected.code), got \(error)", sourceLocation: sourceLocation)
    }
}

/// Expects `body` to throw an `EventLogError` with `code` (whatever its reason says).
func expectLogErrorCode(
    _ code: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void
) async {
    do {
        try await body()
        Issue.record("expected \(code), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as EventLogError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
    }
}
