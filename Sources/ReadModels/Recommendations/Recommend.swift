import Commerce
import Foundation

/// Recommendations (the Gorse kinds): hot, new arrivals, similar items,
/// also bought, and a personal home feed. Time is the log's: "now" is the
/// newest event folded, so a model folded twice is the same model.
public final class RecommendProjection: Projection, @unchecked Sendable {
    public static let name = "recommend"
    /// 2: goods ids as 16 bytes; 3: co-purchase over customers' histories; 4: factor model; 5: carts kept, and views,
    /// carts and favorites pairing (weaker) with purchases.
    public static let schemaVersion = 5
    public static let foldCostGuess = 4.5  // pairing each purchase with the customer's earlier ones made it the costliest fold
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

    /// What one user did, newest first, bounded; and every goods they bought.
    public struct Profile: Codable, Equatable, Sendable, Hashable {
        // Ids, not their text: every view and order searches these lists.
        var viewed: [GoodsId] = []
        var favorites: [GoodsId] = []
        var purchased: [GoodsId] = []
        /// Every goods bought, each once, in the order first bought (the oldest dropped past `historyKept`): the feed
        /// never offers these, and the co-purchase graph is derived from every customer's history.
        var history: [Purchase] = []
        /// Goods put in the cart, newest first (at most `cartedKept`).
        var carted: [GoodsId] = []

        /// How much the customer's interest in `goods` counts in a pair with one of their purchases, in
        /// `ItemGraph.purchaseUnits`: among their `interestsPaired` newest favorites or goods put in the cart 2, among
        /// their newest views 1, else 0.
        func interestUnits(_ goods: GoodsId) -> Int32 {
            let newest = RecommendProjection.interestsPaired
            if favorites.prefix(newest).contains(goods) || carted.prefix(newest).contains(goods) { return 2 }
            return viewed.prefix(newest).contains(goods) ? 1 : 0
        }

        /// Every goods the customer's interest in counts, once each, with its units (`interestUnits`, in one pass: a
        /// purchase re-pairs them all). In no particular order: pair counts are integers, their sums the same in any.
        var interests: [GoodsId: Int32] {
            let newest = RecommendProjection.interestsPaired
            var units: [GoodsId: Int32] = [:]
            units.reserveCapacity(3 * newest)
            for goods in viewed.prefix(newest) { units[goods] = 1 }
            for goods in favorites.prefix(newest) { units[goods] = 2 }
            for goods in carted.prefix(newest) { units[goods] = 2 }
            return units
        }
    }

    public struct Purchase: Codable, Equatable, Sendable, Hashable {
        var goods: GoodsId
        /// When the customer first bought it, in ms.
        var at: Int64
    }

    public static let hotHalfLifeMs: Double = 7 * 24 * 3_600_000
    static let viewWeight = 1.0, cartWeight = 3.0, purchaseWeight = 10.0
    static let viewedKept = 50, cartedKept = 50
    /// A goods a customer viewed, carted or favoured pairs with their newest `interestPairedPurchases` purchases (in
    /// `ItemGraph.purchaseUnits`, see `Profile.interestUnits`): "customers who looked at this bought that", counted
    /// below a co-purchase. The weights are chosen, not tuned: no dataset at hand has views, carts or favorites.
    static let interestPairedPurchases = 10
    /// The newest views, carts and favorites (each) that pair: bounds what a purchase costs to re-pair them.
    static let interestsPaired = 10
    static let purchasedKept = 200
    static let historyKept = 5_000
    /// A goods new to a customer pairs with their previous distinct purchases (`tuning.pairedMax` of them at most)
    /// made within `pairWindowMs`: bounds what one purchase costs, and keeps pairs to one period of a customer's taste.
    static let pairWindowMs: Int64 = 365 * 24 * 3_600_000
    /// Lines of one order that count towards co-occurrence (bounds the pairs an order adds).
    static let linesPerOrderCounted = 20
    public static let resultsMax = 50
    static let similarSeedsMax = 3
    static let favoriteSeeds = 20, viewSeeds = 20
    static let similarPerSeedMax = 30

    public let items = Table<Item>(prefix: 1)
    // Prefix 2 held per-order pairs until schema version 3; the pairs are now derived from `profiles`' histories.
    public let profiles = Table<Profile>(prefix: 3)
    /// `now`: the newest event time folded, in ms.
    public let clock = Table<Int64>(prefix: 4)
    /// The factor model's goods factors, by goods id (see `FactorModel`), as trained at `trainings["model"]`.
    public let factorRows = Table<[Float]>(prefix: 5)
    /// When and on what the factor model was trained (one row, "model").
    public let trainings = Table<Training>(prefix: 6)
    public var storedTables: [any StoredTable] { [items, profiles, clock, factorRows, trainings] }

