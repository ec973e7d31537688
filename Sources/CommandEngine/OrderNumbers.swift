import Commerce
import EventCodec
import EventStore
import Foundation

/// Hands out order numbers `YYYYMMDD-NNNNNN` from blocks reserved in the
/// day's `ordernumbers-` stream (hi/lo): one append per block instead of one
/// contended append per order. Numbers are unique across engines; a restart
/// leaves a gap (the rest of its block, and of a spare one), as a database
/// sequence would.
///
/// The next block is reserved when half of the current one is handed out, so
/// orders do not wait for a durable append at every block's end (under load
/// they all did, about one commit per hundred orders).
actor OrderNumbers {
    static let blockSize = 100

    private let engine: Engine
    private var day = ""
    private var next = 1
    private var first = 1
    private var last = 0
    /// A block reserved ahead for `day`.
    private var spare: (day: String, first: Int, last: Int)?
    /// True while a block is being reserved. Callers that run out meanwhile
    /// (the actor is re-entered at the reservation's await) wait to be resumed
    /// instead of reserving blocks of their own.
    private var isReserving = false
    private var waiters: [CheckedContinuation<Void, any Error>] = []

    init(engine: Engine) { self.engine = engine }

    func number(at instant: Instant) async throws -> String {
        let today = instant.dayStamp
        if let spare, spare.day != today { self.spare = nil }  // reserved for a day that has ended: it would block reserving ahead
        while today != day || next > last {
            if let spare, spare.day == today {
                (day, first, next, last) = (today, spare.first, spare.first, spare.last)
                self.spare = nil
                continue
            }
            if isReserving {
                try await withCheckedThrowingContinuation { waiters.append($0) }
                continue
            }
            isReserving = true
            do {
                let block = try await reserve(day: today)
                (day, first, next, last) = (today, block.first, block.first, block.last)
                finishReserving(nil)
            } catch {
                finishReserving(error)
                throw error
            }
        }
        defer { next += 1 }
        if engine.configuration.reservesOrderNumbersAhead, spare == nil, !isReserving, (next - first) * 2 >= last - first + 1 {
            isReserving = true
            Task { await self.reserveSpare(day: today) }
        }
        return Orders.orderNumber(day: day, sequence: next)
    }

    /// Reserves the block after this one; a failure is left to the caller who runs out (it reserves, and sees the error).
    private func reserveSpare(day today: String) async {
        do {
            let block = try await reserve(day: today)
            spare = (today, block.first, block.last)
        } catch {}
        finishReserving(nil)
    }

    private func finishReserving(_ error: (any Error)?) {
        isReserving = false
        let waiting = waiters
        waiters.removeAll()
        for waiter in waiting {
            if let error { waiter.resume(throwing: error) } else { waiter.resume() }
        }
    }

    private func reserve(day today: String) async throws -> (first: Int, last: Int) {
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
            let event = ProposedEvent(
                eventId: engine.configuration.ids.next(), type: encoded.type, schemaVersion: UInt32(encoded.schemaVersion),
                payload: encoded.payload,
                metadata: EventMetadata(actor: Actor.system.description, correlationId: engine.configuration.ids.next()))
            do {
                let result = try await engine.log.append(
                    to: try engine.store.streamName(.orderNumbers(today)),
                    expected: version.map(ExpectedVersion.exact) ?? .noStream, events: [event])
                engine.store.applied(decision, results: result.streams)
                return (block.first, block.first + block.count - 1)
            } catch EventLogError.wrongExpectedVersion {
                continue  // another engine took a block: the next load reads it
            }
        }
        throw EngineError(.versionConflict, "could not reserve order numbers for \(today)")
    }
}
