import Commerce
import Foundation

/// The search read model: every goods as the domain folds it (`GoodsState`,
/// stored), and an inverted index over their text (built in memory from the
/// stored goods, then kept up to date event by event).
public final class SearchProjection: Projection, @unchecked Sendable {
    public static let name = "search"
    public static let schemaVersion = 4  // 2: goods rows hold variants, options and attributes; 3: and review marks; 4: and pre-orders
    public static let foldCostGuess = 4.0
    public static let eventTypes: Set<String> = goodsEventTypes

    public let goods = Table<GoodsState>(prefix: 1)
    public var storedTables: [any StoredTable] { [goods] }
    let index = InvertedIndex()
    /// Per-query working arrays, reused (queries run one at a time under the projection's lock).
    let scratch = MatchScratch()
    /// Match lists at least this long are ranked in two halves on two cores (tests lower it).
    var parallelRankingMin = 16_384

    public init() {}

    public func apply(_ event: ProjectedEvent) {
        guard case .goods(let change) = event.event, case .goods(let id) = event.stream else { return }
        let key = id.description
        var isNew = false
        var textChanged = false
        var after = GoodsState()
        goods.update(
            key,
            default: {
                isNew = true; return GoodsState()
            }()
        ) { state in  // one lookup, changed in place
            let next = state.evolve(change)
            switch change {
            case .optionsDefined, .variantAdded, .variantDelisted, .variantRelisted, .attributesSet: textChanged = true  // specifications
            default:
                textChanged =
                    isNew || state.title != next.title || state.description != next.description || state.brand != next.brand
                    || state.category != next.category || state.tags != next.tags
            }
            state = next
            after = next
        }
        if textChanged {
            index.put(key, after)
            index.setDocument(key, after)
        } else {
            index.setNumbers(key, after)  // price, stock, sales, rating, listing: no text to fold again
        }
    }

    public func didLoad() {
        index.reset()
        for (key, state) in goods.rows.sorted(by: { $0.key < $1.key }) {
            index.put(key, state)
            index.setDocument(key, state)
        }
        warm()
    }

    /// What the first query would otherwise build or fault in: the sorted terms and the match slots.
    public func warm() {
        _ = index.sortedTerms
        scratch.give(scratch.take(count: index.documentCount, stamps: 1))
    }
}

/// Every goods event type: the catalogue several projections keep.
let goodsEventTypes: Set<String> = [
    GoodsListed.eventType, GoodsUpdated.eventType, PriceChanged.eventType, StockAdded.eventType, StockAdjusted.eventType,
    StockReturned.eventType, StockReserved.eventType, StockReleased.eventType, StockShipped.eventType, LowStockDetected.eventType,
    GoodsDelisted.eventType,
    GoodsRelisted.eventType, ReviewPosted.eventType, ReviewModerated.eventType, ReviewReplied.eventType, ReviewEdited.eventType,
    WaitlistJoined.eventType, WaitlistLeft.eventType, BackInStockNotified.eventType, PreOrdersOpened.eventType,
    PreOrdersCancelled.eventType, PreOrderReserved.eventType, PreOrderFilled.eventType, PreOrderReleased.eventType,
    GoodsOptionsDefined.eventType, VariantAdded.eventType, VariantUpdated.eventType,
    VariantDelisted.eventType, VariantRelisted.eventType, GoodsAttributesSet.eventType,
]

/// Term → documents, with per-field term counts for BM25F.
final class InvertedIndex {
    enum Field: Int, CaseIterable {
        case title, attributes, description
        /// Title > tags/brand/category > description.
        var weight: Double {
            switch self {
            case .title: 3
            case .attributes: 2
            case .description: 1
            }
        }
    }

    struct Counts: Sendable {
        var byField: (UInt16, UInt16, UInt16) = (0, 0, 0)
        subscript(field: Field) -> UInt16 {
            get {
                switch field {
                case .title: byField.0
                case .attributes: byField.1
                case .description: byField.2
                }
            }
            set {
                switch field {
                case .title: byField.0 = newValue
                case .attributes: byField.1 = newValue
                case .description: byField.2 = newValue
                }
            }
        }
    }

    private(set) var keys: [String] = []
    /// Each goods id as integers, for breaking ranking ties without comparing strings.
    private(set) var keyOrder: [IdOrder] = []
    private(set) var numbers: [String: Int32] = [:]
    struct Posting {
        var number: Int32
        var counts: Counts
    }

    /// Term → the goods holding it (unordered; a goods is removed only when its text changes).
    private(set) var postings: [String: [Posting]] = [:]
    private var documentTerms: [[String]] = []
    /// Terms per field, three per goods number (title, attributes, description).
    private(set) var lengths: [Int32] = []
    private(set) var totalLengths = [0, 0, 0]
    private var sortedTermsCache: [String]?
    /// Latin terms by UTF-8 length: the only ones a typo search looks at.
    private var latinTermsByLength: [Int: Set<String>] = [:]