    public struct Training: Codable, Equatable, Sendable, Hashable {
        /// The log position the model was trained at: it is a function of the log up to there.
        public internal(set) var position: UInt64
        var settings: FactorSettings
        public internal(set) var customers: Int
        public internal(set) var purchases: Int
        /// `clock["purchases"]` and `clock["forgotten"]` when it was trained (what makes the next training due).
        var purchasesFolded: Int64
        var forgottenFolded: Int64
    }

    /// The factor model in use, rows by graph number (derived from `factorRows`).
    var factorModel: FactorModel?
    /// Trains the factor model off the fold's thread (see `caughtUp`).
    let trainer = FactorTrainer()
    /// An admin asked for a training (started at the next `caughtUp`, due or not).
    var trainingRequested = false
    /// The goods the feed scores with the factor model besides those co-purchased (see `factorCandidatesMax`).
    var factorCandidates: [Int32] = []
    /// Their factors, side by side in the same order.
    var factorCandidateRows: [FactorModel.Lanes] = []
    /// The feed's scratch: the customer's preference for every goods (the evaluation's), co-purchase scores by goods.
    var preferences: [Float] = []
    var coPurchaseScratch: [Double] = []

    /// Goods by number with their features and co-purchases, derived from `items` and the histories in `profiles`.
    let graph = ItemGraph()
    /// The graph's number of every goods (the graph's own map is by text; this one spares formatting ids in the loops).
    private var numbers: [GoodsId: Int32] = [:]
    /// Each customer's history as graph numbers, parallel to `Profile.history` (derived, never stored): the pairing
    /// loops read integers, not ids.
    private(set) var numberedHistories: [UserId: [Int32]] = [:]
    /// How purchases pair and how the feed weighs its evidence (chosen on a validation split, see
    /// `RecommenderEvaluation.tune`). Serving always uses `.chosen`; the evaluation folds models with others.
    var tuning: RecommendTuning
    /// The hottest goods by a time-free key (see `hotKey`), highest first, at most `hotKept`.
    private var hottest: [(key: Double, id: String)] = []
    /// The key each goods in `hottest` is filed under.
    private var hotMembers: [String: Double] = [:]
    static let hotKept = 1_000
    /// Candidates one similarity query scores at most (features are taken rarest first).
    static let similarCandidatesMax = 2_000
    /// The feed looks at fewer per seed: it only takes each seed's top `similarPerSeedMax`.
    static let feedSimilarCandidatesMax = 500

    public init() { tuning = .chosen }

    init(tuning: RecommendTuning) { self.tuning = tuning }

