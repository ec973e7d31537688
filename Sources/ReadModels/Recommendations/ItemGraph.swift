import Foundation

/// The recommender's goods by number: content features and co-purchase
/// counts in arrays, so a similarity or also-bought query touches integers
/// and doubles, not string-keyed dictionaries. Derived from the stored model
/// (items and customers' purchase histories) at load and kept up to date
/// event by event; never stored.
final class ItemGraph {
    private(set) var ids: [String] = []
    private(set) var numbers: [String: Int32] = [:]
    private(set) var listed: [Bool] = []
    /// Customers who bought each goods.
    private(set) var buyers: [Int32] = []
    private(set) var features: [[Int32]] = []
    /// Feature → goods having it.
    private var members: [[Int32]] = []
    private var featureIds: [String: Int32] = [:]
    /// Goods → (other goods → customers who bought both, near enough in their history; see `RecommendProjection.partners`).
    private var neighbours: [PairCounts] = []
    /// Scratch for one similarity query (queries run one at a time under the projection's lock).
    private var accumulated: [Double] = []
    private var touched: [Int32] = []
    /// Bumped by every change that moves an IDF (a new goods, a goods' features); the caches below are
    /// valid for the generation they were computed in.
    private var generation = 1
    private var squaredIDFs: [Double] = []
    private var squaredIDFsGeneration = 0
    private var norms: [Double] = []
    private var normGenerations: [Int] = []

    var count: Int { ids.count }

    func number(_ id: String) -> Int32 {
        if let number = numbers[id] { return number }
        let number = Int32(ids.count)
        ids.append(id)
        numbers[id] = number
        listed.append(false)
        buyers.append(0)
        features.append([])
        neighbours.append(PairCounts())
        accumulated.append(0)
        norms.append(0)
        normGenerations.append(0)
        generation += 1
        return number
    }

    func setListed(_ number: Int32, _ value: Bool) { listed[Int(number)] = value }

    func setFeatures(_ number: Int32, _ names: Set<String>) {
        for feature in features[Int(number)] { members[Int(feature)].removeAll { $0 == number } }
        let ids = names.sorted().map { name -> Int32 in
            if let id = featureIds[name] { return id }
            let id = Int32(members.count)
            featureIds[name] = id
            members.append([])
            return id
        }
        for feature in ids { members[Int(feature)].append(number) }
        features[Int(number)] = ids
        generation += 1
    }

    /// One more (or, with -1, one fewer) customer bought the goods.
    func addBuyer(_ number: Int32, _ delta: Int32) { buyers[Int(number)] += delta }

    /// What a pair counts, in units: a customer who bought both `purchaseUnits`; one who favoured or carted one and
    /// bought the other 2, viewed one and bought the other 1 (weaker evidence, counted lower).
    static let purchaseUnits: Int32 = 4

    /// `delta` units more (or fewer) for the pair; a pair no customer holds any more is gone.
    func addPair(_ a: Int32, _ b: Int32, _ delta: Int32) {
        guard a != b else { return }
        neighbours[Int(a)].add(b, delta)
        neighbours[Int(b)].add(a, delta)
    }

    /// log(N / df), a little above 0 so a feature everyone has still counts for something.
    func inverseFrequency(_ feature: Int32) -> Double {
        log(Double(max(ids.count, 1)) / Double(max(members[Int(feature)].count, 1))) + 0.01
    }

    /// Every feature's squared IDF, recomputed only after a change.
    private func currentSquaredIDFs() -> [Double] {
        if squaredIDFsGeneration != generation {
            squaredIDFs = members.indices.map { pow(inverseFrequency(Int32($0)), 2) }
            squaredIDFsGeneration = generation
        }
        return squaredIDFs
    }

    /// Cosine over IDF-weighted features; rarest features first, and once
    /// `candidatesMax` goods are found, commoner features only add to them.
    /// Arrays are read into locals once (a class's stored array costs an exclusivity check per access).
    func similarity(to number: Int32, candidatesMax: Int) -> [(Int32, Double)] {
        let squared = currentSquaredIDFs()
        let features = self.features
        let members = self.members
        let generation = self.generation
        var accumulated: [Double] = []
        var touched: [Int32] = []
        var norms: [Double] = []
        var normGenerations: [Int] = []
        swap(&accumulated, &self.accumulated)
        swap(&touched, &self.touched)
        swap(&norms, &self.norms)
        swap(&normGenerations, &self.normGenerations)
        defer {
            swap(&accumulated, &self.accumulated)
            swap(&touched, &self.touched)
            swap(&norms, &self.norms)
            swap(&normGenerations, &self.normGenerations)
        }
        func norm(_ goods: Int32) -> Double {
            let index = Int(goods)
            if normGenerations[index] != generation {
                norms[index] = sqrt(features[index].reduce(0) { $0 + squared[Int($1)] })
                normGenerations[index] = generation
            }
            return norms[index]
        }
        let weighted = features[Int(number)].map { ($0, squared[Int($0)]) }.sorted { ($0.1, $1.0) > ($1.1, $0.0) }
        let own = sqrt(weighted.reduce(0) { $0 + $1.1 })
        touched.removeAll(keepingCapacity: true)
        for (feature, weight) in weighted {
            if touched.count < candidatesMax {
                for other in members[Int(feature)] where other != number {
                    if accumulated[Int(other)] == 0 { touched.append(other) }
                    accumulated[Int(other)] += weight
                }
            } else {
                // Full: a common feature only adds to the goods already found, so look at those, not at all its members.
                for other in touched where features[Int(other)].contains(feature) { accumulated[Int(other)] += weight }
            }
        }
        var scores: [(Int32, Double)] = []
        scores.reserveCapacity(touched.count)
        for other in touched {
            scores.append((other, accumulated[Int(other)] / max(own * norm(other), 1e-9)))
            accumulated[Int(other)] = 0
        }
        return scores
    }

