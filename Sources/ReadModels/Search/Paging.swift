import Commerce
import Foundation

/// Each part of a split ranking is written by one thread only.
struct UncheckedRankings: @unchecked Sendable {
    let parts: UnsafeMutableBufferPointer<SearchProjection.Ranking>
}

/// Every index below `count` once: blocks of `size` consecutive indexes (kept
/// together for the memory's sake), the blocks in an order spread by a
/// golden-ratio stride.
struct ScrambledBlocks: Sequence, IteratorProtocol {
    static let size = 1_024
    private let count: Int
    private let blocks: Int
    private let stride: Int
    private var block = 0
    private var visited = 0

    init(count: Int) {
        self.count = count
        blocks = (count + Self.size - 1) / Self.size
        var stride = Swift.max(1, Int(Double(blocks) * 0.618))
        while Self.gcd(stride, blocks) != 1 { stride += 1 }
        self.stride = stride
    }

    mutating func next() -> Range<Int>? {
        guard visited < blocks else { return nil }
        let start = block * Self.size
        visited += 1
        block = (block + stride) % blocks
        return start..<Swift.min(count, start + Self.size)
    }

    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
}

/// A position in a sorted result list: the last hit's sort values and id,
/// opaque to clients. At most five values, kept inline, and nothing
/// reference-counted: a query ranks every matching goods by one of these.
struct SearchCursor {
    static let valuesMax = 5
    private var storage: (Double, Double, Double, Double, Double) = (0, 0, 0, 0, 0)
    private(set) var count = 0
    /// The goods while ranking; -1 for a cursor a client sent (then `sentOrder` orders its goods id).
    var number: Int32 = -1
    private var sentOrder = IdOrder(high: 0, low: 0)

    init(values: [Double], id: String) {
        precondition(values.count <= Self.valuesMax, "a cursor holds at most \(Self.valuesMax) values")
        sentOrder = IdOrder(id)
        for value in values { append(value) }
    }

    /// A primary value (or two) followed by the relevance triple, for the goods numbered `id`.
    init(_ primary: Double?, _ secondary: Double? = nil, relevance: (Double, Double, Double), id: Int32) {
        self.number = id
        if let primary { append(primary) }
        if let secondary { append(secondary) }
        append(relevance.0)
        append(relevance.1)
        append(relevance.2)
    }

    private mutating func append(_ value: Double) {
        switch count {
        case 0: storage.0 = value
        case 1: storage.1 = value
        case 2: storage.2 = value
        case 3: storage.3 = value
        default: storage.4 = value
        }
        count += 1
    }

    func value(_ index: Int) -> Double {
        switch index {
        case 0: return storage.0
        case 1: return storage.1
        case 2: return storage.2
        case 3: return storage.3
        default: return storage.4
        }
    }

    var values: [Double] { (0..<count).map(value) }

    init(_ encoded: String) throws(SearchQueryError) {
        let invalid = SearchQueryError(field: "cursor", description: "the cursor is not one this server gave")
        guard let data = Data(base64Encoded: encoded.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")),
            let text = String(data: data, encoding: .utf8)
        else { throw invalid }
        let parts = text.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count >= 2, let id = parts.last, !id.isEmpty, parts.count <= Self.valuesMax + 1 else { throw invalid }
        var values: [Double] = []
        for part in parts.dropLast() {
            guard let value = Double(part), value.isFinite else { throw invalid }
            values.append(value)
        }
        self.init(values: values, id: String(id))
    }

    /// The goods id as two integers that order as the id's text does (ids are fixed-format lowercase hex UUIDs).
    func idOrder(_ order: [IdOrder]) -> IdOrder { number >= 0 ? order[Int(number)] : sentOrder }

    /// Whether this key sorts before `other`: by value, then (only on a tie) by goods id.
    func precedes(_ other: SearchCursor, _ order: [IdOrder]) -> Bool {
        if count == other.count {
            // Unused values are zero in both: compare all five without counting.
            let (a, b) = (storage, other.storage)
            if a.0 != b.0 { return a.0 < b.0 }
            if a.1 != b.1 { return a.1 < b.1 }
            if a.2 != b.2 { return a.2 < b.2 }
            if a.3 != b.3 { return a.3 < b.3 }
            if a.4 != b.4 { return a.4 < b.4 }
            return idOrder(order) < other.idOrder(order)
        }
        for index in 0..<min(count, other.count) where value(index) != other.value(index) { return value(index) < other.value(index) }
        if count != other.count { return count < other.count }
        return idOrder(order) < other.idOrder(order)
    }

    /// Only for a ranked key (a client's cursor is never sent back).
    func encoded(_ keys: [String]) -> String {
        let text = (values.map { "\($0)" } + [keys[Int(number)]]).joined(separator: "|")
        return Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }

}

/// A goods id as two integers ordered like its text (a lowercase UUID: hex digits and dashes at fixed places).
struct IdOrder: Comparable {
    var high: UInt64
    var low: UInt64

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    init(_ id: String) {
        var digits: [UInt64] = []
        digits.reserveCapacity(32)
        for byte in id.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits.append(UInt64(byte - UInt8(ascii: "0")))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digits.append(UInt64(byte - UInt8(ascii: "a") + 10))
            default: continue
            }
        }
        high = digits.prefix(16).reduce(0) { $0 << 4 | $1 }
        low = digits.dropFirst(16).prefix(16).reduce(0) { $0 << 4 | $1 }
    }

    static func < (lhs: IdOrder, rhs: IdOrder) -> Bool { (lhs.high, lhs.low) < (rhs.high, rhs.low) }
}
