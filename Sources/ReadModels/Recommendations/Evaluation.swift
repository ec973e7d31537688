import Commerce
import EventCodec
import EventStore
import Foundation

/// Offline evaluation of the recommenders, leave-last-purchase-out: for
/// every customer with at least two orders, their last order (and the
/// browsing of its goods since the order before) is hidden, the model is
/// folded from everything else, and each recommender's top 10 for that
/// customer is checked against the hidden goods.
public enum RecommenderEvaluation {
    public struct Row: Codable, Sendable, Hashable {
        public var recommender: String
        /// Share of customers with a hidden goods in the top 10.
        public var hitRate: Double
        public var ndcg: Double
    }

    public struct Report: Codable, Sendable, Hashable {
        public var users: Int
        public var events: UInt64
        public var cutoff: Int
        public var rows: [Row]
    }

    public static let cutoff = 10
    public static let recommenders = ["popular", "hot", "also-bought", "similar", "feed"]

    struct HeldOut {
        var position: UInt64
        var previous: UInt64
        var goods: Set<String>
    }

    public static func run(log: EventLog, progress: ((UInt64, UInt64) -> Void)? = nil) throws -> Report {
        let head = try log.head().position
        let decoder = EventCodec.decoder(opening: nil)
        func decode(_ record: RecordView) throws -> DomainEvent {
            try EventCodec.decode(type: record.type, schemaVersion: Int(record.schemaVersion), payload: record.payload, using: decoder)
        }
        // Pass 1: each customer's orders, to find the last one and the one before.
        var orders: [UserId: [(UInt64, Set<String>)]] = [:]
        try log.scanViews(through: head, selecting: { _ in true }) { record in
            guard record.typeBytes.elementsEqual(OrderPlaced.eventType.utf8), case .order(.placed(let placed)) = try decode(record) else {
                return true
            }
            orders[placed.userId, default: []].append((record.position, Set(placed.lines.map(\.goodsId.description))))
            return true
        }
        var held: [UserId: HeldOut] = [:]
        for (user, placed) in orders where placed.count >= 2 {
            guard let last = placed.last else { continue }
            held[user] = HeldOut(position: last.0, previous: placed[placed.count - 2].0, goods: last.1)
        }
        // Pass 2: fold the model without what is hidden.
        let model = try fold(log: log, through: head, hiding: held, progress: progress)
        var sums = Dictionary(uniqueKeysWithValues: recommenders.map { ($0, (hits: 0.0, ndcg: 0.0)) })
        for (user, hidden) in held {
            for name in recommenders {
                let list = recommend(name, for: user, model)
                let (hit, gain) = score(list, hidden.goods)
                sums[name]?.hits += hit
                sums[name]?.ndcg += gain
            }
        }
        let users = Double(max(held.count, 1))
        return Report(
            users: held.count, events: head, cutoff: cutoff,
            rows: recommenders.map { Row(recommender: $0, hitRate: (sums[$0]?.hits ?? 0) / users, ndcg: (sums[$0]?.ndcg ?? 0) / users) })
    }

    /// The model as serving folds it, event by event (a rebuild folds the same way), without the hidden events.
    /// Not `didLoad()`: that rebuilds the in-memory graph from stored rows, and after folding it would add every
    /// co-purchase a second time (evaluation once scored a model the server never serves).
    static func fold(
        log: EventLog, through head: UInt64, hiding held: [UserId: HeldOut], progress: ((UInt64, UInt64) -> Void)? = nil
    ) throws -> RecommendProjection {
        let decoder = EventCodec.decoder(opening: nil)
        let model = RecommendProjection()
        try log.scanViews(through: head, selecting: { _ in true }, progress: { progress?($0, head) }) { record in
            guard RecommendProjection.eventTypes.contains(record.type), let stream = StreamId(utf8: record.streamBytes) else { return true }
            let event = try EventCodec.decode(
                type: record.type, schemaVersion: Int(record.schemaVersion), payload: record.payload, using: decoder)
            if isHidden(event, in: stream, at: record.position, held) { return true }
            model.apply(ProjectedEvent(position: record.position, stream: stream, event: event))
            return true
        }
        return model
    }

    /// The hidden order itself, and the customer's views, carts and favorites of its goods since their order before.
    static func isHidden(_ event: DomainEvent, in stream: StreamId, at position: UInt64, _ held: [UserId: HeldOut]) -> Bool {
        switch (stream, event) {
        case (_, .order(.placed(let placed))): return held[placed.userId]?.position == position
        case (.user(let user), .user(.goodsViewed(let viewed))): return hides(held[user], viewed.goodsId, position)
        case (.user(let user), .user(.favoriteAdded(let added))): return hides(held[user], added.goodsId, position)
        case (.cart(let user), .cart(.itemAdded(let added))): return hides(held[user], added.goodsId, position)
        default: return false
        }
    }

    static func hides(_ hidden: HeldOut?, _ goods: GoodsId, _ position: UInt64) -> Bool {
        guard let hidden else { return false }
        return position > hidden.previous && hidden.goods.contains(goods.description)
    }

    static func recommend(_ name: String, for user: UserId, _ model: RecommendProjection) -> [String] {
        let bought = model.purchases(of: user)
        let exclude = Set(bought)
        switch name {
        case "popular":
            let ranked = model.items.rows.filter { $0.value.listed && !exclude.contains($0.key) }
                .sorted { ($1.value.orders, $0.key) < ($0.value.orders, $1.key) }
            return ranked.prefix(cutoff).map(\.key)
        case "hot": return model.hot(limit: cutoff, excluding: exclude).map(\.goodsId)
        case "also-bought":
            let seeds = bought.prefix(5).enumerated().map { rank, seed in (seed, 1 / Double(rank + 1)) }
            return model.result(model.boughtWith(seeds).map { ($0.key, $0.value) }, limit: cutoff, excluding: exclude).map(\.goodsId)
        case "similar":
            guard let seed = bought.first else { return [] }
            return model.similar(to: seed, limit: cutoff, excluding: exclude).map(\.goodsId)
        default: return model.feed(for: user, limit: cutoff).map(\.goodsId)
        }
    }

    /// (hit, NDCG) of one list against the hidden goods.
    static func score(_ list: [String], _ hidden: Set<String>) -> (Double, Double) {
        var dcg = 0.0
        for (rank, goods) in list.prefix(cutoff).enumerated() where hidden.contains(goods) { dcg += 1 / log2(Double(rank) + 2) }
        let ideal = (0..<min(hidden.count, cutoff)).reduce(0.0) { $0 + 1 / log2(Double($1) + 2) }
        return (dcg > 0 ? 1 : 0, ideal > 0 ? dcg / ideal : 0)
    }
}