    /// Item-to-item cosine over customers — customers who bought both / √(buyers of each), so best sellers do not
    /// swamp the list (the `implicit` library's item-kNN on a binary customer × goods matrix), a customer's interest
    /// in one (viewed, carted, favoured) with a purchase of the other adding a fraction of a co-purchase — summed over
    /// weighted seeds, in the graph's scratch arrays (no dictionary per query). Each goods' score adds its seeds'
    /// shares in the order the seeds are given.
    func coOccurrence(summing seeds: [(Int32, Double)]) -> [(Int32, Double)] {
        let buyers = self.buyers
        var accumulated: [Double] = []
        var touched: [Int32] = []
        swap(&accumulated, &self.accumulated)
        swap(&touched, &self.touched)
        defer {
            swap(&accumulated, &self.accumulated)
            swap(&touched, &self.touched)
        }
        touched.removeAll(keepingCapacity: true)
        for (seed, seedWeight) in seeds {
            let weight = seedWeight / Double(Self.purchaseUnits)
            let own = Double(max(buyers[Int(seed)], 1))
            neighbours[Int(seed)].forEach { other, together in
                let index = Int(other)
                if accumulated[index] == 0 { touched.append(other) }
                accumulated[index] += weight * Double(together) / sqrt(own * Double(max(buyers[index], 1)))
            }
        }
        var scores: [(Int32, Double)] = []
        scores.reserveCapacity(touched.count)
        for other in touched {
            scores.append((other, accumulated[Int(other)]))
            accumulated[Int(other)] = 0
        }
        return scores
    }

    /// The `limit` best-scored listed goods not in `excluded`, best first (ties by id).
    func top(_ scores: [(Int32, Double)], limit: Int, excluding excluded: Set<Int32>) -> [(Int32, Double)] {
        let eligible = scores.filter { $0.1 > 0 && listed[Int($0.0)] && !excluded.contains($0.0) }
        return eligible.best(limit) { a, b in
            a.1 != b.1 ? a.1 > b.1 : ids[Int(a.0)] < ids[Int(b.0)]
        }
    }
}

/// One goods' co-purchase counts by the other goods' number: open addressing with linear probing and a multiplicative
/// hash. The graph's fold spends its time here (tens of millions of increments on a large shop), where a
/// `Dictionary` hashed each Int32 with SipHash.
struct PairCounts {
    /// Keys (−1: empty) and counts, side by side; a count that falls to 0 keeps its slot until the next growth.
    private var keys: [Int32] = []
    private var counts: [Int32] = []
    private var used = 0
    /// Keys whose count is above 0.
    private(set) var live = 0

    mutating func add(_ key: Int32, _ delta: Int32) {
        if (used + 1) * 4 > keys.count * 3 { grow() }
        let mask = keys.count - 1
        var slot = Self.slot(key, mask)
        while true {
            let found = keys[slot]
            if found == key {
                let before = counts[slot]
                counts[slot] = max(before + delta, 0)
                live += (before == 0 ? 1 : 0) - (counts[slot] == 0 ? 1 : 0)
                return
            }
            if found < 0 {
                guard delta > 0 else { return }  // taking back what was never counted: nothing to do
                keys[slot] = key
                counts[slot] = delta
                used += 1
                live += 1
                return
            }
            slot = (slot + 1) & mask
        }
    }

    /// Every key with a count above 0.
    func forEach(_ body: (Int32, Int32) -> Void) {
        for (key, count) in zip(keys, counts) where key >= 0 && count > 0 { body(key, count) }
    }

    private static func slot(_ key: Int32, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(UInt32(bitPattern: key)) &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    private mutating func grow() {
        let (oldKeys, oldCounts) = (keys, counts)
        let capacity = max(8, (live + 1) * 2).nextPowerOfTwo
        keys = [Int32](repeating: -1, count: capacity)
        counts = [Int32](repeating: 0, count: capacity)
        (used, live) = (0, 0)
        for (key, count) in zip(oldKeys, oldCounts) where key >= 0 && count > 0 { add(key, count) }
    }
}

extension Int {
    fileprivate var nextPowerOfTwo: Int { self <= 1 ? 1 : 1 << (Int.bitWidth - (self - 1).leadingZeroBitCount) }
}
