import Commerce
import EventStore
import Foundation
import Testing

@testable import ReadModels

/// The recommender's collaborative part, on models fed directly through the projection's entry points: purchases
/// pair across a customer's history (not only within one order), the feed never offers anything ever bought, and
/// what a live model derived equals what a restarted one derives from its stored rows.
@Suite struct CollaborativeTests {
    static let day: Int64 = 24 * 3_600_000

    /// A model with `count` goods listed, numbered from 1; `category(n)` and `tags(n)` give their features.
    static func model(
        goods count: Int, category: (Int) -> String = { _ in "films" }, tags: (Int) -> [String] = { _ in [] },
        tuning: RecommendTuning = .chosen
    ) -> (RecommendProjection, [GoodsId]) {
        let model = RecommendProjection(tuning: tuning)
        let ids = (1...count).map { GoodsId(uuid(0x67, $0)) }
        for (index, id) in ids.enumerated() {
            let listed = GoodsListed(
                goodsId: id, merchantId: UserId(uuid(0x6d, 1)), title: "goods \(index + 1)", description: "",
                category: category(index + 1), brand: "", tags: tags(index + 1), price: .zero, stock: 1, lowStockThreshold: 0,
                at: Instant(millisecondsSinceEpoch: 0))
            model.apply(ProjectedEvent(position: 0, stream: .goods(id), event: .goods(.listed(listed))))
        }
        return (model, ids)
    }

    static func uuid(_ kind: UInt8, _ number: Int) -> UUID {
        UUID(uuid: (kind, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, UInt8(number >> 8), UInt8(number & 0xff)))
    }

    static func customer(_ number: Int) -> UserId { UserId(uuid(0x75, number)) }

    /// Each purchase its own order, a day apart, as buy-now orders and flash sales place them.
    static func buy(_ model: RecommendProjection, _ user: UserId, _ goods: [GoodsId], from day: Int64 = 1) {
        for (offset, id) in goods.enumerated() {
            model.purchase(by: user, [id], at: Instant(millisecondsSinceEpoch: (day + Int64(offset)) * Self.day))
        }
    }

    /// A model loaded from another's stored rows, as a restarted server loads it.
    static func reloaded(_ model: RecommendProjection) -> RecommendProjection {
        let copy = RecommendProjection(tuning: model.tuning)
        for (key, row) in model.items.rows { copy.items[key] = row }
        for (key, row) in model.profiles.rows { copy.profiles[key] = row }
        for (key, row) in model.clock.rows { copy.clock[key] = row }
        for (key, row) in model.factorRows.rows { copy.factorRows[key] = row }
        for (key, row) in model.trainings.rows { copy.trainings[key] = row }
        copy.didLoad()
        return copy
    }

    static func answers(_ model: RecommendProjection, users: [UserId], goods: [GoodsId]) -> [[String]] {
        users.map { user in model.feed(for: user, limit: 10).map(\.goodsId) }
            + goods.map { model.alsoBought(with: $0.description, limit: 10).map { "\($0.goodsId) \($0.score)" } }
    }

    @Test func goodsBoughtByTheSameCustomersInSeparateOrdersAreBoughtWithEachOther() {
        let (model, goods) = Self.model(goods: 6)
        // Three customers buy goods 1 then goods 2, each in an order of its own; one buys goods 3 alone.
        for number in 1...3 { Self.buy(model, Self.customer(number), [goods[0], goods[1]]) }
        Self.buy(model, Self.customer(4), [goods[2]])
        #expect(model.alsoBought(with: goods[0].description, limit: 10).map(\.goodsId) == [goods[1].description])
        #expect(model.alsoBought(with: goods[1].description, limit: 10).map(\.goodsId) == [goods[0].description])
        #expect(model.alsoBought(with: goods[2].description, limit: 10).isEmpty)
        // Cosine over customers: 3 who bought both / √(3 × 3).
        #expect(abs((model.alsoBought(with: goods[0].description, limit: 1).first?.score ?? 0) - 1) < 1e-9)
    }

    @Test func purchasesPairOnlyWithTheCustomersRecentOnes() {
        let (model, goods) = Self.model(
            goods: 40,
            tuning: RecommendTuning(
                pairedMax: 10, purchaseSeeds: 10, recencyRanks: 2, favoriteWeight: 0.5, viewWeight: 0.25))
        Self.buy(model, Self.customer(1), Array(goods.prefix(30)))
        let withFirst = Set(model.alsoBought(with: goods[0].description, limit: 50).map(\.goodsId))
        #expect(withFirst == Set(goods[1...10].map(\.description)))
        // A purchase more than `pairWindowMs` after another does not pair with it.
        model.purchase(by: Self.customer(1), [goods[35]], at: Instant(millisecondsSinceEpoch: 800 * Self.day))
        #expect(model.alsoBought(with: goods[35].description, limit: 50).isEmpty)
    }

