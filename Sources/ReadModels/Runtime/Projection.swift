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
}

extension Projection {
    public func didLoad() {}
    public func warm() {}
}

/// The projections `emporium serve` runs, by name.
public enum Projections {
    public static var all: [any Projection.Type] {
        [SearchProjection.self, RecommendProjection.self, AnalyticsProjection.self, MyPagesProjection.self]
    }

    public static func named(_ name: String) -> (any Projection.Type)? { all.first { $0.name == name } }
}
