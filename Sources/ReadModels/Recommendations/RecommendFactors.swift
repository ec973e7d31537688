import Commerce
import Foundation
import Synchronization

/// The recommender's factor model: trained from every customer's history in the background once a serving model has
/// caught up with the log and enough has been bought since the last training, entered (and stored with the model's
/// checkpoint) at the next step. A training is a function of the log up to the position it was taken at.
extension RecommendProjection {
    /// No model before this many purchases in all; then a new one once this many more, or a tenth more, were made
    /// (or a customer was forgotten).
    public static let trainingPurchasesMin: Int64 = 20
    static let retrainingPurchasesMin: Int64 = 100

    public var training: Training? { trainings["model"] }

    var trainingDue: Bool {
        let purchases = clock["purchases"] ?? 0, forgotten = clock["forgotten"] ?? 0
        guard let training else { return purchases >= Self.trainingPurchasesMin }
        if forgotten > training.forgottenFolded { return true }
        return purchases - training.purchasesFolded >= max(Self.retrainingPurchasesMin, training.purchasesFolded / 10)
    }

    /// What a training needs, copied from the model as folded through `position`: the goods bought (numbered in
    /// goods-id order) and every customer's history (in customer-id order), so that the result depends on the log only.
    func trainingJob(at position: UInt64) -> FactorTrainer.Job {
        let customers = numberedHistories.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }
        var bought = Set<Int32>()
        for (_, history) in customers { bought.formUnion(history) }
        let ids = graph.ids
        let goods = bought.sorted { ids[Int($0)] < ids[Int($1)] }
        var dense = [Int32](repeating: -1, count: graph.count)
        for (index, number) in goods.enumerated() { dense[Int(number)] = Int32(index) }
        return FactorTrainer.Job(
            position: position, settings: tuning.factors,
            histories: customers.map { $0.value.map { dense[Int($0)] } },
            customerSeeds: customers.map { FNV1a.hash($0.key.description.utf8) }, goods: goods.map { ids[Int($0)] },
            goodsSeeds: goods.map { FNV1a.hash(ids[Int($0)].utf8) }, purchasesFolded: clock["purchases"] ?? 0,
            forgottenFolded: clock["forgotten"] ?? 0)
    }

    /// Puts a trained model in place: its rows stored by goods id, and in memory by graph number.
    func install(_ trained: FactorTrainer.Trained) {
        let job = trained.job
        let width = job.settings.factors / 8
        var stored: [String: [Float]] = [:]
        stored.reserveCapacity(job.goods.count)
        for (index, id) in job.goods.enumerated() {
            let values = FactorModel.values(of: index, in: trained.rows, width: width)
            if values.contains(where: { $0 != 0 }) { stored[id] = values }
        }
        for id in factorRows.rows.keys where stored[id] == nil { factorRows[id] = nil }
        for (id, values) in stored where factorRows[id] != values { factorRows[id] = values }
        trainings["model"] = Training(
            position: job.position, settings: job.settings, customers: job.histories.count,
            purchases: job.histories.reduce(0) { $0 + $1.count }, purchasesFolded: job.purchasesFolded,
            forgottenFolded: job.forgottenFolded)
        loadFactors()
    }

    /// The in-memory model from the stored rows (after a load, or an install).
    func loadFactors() {
        guard let training else {
            factorModel = nil
            factorCandidates = []
            factorCandidateRows = []
            return
        }
        let ids = graph.ids
        let rows = FactorModel.rows(count: graph.count, settings: training.settings) { factorRows[ids[$0]] }
        let model = FactorModel(settings: training.settings, rows: rows)
        factorModel = model
        // The strongest goods by the length of their factors (how much the model knows of them: the most bought, mostly).
        let norms = (0..<model.goodsCount).map { model.squaredNorm(of: $0) }
        factorCandidates = (0..<model.goodsCount).filter { norms[$0] > 0 }
            .best(Self.factorCandidatesMax) { a, b in norms[a] != norms[b] ? norms[a] > norms[b] : ids[a] < ids[b] }.map { Int32($0) }
        factorCandidateRows = factorCandidates.flatMap { model.lanes(of: Int($0)) }
    }

    /// Goods the feed asks the factor model about besides those co-purchased: scoring every goods of a large shop read
    /// all its factors (13 MB for 100,000 goods) per query, and the model's weakest goods never reach a top 10. Their
    /// rows are kept side by side (256 KB), read in order.
    static let factorCandidatesMax = 2_000

    /// Where the stored factor model was trained, if there is one.
    public var backgroundWorkPosition: UInt64? { training?.position }

    /// On the fold's thread, the model folded through `position` and serving: enters a finished training, and starts
    /// the next when one is due (calling `wake` when it is done). True when the stored model changed.
    public func caughtUp(at position: UInt64, wake: @escaping @Sendable () -> Void) -> Bool {
        var changed = false
        if let trained = trainer.takeFinished() {
            install(trained)
            changed = true
        }
        if !trainer.isRunning {
            if needsTraining(at: position, asked: trainingRequested) { trainer.start(trainingJob(at: position), then: wake) }
            trainingRequested = false
        }
        return changed
    }

    /// Whether to train at `position`: due, or `asked` — but never again where the model was trained (a training is a
    /// function of the log up to its position: it would store the very same bytes).
    func needsTraining(at position: UInt64, asked: Bool) -> Bool {
        training?.position != position && (asked || trainingDue)
    }

    public var backgroundWorkPending: Bool? { trainingRequested || trainer.isBusy }

    public func requestBackgroundWork() -> Bool {
        trainingRequested = true
        return true
    }

    /// Trains now, on this thread, when a training is due (or `force`), for the model folded through `position`
    /// (a CLI rebuild, the evaluation, a check that folds the log again). True when the stored model changed.
    @discardableResult
    public func finishBackgroundWork(at position: UInt64, force: Bool) -> Bool {
        trainer.cancel()
        guard needsTraining(at: position, asked: force) else { return false }
        let job = trainingJob(at: position)
        guard let trained = FactorTrainer.run(job) else { return false }
        install(trained)
        return true
    }

    /// The factor model's prediction alone, for goods the customer never bought (the evaluation's "factors" row).
    func predicted(for user: UserId, limit: Int) -> [Recommendation] {
        guard let model = factorModel, let history = numberedHistories[user], let vector = model.customer(history[...]) else { return [] }
        model.scores(for: vector, into: &preferences)
        let scores = preferences.enumerated().map { (Int32($0.offset), Double($0.element)) }
        return named(graph.top(scores, limit: min(max(limit, 1), Self.resultsMax), excluding: Set(history)))
    }

    /// Co-purchase scores of the seeds, blended with the factor model's prediction from the customer's history, each
    /// scaled by its best score among the goods that may be shown: the best `limit`, best first (ties by id).
    func collaborative(for user: UserId, seeds: [(Int32, Double)], limit: Int, excluding excluded: Set<Int32>) -> [(Int32, Double)] {
        let coPurchases = graph.coOccurrence(summing: seeds)
        let weight = tuning.factorWeight
        guard weight > 0, let model = factorModel, let history = numberedHistories[user],
            let vector = model.customer(history[...])
        else { return graph.top(coPurchases, limit: limit, excluding: excluded) }
        // Candidates: the goods co-purchased, and the factor model's strongest goods (see `factorCandidates`).
        var coScores: [Double] = []
        swap(&coScores, &coPurchaseScratch)
        defer { swap(&coScores, &coPurchaseScratch) }
        if coScores.count < graph.count { coScores += [Double](repeating: 0, count: graph.count - coScores.count) }
        for (goods, score) in coPurchases { coScores[Int(goods)] = score }
        defer { for (goods, _) in coPurchases { coScores[Int(goods)] = 0 } }
        let listed = graph.listed
        var scored: [(goods: Int32, coPurchase: Double, preference: Float)] = []
        scored.reserveCapacity(factorCandidates.count + coPurchases.count)
        func consider(_ goods: Int32) {
            guard listed[Int(goods)], !excluded.contains(goods) else { return }
            scored.append((goods, coScores[Int(goods)], model.preference(of: Int(goods), vector)))
        }
        factorCandidateRows.withUnsafeBufferPointer { rows in
            let width = model.width
            for (index, goods) in factorCandidates.enumerated() where coScores[Int(goods)] == 0 {
                guard listed[Int(goods)], !excluded.contains(goods) else { continue }
                var sum = FactorModel.Lanes.zero
                for lane in 0..<width { sum += rows[index * width + lane] * vector[lane] }
                scored.append((goods, 0, sum.sum()))
            }
        }
        for (goods, _) in coPurchases { consider(goods) }
        let bestCoPurchase = scored.reduce(0) { max($0, $1.coPurchase) }
        let bestPreference = scored.reduce(0) { max($0, $1.preference) }
        let coScale = bestCoPurchase > 0 ? 1 / bestCoPurchase : 0
        let preferenceScale = bestPreference > 0 ? weight / Double(bestPreference) : 0
        let ids = graph.ids
        return scored.lazy.map { ($0.goods, $0.coPurchase * coScale + Double(max($0.preference, 0)) * preferenceScale) }
            .filter { $0.1 > 0 }.best(limit) { a, b in a.1 != b.1 ? a.1 > b.1 : ids[Int(a.0)] < ids[Int(b.0)] }
    }
}

