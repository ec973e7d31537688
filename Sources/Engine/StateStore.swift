import Commerce
import EventLog
import Foundation
import Synchronization

/// Loads aggregate states from the log, with a bounded cache of hot ones.
/// A cached state is used only while its stream is still at the cached
/// version; otherwise only the newer events are read and folded on.
final class StateStore: Sendable {
    struct Cached: @unchecked Sendable {
        var version: UInt64
        var state: any AggregateState
    }

    static let cachedStreamsMax = 50_000

    let log: EventLog
    private let cache = Mutex<[StreamId: Cached]>([:])

    init(log: EventLog) { self.log = log }

    /// The state of `stream` and its version (nil when the stream has no events).
    func load<S: AggregateState>(_ stream: StreamId, as type: S.Type = S.self) throws -> (state: S, version: UInt64?) {
        let name = try streamName(stream)
        guard let current = try log.streamVersion(name) else { return (S(), nil) }
        let cached = cache.withLock { $0[stream] }
        var state = (cached?.state as? S) ?? S()
        var version = (cached?.state is S ? cached?.version : nil) ?? 0
        if version > current { (state, version) = (S(), 0) }  // cannot happen with one writer; refold to be safe
        while version < current {
            let events = try log.readStream(name, from: version + 1, limit: Limits.readPageEventsMax)
            guard !events.isEmpty else { break }
            for recorded in events {
                state = state.evolve(try Self.decode(recorded))
                version = recorded.version
            }
        }
        remember(stream, Cached(version: version, state: state))
        return (state, current)
    }

    /// After a successful append: fold the new events into cached states. An
    /// entry that is behind stays as it is: it is still a true fold of the log
    /// at its version, and `load` catches it up by reading only what is newer.
    func applied(_ decision: Decision, results: [StreamAppendResult]) {
        cache.withLock { cache in
            for (change, result) in zip(decision.changes, results) {
                guard var cached = cache[change.stream], cached.version + 1 == result.firstVersion else { continue }
                for event in change.events { cached.state = cached.state.evolve(event) }
                cached.version = result.lastVersion
                cache[change.stream] = cached
            }
        }
    }

    private func remember(_ stream: StreamId, _ cached: Cached) {
        cache.withLock { cache in
            if cache.count >= Self.cachedStreamsMax { cache.removeAll(keepingCapacity: true) }
            cache[stream] = cached
        }
    }

    func streamName(_ stream: StreamId) throws -> StreamName {
        do {
            return try StreamName(stream.description)
        } catch {
            throw EngineError(.invalidInput, "\(stream) is not a valid stream name: \(error)")
        }
    }

    /// A stored event back to its domain form (through upcasters for old versions).
    static func decode(_ recorded: RecordedEvent) throws -> DomainEvent {
        do {
            return try EventCodec.decode(type: recorded.type, schemaVersion: Int(recorded.schemaVersion), payload: recorded.payload)
        } catch {
            throw EngineError(.internalFailure, "event at position \(recorded.position) does not decode: \(error)")
        }
    }
}