    public func didLoad() {
        hottest = []
        for (id, item) in items.rows.sorted(by: { $0.key < $1.key }) {
            guard let goods = GoodsId(id) else { continue }
            let number = self.number(goods)
            graph.setFeatures(number, Self.features(of: item))
            graph.setListed(number, item.listed)
            if item.hot > 0 { hottest.append((Self.hotKey(item), id)) }
        }
        for (key, profile) in profiles.rows.sorted(by: { $0.key < $1.key }) {
            guard let user = UserId(key), !profile.history.isEmpty else { continue }
            let numbered = profile.history.map { number($0.goods) }
            numberedHistories[user] = numbered
            pairInterests(profile, with: numbered.suffix(Self.interestPairedPurchases), 1)
            for index in numbered.indices { count(index, profile.history, numbered, 1) }
        }
        hottest.sort { ($0.key, $1.id) > ($1.key, $0.id) }
        if hottest.count > Self.hotKept { hottest.removeLast(hottest.count - Self.hotKept) }
        hotMembers = Dictionary(uniqueKeysWithValues: hottest.map { ($0.id, $0.key) })
        loadFactors()
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
        case (.goods(let id), .goods(let change)): applyGoods(id, change)
        case (.user(let user), .user(.goodsViewed(let viewed))):
            let goods = viewed.goodsId
            interest(goods.description, Self.viewWeight, at: viewed.at)
            changeInterests(of: user, goods) { $0.viewed.moveToFront(goods, keepingAtMost: Self.viewedKept) { $0 == goods } }
        case (.user(let user), .user(.favoriteAdded(let added))):
            let goods = added.goodsId
            changeInterests(of: user, goods) {
                $0.favorites.moveToFront(goods, keepingAtMost: Limits.favoritesPerUserMax) { $0 == goods }
            }
        case (.user(let user), .user(.favoriteRemoved(let removed))):
            let goods = removed.goodsId
            changeInterests(of: user, goods) { $0.favorites.removeAll { $0 == goods } }
        case (.user(let user), .user(.forgotten)):
            // What the customer bought and looked at stops counting too: a forgotten customer's taste leaves the model.
            if let profile = profiles[user.description], let numbered = numberedHistories.removeValue(forKey: user) {
                for index in numbered.indices { count(index, profile.history, numbered, -1) }
                pairInterests(profile, with: numbered.suffix(Self.interestPairedPurchases), -1)
            }
            profiles[user.description] = nil
            clock["forgotten"] = (clock["forgotten"] ?? 0) + 1  // the factor model learnt from them: train it again
        case (.cart(let user), .cart(.itemAdded(let added))):
            let goods = added.goodsId
            interest(goods.description, Self.cartWeight, at: added.at)
            changeInterests(of: user, goods) { $0.carted.moveToFront(goods, keepingAtMost: Self.cartedKept) { $0 == goods } }
        case (_, .order(.placed(let placed))): applyOrder(placed)
        default: break
        }
    }

    private func applyGoods(_ goods: GoodsId, _ change: GoodsEvent) {
        switch change {
        case .listed(let listed): tick(listed.at)
        case .updated, .delisted, .relisted: break
        default: return
        }
        var isNew = false
        var before: Item?
        var after = Item()
        items.update(
            goods.description,
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
        let number = self.number(goods)
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
        purchase(by: placed.userId, Set(placed.lines.map(\.goodsId)), at: placed.at)
    }

    /// A customer bought these goods (one order): interest and order counts, the customer's newest purchases (the
    /// feed's seeds) and history, and a pair of each goods new to them with their recent purchases.
    func purchase(by user: UserId, _ bought: Set<GoodsId>, at: Instant) {
        let ids = bought.sorted().prefix(Self.linesPerOrderCounted)
        for id in ids {
            let key = id.description
            interest(key, Self.purchaseWeight, at: at)
            items.update(key, default: Item()) { $0.orders += 1 }
        }
        var numbered = numberedHistories.removeValue(forKey: user) ?? []  // out of the dictionary: appended in place
        var purchasesFolded: Int64 = 0
        profiles.update(user.description, default: Profile()) { profile in
            var interests: [(Int32, Int32)]?  // the customer's interests with their units, read once if needed
            for id in ids {
                profile.purchased.moveToFront(id, keepingAtMost: Self.purchasedKept) { $0 == id }
                let number = self.number(id)
                guard !numbered.contains(number) else { continue }
                profile.history.append(Purchase(goods: id, at: at.millisecondsSinceEpoch))
                numbered.append(number)
                purchasesFolded += 1
                count(numbered.count - 1, profile.history, numbered, 1)
                // The newest purchases the interests pair with: this one in, the one it pushes out of them out.
                let interestsNow = interests ?? profile.interests.map { (self.number($0.key), $0.value) }
                interests = interestsNow
                let pushedOut =
                    numbered.count > Self.interestPairedPurchases ? numbered[numbered.count - 1 - Self.interestPairedPurchases] : nil
                for (interest, units) in interestsNow {
                    if let pushedOut { graph.addPair(interest, pushedOut, -units) }
                    graph.addPair(interest, number, units)
                }
                if numbered.count > Self.historyKept { dropOldest(&profile.history, &numbered) }
            }
        }
        numberedHistories[user] = numbered
        if purchasesFolded > 0 { clock["purchases"] = (clock["purchases"] ?? 0) + purchasesFolded }
    }

    /// Changes a customer's views, favorites or cart: each goods whose interest units changed (`goods`, or one a
    /// bounded list let go) pairs with their newest purchases by the difference.
    private func changeInterests(of user: UserId, _ goods: GoodsId, _ change: (inout Profile) -> Void) {
        let purchases = numberedHistories[user]?.suffix(Self.interestPairedPurchases) ?? []
        profiles.update(user.description, default: Profile()) { profile in
            guard !purchases.isEmpty else { return change(&profile) }
            // The goods whose units may change: this one, and in each list the last that counts (pushed out by a goods
            // moved to the front) and the first that does not (moved up when one is removed).
            var changed = [goods]
            let newest = Self.interestsPaired
            for list in [profile.viewed, profile.carted, profile.favorites] {
                for index in [newest - 1, newest] where list.indices.contains(index) && !changed.contains(list[index]) {
                    changed.append(list[index])
                }
            }
            let before = changed.map { profile.interestUnits($0) }
            change(&profile)
            for (goods, unitsBefore) in zip(changed, before) {
                let delta = profile.interestUnits(goods) - unitsBefore
                guard delta != 0 else { continue }
                let number = self.number(goods)
                for purchase in purchases { graph.addPair(number, purchase, delta) }
            }
        }
    }

    /// Adds (1) or takes back (-1) the pairs of every goods the customer showed interest in with `purchases`.
    private func pairInterests(_ profile: Profile, with purchases: ArraySlice<Int32>, _ sign: Int32) {
        for (goods, units) in profile.interests {
            let number = self.number(goods)
            for purchase in purchases { graph.addPair(number, purchase, units * sign) }
        }
    }

    /// Whether a customer's purchases at `later` and `earlier` (indices of their history) make a pair.
    func paired(_ history: [Purchase], _ later: Int, _ earlier: Int) -> Bool {
        later - earlier <= tuning.pairedMax && abs(history[later].at - history[earlier].at) <= Self.pairWindowMs
    }

    /// Adds (1) or takes back (-1) the purchase at `index` of a customer's history: one buyer of its goods, and one
    /// pair with each earlier purchase it pairs with. Counting every index of every history derives the whole graph.
    private func count(_ index: Int, _ history: [Purchase], _ numbered: [Int32], _ delta: Int32) {
        let number = numbered[index]
        graph.addBuyer(number, delta)
        for earlier in max(0, index - tuning.pairedMax)..<index where paired(history, index, earlier) {
            graph.addPair(number, numbered[earlier], delta * ItemGraph.purchaseUnits)
        }
    }

    /// Forgets a history's oldest purchase, and the pairs it made with later ones, as if it had never been there.
    private func dropOldest(_ history: inout [Purchase], _ numbered: inout [Int32]) {
        let oldest = numbered[0]
        graph.addBuyer(oldest, -1)
        for later in 1..<min(history.count, tuning.pairedMax + 1) where paired(history, later, 0) {
            graph.addPair(numbered[later], oldest, -ItemGraph.purchaseUnits)
        }
        history.removeFirst()
        numbered.removeFirst()
    }

    private func number(_ id: GoodsId) -> Int32 {
        if let number = numbers[id] { return number }
        let number = graph.number(id.description)
        numbers[id] = number
        return number
    }

    // MARK: Queries

    public struct Recommendation: Codable, Sendable, Hashable {
        public var goodsId: String
        public var title: String
        public var score: Double
    }

    func result(_ scores: [(Int32, Double)], limit: Int, excluding excluded: Set<String> = []) -> [Recommendation] {
        let numbers = Set(excluded.compactMap { graph.numbers[$0] })
        return named(graph.top(scores, limit: min(max(limit, 1), Self.resultsMax), excluding: numbers))
    }

    func named(_ ranked: [(Int32, Double)]) -> [Recommendation] {
        ranked.map { number, score in
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
        result(boughtWith([(id, 1)]), limit: limit, excluding: excluded.union([id]))
    }

    /// Co-occurrence scores summed over weighted seeds (the feed's and the evaluation's also-bought).
    func boughtWith(_ seeds: [(String, Double)]) -> [(Int32, Double)] {
        graph.coOccurrence(summing: seeds.compactMap { seed, weight in graph.numbers[seed].map { ($0, weight) } })
    }

    /// The home feed, by evidence: goods that customers who bought (favoured, viewed) what this customer did also
    /// bought, blended with what the factor model predicts from their whole history; then, only to fill what that
    /// leaves (a new customer, goods nobody has bought with theirs yet), goods like theirs by tags, category and brand;
    /// then hot goods. Never a goods the customer has ever bought.
    public func feed(for user: UserId, limit: Int) -> [Recommendation] {
        let profile = profiles[user.description] ?? Profile()
        let limit = min(max(limit, 1), Self.resultsMax)
        var excluded = Set(numberedHistories[user] ?? [])
        let seeds = feedSeeds(profile)
        var feed = collaborative(for: user, seeds: seeds, limit: limit, excluding: excluded)
        if feed.count < limit {
            excluded.formUnion(feed.map(\.0))
            var similar: [Int32: Double] = [:]
            let ids = graph.ids
            let strongest = seeds.sorted { ($0.1, ids[Int($1.0)]) > ($1.1, ids[Int($0.0)]) }  // ties in id order
            for (seed, weight) in strongest.prefix(Self.similarSeedsMax) {
                let nearest = graph.top(
                    graph.similarity(to: seed, candidatesMax: Self.feedSimilarCandidatesMax), limit: Self.similarPerSeedMax, excluding: [])
                for (other, score) in nearest { similar[other, default: 0] += weight * score }
            }
            feed += graph.top(similar.map { ($0.key, $0.value) }, limit: limit - feed.count, excluding: excluded)
        }
        var answer = named(feed)
        if answer.count < limit {
            let have = Set(answer.map(\.goodsId)).union(profile.history.map(\.goods.description))
            answer += hot(limit: limit - answer.count, excluding: have).map {
                Recommendation(goodsId: $0.goodsId, title: $0.title, score: 0)
            }
        }
        return answer
    }

    /// The feed's seeds with their weights: the newest purchases, favorites and views, each kind weighed as
    /// `tuning` says and decaying with rank (a customer's whole recent taste, not only their last purchase).
    func feedSeeds(_ profile: Profile) -> [(Int32, Double)] {
        var weights: [Int32: Double] = [:]
        func add(_ ids: [GoodsId], _ weight: Double, _ kept: Int) {
            for (rank, id) in ids.prefix(kept).enumerated() {
                guard let number = numbers[id] else { continue }
                weights[number, default: 0] += weight / (1 + Double(rank) / tuning.recencyRanks)
            }
        }
        add(profile.purchased, 1, tuning.purchaseSeeds)
        add(profile.favorites, tuning.favoriteWeight, Self.favoriteSeeds)
        add(profile.viewed, tuning.viewWeight, Self.viewSeeds)
        // In the goods' id order: scores are summed in the same order whatever the process and its numbering, so a
        // restarted server ranks near-ties as the live one does.
        let ids = graph.ids
        return weights.map { ($0.key, $0.value) }.sorted { ids[Int($0.0)] < ids[Int($1.0)] }
    }

    /// Every goods a user has bought (as far back as `historyKept`).
    public func everBought(by user: UserId) -> Set<String> {
        Set(profiles[user.description]?.history.map(\.goods.description) ?? [])
    }

    /// What a user has bought (newest first): the evaluation's ground truth.
    public func purchases(of user: UserId) -> [String] { profiles[user.description]?.purchased.map(\.description) ?? [] }
}

/// How purchases pair and how the feed weighs its evidence. The values in use (`chosen`) were picked with
/// `emporium recommend evaluate --tune` on the validation split of MovieLens 100k (each customer's second-to-last order
/// hidden, their last one unseen), never on the test split the README reports.
struct RecommendTuning: Sendable, Hashable, CustomStringConvertible {
    /// A goods new to a customer pairs with at most this many of their previous distinct purchases.
    var pairedMax: Int
    /// Newest purchases taken as the feed's seeds.
    var purchaseSeeds: Int
    /// A seed's weight is divided by 1 + rank / `recencyRanks`: the smaller, the more the newest count.
    var recencyRanks: Double
    /// Weights of a favorite and of a view, a purchase weighing 1.
    var favoriteWeight: Double
    var viewWeight: Double
    /// How the factor model is trained, and the weight of its (normalised) prediction beside the (normalised)
    /// co-purchase score in the feed.
    var factors = FactorSettings.chosen
    var factorWeight = 0.5

    static let chosen = RecommendTuning(pairedMax: 10, purchaseSeeds: 5, recencyRanks: 2, favoriteWeight: 0.5, viewWeight: 0.25)

    /// The grid `--tune` searches: pairing (one fold each) by the feed's seeds and recency. The favorite and view
    /// weights stay as chosen: no dataset at hand has favorites or views.
    static let pairings = [10, 25, 100]
    static let grid: [RecommendTuning] = [5, 10, 25, 100].flatMap { seeds in
        [0.5, 1, 2, 5, 20].map { ranks in
            RecommendTuning(
                pairedMax: chosen.pairedMax, purchaseSeeds: seeds, recencyRanks: ranks, favoriteWeight: chosen.favoriteWeight,
                viewWeight: chosen.viewWeight)
        }
    }

    /// The factor model's grid (one training each), each with every weight of `factorWeights`; pairing, seeds and
    /// recency as chosen.
    static let factorGrid: [FactorSettings] = [32, 64].flatMap { factors in
        [0.01, 0.1].flatMap { regularization in
            [1.0, 10].map { FactorSettings(factors: factors, regularization: regularization, alpha: $0, iterations: 15) }
        }
    }
    static let factorWeights = [0, 0.1, 0.25, 0.5, 1, 2]

    var description: String {
        "paired \(pairedMax), purchase seeds \(purchaseSeeds), recency ranks \(recencyRanks), \(factors), factor weight \(factorWeight)"
    }
}