    @Test func theFeedNeverOffersAnythingTheCustomerEverBought() {
        let (model, goods) = Self.model(goods: 300)
        let heavy = Self.customer(1)
        Self.buy(model, heavy, Array(goods.prefix(250)))  // more than the 200 newest purchases kept for seeding
        // Others bought the heavy customer's newest goods with one of their oldest (goods 11), and with goods 262–280.
        for number in 2...20 { Self.buy(model, Self.customer(number), [goods[249], goods[10], goods[260 + number]], from: 400) }
        let bought = model.everBought(by: heavy)
        #expect(bought.count == 250 && bought.contains(goods[10].description))
        let feed = model.feed(for: heavy, limit: 15).map(\.goodsId)
        #expect(feed.count == 15)
        #expect(feed.allSatisfy { !bought.contains($0) })
        #expect(Set(feed).isSubset(of: goods[262...280].map(\.description)))
    }

    @Test func contentSimilarityOnlyFillsWhatCoPurchasesLeave() {
        // Goods 1–10 are tea, 11–20 coffee; customers who bought tea 1 also bought coffee 11 and coffee 12.
        let (model, goods) = Self.model(goods: 20, category: { $0 <= 10 ? "tea" : "coffee" })
        for number in 1...5 { Self.buy(model, Self.customer(number), [goods[0], goods[10], goods[11]]) }
        let buyer = Self.customer(99)
        Self.buy(model, buyer, [goods[0]])
        let feed = model.feed(for: buyer, limit: 6).map(\.goodsId)
        // Co-purchases first, though content similarity (all tea) says otherwise; then tea fills.
        #expect(Set(feed.prefix(2)) == Set([goods[10], goods[11]].map(\.description)))
        #expect(feed.dropFirst(2).allSatisfy { id in goods[1..<10].contains { $0.description == id } })
        // A customer who only viewed a tea (nobody has bought with it) gets teas like it.
        let viewer = UserId(Self.uuid(0x75, 200))
        model.apply(
            ProjectedEvent(
                position: 1, stream: .user(viewer),
                event: .user(.goodsViewed(GoodsViewed(goodsId: goods[5], at: Instant(millisecondsSinceEpoch: 40 * Self.day))))))
        let cold = model.feed(for: viewer, limit: 3).map(\.goodsId)
        #expect(cold.count == 3 && cold.allSatisfy { id in goods[0..<10].contains { $0.description == id } })
    }

    @Test func aForgottenCustomersPurchasesStopCounting() {
        let (model, goods) = Self.model(goods: 8)
        let (without, _) = Self.model(goods: 8)
        for number in 1...4 {
            let picks = [goods[number - 1], goods[number], goods[number + 2]]
            Self.buy(model, Self.customer(number), picks)
            if number != 2 { Self.buy(without, Self.customer(number), picks) }
        }
        model.apply(
            ProjectedEvent(
                position: 2, stream: .user(Self.customer(2)), event: .user(.forgotten(UserForgotten(at: .init(millisecondsSinceEpoch: 0)))))
        )
        let users = [1, 3, 4].map(Self.customer)
        #expect(Self.answers(model, users: users, goods: goods) == Self.answers(without, users: users, goods: goods))
        #expect(Self.answers(Self.reloaded(model), users: users, goods: goods) == Self.answers(without, users: users, goods: goods))
    }

    static func user(_ model: RecommendProjection, _ user: UserId, _ event: UserEvent) {
        model.apply(ProjectedEvent(position: 0, stream: .user(user), event: .user(event)))
    }

    static let at = Instant(millisecondsSinceEpoch: 30 * day)

