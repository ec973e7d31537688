import Commerce
import Foundation

/// Recommendations (the Gorse kinds): hot, new arrivals, similar items,
/// also bought, and a personal home feed. Time is the log's: "now" is the
/// newest event folded, so a model folded twice is the same model.
public final class RecommendProjection: Projection, @unchecked Sendable {
    public static let name = "recommend"
    public static let schemaVersion = 2  // 2: profiles keep goods ids as 16 bytes
    public static let foldCostGuess = 2.5
    public static let eventTypes: Set<String> = [
        GoodsListed.eventType, GoodsUpdated.eventType, GoodsDelisted.eventType, GoodsRelisted.eventType,
        GoodsViewed.eventType, FavoriteAdded.eventType, FavoriteRemoved.eventType, CartItemAdded.eventType, OrderPlaced.eventType,
        UserForgotten.eventType,
    ]

    public struct Item: Codable, Equatable, Sendable, Hashable {
        public internal(set) var title = ""
        public internal(set) var category = ""
        public internal(set) var brand = ""
        public internal(set) var tags: [String] = []
        var listed = false
        var listedAt: Int64 = 0
        /// Time-decayed interest (views 1, carts 3, purchases 10) as of `scoredAt`.
        var hot = 0.0
        var scoredAt: Int64 = 0
        /// Orders containing it (for normalising co-occurrence).
        var orders = 0
    }

    /// What one user did, newest first, bounded.
    public struct Profile: Codable, Equatable, Sendable, Hashable {
        // Ids, not their text: every view and order searches these lists.
        var viewed: [GoodsId] = []
        var favorites: [GoodsId] = []
        var purchased: [GoodsId] = []
    }

    public static let hotHalfLifeMs: Double = 7 * 24 * 3_600_000
    static let viewWeight = 1.0, cartWeight = 3.0, purchaseWeight = 10.0
    static let viewedKept = 50
    static let purchasedKept = 200
    /// Lines of one order that count towards co-occurrence (bounds the pairs an order adds).
    static let linesPerOrderCounted = 20
    public static let resultsMax = 50
    static let similarSeedsMax = 3
    static let similarPerSeedMax = 30

    public let items = Table<Item>(prefix: 1)
    /// Keyed `a|b` with a < b: orders containing both.
    public let pairs = Table<Int>(prefix: 2)
    public let profiles = Table<Profile>(prefix: 3)
    /// `now`: the newest event time folded, in ms.
    public let clock = Table<Int64>(prefix: 4)
    public var storedTables: [any StoredTable] { [items, pairs, profiles, clock] }

    /// Goods by number with their features and co-purchases, derived from `items` and `pairs`.
    let graph = ItemGraph()
    /// The hottest goods by a time-free key (see `hotKey`), highest first, at most `hotKept`.
    private var hottest: [(key: Double, id: String)] = []
    /// The key each goods in `hottest` is filed under.
    private var hotMembers: [String: Double] = [:]
    static let hotKept = 1_000
    /// Candidates one similarity query scores at most (features are taken rarest first).
    static let similarCandidatesMax = 2_000
    /// The feed looks at fewer per seed: it only takes each seed's top `similarPerSeedMax`.
    static let feedSimilarCandidatesMax = 500

    public init() {}

    public func didLoad() {
        hottest = []
        for (id, item) in items.rows.sorted(by: { $0.key < $1.key }) {
            let number = graph.number(id)
            graph.setFeatures(number, Self.features(of: item))
            graph.setListed(number, item.listed)
            graph.setOrders(number, item.orders)
            if item.hot > 0 { hottest.append((Self.hotKey(item), id)) }
        }
        for (key, count) in pairs.rows {
            let parts = key.split(separator: "|").map(String.init)
            guard parts.count == 2 else { continue }
            graph.addPair(graph.number(parts[0]), graph.number(parts[1]), count: Int32(count))
        }
        hottest.sort { ($0.key, $1.id) > ($1.key, $0.id) }
        if hottest.count > Self.hotKept { hottest.removeLast(hottest.count - Self.hotKept) }
        hotMembers = Dictionary(uniqueKeysWithValues: hottest.map { ($0.id, $0.key) })
    }

    /// Where (key, id) is or would go in `hottest`.
    private func hotSlot(_ key: Double, _ id: String) -> Int {
        hottest.partitioningIndex { !(($0.key, id) > (key, $0.id)) }
    }

    /// log₂ of the score decayed to time 0: decay divides every score by the
    /// same factor as time passes, so this orders goods as their scores at any
    /// later time would, and it only grows when interest is added.
    static func hotKey(_ item: Item) -> Double { log2(item.hot) + Double(item.scoredAt) / hotHalfLifeMs }

