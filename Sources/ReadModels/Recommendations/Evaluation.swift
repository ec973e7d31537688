import Commerce
import EventCodec
import EventStore
import Foundation

/// Offline evaluation of the recommenders, leave-last-order-out by time: for
/// every customer with enough orders, their last order (and the browsing of
/// its goods since the order before) is hidden, the model is folded from
/// everything else exactly as serving folds it, and each recommender's top 10
/// for that customer, ranked over every goods they have not bought, is checked
/// against the hidden goods. The validation split hides the last two orders
/// and asks for the second-to-last: tuning looks only at that one.
///
/// The orders come from the shop's log, or from an outside interaction file
/// (user, item, timestamp[, basket]) so that any public dataset can be measured.
public enum RecommenderEvaluation {
    public struct Row: Codable, Sendable, Hashable {
        public var recommender: String
        /// Share of customers with a hidden goods in the top 10.
        public var hitRate: Double
        public var ndcg: Double
        /// Share of the listed goods that appear in some customer's top 10.
        public var coverage: Double
        /// Time of one call, in microseconds.
        public var meanMicros: Double
        public var p99Micros: Double
    }

    public struct Report: Codable, Sendable, Hashable {
        public var split: Split
        public var users: Int
        public var goods: Int
        /// Log events or file interactions read.
        public var events: UInt64
        public var cutoff: Int
        public var rows: [Row]
        /// For an interaction file: FNV-1a (64 bits, hex) of the sorted lines `user<TAB>item<LF>` of every goods asked
        /// for, in the file's own names, so another tool can prove it scored the very same split.
        public var heldOutDigest: String? = nil
    }

    public enum Split: String, Codable, Sendable, CaseIterable {
        /// Each customer's last order hidden and asked for (customers with at least two orders).
        case test
        /// The last order left out, the second-to-last hidden and asked for (customers with at least three).
        case validation

        var hiddenOrders: Int { self == .test ? 1 : 2 }
    }

    public static let cutoff = 10
    public static let recommenders = ["popular", "hot", "also-bought", "similar", "factors", "feed"]

    /// What one customer's split hides: some orders (by position in the log, or by index in a file), the browsing of
    /// their goods since the order before, and the goods asked for.
    struct HeldOut {
        var orders: Set<UInt64>
        var previous: UInt64
        var goods: Set<String>
        var target: Set<String>
    }

    /// A customer's orders in time order: (position or index, goods).
    static func heldOut(_ orders: [(UInt64, Set<String>)], _ split: Split) -> HeldOut? {
        let hidden = split.hiddenOrders
        guard orders.count > hidden, let target = orders.dropLast(hidden - 1).last else { return nil }
        let last = orders.suffix(hidden)
        return HeldOut(
            orders: Set(last.map(\.0)), previous: orders[orders.count - hidden - 1].0,
            goods: last.reduce(into: Set()) { $0.formUnion($1.1) },
            target: target.1)
    }

    // MARK: The shop's log

    public static func run(log: EventLog, split: Split = .test, progress: ((UInt64, UInt64) -> Void)? = nil) throws -> Report {
        let (model, held, head) = try fold(log: log, split: split, tuning: .chosen, progress: progress)
        return report(model, held: held, split: split, events: head)
    }

    static func fold(
        log: EventLog, split: Split, tuning: RecommendTuning, progress: ((UInt64, UInt64) -> Void)?
    ) throws -> (
        RecommendProjection, [UserId: HeldOut], UInt64
    ) {
        let head = try log.head().position
        let decoder = EventCodec.decoder(opening: nil)
        // Pass 1: each customer's orders, to find what the split hides.
        var orders: [UserId: [(UInt64, Set<String>)]] = [:]
        try log.scanViews(through: head, selecting: { _ in true }) { record in
            guard record.typeBytes.elementsEqual(OrderPlaced.eventType.utf8),
                case .order(.placed(let placed)) = try EventCodec.decode(
                    type: record.type, schemaVersion: Int(record.schemaVersion), payload: record.payload, using: decoder)
            else { return true }
            orders[placed.userId, default: []].append((record.position, Set(placed.lines.map(\.goodsId.description))))
            return true
        }
        let held = orders.compactMapValues { heldOut($0, split) }
        // Pass 2: fold the model without what is hidden.
        return (try fold(log: log, through: head, hiding: held, tuning: tuning, progress: progress), held, head)
    }

