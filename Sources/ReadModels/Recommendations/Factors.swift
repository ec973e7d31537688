import EventStore
import Foundation

/// How the factor model is trained: implicit-feedback matrix factorisation (Hu, Koren & Volinsky 2008) by alternating
/// least squares with a few conjugate-gradient steps per row (Takács, Pilászy & Tikk 2011), as the `implicit` library's
/// `AlternatingLeastSquares` trains it. A purchase has confidence 1 + `alpha`; every goods not bought, 1 with preference 0.
struct FactorSettings: Codable, Hashable, Sendable, CustomStringConvertible {
    /// Latent dimensions (a multiple of 8: rows are kept as 8-lane vectors).
    var factors: Int
    var regularization: Double
    var alpha: Double
    var iterations: Int
    var conjugateGradientSteps = 3

    static let chosen = FactorSettings(factors: 32, regularization: 0.01, alpha: 1, iterations: 15)

    var description: String { "\(factors) factors, reg \(regularization), alpha \(alpha), \(iterations) iterations" }
}

/// Goods' latent factors (rows by the caller's goods numbers) and what scoring a customer needs: YᵀY + λI.
/// A customer's vector is not stored: it is solved from their history when asked (exactly, by Cholesky), so their
/// newest purchases count before the next training.
struct FactorModel: Sendable {
    typealias Lanes = SIMD8<Float>
    let settings: FactorSettings
    /// `factors / 8` lane vectors per goods; a goods never bought (or new since the training) is all zeros.
    private(set) var rows: [Lanes]
    /// YᵀY + λI, k × k, row-major, in Double.
    let gram: [Double]

    var width: Int { settings.factors / 8 }
    var goodsCount: Int { rows.count / max(width, 1) }

    init(settings: FactorSettings, rows: [Lanes]) {
        self.settings = settings
        self.rows = rows
        self.gram = Self.gram(rows, settings: settings)
    }

    /// A goods' factors as plain numbers (what is stored), from rows `width` lanes each.
    static func values(of goods: Int, in rows: [Lanes], width: Int) -> [Float] {
        (0..<width).flatMap { lane in (0..<8).map { rows[goods * width + lane][$0] } }
    }

    /// Rows for `count` goods from stored factors (missing or misshapen ones read as zeros).
    static func rows(count: Int, settings: FactorSettings, factors: (Int) -> [Float]?) -> [Lanes] {
        let width = settings.factors / 8
        var rows = [Lanes](repeating: .zero, count: count * width)
        for goods in 0..<count {
            guard let values = factors(goods), values.count == settings.factors else { continue }
            for lane in 0..<width { rows[goods * width + lane] = Lanes(values[lane * 8..<lane * 8 + 8]) }
        }
        return rows
    }