    func reset() {
        latinTermsByLength = [:]
        facts = []
        tagLists = []
        specLists = []
        specNames = []
        specValues = []
        keyOrder = []
        valueIds = [:]
        values = []
        keys = []
        numbers = [:]
        postings = [:]
        documentTerms = []
        lengths = []
        totalLengths = [0, 0, 0]
        sortedTermsCache = nil
    }

    var documentCount: Int { keys.count }

    /// A goods' category, brand and tags (when its text changed), then its numbers.
    func setDocument(_ key: String, _ goods: GoodsState) {
        guard let number = numbers[key].map(Int.init) else { return }
        var tags: [Int32] = []
        for tag in goods.tags.map(intern) where !tags.contains(tag) { tags.append(tag) }
        if number < tagLists.count { tagLists[number] = tags } else { tagLists.append(tags) }
        var specs: [Spec] = []
        for (name, value) in Self.specifications(goods) {
            let spec = Spec(name: intern(name), value: intern(value))
            if !specs.contains(spec) { specs.append(spec) }
            specNames.insert(spec.name)
            specValues.insert(spec.value)
        }
        if number < specLists.count { specLists[number] = specs } else { specLists.append(specs) }
        if number == facts.count { facts.append(Facts()) }
        facts[number].hasSpecs = !specs.isEmpty
        facts[number].category = intern(goods.category)
        facts[number].brand = intern(goods.brand)
        facts[number].setTags(tags)
        setNumbers(number, goods)
    }

    /// Price, stock, sales, rating and listing: what most goods events change (no text to fold again).
    func setNumbers(_ key: String, _ goods: GoodsState) {
        if let number = numbers[key] { setNumbers(Int(number), goods) }
    }

    /// A goods' specifications as (name, value): each option's values over the variants for sale, then the attributes
    /// (a number with its unit).
    static func specifications(_ goods: GoodsState) -> [(String, String)] {
        var specs: [(String, String)] = []
        for variant in goods.listedVariants { specs += zip(goods.options, variant.values).map { ($0, $1) } }
        for attribute in goods.attributes {
            specs.append((attribute.name, attribute.unit.isEmpty ? attribute.value : "\(attribute.value) \(attribute.unit)"))
        }
        return specs
    }

    private func setNumbers(_ number: Int, _ goods: GoodsState) {
        facts[number].price = goods.price.minorUnits
        facts[number].priceSpread = UInt32(clamping: goods.highestPrice.minorUnits - goods.price.minorUnits)
        facts[number].inStock = goods.available > 0
        facts[number].isListed = goods.isListed
        facts[number].sold = Int32(clamping: goods.sold)
        facts[number].ratingTotal = Int32(clamping: goods.ratingTotal)
        facts[number].ratingCount = Int32(clamping: goods.ratingCount)
        facts[number].listedAt = goods.listedAt?.millisecondsSinceEpoch ?? 0
        facts[number].boost = Facts.boost(sold: goods.sold, ratingTotal: goods.ratingTotal, ratingCount: goods.ratingCount)
    }

    /// What filters, sorts and facets read, without reference-counted fields
    /// (scanning 100,000 of these must not retain 100,000 strings or arrays),
    /// in 64 bytes: a browse streams all of them, so their size is its speed.
    /// Counts saturate at `Int32.max`.
    struct Facts {
        /// The lowest price of a variant for sale, and (below) how far above it the highest is (saturating).
        var price: Int64 = 0
        var listedAt: Int64 = 0
        var sold: Int32 = 0
        var ratingTotal: Int32 = 0
        var ratingCount: Int32 = 0
        var priceSpread: UInt32 = 0
        /// What sales and rating add to a score (see `boost(sold:ratingTotal:ratingCount:)`), kept so a scan needs no logarithm.
        var boost = 0.0
        var category: Int32 = 0
        var brand: Int32 = 0
        /// The first `inlineTagsMax` distinct tag ids; all of them are in `tagLists`.
        private var inlineTags: (Int32, Int32, Int32) = (-1, -1, -1)
        private(set) var tagCount: UInt8 = 0
        var isListed = false
        var inStock = false
        /// Whether `specLists` holds any specification of the goods (most goods have none: no list is read for them).
        var hasSpecs = false

        static let inlineTagsMax = 3

        /// Sales and rating lift goods a little, never past a better text match.
        static func boost(sold: Int, ratingTotal: Int, ratingCount: Int) -> Double {
            let rating = ratingCount > 0 ? Double(ratingTotal) / Double(ratingCount) : 3
            return 0.3 * log1p(Double(sold)) + 0.2 * (rating - 3) * min(1, Double(ratingCount) / 5)
        }

