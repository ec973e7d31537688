import Commerce
import EventCodec
import EventStore
import Foundation
import History
import Synchronization

/// Loads aggregate states from the log, with a bounded cache of hot ones.
/// A cached state is used only while its stream is still at the cached
/// version; otherwise only the newer events are read and folded on. A stream
/// that is not cached starts from its newest snapshot, when there is one.
final class StateStore: Sendable {
    struct Cached: @unchecked Sendable {
        var version: UInt64
        var state: any AggregateState
        /// The stream's name in the log, kept so a hot stream's name is not built and checked on every load.
        var name: StreamName
    }

    static let cachedStreamsMax = 50_000

    let log: EventLog
    let vault: KeyVault
    let snapshots: SnapshotStore?
    private let cache = Mutex<[StreamId: Cached]>([:])
    /// Made once (a JSONDecoder per decoded event was measurable on the command path).
    private let decoder: JSONDecoder

    init(log: EventLog, vault: KeyVault, snapshots: SnapshotStore?) {
        self.log = log
        self.vault = vault
        self.snapshots = snapshots
        decoder = EventCodec.decoder(opening: vault)
    }

    /// The state of `stream` and its version (nil when the stream has no events).
    func load<S: AggregateState>(_ stream: StreamId, as type: S.Type = S.self) throws -> (state: S, version: UInt64?) {
        let cached = cache.withLock { $0[stream] }
        let name = try cached?.name ?? makeStreamName(stream)
        guard let current = try log.streamVersion(name) else { return (S(), nil) }
        let typed = cached.flatMap { entry in (entry.state as? S).map { (state: $0, version: entry.version) } }
        var state = typed?.state ?? S()
        var version = typed?.version ?? 0
        if version > current { (state, version) = (S(), 0) }  // cannot happen with one writer; refold to be safe
        if version == 0, let snapshots, let snapshot = try snapshots.latest(name.rawValue, atOrBefore: current, as: S.self, cipher: vault) {
            (state, version) = snapshot
        }
        let loadedFrom = version
        while version < current {
            let events = try log.readStream(name, from: version + 1, limit: LogLimits.readPageEventsMax)
            guard !events.isEmpty else { break }
            for recorded in events {
                state = state.evolve(try decode(recorded))
                version = recorded.version
            }
        }
        if let snapshots, snapshots.isDue(from: loadedFrom, to: version) { saveSnapshot(state, name: name, version: version) }
        if typed == nil || version != typed?.version { remember(stream, Cached(version: version, state: state, name: name)) }
        return (state, current)
    }

    /// The state after each of the stream's last `keep` events, made into an entry by `entry`. Folding starts from the
    /// newest snapshot at least `keep` events before the head (or the first event), so a long stream costs at most
    /// `keep` plus a snapshot interval of events.
    func history<S: AggregateState, Entry>(
        _ stream: StreamId, as _: S.Type, keepingLast keep: Int, _ entry: (RecordedEvent, S) -> Entry
    ) throws -> [Entry] {
        let name = try streamName(stream)
        var state = S()
        var version: UInt64 = 0
        if let snapshots, let current = try log.streamVersion(name), current > UInt64(keep),
            let snapshot = try snapshots.latest(name.rawValue, atOrBefore: current - UInt64(keep), as: S.self, cipher: vault)
        {
            (state, version) = snapshot
        }
        var kept: [Entry] = []
        while true {
            let events = try log.readStream(name, from: version + 1, limit: LogLimits.readPageEventsMax)
            guard !events.isEmpty else { break }
            for recorded in events {
                state = state.evolve(try decode(recorded))
                version = recorded.version
                kept.append(entry(recorded, state))
            }
            if kept.count > 2 * keep { kept.removeFirst(kept.count - keep) }
        }
        return Array(kept.suffix(keep))
    }

    /// After a successful append: fold the new events into cached states. An
    /// entry that is behind stays as it is: it is still a true fold of the log
    /// at its version, and `load` catches it up by reading only what is newer.
    func applied(_ decision: Decision, results: [StreamAppendResult]) {
        let due: [(StreamName, Cached)] = cache.withLock { cache in
            var due: [(StreamName, Cached)] = []
            for (change, result) in zip(decision.changes, results) {
                guard var cached = cache[change.stream], cached.version + 1 == result.firstVersion else { continue }
                for event in change.events { cached.state = cached.state.evolve(event) }
                let before = cached.version
                cached.version = result.lastVersion
                cache[change.stream] = cached
                if let snapshots, snapshots.isDue(from: before, to: cached.version) { due.append((result.stream, cached)) }
            }
            return due
        }
        for (name, cached) in due { saveSnapshot(cached.state, name: name, version: cached.version) }
    }

    private func saveSnapshot(_ state: some AggregateState, name: StreamName, version: UInt64) {
        // a cache: failing to write one costs only speed
        try? snapshots?.save(state, stream: name.rawValue, version: version, cipher: vault.detachedCipher)
    }

    /// Drops every cached state: after a user is forgotten, no decrypted copy of their data may outlive their key.
    func forgetCachedStates() {
        cache.withLock { $0.removeAll() }
    }

    private func remember(_ stream: StreamId, _ cached: Cached) {
        cache.withLock { cache in
            if cache.count >= Self.cachedStreamsMax { cache.removeAll(keepingCapacity: true) }
            cache[stream] = cached
        }
    }

    /// The log's name for a stream: the one kept with its cached state, or made.
    func streamName(_ stream: StreamId) throws -> StreamName {
        if let name = cache.withLock({ $0[stream]?.name }) { return name }
        return try makeStreamName(stream)
    }

    /// An email claim is named by a keyed pseudonym of the address, so the address itself is never in the log.
    private func makeStreamName(_ stream: StreamId) throws -> StreamName {
        let text: String
        if case .emailClaim(let email) = stream {
            text = "email-" + (try vault.pseudonym(for: email))
        } else {
            text = stream.description
        }
        do {
            return try StreamName(text)
        } catch {
            throw EngineError(.invalidInput, "\(stream) is not a valid stream name: \(error)")
        }
    }

    /// A stored event back to its domain form (through upcasters for old
    /// versions), personal fields opened with the owner's key or read as erased.
    func decode(_ recorded: RecordedEvent) throws -> DomainEvent {
        do {
            return try EventCodec.decode(
                type: recorded.type, schemaVersion: Int(recorded.schemaVersion), payload: recorded.payload, using: decoder)
        } catch {
            throw EngineError(.internalError, "event at position \(recorded.position) does not decode: \(error)")
        }
    }
}
