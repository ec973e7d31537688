/// The states a decision reads, by stream: what a decider's `reads` named,
/// loaded by the engine from the log (or by a test from given events). A
/// stream never loaded reads as its empty state.
public struct Loaded: Sendable {
    private var states: [StreamId: any AggregateState] = [:]

    public init() {}

    public subscript<S: AggregateState>(_ stream: StreamId, as type: S.Type = S.self) -> S { (states[stream] as? S) ?? S() }

    public func contains(_ stream: StreamId) -> Bool { states[stream] != nil }

    public mutating func insert(_ state: any AggregateState, for stream: StreamId) { states[stream] = state }

    public var streams: [StreamId] { Array(states.keys) }
}

/// One aggregate's rules, in the shape every aggregate has: the streams a
/// command reads, and what it decides given their states. `evolve` lives on
/// each state (`AggregateState`).
public protocol Decider {
    associatedtype Command: Sendable

    /// The streams `command` reads. Asked again with what was loaded, for
    /// reads that what was read names (an order's lines name their goods),
    /// until it names nothing new. The one list of what a command loads: the
    /// engine and the test harness both follow it.
    static func reads(_ command: Command, actor: Actor, loaded: Loaded) -> [StreamId]

    /// The events `command` appends, or why not. Pure: time, ids and salts come in.
    static func decide(_ command: Command, actor: Actor, loaded: Loaded, at: Instant, policy: ShopPolicy) throws(Rejection) -> Decision
}

extension Decider {
    /// Rounds of `reads` before a command's reads are taken as complete (the deepest chain is three: a coupon code, its
    /// coupon, the cart it is applied to).
    public static var readRoundsMax: Int { 4 }

    /// Follows `reads` to the end, loading each new stream with `load`: what the engine and the test harness both do.
    public static func load(_ command: Command, actor: Actor, using load: (StreamId) throws -> any AggregateState) rethrows -> Loaded {
        var loaded = Loaded()
        for _ in 0..<readRoundsMax {
            let wanted = reads(command, actor: actor, loaded: loaded).filter { !loaded.contains($0) }
            guard !wanted.isEmpty else { break }
            for stream in wanted where !loaded.contains(stream) { loaded.insert(try load(stream), for: stream) }
        }
        return loaded
    }
}

extension StreamId {
    /// The empty state of this stream's aggregate (what `evolve` folds from).
    public var emptyState: any AggregateState {
        switch self {
        case .emailClaim: return EmailClaimState()
        case .user: return UserState()
        case .goods: return GoodsState()
        case .cart: return CartState()
        case .coupon: return CouponState()
        case .couponCode: return CouponCodeState()
        case .order: return OrderState()
        case .orderNumbers: return OrderNumbersState()
        case .payment: return PaymentState()
        case .points: return PointsState()
        case .apiKey: return ApiKeyState()
        case .skuClaim: return SkuClaimState()
        case .delivery: return DeliveryState()
        case .webhook: return WebhookState()
        case .afterSale: return AfterSaleState()
        case .promotions: return PromotionDirectoryState()
        case .promotion: return PromotionState()
        }
    }
}