    /// The model as serving folds it, event by event (a rebuild folds the same way), without the hidden events.
    /// Not `didLoad()`: that derives the in-memory graph from the stored rows, and after folding it would add every
    /// co-purchase a second time (evaluation once scored a model the server never serves).
    static func fold(
        log: EventLog, through head: UInt64, hiding held: [UserId: HeldOut], tuning: RecommendTuning = .chosen,
        progress: ((UInt64, UInt64) -> Void)? = nil
    ) throws -> RecommendProjection {
        let decoder = EventCodec.decoder(opening: nil)
        let model = RecommendProjection(tuning: tuning)
        try log.scanViews(through: head, selecting: { _ in true }, progress: { progress?($0, head) }) { record in
            guard RecommendProjection.eventTypes.contains(record.type), let stream = StreamId(utf8: record.streamBytes) else { return true }
            let event = try EventCodec.decode(
                type: record.type, schemaVersion: Int(record.schemaVersion), payload: record.payload, using: decoder)
            if isHidden(event, in: stream, at: record.position, held) { return true }
            model.apply(ProjectedEvent(position: record.position, stream: stream, event: event))
            return true
        }
        model.finishBackgroundWork(at: head, force: true)  // the factor model, trained as a CLI rebuild trains it
        return model
    }

    /// The hidden orders themselves, and the customer's views, carts and favorites of their goods since the order before.
    static func isHidden(_ event: DomainEvent, in stream: StreamId, at position: UInt64, _ held: [UserId: HeldOut]) -> Bool {
        switch (stream, event) {
        case (_, .order(.placed(let placed))): return held[placed.userId]?.orders.contains(position) == true
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

    // MARK: An outside interaction file

    /// One line of an interaction file: who bought what, when; lines of one basket make one order.
    public struct Interaction: Sendable, Hashable {
        public var user: String
        public var item: String
        public var at: Instant
        public var basket: String?
    }

    public struct InteractionFileError: Error, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    /// Reads `user, item, timestamp[, basket]` separated by tabs or commas, one per line. A first line whose
    /// timestamp is not a number is a header. Timestamps are Unix seconds (milliseconds when ≥ 10¹¹); RecBole's
    /// `.inter` files (`user_id:token  item_id:token  rating:float  timestamp:float`) are read by their header.
    public static func interactions(_ text: String) throws -> [Interaction] {
        var columns = (user: 0, item: 1, at: 2, basket: Optional(3))
        var result: [Interaction] = []
        for (offset, line) in text.split(whereSeparator: \.isNewline).enumerated() {
            let fields = line.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\t" || $0 == "," }).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            if offset == 0, fields.count > columns.at, Double(fields[columns.at]) == nil {
                let names = fields.map { $0.split(separator: ":").first.map(String.init)?.lowercased() ?? "" }
                func column(_ candidates: [String]) -> Int? { names.firstIndex { candidates.contains($0) } }
                columns = (
                    column(["user", "user_id", "userid"]) ?? 0, column(["item", "item_id", "itemid"]) ?? 1,
                    column(["timestamp", "time", "at"]) ?? 2, column(["basket", "order", "session"])
                )
                continue
            }
            guard fields.count > max(columns.user, columns.item, columns.at), !fields[columns.user].isEmpty,
                !fields[columns.item].isEmpty
            else { throw InteractionFileError(line: offset + 1, reason: "expected user, item, timestamp[, basket]") }
            guard let stamp = Double(fields[columns.at]), stamp.isFinite, stamp >= 0, stamp < 1e15 else {
                throw InteractionFileError(line: offset + 1, reason: "the timestamp \(fields[columns.at]) is not a Unix time")
            }
            let basket = columns.basket.flatMap { $0 < fields.count && !fields[$0].isEmpty ? fields[$0] : nil }
            result.append(
                Interaction(
                    user: fields[columns.user], item: fields[columns.item],
                    at: Instant(millisecondsSinceEpoch: Int64(stamp >= 1e11 ? stamp : stamp * 1_000)), basket: basket))
        }
        return result
    }

    public static func run(interactions: [Interaction], split: Split = .test) -> Report {
        let (model, held, digest) = fold(interactions: interactions, split: split, tuning: .chosen)
        var report = report(model, held: held, split: split, events: UInt64(interactions.count))
        report.heldOutDigest = digest
        return report
    }

    /// Every item listed, then every order not hidden in time order, through the projection's own entry points.
    static func fold(
        interactions: [Interaction], split: Split, tuning: RecommendTuning
    ) -> (RecommendProjection, [UserId: HeldOut], digest: String) {
        var users: [String: UserId] = [:]
        var goods: [String: GoodsId] = [:]
        /// A version-4-shaped UUID numbering the file's users (`u`) and items (`g`) in order of appearance.
        func uuid(_ kind: UInt8, _ number: Int) -> UUID {
            func byte(_ shift: Int) -> UInt8 { UInt8(truncatingIfNeeded: UInt64(number) >> shift) }
            return UUID(uuid: (kind, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, byte(40), byte(32), byte(24), byte(16), byte(8), byte(0)))
        }
        func id<Tag>(_ text: String, _ kind: UInt8, _ known: inout [String: EntityId<Tag>]) -> EntityId<Tag> {
            if let id = known[text] { return id }
            let id = EntityId<Tag>(uuid(kind, known.count + 1))
            known[text] = id
            return id
        }
        let merchant = UserId(uuid(0x6d, 1))
        // One order per basket, or per line when the file names none; in time order, ties in file order.
        struct Order {
            var index: UInt64
            var user: UserId
            var at: Instant
            var goods: Set<GoodsId>
        }
        var orders: [Order] = []
        var basketOrder: [String: Int] = [:]
        let model = RecommendProjection(tuning: tuning)
        for interaction in interactions {
            let isNew = goods[interaction.item] == nil
            let item = id(interaction.item, 0x67, &goods)
            if isNew {
                let listed = GoodsListed(
                    goodsId: item, merchantId: merchant,
                    title: interaction.item, description: "", category: "", brand: "", tags: [], price: .zero, stock: 0,
                    lowStockThreshold: 0, at: Instant(millisecondsSinceEpoch: 0))
                model.apply(ProjectedEvent(position: 0, stream: .goods(item), event: .goods(.listed(listed))))
            }
            let user = id(interaction.user, 0x75, &users)
            if let basket = interaction.basket, let index = basketOrder[interaction.user + "\u{1}" + basket] {
                orders[index].goods.insert(item)
                orders[index].at = max(orders[index].at, interaction.at)
                continue
            }
            if let basket = interaction.basket { basketOrder[interaction.user + "\u{1}" + basket] = orders.count }
            orders.append(Order(index: UInt64(orders.count), user: user, at: interaction.at, goods: [item]))
        }
        orders.sort { ($0.at, $0.index) < ($1.at, $1.index) }
        var byUser: [UserId: [(UInt64, Set<String>)]] = [:]
        for order in orders { byUser[order.user, default: []].append((order.index, Set(order.goods.map(\.description)))) }
        let held = byUser.compactMapValues { heldOut($0, split) }
        for order in orders where held[order.user]?.orders.contains(order.index) != true {
            model.purchase(by: order.user, order.goods, at: order.at)
        }
        model.finishBackgroundWork(at: UInt64(interactions.count), force: true)
        // An item's title is its name in the file.
        let names = Dictionary(uniqueKeysWithValues: users.map { ($0.value, $0.key) })
        let lines = held.flatMap { user, hidden in
            hidden.target.map { "\(names[user] ?? "")\t\(model.items[$0]?.title ?? "")\n" }
        }
        return (model, held, String(FNV1a.hash(lines.sorted().joined().utf8), radix: 16))
    }

    // MARK: Scoring

    static func report(
        _ model: RecommendProjection, held: [UserId: HeldOut], split: Split, events: UInt64, only names: [String] = recommenders
    ) -> Report {
        let listed = model.items.rows.filter { $0.value.listed }
        let popular = listed.sorted { ($1.value.orders, $0.key) < ($0.value.orders, $1.key) }.map(\.key)
        let customers = held.keys.sorted()
        let rows = names.map { name -> Row in
            var hits = 0.0, gains = 0.0
            var shown: Set<String> = []
            var micros: [Double] = []
            micros.reserveCapacity(customers.count)
            for user in customers {
                guard let hidden = held[user] else { continue }
                let started = DispatchTime.now().uptimeNanoseconds
                let list = recommend(name, for: user, model, popular: popular)
                micros.append(Double(DispatchTime.now().uptimeNanoseconds - started) / 1_000)
                shown.formUnion(list)
                let (hit, gain) = score(list, hidden.target)
                hits += hit
                gains += gain
            }
            micros.sort()
            let users = Double(max(customers.count, 1))
            return Row(
                recommender: name, hitRate: hits / users, ndcg: gains / users, coverage: Double(shown.count) / Double(max(listed.count, 1)),
                meanMicros: micros.reduce(0, +) / users,
                p99Micros: micros.isEmpty ? 0 : micros[min(micros.count - 1, Int(Double(micros.count) * 0.99))])
        }
        return Report(split: split, users: customers.count, goods: listed.count, events: events, cutoff: cutoff, rows: rows)
    }

    /// The feed's HR@10 and NDCG@10 for each setting of the tuning grid on the validation split, best first.
    public static func tune(log: EventLog) throws -> [(setting: String, feed: Row)] {
        try tune { tuning in
            let (model, held, head) = try fold(log: log, split: .validation, tuning: tuning, progress: nil)
            return (model, held, head)
        }
    }

    public static func tune(interactions: [Interaction]) -> [(setting: String, feed: Row)] {
        tune { tuning in
            let (model, held, _) = fold(interactions: interactions, split: .validation, tuning: tuning)
            return (model, held, UInt64(interactions.count))
        }
    }

    /// One fold per pairing, then every setting of the feed's grid on it; one fold and training per factor setting,
    /// then every weight of the blend on it.
    static func tune<Failure>(
        _ fold: (RecommendTuning) throws(Failure) -> (RecommendProjection, [UserId: HeldOut], UInt64)
    ) throws(Failure) -> [(setting: String, feed: Row)] {
        var scored: [(setting: String, feed: Row)] = []
        var tried: Set<RecommendTuning> = []  // the setting in use is in both grids
        func score(_ settings: [RecommendTuning], folded base: RecommendTuning) throws(Failure) {
            let (model, held, events) = try fold(base)
            for setting in settings where tried.insert(setting).inserted {
                model.tuning = setting
                guard let feed = report(model, held: held, split: .validation, events: events, only: ["feed"]).rows.first else { continue }
                scored.append((setting.description + (setting == .chosen ? " (in use)" : ""), feed))
            }
        }
        for pairedMax in RecommendTuning.pairings {
            var base = RecommendTuning.chosen
            base.pairedMax = pairedMax
            try score(RecommendTuning.grid.map { setting in with(setting) { $0.pairedMax = pairedMax } }, folded: base)
        }
        for factors in RecommendTuning.factorGrid {
            let base = with(RecommendTuning.chosen) { $0.factors = factors }
            try score(RecommendTuning.factorWeights.map { weight in with(base) { $0.factorWeight = weight } }, folded: base)
        }
        return scored.sorted { ($0.feed.hitRate, $0.feed.ndcg) > ($1.feed.hitRate, $1.feed.ndcg) }
    }

    private static func with(_ tuning: RecommendTuning, _ change: (inout RecommendTuning) -> Void) -> RecommendTuning {
        var changed = tuning
        change(&changed)
        return changed
    }

    static func recommend(_ name: String, for user: UserId, _ model: RecommendProjection, popular: [String]) -> [String] {
        let bought = model.purchases(of: user)
        let exclude = model.everBought(by: user)
        switch name {
        case "popular": return Array(popular.lazy.filter { !exclude.contains($0) }.prefix(cutoff))
        case "hot": return model.hot(limit: cutoff, excluding: exclude).map(\.goodsId)
        case "also-bought":
            let seeds = bought.prefix(5).enumerated().map { rank, seed in (seed, 1 / Double(rank + 1)) }
            return model.result(model.boughtWith(seeds), limit: cutoff, excluding: exclude).map(\.goodsId)
        case "similar":
            guard let seed = bought.first else { return [] }
            return model.similar(to: seed, limit: cutoff, excluding: exclude).map(\.goodsId)
        case "factors": return model.predicted(for: user, limit: cutoff).map(\.goodsId)
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
