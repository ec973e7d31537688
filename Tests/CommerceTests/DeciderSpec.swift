import Foundation
import Testing

@testable import Commerce

/// given / when / then for one aggregate's decider, after fmodel's
/// `specification.rs`: given the events already in their streams, when a
/// command is sent by an actor, then exactly these events are appended,
/// stream by stream, in order — or the command is refused with a code and
/// appends nothing. What the decider reads is what its `reads` name, loaded
/// from the given events, as the engine loads it from the log.
struct DeciderSpec<D: Decider> {
    static var now: Instant { Instant(millisecondsSinceEpoch: 1_790_000_000_000) }

    fileprivate(set) var streams: [StreamId: [DomainEvent]] = [:]
    var policy: ShopPolicy = {
        var policy = ShopPolicy()
        policy.passwordHashing = .fastForTests
        return policy
    }()

    /// The events already in their streams, in the order given.
    static func given(_ events: (StreamId, DomainEvent)...) -> Self {
        var spec = Self()
        for (stream, event) in events { spec.streams[stream, default: []].append(event) }
        return spec
    }

    /// Another decider's spec over the same events (a flow that crosses aggregates: an after-sale request and its payment).
    private init<Other: Decider>(copying other: DeciderSpec<Other>) {
        streams = other.streams
        policy = other.policy
    }

    private init() {}

    /// One more event already in its stream.
    func and(_ stream: StreamId, _ event: DomainEvent) -> Self {
        var spec = self
        spec.streams[stream, default: []].append(event)
        return spec
    }

    func when(_ command: D.Command, by actor: Actor, at: Instant = Self.now) -> Outcome {
        let streams = self.streams
        let loaded = D.load(command, actor: actor) { stream in Self.fold(stream.emptyState, streams[stream] ?? []) }
        do {
            return Outcome(decision: .success(try D.decide(command, actor: actor, loaded: loaded, at: at, policy: policy)))
        } catch {
            return Outcome(decision: .failure(error))
        }
    }

    /// The same events, another decider's command (a flow that crosses aggregates).
    func when<Other: Decider>(
        _ command: Other.Command, by actor: Actor, at: Instant = Self.now, as _: Other.Type
    ) -> DeciderSpec<Other>.Outcome {
        DeciderSpec<Other>(copying: self).when(command, by: actor, at: at)
    }

    private static func fold<S: AggregateState>(_ empty: S, _ events: [DomainEvent]) -> any AggregateState { S(events: events) }

    struct Outcome {
        let decision: Result<Decision, Rejection>

        /// Exactly these events, stream by stream, are appended.
        func then(_ expected: (StreamId, DomainEvent)..., sourceLocation: SourceLocation = #_sourceLocation) {
            switch decision {
            case .success(let decision):
                let appended = decision.changes.flatMap { change in change.events.map { (change.stream, $0) } }
                #expect(appended.map(\.0) == expected.map(\.0), sourceLocation: sourceLocation)
                #expect(appended.map(\.1) == expected.map(\.1), sourceLocation: sourceLocation)
                #expect(
                    decision.refusal == nil, "appended and then refused: \(String(describing: decision.refusal))",
                    sourceLocation: sourceLocation)
            case .failure(let rejection):
                Issue.record("refused with \(rejection.code.rawValue): \(rejection.message)", sourceLocation: sourceLocation)
            }
        }

        /// The command is refused with `code`, and appends nothing.
        func thenRejects(_ code: Rejection.Code, sourceLocation: SourceLocation = #_sourceLocation) {
            switch decision {
            case .success(let decision):
                Issue.record("accepted, appending \(decision.changes.flatMap(\.events).map(\.eventType))", sourceLocation: sourceLocation)
            case .failure(let rejection):
                #expect(rejection.code == code, "\(rejection)", sourceLocation: sourceLocation)
            }
        }
    }
}