    /// A goods a customer viewed, put in the cart or favoured pairs with what they bought, for less than a co-purchase
    /// (a view ¼ of one, a cart or a favorite ½), whichever came first; what leaves their interests (unfavoured, pushed
    /// out of the 10 newest views that count, forgotten) takes its pairs back; a restarted model derives the same pairs.
    @Test func viewsCartsAndFavoritesPairWithPurchasesForLess() {
        let (model, goods) = Self.model(goods: 80)
        let (x, viewedA, favouredB, cartedC, boughtD) = (goods[0], goods[1], goods[2], goods[3], goods[4])
        // Customer 1 viewed A, then bought X and D; customer 2 bought X, then favoured B; customer 3 bought X, then carted C.
        Self.user(model, Self.customer(1), .goodsViewed(GoodsViewed(goodsId: viewedA, at: Self.at)))
        Self.buy(model, Self.customer(1), [x, boughtD])
        Self.buy(model, Self.customer(2), [x])
        Self.user(model, Self.customer(2), .favoriteAdded(FavoriteAdded(goodsId: favouredB, at: Self.at)))
        Self.buy(model, Self.customer(3), [x])
        model.apply(
            ProjectedEvent(
                position: 0, stream: .cart(Self.customer(3)),
                event: .cart(.itemAdded(CartItemAdded(goodsId: cartedC, quantity: 1, at: Self.at)))))
        // Viewing what one bought pairs it with nothing.
        Self.user(model, Self.customer(3), .goodsViewed(GoodsViewed(goodsId: x, at: Self.at)))
        func scores() -> [String: Double] {
            Dictionary(uniqueKeysWithValues: model.alsoBought(with: x.description, limit: 10).map { ($0.goodsId, $0.score) })
        }
        // X has 3 buyers; each other goods 1 or none (counted as 1): D 1/√3, B and C ½ of that, A ¼.
        let third = 1 / 3.0.squareRoot()
        let expected = [boughtD: third, favouredB: third / 2, cartedC: third / 2, viewedA: third / 4]
        #expect(scores().count == 4)
        for (id, score) in expected { #expect(abs((scores()[id.description] ?? 0) - score) < 1e-9, "\(id)") }
        // A was viewed by one customer, who bought X (3 buyers) and D (1): D first.
        #expect(model.alsoBought(with: viewedA.description, limit: 10).map(\.goodsId) == [boughtD.description, x.description])
        let users = (1...3).map(Self.customer)
        #expect(Self.answers(Self.reloaded(model), users: users, goods: goods) == Self.answers(model, users: users, goods: goods))

        // B unfavoured, A pushed out of customer 1's 50 newest views, customer 3 forgotten: only D is left.
        Self.user(model, Self.customer(2), .favoriteRemoved(FavoriteRemoved(goodsId: favouredB, at: Self.at)))
        for id in goods[20..<70] { Self.user(model, Self.customer(1), .goodsViewed(GoodsViewed(goodsId: id, at: Self.at))) }
        Self.user(model, Self.customer(3), .forgotten(UserForgotten(at: Self.at)))
        let left = model.alsoBought(with: x.description, limit: 100)
        #expect(
            left.first?.goodsId == boughtD.description
                && !left.contains { [viewedA, favouredB, cartedC].map(\.description).contains($0.goodsId) })
        #expect(left.count == 1 + RecommendProjection.interestsPaired, "D and the goods customer 1 viewed last")
        // Favorites past the newest ten stop counting, and count again when one of those ten goes.
        for id in goods[70..<80] { Self.user(model, Self.customer(2), .favoriteAdded(FavoriteAdded(goodsId: id, at: Self.at))) }
        #expect(model.alsoBought(with: goods[70].description, limit: 10).map(\.goodsId) == [x.description])
        Self.user(model, Self.customer(2), .favoriteAdded(FavoriteAdded(goodsId: goods[5], at: Self.at)))
        #expect(model.alsoBought(with: goods[70].description, limit: 10).isEmpty, "the eleventh newest favorite")
        Self.user(model, Self.customer(2), .favoriteRemoved(FavoriteRemoved(goodsId: goods[75], at: Self.at)))
        #expect(model.alsoBought(with: goods[70].description, limit: 10).map(\.goodsId) == [x.description])
        #expect(Self.answers(Self.reloaded(model), users: users, goods: goods) == Self.answers(model, users: users, goods: goods))
    }

    @Test func aRestartedModelDerivesTheSamePairsEvenPastTheHistoryKept() {
        let count = RecommendProjection.historyKept + 30
        let (model, goods) = Self.model(goods: count)
        Self.buy(model, Self.customer(1), goods)  // one customer past the history kept: the oldest are dropped
        for number in 2...6 { Self.buy(model, Self.customer(number), Array(goods[(number * 7)..<(number * 7 + 40)])) }
        #expect(model.everBought(by: Self.customer(1)).count == RecommendProjection.historyKept)
        let sample = Array(goods.prefix(60)) + Array(goods.suffix(20))
        let users = (1...6).map(Self.customer)
        #expect(Self.answers(Self.reloaded(model), users: users, goods: sample) == Self.answers(model, users: users, goods: sample))
        // The dropped purchases' pairs are gone: goods 1 was dropped and nobody else bought it.
        #expect(model.alsoBought(with: goods[0].description, limit: 10).isEmpty)
    }
}