        mutating func setTags(_ tags: [Int32]) {
            tagCount = UInt8(min(tags.count, Int(UInt8.max)))
            inlineTags = (tags.count > 0 ? tags[0] : -1, tags.count > 1 ? tags[1] : -1, tags.count > 2 ? tags[2] : -1)
        }

        /// Whether every tag's id is inline (else read `tagLists`).
        var tagsInline: Bool { tagCount <= Self.inlineTagsMax }

        func inlineTag(_ position: Int) -> Int32 {
            switch position {
            case 0: inlineTags.0
            case 1: inlineTags.1
            default: inlineTags.2
            }
        }

        func hasInlineTag(_ tag: Int32) -> Bool { inlineTags.0 == tag || inlineTags.1 == tag || inlineTags.2 == tag }
    }

    private(set) var facts: [Facts] = []
    /// Each goods' distinct tag value ids (apart from `facts`, which must stay free of reference-counted fields).
    private(set) var tagLists: [[Int32]] = []
    /// A specification of a goods: an option or attribute name and one of its values, as value ids.
    struct Spec: Hashable {
        var name: Int32
        var value: Int32
    }
    /// Each goods' distinct specifications; the ids of every name and value any goods has (the few a filter resolves against).
    private(set) var specLists: [[Spec]] = []
    private(set) var specNames: Set<Int32> = []
    private(set) var specValues: Set<Int32> = []

    /// The ids among `ids` whose text is `word`, or has it as one of its words: "colour" names 颜色 Colour, "red" 红 red.
    func ids(in ids: Set<Int32>, naming word: String) -> Set<Int32> {
        let wanted = Tokenizer.fold(word)
        return ids.filter { id in
            let text = Tokenizer.fold(values[Int(id)])
            return text == wanted || text.split(separator: " ").contains { $0 == wanted }
        }
    }
    /// Folded category, brand and tag values → small ids, and back to the first spelling seen.
    private(set) var valueIds: [String: Int32] = [:]
    private(set) var values: [String] = []

    func intern(_ value: String) -> Int32 {
        let folded = Tokenizer.fold(value)
        if let id = valueIds[folded] { return id }
        let id = Int32(values.count)
        valueIds[folded] = id
        values.append(value)
        return id
    }

    /// The id of a filter value, or nil when no goods ever had it.
    func valueId(_ value: String) -> Int32? { valueIds[Tokenizer.fold(value)] }

    func averageLength(_ field: Field) -> Double {
        keys.isEmpty ? 1 : max(1, Double(totalLengths[field.rawValue]) / Double(keys.count))
    }

    /// (Re)indexes one goods' text.
    func put(_ key: String, _ goods: GoodsState) {
        let number: Int32
        if let existing = numbers[key] {
            number = existing
            remove(number)
        } else {
            number = Int32(keys.count)
            keys.append(key)
            keyOrder.append(IdOrder(key))
            numbers[key] = number
            documentTerms.append([])
            lengths += [0, 0, 0]
        }
        let title = Tokenizer.terms(goods.title)
        var attributes = Tokenizer.terms(goods.brand)
        attributes += Tokenizer.terms(goods.category)
        for tag in goods.tags { attributes += Tokenizer.terms(tag) }
        var seen = Set<String>()  // each specification's words once, however many variants share them
        for (name, value) in Self.specifications(goods) where seen.insert(name + "\u{1}" + value).inserted {
            attributes += Tokenizer.terms(value)
        }
        let description = Tokenizer.terms(goods.description)
        var counts: [String: Counts] = [:]
        counts.reserveCapacity(title.count + attributes.count + description.count)
        for (field, terms) in [(Field.title, title), (.attributes, attributes), (.description, description)] {
            lengths[Int(number) * 3 + field.rawValue] = Int32(terms.count)
            totalLengths[field.rawValue] += terms.count
            for term in terms { counts[term, default: Counts()][field] &+= 1 }
        }
        var newTerms: [String] = []
        for (term, count) in counts {
            // One lookup: a new term is noticed by the default being used.
            postings[
                term,
                default: {
                    newTerms.append(term); return []
                }()
            ].append(Posting(number: number, counts: count))
        }
        if !newTerms.isEmpty {
            sortedTermsCache = nil
            for term in newTerms {
                if let first = term.utf8.first, first < 0x80 { latinTermsByLength[term.utf8.count, default: []].insert(term) }
            }
        }
        documentTerms[Int(number)] = Array(counts.keys)
    }

