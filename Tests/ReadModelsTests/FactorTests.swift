import Commerce
import EventStore
import Foundation
import TestSupport
import Testing

@testable import ReadModels

/// The recommender's factor model: what it learns, that it is a function of the log up to where it was trained
/// (whatever the numbering of goods in memory), when it is trained, and that the feed uses it.
@Suite struct FactorTests {
    typealias C = CollaborativeTests

    /// Eight factors, strongly regularised: the few goods here are otherwise fitted exactly, which predicts nothing for
    /// what a customer's fellow buyers did not buy.
    static let small: RecommendTuning = {
        var tuning = RecommendTuning.chosen
        tuning.factors.factors = 8
        tuning.factors.regularization = 5
        return tuning
    }()

    /// Three tastes of ten goods (goods 1–10, 11–20, 21–30): 40 customers of each buy four goods of their taste at
    /// random among its first nine; then five customers buy goods 10 with three others of the first taste, never with
    /// goods 1.
    static func threeTastes(_ model: RecommendProjection, _ goods: [GoodsId]) {
        var random = SplitMix64(seed: 7)
        for taste in 0..<3 {
            for number in 1...40 {
                var picks: Set<Int> = []
                while picks.count < 4 { picks.insert(taste * 10 + Int(random.next() % 9)) }
                C.buy(model, C.customer(taste * 40 + number), picks.sorted().map { goods[$0] })
            }
        }
        for number in 1...5 { C.buy(model, C.customer(200 + number), [9, 1 + number % 3, 4 + number % 4, 7].map { goods[$0] }) }
    }

    static func stored(_ model: RecommendProjection) throws -> [[UInt8]: [UInt8]] {
        try model.factorRows.storedRows().merging(model.trainings.storedRows()) { a, _ in a }
    }

    @Test func theFactorsLearnWhichGoodsGoTogether() {
        let (model, goods) = C.model(goods: 30, tuning: Self.small)
        Self.threeTastes(model, goods)
        let newcomer = C.customer(500)
        C.buy(model, newcomer, [goods[0]], from: 100)
        #expect(model.finishBackgroundWork(at: 7, force: true))
        #expect(model.training?.position == 7 && model.training?.customers == 126 && model.training?.purchases == 500)
        #expect(model.factorRows.count == 28)  // the goods bought
        let predicted = model.predicted(for: newcomer, limit: 10).map(\.goodsId)
        // The newcomer's taste first (categories are all alike: only purchases tell the tastes apart).
        #expect(predicted.prefix(6).allSatisfy { id in goods[1..<10].contains { $0.description == id } }, "\(predicted)")
        #expect(!predicted.contains(goods[0].description))
    }