@Suite struct PairCountsTests {
    @Test func countsAsADictionaryWouldThroughGrowthAndTakingBack() {
        var table = PairCounts()
        var expected: [Int32: Int32] = [:]
        var random = SplitMix64(seed: 7)
        for _ in 0..<50_000 {
            let key = Int32(random.next() % 3_000)
            let delta: Int32 = random.next() % 4 == 0 ? -1 : 1
            table.add(key, delta)
            let count = max((expected[key] ?? 0) + delta, 0)
            expected[key] = count > 0 ? count : nil
        }
        var seen: [Int32: Int32] = [:]
        table.forEach { seen[$0] = $1 }
        #expect(seen == expected)
        #expect(table.live == expected.count)
    }
}

@Suite struct InteractionFileTests {
    @Test func aFileIsReadWithOrWithoutAHeaderAndABasketColumn() throws {
        let plain = try RecommenderEvaluation.interactions("1,10,881250949\n1,11,881250950\n")
        #expect(plain.map(\.item) == ["10", "11"])
        #expect(plain[0].at.millisecondsSinceEpoch == 881_250_949_000 && plain[0].basket == nil)
        let recBole = try RecommenderEvaluation.interactions(
            "user_id:token\titem_id:token\trating:float\ttimestamp:float\n196\t242\t3\t881250949\n")
        #expect(recBole == [.init(user: "196", item: "242", at: .init(millisecondsSinceEpoch: 881_250_949_000), basket: nil)])
        let baskets = try RecommenderEvaluation.interactions("user,item,timestamp,basket\nu,a,1700000000000,o1\nu,b,1700000000000,o1\n")
        #expect(baskets.map(\.basket) == ["o1", "o1"] && baskets[0].at.millisecondsSinceEpoch == 1_700_000_000_000)
        #expect(throws: RecommenderEvaluation.InteractionFileError.self) {
            try RecommenderEvaluation.interactions("1,10,881250949\n1,11\n")
        }
        #expect(throws: RecommenderEvaluation.InteractionFileError.self) {
            try RecommenderEvaluation.interactions("1,10,soon\n2,10,yesterday\n")
        }
    }

    @Test func theSplitHidesEachCustomersLastOrderAndValidationTheOneBefore() throws {
        // Customer u buys a, b (one basket), c, d in time order; v buys a, b only; w buys once.
        let lines = ["u,c,30,x", "u,a,10,o", "u,d,40,y", "u,b,10,o", "v,a,10,p", "v,b,20,q", "w,a,5,r"]
        let interactions = try RecommenderEvaluation.interactions(lines.joined(separator: "\n"))
        let (testModel, test, digest) = RecommenderEvaluation.fold(interactions: interactions, split: .test, tuning: .chosen)
        let (_, validation, _) = RecommenderEvaluation.fold(interactions: interactions, split: .validation, tuning: .chosen)
        let titles = { (model: RecommendProjection, ids: Set<String>) in Set(ids.compactMap { model.items[$0]?.title }) }
        #expect(test.count == 2 && validation.count == 1)
        #expect(Set(test.values.map { titles(testModel, $0.target) }) == [["b"], ["d"]])
        #expect(validation.values.map { titles(testModel, $0.target) } == [["c"]])
        // What is hidden is not folded: u's history holds a, b and c, not d.
        let histories = testModel.profiles.rows.values.map { Set($0.history.compactMap { testModel.items[$0.goods.description]?.title }) }
        #expect(histories.contains(["a", "b", "c"]) && !histories.contains { $0.contains("d") })
        // The digest another tool checks the split by: FNV-1a of the sorted lines "u\td\n" and "v\tb\n".
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "u\td\nv\tb\n".utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        #expect(digest == String(hash, radix: 16))
    }

    @Test func onSequentialTasteTheFeedBeatsPopularity() throws {
        // 60 customers each walk along a chain of goods from a random start; the next goods is what they buy next.
        var lines: [String] = []
        var seeded = SplitMix64(seed: 42)
        for user in 0..<60 {
            let start = Int(seeded.next() % 40)
            for step in 0..<6 { lines.append("c\(user),g\((start + step) % 50),\(1_000 + user * 100 + step)") }
        }
        let report = RecommenderEvaluation.run(interactions: try RecommenderEvaluation.interactions(lines.joined(separator: "\n")))
        let rate = { (name: String) in report.rows.first { $0.recommender == name }?.hitRate ?? 0 }
        #expect(report.users == 60)
        #expect(rate("feed") > 0.8 && rate("feed") > 2 * rate("popular"), "\(report.rows)")
        #expect(report.rows.allSatisfy { (0...1).contains($0.coverage) && $0.meanMicros >= 0 })
    }
}