    private func raise(_ id: String, key: Double) {
        if let old = hotMembers[id] {
            let slot = hotSlot(old, id)
            if slot < hottest.count, hottest[slot].id == id { hottest.remove(at: slot) }
            hotMembers[id] = nil
        }
        guard hottest.count < Self.hotKept || key > (hottest.last?.key ?? -.infinity) else { return }
        hottest.insert((key, id), at: hotSlot(key, id))
        hotMembers[id] = key
        if hottest.count > Self.hotKept, let dropped = hottest.popLast() { hotMembers[dropped.id] = nil }
    }

    static func features(of item: Item) -> Set<String> {
        Set(
            item.tags.map { "t:" + Tokenizer.fold($0) } + ["c:" + Tokenizer.fold(item.category)]
                + (item.brand.isEmpty ? [] : ["b:" + Tokenizer.fold(item.brand)]))
    }

    var now: Int64 { clock["now"] ?? 0 }

    public func apply(_ event: ProjectedEvent) {
        switch (event.stream, event.event) {
        case (.goods(let id), .goods(let change)): applyGoods(id.description, change)
        case (.user(let user), .user(.goodsViewed(let viewed))):
            let goods = viewed.goodsId
            interest(goods.description, Self.viewWeight, at: viewed.at)
            profiles.update(user.description, default: Profile()) {
                $0.viewed.moveToFront(goods, keepingAtMost: Self.viewedKept) { $0 == goods }
            }
        case (.user(let user), .user(.favoriteAdded(let added))):
            let goods = added.goodsId
            profiles.update(user.description, default: Profile()) {
                $0.favorites.moveToFront(goods, keepingAtMost: Limits.favoritesPerUserMax) { $0 == goods }
            }
        case (.user(let user), .user(.favoriteRemoved(let removed))):
            let goods = removed.goodsId
            profiles.update(user.description, default: Profile()) { $0.favorites.removeAll { $0 == goods } }
        case (.user(let user), .user(.forgotten)): profiles[user.description] = nil
        case (_, .cart(.itemAdded(let added))): interest(added.goodsId.description, Self.cartWeight, at: added.at)
        case (_, .order(.placed(let placed))): applyOrder(placed)
        default: break
        }
    }

    private func applyGoods(_ id: String, _ change: GoodsEvent) {
        switch change {
        case .listed(let listed): tick(listed.at)
        case .updated, .delisted, .relisted: break
        default: return
        }
        var isNew = false
        var before: Item?
        var after = Item()
        items.update(
            id,
            default: {
                isNew = true; return Item()
            }()
        ) { item in  // one lookup
            before = isNew ? nil : item
            switch change {
            case .listed(let listed):
                (item.title, item.category, item.brand, item.tags) = (listed.title, listed.category, listed.brand, listed.tags)
                item.listed = true
                item.listedAt = listed.at.millisecondsSinceEpoch
            case .updated(let updated):
                (item.title, item.category, item.brand, item.tags) = (updated.title, updated.category, updated.brand, updated.tags)
            case .delisted: item.listed = false
            case .relisted: item.listed = true
            default: break
            }
            after = item
        }
        let number = graph.number(id)
        if before?.tags != after.tags || before?.category != after.category || before?.brand != after.brand {
            let features = Self.features(of: after)
            if before.map(Self.features) != features { graph.setFeatures(number, features) }
        }
        graph.setListed(number, after.listed)
    }

    private func tick(_ at: Instant) { if at.millisecondsSinceEpoch > now { clock["now"] = at.millisecondsSinceEpoch } }

    private func interest(_ id: String, _ weight: Double, at: Instant) {
        tick(at)
        var key = 0.0
        items.update(id, default: Item()) { item in
            let time = at.millisecondsSinceEpoch
            item.hot = Self.decayed(item.hot, from: item.scoredAt, to: max(time, item.scoredAt)) + weight
            item.scoredAt = max(time, item.scoredAt)
            key = Self.hotKey(item)
        }
        raise(id, key: key)
    }

    static func decayed(_ score: Double, from: Int64, to: Int64) -> Double {
        guard to > from else { return score }
        return score * exp2(-Double(to - from) / hotHalfLifeMs)
    }

    private func applyOrder(_ placed: OrderPlaced) {
        let ids = Array(Set(placed.lines.map(\.goodsId))).sorted().prefix(Self.linesPerOrderCounted)
        let goods = ids.map(\.description)  // ids sort as their text does
        for id in goods {
            interest(id, Self.purchaseWeight, at: placed.at)
            items.update(id, default: Item()) { $0.orders += 1 }
        }
        for (offset, a) in goods.enumerated() {
            for b in goods.dropFirst(offset + 1) { pairs.update("\(a)|\(b)", default: 0) { $0 += 1 } }
        }
        graph.addOrder(goods.map(graph.number))
        profiles.update(placed.userId.description, default: Profile()) { profile in
            for id in ids { profile.purchased.moveToFront(id, keepingAtMost: Self.purchasedKept) { $0 == id } }
        }
    }

