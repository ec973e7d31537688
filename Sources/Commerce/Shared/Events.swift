/// An event's fields. Its type name and schema version are what the log
/// stores; a changed shape gets a new version and an upcaster, never an edit.
public protocol EventPayload: Codable, Hashable, Sendable {
    /// The type's name, stored with each event; a constant per type (`String(describing:)` demangled the name on every call).
    static var eventType: String { get }
    static var schemaVersion: Int { get }
}

extension EventPayload {
    /// 2: the binary form of the v1 fields (see `EventCodec`).
    public static var schemaVersion: Int { 2 }
}

/// An event whose latest version only added optional fields: it is written at the oldest version whose fields hold
/// it, so an event that uses none of the added fields is written byte for byte as before (a stock event naming no
/// variant, an order with neither variants nor a delivery, a review published at once).
public protocol EvolvedEventPayload: EventPayload {
    var writtenVersion: Int { get }
}

// MARK: All events

/// Every event of the shop, by aggregate.
public enum DomainEvent: Hashable, Sendable {
    case emailClaim(EmailClaimEvent)
    case user(UserEvent)
    case goods(GoodsEvent)
    case cart(CartEvent)
    case coupon(CouponEvent)
    case couponCode(CouponCodeEvent)
    case order(OrderEvent)
    case orderNumber(OrderNumberEvent)
    case payment(PaymentEvent)
    case points(PointsEvent)
    case apiKey(ApiKeyEvent)
    case skuClaim(SkuClaimEvent)
    case delivery(DeliveryEvent)
    case webhook(WebhookEvent)
    case afterSale(AfterSaleEvent)
    case promotions(PromotionDirectoryEvent)
    case promotion(PromotionEvent)
}