    @Test func aTrainingIsAFunctionOfTheLogNotOfTheNumberingInMemory() throws {
        let (model, goods) = C.model(goods: 30)
        Self.threeTastes(model, goods)
        model.finishBackgroundWork(at: 50, force: true)
        // The same purchases, the goods listed in reverse order (other numbers in memory).
        let reversed = RecommendProjection()
        for id in goods.reversed() {
            let listed = GoodsListed(
                goodsId: id, merchantId: C.customer(500), title: "", description: "", category: "films", brand: "", tags: [],
                price: .zero, stock: 1, lowStockThreshold: 0, at: Instant(millisecondsSinceEpoch: 0))
            reversed.apply(ProjectedEvent(position: 0, stream: .goods(id), event: .goods(.listed(listed))))
        }
        Self.threeTastes(reversed, goods)
        reversed.finishBackgroundWork(at: 50, force: true)
        #expect(try Self.stored(reversed) == Self.stored(model))
        #expect(!model.factorRows.rows.isEmpty)
        // Training again where it was trained changes nothing (it would store the same bytes): it is skipped.
        #expect(!model.finishBackgroundWork(at: 50, force: true))
        // A restarted model (numbered in id order) and the live one, trained at the next point, store the same bytes
        // and predict the same.
        let restarted = C.reloaded(model)
        #expect(restarted.finishBackgroundWork(at: 51, force: true) && model.finishBackgroundWork(at: 51, force: true))
        #expect(restarted.training?.position == 51)
        #expect(try Self.stored(restarted) == Self.stored(model))
        for number in [1, 13] {
            #expect(
                restarted.predicted(for: C.customer(number), limit: 5).map(\.goodsId)
                    == model.predicted(for: C.customer(number), limit: 5).map(\.goodsId))
        }
    }

    @Test func aTrainingIsDueAfterEnoughNewPurchasesOrAForgottenCustomer() {
        let (model, goods) = C.model(goods: 300)
        C.buy(model, C.customer(1), Array(goods.prefix(19)))
        #expect(!model.trainingDue)  // fewer than 20 purchases in all
        C.buy(model, C.customer(2), [goods[0]])
        #expect(model.trainingDue)
        model.finishBackgroundWork(at: 20, force: false)
        #expect(model.training?.purchases == 20 && !model.trainingDue)
        C.buy(model, C.customer(3), Array(goods.prefix(99)))
        #expect(!model.trainingDue)  // 99 new: fewer than 100
        C.buy(model, C.customer(3), [goods[200]])
        #expect(model.trainingDue)
        #expect(model.finishBackgroundWork(at: 30, force: false) && !model.finishBackgroundWork(at: 31, force: false))
        model.apply(
            ProjectedEvent(
                position: 32, stream: .user(C.customer(2)), event: .user(.forgotten(UserForgotten(at: .init(millisecondsSinceEpoch: 0))))))
        #expect(model.trainingDue)
        model.finishBackgroundWork(at: 32, force: false)
        #expect(model.training?.customers == 2)
    }

    @Test func aServingModelTrainsInTheBackgroundAndEntersTheResultAtItsNextStep() async throws {
        let (model, goods) = C.model(goods: 30)
        Self.threeTastes(model, goods)
        let woken = AsyncStream<Void>.makeStream()
        #expect(!model.caughtUp(at: 96) { woken.continuation.yield() })  // starts the training; nothing to enter yet
        #expect(model.training == nil && model.factorRows.rows.isEmpty)
        var wakes = woken.stream.makeAsyncIterator()
        _ = await wakes.next()
        #expect(model.caughtUp(at: 97) { woken.continuation.yield() })  // enters it
        #expect(model.training?.position == 96 && !model.factorRows.rows.isEmpty)
        #expect(!model.trainer.isRunning && !model.trainingDue)
        // What the background trained equals a training at the same position on the fold's thread.
        let (direct, _) = C.model(goods: 30)
        Self.threeTastes(direct, goods)
        direct.finishBackgroundWork(at: 96, force: true)
        #expect(try Self.stored(direct) == Self.stored(model))
    }

    @Test func theFeedBlendsCoPurchasesWithTheFactorsPrediction() throws {
        let (model, goods) = C.model(goods: 30, tuning: Self.small)
        Self.threeTastes(model, goods)
        let buyer = C.customer(500)
        C.buy(model, buyer, [goods[0], goods[9]], from: 100)
        let withoutFactors = model.feed(for: buyer, limit: 10)
        model.finishBackgroundWork(at: 100, force: true)
        let blended = model.feed(for: buyer, limit: 10)
        #expect(blended.map(\.goodsId) != withoutFactors.map(\.goodsId))
        // Each score is the co-purchase score over the best one plus the weight times the prediction over the best one.
        let profile = try #require(model.profiles[buyer.description])
        let coPurchases = Dictionary(
            uniqueKeysWithValues: model.boughtWith(model.feedSeeds(profile).map { (model.graph.ids[Int($0.0)], $0.1) }).map {
                (model.graph.ids[Int($0.0)], $0.1)
            })
        let predictions = Dictionary(uniqueKeysWithValues: model.predicted(for: buyer, limit: 50).map { ($0.goodsId, $0.score) })
        let bought = model.everBought(by: buyer)
        let bestCoPurchase = try #require(coPurchases.filter { !bought.contains($0.key) }.values.max())
        let bestPrediction = try #require(predictions.values.max())
        for recommendation in blended {
            let expected =
                (coPurchases[recommendation.goodsId] ?? 0) / bestCoPurchase
                + model.tuning.factorWeight * (predictions[recommendation.goodsId] ?? 0) / bestPrediction
            #expect(abs(recommendation.score - expected) < 1e-5, "\(recommendation.goodsId)")
        }
        #expect(zip(blended, blended.dropFirst()).allSatisfy { $0.score >= $1.score })
        model.tuning.factorWeight = 0
        #expect(model.feed(for: buyer, limit: 10).map(\.goodsId) == withoutFactors.map(\.goodsId))
    }

    @Test func choleskySolvesASymmetricPositiveDefiniteSystem() throws {
        var matrix: [Double] = [4, 2, 0.4, 2, 5, 1, 0.4, 1, 3]
        let original = matrix
        let solution = try #require(FactorModel.choleskySolve(&matrix, [1, 2, 3], 3))
        for row in 0..<3 {
            let product = (0..<3).reduce(0.0) { $0 + original[row * 3 + $1] * solution[$1] }
            #expect(abs(product - Double(row + 1)) < 1e-12)
        }
        var singular: [Double] = [1, 1, 1, 1]
        #expect(FactorModel.choleskySolve(&singular, [1, 1], 2) == nil)
    }
}

@Suite struct FactorProjectorTests {
    /// A serving projector trains the factor model once it has caught up, stores it with its checkpoint, and a check
    /// folding the log again trains it at the same position and finds the stored model equal, row for row.
    @Test func aFollowingProjectorTrainsInTheBackgroundAndStoresTheFactors() async throws {
        let shop = try await ProjectedShop.shared.value
        let directory = temporaryDirectory("factors-following")
        let projector = try Projector(directory: directory, log: shop.log)
        projector.start()
        let deadline = ContinuousClock.now + .seconds(60)
        var training: RecommendProjection.Training?
        while training == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            training = try projector.read(RecommendProjection.self) { $0.training }
        }
        projector.close()
        let trained = try #require(training, "no training within a minute")
        #expect(trained.position == shop.log.headPosition && trained.customers > 20)
        let reopened = try Projector(directory: directory, log: shop.log)
        defer { reopened.close() }
        let stored = try reopened.storedModel("recommend")
        #expect(stored.keys.filter { $0.first == 5 }.count > 20 && stored.keys.contains([6] + Array("model".utf8)))
        #expect(try reopened.read(RecommendProjection.self) { $0.training } == trained)
        #expect(try reopened.differencesFromRebuild("recommend").isEmpty)
    }
}
