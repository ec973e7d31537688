import Commerce
import Foundation

/// An event the command appended.
public struct AppendedEvent: Codable, Hashable, Sendable {
    public var stream: String
    public var version: UInt64
    public var position: UInt64
    public var type: String

    public init(stream: String, version: UInt64, position: UInt64, type: String) {
        self.stream = stream
        self.version = version
        self.position = position
        self.type = type
    }
}

/// The answer to a command: what it appended, what it made, and whether this
/// is the replayed answer of an earlier request under the same `Idempotency-Key`.
public struct CommandOutcome: Hashable, Sendable {
    public var events: [AppendedEvent]
    public var result: CommandResult
    /// True when an `Idempotency-Key` matched an earlier command: this is its answer, and nothing was appended now.
    public var replayed: Bool

    public init(events: [AppendedEvent], result: CommandResult, replayed: Bool) {
        self.events = events
        self.result = result
        self.replayed = replayed
    }

    /// The position of the last event appended (for `?after=` on a read model); 0 when nothing was.
    public var lastPosition: UInt64 { events.last?.position ?? 0 }
}

/// What a command made and the values its caller needs next, each command
/// filling its own: the ids it made, a login's token, an order's number and
/// total, a new key's secret.
public struct CommandResult: Hashable, Sendable {
    public var userId: UserId?
    public var role: Role?
    /// A login's bearer token (never stored with an idempotency record).
    public var token: String?
    public var addressId: AddressId?
    public var goodsId: GoodsId?
    /// The variants a command made or named, in order (ListGoods: the default variant first).
    public var variantIds: [VariantId]?
    public var deliveryMethodId: DeliveryMethodId?
    public var reviewId: ReviewId?
    public var couponId: CouponId?
    public var code: String?
    public var orderId: OrderId?
    public var number: String?
    public var total: Money?
    public var paymentId: PaymentId?
    public var amount: Money?
    public var keyId: ApiKeyId?
    /// A new API key's secret, shown once (never stored).
    public var secret: String?
    public var ownerId: UserId?
    public var scopes: [Scope]?
    public var expiresAt: Instant?
    public var webhookId: WebhookId?
    public var afterSaleId: AfterSaleId?
    public var promotionId: PromotionId?

    public init() {}

    /// The fields that are credentials: never stored in the log with an idempotency record.
    static let secretKeys: Set<String> = ["token", "secret"]

    /// The result as text values by name: the answer's `result` object, and what an idempotency record keeps.
    public var values: [String: String] {
        var values: [String: String] = [:]
        values["userId"] = userId?.description
        values["role"] = role?.rawValue
        values["token"] = token
        values["addressId"] = addressId?.description
        values["goodsId"] = goodsId?.description
        values["variantIds"] = variantIds.map { $0.map(\.description).joined(separator: " ") }
        values["deliveryMethodId"] = deliveryMethodId?.description
        values["reviewId"] = reviewId?.description
        values["couponId"] = couponId?.description
        values["code"] = code
        values["orderId"] = orderId?.description
        values["number"] = number
        values["total"] = total.map { String($0.minorUnits) }
        values["paymentId"] = paymentId?.description
        values["amount"] = amount.map { String($0.minorUnits) }
        values["keyId"] = keyId?.description
        values["secret"] = secret
        values["ownerId"] = ownerId?.description
        values["scopes"] = scopes.map { $0.map(\.rawValue).sorted().joined(separator: " ") }
        values["expiresAt"] = expiresAt.map { String($0.millisecondsSinceEpoch) }
        values["webhookId"] = webhookId?.description
        values["afterSaleId"] = afterSaleId?.description
        values["promotionId"] = promotionId?.description
        return values
    }

    /// A result read back from its values (an idempotency record's).
    public init(values: [String: String]) {
        userId = values["userId"].flatMap(UserId.init)
        role = values["role"].flatMap(Role.init(rawValue:))
        token = values["token"]
        addressId = values["addressId"].flatMap(AddressId.init)
        goodsId = values["goodsId"].flatMap(GoodsId.init)
        variantIds = values["variantIds"].map { $0.split(separator: " ").compactMap { VariantId(String($0)) } }
        deliveryMethodId = values["deliveryMethodId"].flatMap(DeliveryMethodId.init)
        reviewId = values["reviewId"].flatMap(ReviewId.init)
        couponId = values["couponId"].flatMap(CouponId.init)
        code = values["code"]
        orderId = values["orderId"].flatMap(OrderId.init)
        number = values["number"]
        total = values["total"].flatMap(Int64.init).map(Money.init(minorUnits:))
        paymentId = values["paymentId"].flatMap(PaymentId.init)
        amount = values["amount"].flatMap(Int64.init).map(Money.init(minorUnits:))
        keyId = values["keyId"].flatMap(ApiKeyId.init)
        secret = values["secret"]
        ownerId = values["ownerId"].flatMap(UserId.init)
        scopes = values["scopes"].map { $0.split(separator: " ").compactMap { Scope(rawValue: String($0)) } }
        expiresAt = values["expiresAt"].flatMap(Int64.init).map(Instant.init(millisecondsSinceEpoch:))
        webhookId = values["webhookId"].flatMap(WebhookId.init)
        afterSaleId = values["afterSaleId"].flatMap(AfterSaleId.init)
        promotionId = values["promotionId"].flatMap(PromotionId.init)
    }
}