/// Runs one training at a time on a thread of its own and holds its result until the fold's thread takes it.
final class FactorTrainer: Sendable {
    struct Job: Sendable {
        var position: UInt64
        var settings: FactorSettings
        /// Each customer's purchases as indices into `goods`.
        var histories: [[Int32]]
        var customerSeeds: [UInt64]
        var goods: [String]
        var goodsSeeds: [UInt64]
        var purchasesFolded: Int64
        var forgottenFolded: Int64
    }

    struct Trained: Sendable {
        var job: Job
        var rows: [SIMD8<Float>]
    }

    private struct State {
        var running = false
        var cancelled = false
        var finished: Trained?
    }

    private let state = Mutex(State())

    var isRunning: Bool { state.withLock { $0.running } }
    /// Running, or finished and not taken yet.
    var isBusy: Bool { state.withLock { $0.running || $0.finished != nil } }

    static func run(_ job: Job, isCancelled: () -> Bool = { false }) -> Trained? {
        FactorModel.train(
            histories: job.histories, customerSeeds: job.customerSeeds, goodsSeeds: job.goodsSeeds, settings: job.settings,
            isCancelled: isCancelled
        ).map { Trained(job: job, rows: $0.rows) }
    }

    func start(_ job: Job, then wake: @escaping @Sendable () -> Void) {
        state.withLock {
            $0.running = true
            $0.cancelled = false
        }
        // A thread of its own, not a dispatch queue: the training must not wait for a pool busy with other work.
        let thread = Thread { [self] in
            let trained = Self.run(job) { state.withLock { $0.cancelled } }
            state.withLock {
                $0.running = false
                if !$0.cancelled, let trained { $0.finished = trained }
            }
            wake()
        }
        thread.name = "emporium.recommend.training"
        thread.qualityOfService = .utility
        thread.start()
    }

    /// The finished training, once.
    func takeFinished() -> Trained? {
        state.withLock { state in
            defer { state.finished = nil }
            return state.finished
        }
    }

    /// Drops a training running or finished (a synchronous one replaces it).
    func cancel() {
        state.withLock {
            $0.cancelled = true
            $0.finished = nil
        }
    }
}
