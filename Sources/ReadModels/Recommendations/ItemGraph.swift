import Foundation

/// The recommender's goods by number: content features and co-purchase
/// counts in arrays, so a similarity or also-bought query touches integers
/// and doubles, not string-keyed dictionaries. Derived from the stored model
/// at load and kept up to date event by event; never stored.
final class ItemGraph {
    private(set) var ids: [String] = []
    private(set) var numbers: [String: Int32] = [:]
    private(set) var listed: [Bool] = []
    /// Orders containing each goods.
    private(set) var orders: [Int32] = []
    private(set) var features: [[Int32]] = []
    /// Feature → goods having it.
    private var members: [[Int32]] = []
    private var featureIds: [String: Int32] = [:]
    /// Goods → (other goods → orders holding both).
    private var neighbours: [[Int32: Int32]] = []
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
        orders.append(0)
        features.append([])
        neighbours.append([:])
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

    func addOrder(_ goods: [Int32]) {
        for number in goods { orders[Int(number)] += 1 }
        for (offset, a) in goods.enumerated() {
            for b in goods.dropFirst(offset + 1) { addPair(a, b, count: 1) }
        }
    }

    func addPair(_ a: Int32, _ b: Int32, count: Int32) {
        neighbours[Int(a)][b, default: 0] += count
        neighbours[Int(b)][a, default: 0] += count
    }

    func setOrders(_ number: Int32, _ value: Int) { orders[Int(number)] = Int32(value) }

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

    /// Orders holding both / √(orders of each).
    func coOccurrence(of number: Int32) -> [(Int32, Double)] {
        let own = Double(max(orders[Int(number)], 1))
        return neighbours[Int(number)].map { other, together in
            (other, Double(together) / sqrt(own * Double(max(orders[Int(other)], 1))))
        }
    }

    /// The `limit` best-scored listed goods not in `excluded`, best first (ties by id).
    func top(_ scores: [(Int32, Double)], limit: Int, excluding excluded: Set<Int32>) -> [(Int32, Double)] {
        let eligible = scores.filter { $0.1 > 0 && listed[Int($0.0)] && !excluded.contains($0.0) }
        return eligible.best(limit) { a, b in
            a.1 != b.1 ? a.1 > b.1 : ids[Int(a.0)] < ids[Int(b.0)]
        }
    }
}