    /// YᵀY + λI, summed in chunks of goods whose partial sums are added in chunk order: the same bits whatever the cores.
    static func gram(_ rows: [Lanes], settings: FactorSettings) -> [Double] {
        let k = settings.factors, width = k / 8
        let count = rows.count / max(width, 1)
        let chunks = 32
        let partials = Partials(count: chunks)
        rows.withUnsafeBufferPointer { buffer in
            let rows = SharedRows(buffer)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                var sum = [Double](repeating: 0, count: k * k)
                var row = [Double](repeating: 0, count: k)
                for goods in stride(from: chunk, to: count, by: chunks) {
                    for lane in 0..<width {
                        for index in 0..<8 { row[lane * 8 + index] = Double(rows[goods * width + lane][index]) }
                    }
                    for a in 0..<k where row[a] != 0 {
                        for b in a..<k { sum[a * k + b] += row[a] * row[b] }
                    }
                }
                partials.set(chunk, sum)
            }
        }
        var gram = [Double](repeating: 0, count: k * k)
        for chunk in 0..<chunks {
            let partial = partials.values[chunk]
            for index in 0..<k * k { gram[index] += partial[index] }
        }
        for a in 0..<k {
            for b in 0..<a { gram[a * k + b] = gram[b * k + a] }
            gram[a * k + a] += settings.regularization
        }
        return gram
    }

    // MARK: Training

    /// Trains on customers' histories (goods numbers `0..<goodsCount`, each list in the customer's purchase order).
    /// Deterministic: the starting factors come from each goods' and customer's `seeds` (their ids), rows are solved
    /// independently (in parallel, each by itself) and the only sums across rows are taken in a fixed order.
    static func train(
        histories: [[Int32]], customerSeeds: [UInt64], goodsSeeds: [UInt64], settings: FactorSettings,
        isCancelled: () -> Bool = { false }
    ) -> FactorModel? {
        let width = settings.factors / 8
        let goodsCount = goodsSeeds.count
        // Goods → their buyers (the transposed matrix), in customer order.
        var buyers = [[Int32]](repeating: [], count: goodsCount)
        for (customer, history) in histories.enumerated() {
            for goods in history { buyers[Int(goods)].append(Int32(customer)) }
        }
        func start(_ seeds: [UInt64]) -> [Lanes] {
            var rows = [Lanes](repeating: .zero, count: seeds.count * width)
            for (row, seed) in seeds.enumerated() {
                var random = SplitMix64(seed: seed)
                for lane in 0..<width {
                    var values = Lanes.zero
                    for index in 0..<8 { values[index] = Float(random.next() >> 40) / Float(1 << 24) * 0.01 }
                    rows[row * width + lane] = values
                }
            }
            return rows
        }
        var customers = start(customerSeeds)
        var goods = start(goodsSeeds)
        for _ in 0..<settings.iterations {
            if isCancelled() { return nil }
            solve(&customers, from: goods, interactions: histories, settings: settings)
            if isCancelled() { return nil }
            solve(&goods, from: customers, interactions: buyers, settings: settings)
        }
        // Goods nobody bought keep no factors (their starting noise would score them for everyone).
        for (index, list) in buyers.enumerated() where list.isEmpty {
            for lane in 0..<width { goods[index * width + lane] = .zero }
        }
        return FactorModel(settings: settings, rows: goods)
    }

    /// One half-step of ALS: every row of `solved` re-fitted against the fixed `other` side by conjugate gradient,
    /// started from its current value (the `implicit` library's `least_squares_cg`).
    static func solve(_ solved: inout [Lanes], from other: [Lanes], interactions: [[Int32]], settings: FactorSettings) {
        let k = settings.factors, width = k / 8
        let gram = Self.gram(other, settings: settings)
        // YᵀY + λI as lane rows: row a is k/8 lane vectors.
        var gramLanes = [Lanes](repeating: .zero, count: k * width)
        for a in 0..<k {
            for b in 0..<k { gramLanes[a * width + b / 8][b % 8] = Float(gram[a * k + b]) }
        }
        let alpha = Float(settings.alpha), confidence = 1 + Float(settings.alpha)
        let steps = settings.conjugateGradientSteps
        let rowCount = interactions.count
        let chunks = max(1, min(rowCount, 64))
        solved.withUnsafeMutableBufferPointer { solved in
            let solved = SharedRows(solved)
            other.withUnsafeBufferPointer { other in
                let other = SharedRows(other)
                gramLanes.withUnsafeBufferPointer { gramLanes in
                    let gramLanes = SharedRows(gramLanes)
                    DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                        var x = [Lanes](repeating: .zero, count: width)
                        var r = x, p = x, product = x
                        func timesGram(_ vector: [Lanes], into result: inout [Lanes]) {
                            for lane in 0..<width {
                                var values = Lanes.zero
                                for index in 0..<8 {
                                    let a = lane * 8 + index
                                    var sum = Lanes.zero
                                    for b in 0..<width { sum += gramLanes[a * width + b] * vector[b] }
                                    values[index] = sum.sum()
                                }
                                result[lane] = values
                            }
                        }
                        func dot(_ a: [Lanes], _ b: [Lanes]) -> Float {
                            var sum = Lanes.zero
                            for lane in 0..<width { sum += a[lane] * b[lane] }
                            return sum.sum()
                        }
                        func dotOther(_ row: Int, _ vector: [Lanes]) -> Float {
                            var sum = Lanes.zero
                            for lane in 0..<width { sum += other[row * width + lane] * vector[lane] }
                            return sum.sum()
                        }
                        for row in stride(from: chunk, to: rowCount, by: chunks) {
                            let items = interactions[row]
                            guard !items.isEmpty else { continue }
                            for lane in 0..<width { x[lane] = solved[row * width + lane] }
                            // r = b − A x, with A = YᵀY + λI + Σ α yᵢyᵢᵀ and b = Σ (1 + α) yᵢ.
                            timesGram(x, into: &r)
                            for lane in 0..<width { r[lane] = -r[lane] }
                            for item in items {
                                let i = Int(item)
                                let weight = confidence - alpha * dotOther(i, x)
                                for lane in 0..<width { r[lane] += weight * other[i * width + lane] }
                            }
                            p = r
                            var oldNorm = dot(r, r)
                            if oldNorm < 1e-20 { continue }
                            for _ in 0..<steps {
                                timesGram(p, into: &product)
                                for item in items {
                                    let i = Int(item)
                                    let weight = alpha * dotOther(i, p)
                                    for lane in 0..<width { product[lane] += weight * other[i * width + lane] }
                                }
                                let step = oldNorm / dot(p, product)
                                for lane in 0..<width {
                                    x[lane] += step * p[lane]
                                    r[lane] -= step * product[lane]
                                }
                                let newNorm = dot(r, r)
                                if newNorm < 1e-20 { break }
                                for lane in 0..<width { p[lane] = r[lane] + (newNorm / oldNorm) * p[lane] }
                                oldNorm = newNorm
                            }
                            for lane in 0..<width { solved.rows[row * width + lane] = x[lane] }
                        }
                    }
                }
            }
        }
    }

    // MARK: Scoring

    /// A customer's vector, solved exactly from their purchases (the newest `historyMax`): (YᵀY + λI + α Σ yᵢyᵢᵀ) x =
    /// (1 + α) Σ yᵢ. Nil when none of their goods has factors.
    func customer(_ history: ArraySlice<Int32>) -> [Lanes]? {
        let k = settings.factors, width = self.width, count = goodsCount
        // Σ yᵢyᵢᵀ and Σ yᵢ over the goods with factors, in 8-lane rows (a quarter of the scalar work).
        var outer = [Lanes](repeating: .zero, count: k * width)
        var sum = [Lanes](repeating: .zero, count: width)
        var any = false
        rows.withUnsafeBufferPointer { rows in
            for goods in history.suffix(Self.historyMax) where Int(goods) < count {
                let base = Int(goods) * width
                guard (0..<width).contains(where: { rows[base + $0] != .zero }) else { continue }
                any = true
                for lane in 0..<width { sum[lane] += rows[base + lane] }
                for a in 0..<k {
                    let value = rows[base + a / 8][a % 8]
                    if value == 0 { continue }
                    for lane in 0..<width { outer[a * width + lane] += value * rows[base + lane] }
                }
            }
        }
        guard any else { return nil }
        // (YᵀY + λI + α Σ yᵢyᵢᵀ) x = (1 + α) Σ yᵢ, solved in Double.
        var matrix = gram
        let alpha = settings.alpha, confidence = 1 + settings.alpha
        for a in 0..<k {
            for b in 0..<k { matrix[a * k + b] += alpha * Double(outer[a * width + b / 8][b % 8]) }
        }
        let target = (0..<k).map { confidence * Double(sum[$0 / 8][$0 % 8]) }
        guard let solution = Self.choleskySolve(&matrix, target, k) else { return nil }
        var lanes = [Lanes](repeating: .zero, count: width)
        for a in 0..<k { lanes[a / 8][a % 8] = Float(solution[a]) }
        return lanes
    }

    /// Purchases a customer's vector is solved from (the newest: bounds what one feed query costs).
    static let historyMax = 500

    /// Solves `matrix` · x = `target` for a symmetric positive-definite k × k matrix (overwritten by its factor).
    static func choleskySolve(_ matrix: inout [Double], _ target: [Double], _ k: Int) -> [Double]? {
        for j in 0..<k {
            var diagonal = matrix[j * k + j]
            for m in 0..<j { diagonal -= matrix[j * k + m] * matrix[j * k + m] }
            guard diagonal > 0 else { return nil }
            let root = diagonal.squareRoot()
            matrix[j * k + j] = root
            for i in (j + 1)..<max(j + 1, k) {
                var value = matrix[i * k + j]
                for m in 0..<j { value -= matrix[i * k + m] * matrix[j * k + m] }
                matrix[i * k + j] = value / root
            }
        }
        var y = target
        for i in 0..<k {
            for m in 0..<i { y[i] -= matrix[i * k + m] * y[m] }
            y[i] /= matrix[i * k + i]
        }
        for i in stride(from: k - 1, through: 0, by: -1) {
            for m in (i + 1)..<max(i + 1, k) { y[i] -= matrix[m * k + i] * y[m] }
            y[i] /= matrix[i * k + i]
        }
        return y
    }

    /// The customer's predicted preference for one goods (0 for goods newer than the model).
    func preference(of goods: Int, _ customer: [Lanes]) -> Float {
        guard goods < goodsCount else { return 0 }
        var sum = Lanes.zero
        for lane in 0..<width { sum += rows[goods * width + lane] * customer[lane] }
        return sum.sum()
    }

    func lanes(of goods: Int) -> ArraySlice<Lanes> { rows[goods * width..<(goods + 1) * width] }

    func squaredNorm(of goods: Int) -> Float { preference(of: goods, Array(lanes(of: goods))) }

    /// The customer's predicted preference for every goods (by number).
    func scores(for customer: [Lanes], into scores: inout [Float]) {
        let width = self.width, count = goodsCount
        if scores.count != count { scores = [Float](repeating: 0, count: count) }
        rows.withUnsafeBufferPointer { rows in
            scores.withUnsafeMutableBufferPointer { scores in
                for goods in 0..<count {
                    var sum = Lanes.zero
                    for lane in 0..<width { sum += rows[goods * width + lane] * customer[lane] }
                    scores[goods] = sum.sum()
                }
            }
        }
    }
}

/// Rows shared by several threads: read by all while none writes them, or each row written by one thread only.
private struct SharedRows: @unchecked Sendable {
    let rows: UnsafeMutableBufferPointer<SIMD8<Float>>
    init(_ rows: UnsafeMutableBufferPointer<SIMD8<Float>>) { self.rows = rows }
    init(_ rows: UnsafeBufferPointer<SIMD8<Float>>) { self.rows = UnsafeMutableBufferPointer(mutating: rows) }
    subscript(index: Int) -> SIMD8<Float> { rows[index] }
}

/// Partial sums set by several threads, each slot by one thread only.
private final class Partials: @unchecked Sendable {
    var values: [[Double]]
    private let lock = NSLock()
    init(count: Int) { values = [[Double]](repeating: [], count: count) }
    func set(_ index: Int, _ value: [Double]) { lock.withLock { values[index] = value } }
}
