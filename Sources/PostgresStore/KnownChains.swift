/// The chains of one kind a node knows (streams, or actors and types), the most recently written kept within a bound: two
/// generations, the newer taking every chain written, the older looked up behind it. When the newer reaches
/// `generationMax` it becomes the older and the older is let go, so the node always knows at least the `generationMax`
/// chains written last (an order's stream when its payment comes, a returning customer's) and never more than twice that.
/// A chain let go is one the node does not know: a write placing it as new is checked by PostgreSQL (it exists, so the
/// write is placed again or decided under the lock), as for any chain another node began.
struct KnownChains<Key: Hashable>: Equatable, ExpressibleByDictionaryLiteral {
    private var newer: [Key: AppendPlan.Chain] = [:]
    private var older: [Key: AppendPlan.Chain] = [:]
    let generationMax: Int

    static var defaultGenerationMax: Int { 100_000 }

    init(generationMax: Int = Self.defaultGenerationMax) {
        self.generationMax = max(1, generationMax)
    }

    init(dictionaryLiteral elements: (Key, AppendPlan.Chain)...) {
        self.init()
        for (key, chain) in elements { self[key] = chain }
    }

    /// A chain as last written, from the newer generation, else the older.
    subscript(key: Key) -> AppendPlan.Chain? {
        get { newer[key] ?? older[key] }
        set {
            guard let newValue else {
                newer[key] = nil
                older[key] = nil
                return
            }
            newer[key] = newValue
            if newer.count >= generationMax {
                older = newer
                newer = Dictionary(minimumCapacity: generationMax)
            }
        }
    }

    /// Every chain known, as last written.
    var all: [Key: AppendPlan.Chain] { older.merging(newer) { _, newer in newer } }

    var isEmpty: Bool { newer.isEmpty && older.isEmpty }

    /// Knows `chains` and no other (as many as the bound keeps).
    init(_ chains: [Key: AppendPlan.Chain], generationMax: Int) {
        self.init(generationMax: generationMax)
        for (key, chain) in chains { self[key] = chain }
    }

    static func == (lhs: Self, rhs: Self) -> Bool { lhs.all == rhs.all }
}
