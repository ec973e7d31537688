import Commerce
import EventStore
import Foundation

/// An event as projections see it: decoded without the key vault, so
/// personal fields read as erased and never reach a read model.
public struct ProjectedEvent: Sendable {
    public var position: UInt64
    public var stream: StreamId
    public var event: DomainEvent

    public init(position: UInt64, stream: StreamId, event: DomainEvent) {
        self.position = position
        self.stream = stream
        self.event = event
    }
}

/// A read model folded from the log in position order. Evolve-only: `apply`
/// never fails, because a rebuild must always get through. Its `name` is
/// its checkpoint's name and never changes; a change to the stored shape
/// bumps `schemaVersion`, which makes the projector rebuild it.
public protocol Projection: AnyObject {
    static var name: String { get }
    static var schemaVersion: Int { get }
    /// The event types `apply` reads; the projector skips others without decoding them.
    static var eventTypes: Set<String> { get }
    /// How costly folding this projection is relative to the others (a rough guess for a typical
    /// shop), used to share projections among cores until the projector has timed a batch of it.
    static var foldCostGuess: Double { get }
    init()
    /// The tables of the stored model (their prefixes must differ).
    var storedTables: [any StoredTable] { get }
    func apply(_ event: ProjectedEvent)
    /// Called once the stored rows are loaded: builds what queries need but is not stored (e.g. an inverted index).
    /// `apply` keeps those structures up to date, so a model folded from the log never needs it.
    func didLoad()
    /// Called before a model starts serving (loaded, or a rebuild taking over): faults in and builds
    /// what the first query would otherwise pay for. It must not change what queries answer.
    func warm()
    /// Slow work derived from the model (the recommender's factor model), done off the fold's thread: called on the
    /// fold's thread whenever a serving model has caught up with the log, at `position`; it may enter a finished
    /// result (true: the stored model changed) and start the next (calling `wake` when it is done).
    func caughtUp(at position: UInt64, wake: @escaping @Sendable () -> Void) -> Bool
    /// Does that work now, on this thread, when it is due (or `force`), for the model folded through `position`: a
    /// CLI rebuild finishes with it, and a check folding the log again does it where the stored result was done.
    /// True when the stored model changed.
    @discardableResult
    func finishBackgroundWork(at position: UInt64, force: Bool) -> Bool
    /// The log position the stored result of that work was computed at, if any (the result is a function of the log up to there).
    var backgroundWorkPosition: UInt64? { get }
    /// Whether the work runs or is asked for (nil: the model has none).
    var backgroundWorkPending: Bool? { get }
    /// Asks for the work to be done at the next `caughtUp`, due or not (an admin's request). False when the model has none.
    func requestBackgroundWork() -> Bool
}

extension Projection {
    public func didLoad() {}
    public func warm() {}
    public func caughtUp(at position: UInt64, wake: @escaping @Sendable () -> Void) -> Bool { false }
    @discardableResult
    public func finishBackgroundWork(at position: UInt64, force: Bool) -> Bool { false }
    public var backgroundWorkPosition: UInt64? { nil }
    public var backgroundWorkPending: Bool? { nil }
    public func requestBackgroundWork() -> Bool { false }
}

/// The projections `emporium serve` runs, by name.
public enum Projections {
    public static var all: [any Projection.Type] {
        [SearchProjection.self, RecommendProjection.self, AnalyticsProjection.self, MyPagesProjection.self, ReviewsProjection.self]
    }

    public static func named(_ name: String) -> (any Projection.Type)? { all.first { $0.name == name } }
}