    // MARK: Queries

    public struct Recommendation: Codable, Sendable, Hashable {
        public var goodsId: String
        public var title: String
        public var score: Double
    }

    func result(_ scores: [(Int32, Double)], limit: Int, excluding excluded: Set<String> = []) -> [Recommendation] {
        let numbers = Set(excluded.compactMap { graph.numbers[$0] })
        return graph.top(scores, limit: min(max(limit, 1), Self.resultsMax), excluding: numbers).map { number, score in
            let id = graph.ids[Int(number)]
            return Recommendation(goodsId: id, title: items[id]?.title ?? "", score: score)
        }
    }

    /// Interest decayed to now.
    public func hot(limit: Int, excluding excluded: Set<String> = []) -> [Recommendation] {
        let now = self.now
        var hot: [Recommendation] = []
        let limit = min(max(limit, 1), Self.resultsMax)
        for (_, id) in hottest where hot.count < limit && !excluded.contains(id) {
            guard let item = items[id], item.listed else { continue }
            hot.append(Recommendation(goodsId: id, title: item.title, score: Self.decayed(item.hot, from: item.scoredAt, to: now)))
        }
        return hot
    }

    /// The most recently listed goods.
    public func newArrivals(limit: Int) -> [Recommendation] {
        let newest = items.rows.filter { $0.value.listed }.sorted { ($1.value.listedAt, $0.key) < ($0.value.listedAt, $1.key) }
            .prefix(min(max(limit, 1), Self.resultsMax))
        return newest.map { Recommendation(goodsId: $0.key, title: $0.value.title, score: Double($0.value.listedAt)) }
    }

    /// Goods sharing tags, category and brand, each feature weighted by its IDF (cosine over IDF² weights).
    public func similar(to id: String, limit: Int, excluding excluded: Set<String> = []) -> [Recommendation] {
        guard let number = graph.numbers[id] else { return [] }
        return result(graph.similarity(to: number, candidatesMax: Self.similarCandidatesMax), limit: limit, excluding: excluded.union([id]))
    }

    /// Goods bought with `id`: co-occurrence over √(orders of each), so best sellers do not swamp the list.
    public func alsoBought(with id: String, limit: Int, excluding excluded: Set<String> = []) -> [Recommendation] {
        result(boughtWith([(id, 1)]).map { ($0.key, $0.value) }, limit: limit, excluding: excluded.union([id]))
    }

    /// Co-occurrence scores summed over weighted seeds (the feed's and the evaluation's also-bought).
    func boughtWith(_ seeds: [(String, Double)]) -> [Int32: Double] {
        var scores: [Int32: Double] = [:]
        for (seed, weight) in seeds {
            guard let number = graph.numbers[seed] else { continue }
            for (other, score) in graph.coOccurrence(of: number) { scores[other, default: 0] += weight * score }
        }
        return scores
    }

    /// The home feed: goods bought with, or like, what the user viewed,
    /// favored and bought (recent first counts more), never what they have
    /// bought; hot goods fill the rest, and are all a new user gets.
    public func feed(for user: UserId, limit: Int) -> [Recommendation] {
        let profile = profiles[user.description] ?? Profile()
        let bought = Set(profile.purchased.map(\.description))
        let limit = min(max(limit, 1), Self.resultsMax)
        var seeds: [(String, Double)] = []
        for (rank, id) in profile.purchased.prefix(10).enumerated() { seeds.append((id.description, 3.0 / Double(rank + 1))) }
        for (rank, id) in profile.favorites.prefix(10).enumerated() { seeds.append((id.description, 2.0 / Double(rank + 1))) }
        for (rank, id) in profile.viewed.prefix(10).enumerated() { seeds.append((id.description, 1.0 / Double(rank + 1))) }
        var scores = boughtWith(seeds)
        // Content similarity carries a customer's taste to goods nobody has bought together yet.
        for (seed, weight) in seeds.sorted(by: { $0.1 > $1.1 }).prefix(Self.similarSeedsMax) {
            guard let number = graph.numbers[seed] else { continue }
            let similar = graph.top(
                graph.similarity(to: number, candidatesMax: Self.feedSimilarCandidatesMax), limit: Self.similarPerSeedMax, excluding: [])
            for (other, score) in similar { scores[other, default: 0] += weight * score }
        }
        var feed = result(scores.map { ($0.key, $0.value) }, limit: limit, excluding: bought)
        if feed.count < limit {
            let have = Set(feed.map(\.goodsId)).union(bought)
            feed += hot(limit: limit - feed.count, excluding: have).map { Recommendation(goodsId: $0.goodsId, title: $0.title, score: 0) }
        }
        return feed
    }

    /// What a user has bought (newest first): the evaluation's ground truth.
    public func purchases(of user: UserId) -> [String] { profiles[user.description]?.purchased.map(\.description) ?? [] }
}
