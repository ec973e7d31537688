import Commerce
import EventLog
import Foundation

/// Hands out order numbers `YYYYMMDD-NNNNNN` from blocks reserved in the
/// day's `ordernumbers-` stream (hi/lo): one append per block instead of one
/// contended append per order. Numbers are unique across engines; a restart
/// leaves a gap (the rest of its block), as a database sequence would.
actor OrderNumbers {
    static let blockSize = 100

    private let engine: Engine
    private var day = ""
    private var next = 1
    private var last = 0
    /// True while a block is being reserved. Callers arriving meanwhile (the
    /// actor is re-entered at the reservation's await) wait to be resumed
    /// instead of reserving blocks of their own.
    private var isReserving = false
    private var waiters: [CheckedContinuation<Void, any Error>] = []

    init(engine: Engine) { self.engine = engine }

    func number(at instant: Instant) async throws -> String {
        let today = instant.dayStamp
        while today != day || next > last {
            if isReserving {
                try await withCheckedThrowingContinuation { waiters.append($0) }
                continue
            }
            isReserving = true
            do {
                try await reserve(day: today)
                finishReserving(nil)
            } catch {
                finishReserving(error)
                throw error
            }
        }
        defer { next += 1 }
        return Orders.orderNumber(day: day, sequence: next)
    }

    private func finishReserving(_ error: (any Error)?) {
        isReserving = false
        let waiting = waiters
        waiters.removeAll()
        for waiter in waiting {
            if let error { waiter.resume(throwing: error) } else { waiter.resume() }
        }
    }

    private func reserve(day today: String) async throws {
        for _ in 0..<Engine.conflictRetriesMax {
            let (state, version) = try engine.store.load(.orderNumbers(today), as: OrderNumbersState.self)
            let decision: Decision
            do {
                decision = try Orders.reserveNumbers(day: today, count: Self.blockSize, state: state)
            } catch {
                throw EngineError(error)
            }
            guard case .orderNumber(.reserved(let block))? = decision.allEvents.first else { break }
            let encoded = EventCodec.encode(.orderNumber(.reserved(block)))  // no personal fields
            let event = ProposedEvent(eventId: engine.configuration.ids.next(), type: encoded.type, schemaVersion: UInt32(encoded.schemaVersion),
                                      payload: encoded.payload, metadata: EventMetadata(actor: Actor.system.description, correlationId: engine.configuration.ids.next()))
            do {
                let result = try await engine.log.append(to: try engine.store.streamName(.orderNumbers(today)),
                                                         expected: version.map(ExpectedVersion.exact) ?? .noStream, events: [event])
                engine.store.applied(decision, results: result.streams)
                (day, next, last) = (today, block.first, block.first + block.count - 1)
                return
            } catch EventLogError.wrongExpectedVersion {
                continue  // another engine took a block: the next load reads it
            }
        }
        throw EngineError(.conflict, "could not reserve order numbers for \(today)")
    }
}