    private func remove(_ number: Int32) {
        for term in documentTerms[Int(number)] {
            postings[term]?.removeAll { $0.number == number }
            if postings[term]?.isEmpty == true {
                postings[term] = nil
                sortedTermsCache = nil
                latinTermsByLength[term.utf8.count]?.remove(term)
            }
        }
        for field in Field.allCases { totalLengths[field.rawValue] -= Int(lengths[Int(number) * 3 + field.rawValue]) }
    }

    /// Every term, sorted (for prefix lookups); rebuilt only after new terms appear.
    var sortedTerms: [String] {
        if let sortedTermsCache { return sortedTermsCache }
        let sorted = postings.keys.sorted()
        sortedTermsCache = sorted
        return sorted
    }

    /// Terms starting with `prefix`, most frequent first, at most `limit`.
    func terms(startingWith prefix: String, limit: Int) -> [String] {
        let terms = sortedTerms
        var found: [String] = []
        var index = terms.partitioningIndex { $0 >= prefix }
        while index < terms.count, terms[index].hasPrefix(prefix), found.count < SearchLimits.prefixScanMax {
            found.append(terms[index])
            index += 1
        }
        return found.sorted { (postings[$0]?.count ?? 0, $1) > (postings[$1]?.count ?? 0, $0) }.prefix(limit).map { $0 }
    }

    /// Latin terms within the allowed typos of `word` (not CJK: a typo there is another word), nearest and commonest first.
    func typoCandidates(of word: String) -> [(term: String, typos: Int)] {
        let allowed = Tokenizer.typosAllowed(length: word.count)
        guard allowed > 0 else { return [] }
        let bytes = Array(word.utf8)
        var found: [(String, Int)] = []
        for length in max(1, bytes.count - allowed)...(bytes.count + allowed) {
            for term in latinTermsByLength[length] ?? [] where term != word {
                if let typos = Tokenizer.distance(bytes, Array(term.utf8), limit: allowed) { found.append((term, typos)) }
            }
        }
        // The nearest first, and at one distance the words most goods use: the likelier meant (and the ones kept when
        // only the first few are looked at).
        return found.map { (term: $0.0, typos: $0.1, goods: postings[$0.0]?.count ?? 0) }
            .sorted { ($0.typos, -$0.goods, $0.term) < ($1.typos, -$1.goods, $1.term) }
            .map { (term: $0.term, typos: $0.typos) }
    }

    func inverseDocumentFrequency(_ term: String) -> Double {
        let n = Double(postings[term]?.count ?? 0)
        let total = Double(max(keys.count, 1))
        return log(1 + (total - n + 0.5) / (n + 0.5))
    }
}

enum SearchLimits {
    static let prefixExpansionsMax = 10
    static let prefixScanMax = 2_000
    static let facetValuesMax = 20
    static let queryWordsMax = 10
    static let queryCharactersMax = 200
}

/// Per-goods working slots for ranking one query, stamped instead of cleared
/// (a slot belongs to the current query, or word, when its stamp is that
/// query's, or word's; stamps only grow), and the lists a query fills, kept
/// between queries so a query matching much of the catalogue does not ask
/// the allocator for fresh pages. Queries run one at a time under the
/// projection's lock.
final class MatchScratch {
    struct Slot {
        var queryStamp: UInt32 = 0
        var wordStamp: UInt32 = 0
        var wordTypos: Int16 = 0
        /// The current word matched only as the prefix of a longer word.
        var wordPrefix = false
        var matched: Int16 = 0
        var typos: Int16 = 0
        /// Words matched only as prefixes of longer words.
        var prefixed: Int16 = 0
        var wordScore = 0.0
        var score = 0.0
    }

    struct Work {
        var slots: [Slot] = []
        var firstStamp: UInt32 = 0
        /// Goods matching a word of the query; those matching the current word; the candidates.
        var touched: [Int32] = []
        var wordTouched: [Int32] = []
        var candidates: [SearchProjection.Candidate] = []
    }

    private var kept = Work()
    private var stamp: UInt32 = 0

    /// The working state for one query: slots for at least `count` goods, empty lists, and the first
    /// of `stamps` fresh stamps. Hand it back with `give`.
    func take(count: Int, stamps: Int) -> Work {
        var work = Work()
        swap(&work, &kept)
        if work.slots.count < count { work.slots += [Slot](repeating: Slot(), count: count - work.slots.count) }
        if UInt64(stamp) + UInt64(stamps) >= UInt64(UInt32.max) {
            for index in work.slots.indices { work.slots[index].queryStamp = 0; work.slots[index].wordStamp = 0 }
            stamp = 0
        }
        work.firstStamp = stamp + 1
        stamp += UInt32(stamps)
        work.touched.removeAll(keepingCapacity: true)
        work.wordTouched.removeAll(keepingCapacity: true)
        work.candidates.removeAll(keepingCapacity: true)
        return work
    }

    func give(_ work: Work) { kept = work }
}
