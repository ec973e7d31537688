/// Binary search and bounded best-first lists, shared by the search index,
/// the ranking, suggest, the search log and the recommender.
extension RandomAccessCollection where Index == Int {
    /// The first index whose element is in the second part, for elements
    /// partitioned so that every element `inSecondPart` comes after every
    /// one not in it (a sorted list and "not before x" is the usual case).
    func partitioningIndex(where inSecondPart: (Element) -> Bool) -> Int {
        var low = startIndex
        var high = endIndex
        while low < high {
            let middle = low + (high - low) / 2
            if inSecondPart(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}

extension Array {
    /// Inserts `element` into this list, kept best first by `precedes` and at
    /// most `limit` long; an element no better than the last of a full list
    /// is turned away by one comparison. Ties keep their arrival order.
    mutating func insert(_ element: Element, keepingBest limit: Int, by precedes: (Element, Element) -> Bool) {
        if count == limit, let last, !precedes(element, last) { return }
        insert(element, at: partitioningIndex { precedes(element, $0) })
        if count > limit { removeLast() }
    }
}

extension Sequence {
    /// The best `count` elements by `precedes`, best first, without sorting them all.
    func best(_ count: Int, by precedes: (Element, Element) -> Bool) -> [Element] {
        var kept: [Element] = []
        kept.reserveCapacity(count + 1)
        for element in self { kept.insert(element, keepingBest: count, by: precedes) }
        return kept
    }
}
