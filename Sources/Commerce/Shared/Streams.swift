/// Every stream of the shop. Its name is what the log stores.
public enum StreamId: Hashable, Sendable, CustomStringConvertible {
    /// Claims an email address for one user (`email-<normalised address>`), so uniqueness is one atomic append.
    case emailClaim(String)
    case user(UserId)
    case goods(GoodsId)
    case cart(UserId)
    case coupon(CouponId)
    /// Claims a coupon code for one coupon.
    case couponCode(String)
    case order(OrderId)
    /// Order numbers of one day (`ordernumbers-YYYYMMDD`); its version is the day's sequence.
    case orderNumbers(String)
    case payment(PaymentId)
    case points(UserId)
    case apiKey(ApiKeyId)
    /// Claims a SKU among one merchant's goods (`sku-<merchant>:<CODE>`, from `Variants.claimKey`).
    case skuClaim(String)
    /// One merchant's delivery methods (`delivery-<merchant>`).
    case delivery(UserId)
    /// One outbound webhook: its endpoint, its delivery checkpoint and dead letters (`webhook-<id>`).
    case webhook(WebhookId)
    /// One after-sale request about an order: a return or a claim, and each of its steps (`aftersale-<id>`).
    case afterSale(AfterSaleId)
    /// Every promotion's terms, read by each checkout (`promotions-shop`).
    case promotions
    /// One promotion's budget: what orders spent of it (`promotion-<id>`).
    case promotion(PromotionId)

    public var description: String {
        switch self {
        case .emailClaim(let email): return "email-\(email)"
        case .user(let id): return "user-\(id)"
        case .goods(let id): return "goods-\(id)"
        case .cart(let id): return "cart-\(id)"
        case .coupon(let id): return "coupon-\(id)"
        case .couponCode(let code): return "couponcode-\(code)"
        case .order(let id): return "order-\(id)"
        case .orderNumbers(let day): return "ordernumbers-\(day)"
        case .payment(let id): return "payment-\(id)"
        case .points(let id): return "points-\(id)"
        case .apiKey(let id): return "apikey-\(id)"
        case .skuClaim(let key): return "sku-\(key)"
        case .delivery(let merchant): return "delivery-\(merchant)"
        case .webhook(let id): return "webhook-\(id)"
        case .afterSale(let id): return "aftersale-\(id)"
        case .promotions: return "promotions-shop"
        case .promotion(let id): return "promotion-\(id)"
        }
    }
}

/// What a command decided: events for one or more streams, to be appended
/// atomically, each stream at the version its state was loaded at.
public struct Decision: Hashable, Sendable {
    public struct Change: Hashable, Sendable {
        public var stream: StreamId
        public var events: [DomainEvent]
    }

    public private(set) var changes: [Change] = []
    /// Set when the command is refused although its events are still appended: a failed login is
    /// recorded (for lock-out and the audit trail) and then refused.
    public var refusal: Rejection?

    public init() {}

    public mutating func append(_ event: DomainEvent, to stream: StreamId) {
        if let index = changes.firstIndex(where: { $0.stream == stream }) {
            changes[index].events.append(event)
        } else {
            changes.append(Change(stream: stream, events: [event]))
        }
    }

    public func events(for stream: StreamId) -> [DomainEvent] {
        changes.first { $0.stream == stream }?.events ?? []
    }

    public var isEmpty: Bool { changes.isEmpty }
    public var allEvents: [DomainEvent] { changes.flatMap(\.events) }
}

extension StreamId {
    /// The stream a log name stands for; nil for email claims (named by a
    /// pseudonym that cannot be turned back into the address) and engine streams.
    public init?(name: String) {
        var name = name
        guard let stream = name.withUTF8({ StreamId(utf8: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = stream
    }

    /// The same, from the name's UTF-8 read in place (a record in the log): folds parse one per
    /// event, so no strings are made for the name or its id.
    public init?(utf8 name: UnsafeRawBufferPointer) {
        guard let dash = name.firstIndex(of: UInt8(ascii: "-")) else { return nil }
        let kind = UnsafeRawBufferPointer(rebasing: name[..<dash])
        let rest = UnsafeRawBufferPointer(rebasing: name[(dash + 1)...])
        func id<Tag>(_: Tag.Type) -> EntityId<Tag>? { EntityId(utf8: rest.assumingMemoryBound(to: UInt8.self)) }
        func named(_ text: StaticString) -> Bool {
            kind.elementsEqual(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }
        if named("goods") {
            guard let id = id(GoodsTag.self) else { return nil }; self = .goods(id)
        } else if named("user") {
            guard let id = id(UserTag.self) else { return nil }; self = .user(id)
        } else if named("order") {
            guard let id = id(OrderTag.self) else { return nil }; self = .order(id)
        } else if named("cart") {
            guard let id = id(UserTag.self) else { return nil }; self = .cart(id)
        } else if named("points") {
            guard let id = id(UserTag.self) else { return nil }; self = .points(id)
        } else if named("coupon") {
            guard let id = id(CouponTag.self) else { return nil }; self = .coupon(id)
        } else if named("payment") {
            guard let id = id(PaymentTag.self) else { return nil }; self = .payment(id)
        } else if named("apikey") {
            guard let id = id(ApiKeyTag.self) else { return nil }; self = .apiKey(id)
        } else if named("couponcode") {
            self = .couponCode(String(decoding: rest, as: UTF8.self))
        } else if named("delivery") {
            guard let id = id(UserTag.self) else { return nil }; self = .delivery(id)
        } else if named("webhook") {
            guard let id = id(WebhookTag.self) else { return nil }; self = .webhook(id)
        } else if named("aftersale") {
            guard let id = id(AfterSaleTag.self) else { return nil }; self = .afterSale(id)
        } else if named("promotion") {
            guard let id = id(PromotionTag.self) else { return nil }; self = .promotion(id)
        } else if named("promotions") {
            guard rest.elementsEqual("shop".utf8) else { return nil }; self = .promotions
        } else if named("sku") {
            self = .skuClaim(String(decoding: rest, as: UTF8.self))
        } else if named("ordernumbers") {
            self = .orderNumbers(String(decoding: rest, as: UTF8.self))
        } else {
            return nil
        }
    }
}
