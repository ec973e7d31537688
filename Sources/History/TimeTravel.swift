import Commerce
import EventStore
import Foundation

/// The shop as it was: what the console's time travel asks of the log through the HTTP edge. Every answer is a replay
/// of the log itself (nothing cached), with personal fields hidden and secrets never decoded into view.
extension AuditDesk {
    /// The shop as of one position: how many aggregates of each kind existed, and where and when that was.
    public struct ShopAt: Codable, Sendable, Equatable {
        public var position: UInt64
        /// The log's head now: the end of the slider.
        public var head: UInt64
        /// When the event at `position` was recorded (RFC 3339, microseconds); absent at 0.
        public var recordedAt: String?
        public var hash: String
        /// Aggregates by kind (`order`, `goods`, …) at `position`.
        public var counts: [String: Int]
        /// When the first event was recorded: the start of the time axis.
        public var firstRecordedAt: String?
    }

    /// One stream as of a position: its state, and for each of the state's top-level fields the position of the event
    /// that last changed it.
    public struct StreamAt: Encodable, Sendable {
        public var stream: String
        public var position: UInt64
        /// The stream's version at `position` (0: it did not exist yet).
        public var version: UInt64
        /// The aggregate's state, as the domain holds it; personal fields hidden.
        public var state: AnyAggregate
        public var lastChangedAt: [String: UInt64]
        /// The events that built it, oldest first.
        public var events: [Step]

        public struct Step: Codable, Sendable, Equatable {
            public var position: UInt64
            public var version: UInt64
            public var type: String
            /// The top-level fields of the state this event changed.
            public var changed: [String]
        }
    }

    /// Streams added or changed between two positions.
    public struct Changes: Encodable, Sendable {
        public var from: UInt64
        public var to: UInt64
        public var changes: [StreamChange]
    }

    public func shop(at position: UInt64) throws -> ShopAt {
        let shop = try replayer.shop(through: position)
        let head = try log.head().position
        return ShopAt(
            position: shop.position, head: head, recordedAt: shop.recordedAt?.description, hash: shop.hash,
            counts: Dictionary(uniqueKeysWithValues: shop.counts.map { ($0.key.rawValue, $0.value) }),
            firstRecordedAt: try log.event(at: 1)?.recordedAt.description)
    }

    /// `name` as of `position`, folded once from its start (no snapshot), each event's changed fields noted as it folds.
    public func stream(_ name: String, at position: UInt64) throws -> StreamAt {
        guard let kind = AggregateKind(stream: name) else { throw ReplayError("\(LogLimits.shown(name)) is not an aggregate stream") }
        var previous = AnyAggregate(kind).json
        var lastChangedAt: [String: UInt64] = [:]
        var steps: [StreamAt.Step] = []
        let replay = try replayer.stream(name, through: position, useSnapshots: false) { recorded, state in
            let json = state.json
            let changed = Replayer.changedFields(previous, json)
            previous = json
            for field in changed { lastChangedAt[field] = recorded.position }
            steps.append(StreamAt.Step(position: recorded.position, version: recorded.version, type: recorded.type, changed: changed))
        }
        return StreamAt(
            stream: name, position: position, version: replay.version, state: replay.state, lastChangedAt: lastChangedAt,
            events: steps)
    }

    /// `owner`'s cart as of `position`, priced with the prices, promotions, budgets and coupon of that moment.
    public func cart(of owner: UserId, at position: UInt64) throws -> CartAt {
        try replayer.cart(of: owner, through: position, at: try replayer.moment(of: position), policy: ShopPolicy())
    }

    /// What changed from `from` to `to` (`from` ≤ `to`), stream by stream.
    public func changes(from: UInt64, to: UInt64) throws -> Changes {
        let replayer = self.replayer
        return Changes(from: from, to: to, changes: Replayer.diff(try replayer.shop(through: from), try replayer.shop(through: to)))
    }

    /// Replays that show personal fields hidden: time travel never reveals.
    private var replayer: Replayer { Replayer(log: log, cipher: HiddenPersonalData()) }
}
