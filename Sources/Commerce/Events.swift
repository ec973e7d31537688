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

// MARK: Users

public struct EmailClaimed: EventPayload { public static let eventType = "EmailClaimed"; @Personal public var email: String; public var userId: UserId
    public init(email: String, userId: UserId) { self.email = email; self.userId = userId }
}
public struct EmailReleased: EventPayload { public static let eventType = "EmailReleased"; @Personal public var email: String; public var userId: UserId
    public init(email: String, userId: UserId) { self.email = email; self.userId = userId }
}

public struct UserRegistered: EventPayload {
    public static let eventType = "UserRegistered"
    public var userId: UserId
    @Personal public var email: String
    @Personal public var name: String
    @Personal public var phone: String
    public var role: Role
    public var passwordHash: PasswordHash
    public var at: Instant

    public init(userId: UserId, email: String, name: String, phone: String, role: Role, passwordHash: PasswordHash, at: Instant) {
        self.userId = userId
        self.email = email
        self.name = name
        self.phone = phone
        self.role = role
        self.passwordHash = passwordHash
        self.at = at
    }
}
public struct UserLoggedIn: EventPayload { public static let eventType = "UserLoggedIn"; public var at: Instant
    public init(at: Instant) { self.at = at }
}
public struct LoginFailed: EventPayload { public static let eventType = "LoginFailed"; public var consecutiveFailures: Int; public var at: Instant
    public init(consecutiveFailures: Int, at: Instant) { self.consecutiveFailures = consecutiveFailures; self.at = at }
}
public struct UserLockedOut: EventPayload { public static let eventType = "UserLockedOut"; public var until: Instant; public var at: Instant
    public init(until: Instant, at: Instant) { self.until = until; self.at = at }
}
public struct ProfileUpdated: EventPayload { public static let eventType = "ProfileUpdated"; @Personal public var name: String; @Personal public var phone: String; public var at: Instant
    public init(name: String, phone: String, at: Instant) { self.name = name; self.phone = phone; self.at = at }
}
public struct PasswordChanged: EventPayload { public static let eventType = "PasswordChanged"; public var passwordHash: PasswordHash; public var at: Instant
    public init(passwordHash: PasswordHash, at: Instant) { self.passwordHash = passwordHash; self.at = at }
}
public struct AddressAdded: EventPayload { public static let eventType = "AddressAdded"; public var addressId: AddressId; public var address: Address; public var at: Instant
    public init(addressId: AddressId, address: Address, at: Instant) { self.addressId = addressId; self.address = address; self.at = at }
}
public struct AddressUpdated: EventPayload { public static let eventType = "AddressUpdated"; public var addressId: AddressId; public var address: Address; public var at: Instant
    public init(addressId: AddressId, address: Address, at: Instant) { self.addressId = addressId; self.address = address; self.at = at }
}
public struct AddressRemoved: EventPayload { public static let eventType = "AddressRemoved"; public var addressId: AddressId; public var at: Instant
    public init(addressId: AddressId, at: Instant) { self.addressId = addressId; self.at = at }
}
public struct DefaultAddressSet: EventPayload { public static let eventType = "DefaultAddressSet"; public var addressId: AddressId; public var at: Instant
    public init(addressId: AddressId, at: Instant) { self.addressId = addressId; self.at = at }
}
public struct FavoriteAdded: EventPayload { public static let eventType = "FavoriteAdded"; public var goodsId: GoodsId; public var at: Instant
    public init(goodsId: GoodsId, at: Instant) { self.goodsId = goodsId; self.at = at }
}
public struct FavoriteRemoved: EventPayload { public static let eventType = "FavoriteRemoved"; public var goodsId: GoodsId; public var at: Instant
    public init(goodsId: GoodsId, at: Instant) { self.goodsId = goodsId; self.at = at }
}
public struct GoodsViewed: EventPayload { public static let eventType = "GoodsViewed"; public var goodsId: GoodsId; public var at: Instant
    public init(goodsId: GoodsId, at: Instant) { self.goodsId = goodsId; self.at = at }
}
public struct RoleGranted: EventPayload { public static let eventType = "RoleGranted"; public var role: Role; public var grantedBy: String; public var at: Instant
    public init(role: Role, grantedBy: String, at: Instant) { self.role = role; self.grantedBy = grantedBy; self.at = at }
}
public struct UserForgotten: EventPayload { public static let eventType = "UserForgotten"; public var at: Instant
    public init(at: Instant) { self.at = at }
}
/// A customer asks to sell in the shop; an admin approves (the user becomes a merchant) or rejects it.
public struct MerchantApplicationSubmitted: EventPayload {
    public static let eventType = "MerchantApplicationSubmitted"
    public var shopName: String
    public var description: String
    public var at: Instant

    public init(shopName: String, description: String, at: Instant) {
        self.shopName = shopName
        self.description = description
        self.at = at
    }
}
public struct MerchantApplicationApproved: EventPayload { public static let eventType = "MerchantApplicationApproved"; public var approvedBy: String; public var at: Instant
    public init(approvedBy: String, at: Instant) { self.approvedBy = approvedBy; self.at = at }
}
public struct MerchantApplicationRejected: EventPayload {
    public static let eventType = "MerchantApplicationRejected"
    public var reason: String
    public var rejectedBy: String
    public var at: Instant

    public init(reason: String, rejectedBy: String, at: Instant) {
        self.reason = reason
        self.rejectedBy = rejectedBy
        self.at = at
    }
}

public enum EmailClaimEvent: Hashable, Sendable {
    case claimed(EmailClaimed)
    case released(EmailReleased)
}

public enum UserEvent: Hashable, Sendable {
    case registered(UserRegistered)
    case loggedIn(UserLoggedIn)
    case loginFailed(LoginFailed)
    case lockedOut(UserLockedOut)
    case profileUpdated(ProfileUpdated)
    case passwordChanged(PasswordChanged)
    case addressAdded(AddressAdded)
    case addressUpdated(AddressUpdated)
    case addressRemoved(AddressRemoved)
    case defaultAddressSet(DefaultAddressSet)
    case favoriteAdded(FavoriteAdded)
    case favoriteRemoved(FavoriteRemoved)
    case goodsViewed(GoodsViewed)
    case roleGranted(RoleGranted)
    case forgotten(UserForgotten)
    case merchantApplicationSubmitted(MerchantApplicationSubmitted)
    case merchantApplicationApproved(MerchantApplicationApproved)
    case merchantApplicationRejected(MerchantApplicationRejected)
}

// MARK: Goods

public struct GoodsListed: EventPayload {
    public static let eventType = "GoodsListed"
    public var goodsId: GoodsId
    public var merchantId: UserId
    public var title: String
    public var description: String
    public var category: String
    public var brand: String
    public var tags: [String]
    public var price: Money
    public var stock: Int
    public var lowStockThreshold: Int
    public var at: Instant

    public init(goodsId: GoodsId, merchantId: UserId, title: String, description: String, category: String, brand: String, tags: [String], price: Money, stock: Int, lowStockThreshold: Int, at: Instant) {
        self.goodsId = goodsId
        self.merchantId = merchantId
        self.title = title
        self.description = description
        self.category = category
        self.brand = brand
        self.tags = tags
        self.price = price
        self.stock = stock
        self.lowStockThreshold = lowStockThreshold
        self.at = at
    }
}
public struct GoodsUpdated: EventPayload {
    public static let eventType = "GoodsUpdated"
    public var title: String
    public var description: String
    public var category: String
    public var brand: String
    public var tags: [String]
    public var lowStockThreshold: Int
    public var at: Instant

    public init(title: String, description: String, category: String, brand: String, tags: [String], lowStockThreshold: Int, at: Instant) {
        self.title = title
        self.description = description
        self.category = category
        self.brand = brand
        self.tags = tags
        self.lowStockThreshold = lowStockThreshold
        self.at = at
    }
}
public struct PriceChanged: EventPayload { public static let eventType = "PriceChanged"; public var from: Money; public var to: Money; public var at: Instant
    public init(from: Money, to: Money, at: Instant) { self.from = from; self.to = to; self.at = at }
}
public struct StockAdded: EventPayload { public static let eventType = "StockAdded"; public var quantity: Int; public var at: Instant
    public init(quantity: Int, at: Instant) { self.quantity = quantity; self.at = at }
}
public struct StockAdjusted: EventPayload { public static let eventType = "StockAdjusted"; public var delta: Int; public var reason: String; public var at: Instant
    public init(delta: Int, reason: String, at: Instant) { self.delta = delta; self.reason = reason; self.at = at }
}
public struct StockReserved: EventPayload { public static let eventType = "StockReserved"; public var orderId: OrderId; public var quantity: Int; public var at: Instant
    public init(orderId: OrderId, quantity: Int, at: Instant) { self.orderId = orderId; self.quantity = quantity; self.at = at }
}
public struct StockReleased: EventPayload { public static let eventType = "StockReleased"; public var orderId: OrderId; public var quantity: Int; public var at: Instant
    public init(orderId: OrderId, quantity: Int, at: Instant) { self.orderId = orderId; self.quantity = quantity; self.at = at }
}
public struct StockShipped: EventPayload { public static let eventType = "StockShipped"; public var orderId: OrderId; public var quantity: Int; public var at: Instant
    public init(orderId: OrderId, quantity: Int, at: Instant) { self.orderId = orderId; self.quantity = quantity; self.at = at }
}
public struct LowStockDetected: EventPayload { public static let eventType = "LowStockDetected"; public var available: Int; public var threshold: Int; public var at: Instant
    public init(available: Int, threshold: Int, at: Instant) { self.available = available; self.threshold = threshold; self.at = at }
}
public struct GoodsDelisted: EventPayload { public static let eventType = "GoodsDelisted"; public var at: Instant
    public init(at: Instant) { self.at = at }
}
public struct GoodsRelisted: EventPayload { public static let eventType = "GoodsRelisted"; public var at: Instant
    public init(at: Instant) { self.at = at }
}
public struct ReviewPosted: EventPayload {
    public static let eventType = "ReviewPosted"
    public var reviewId: ReviewId
    public var orderId: OrderId
    public var userId: UserId
    public var rating: Int
    public var text: String
    public var at: Instant

    public init(reviewId: ReviewId, orderId: OrderId, userId: UserId, rating: Int, text: String, at: Instant) {
        self.reviewId = reviewId
        self.orderId = orderId
        self.userId = userId
        self.rating = rating
        self.text = text
        self.at = at
    }
}

public enum GoodsEvent: Hashable, Sendable {
    case listed(GoodsListed)
    case updated(GoodsUpdated)
    case priceChanged(PriceChanged)
    case stockAdded(StockAdded)
    case stockAdjusted(StockAdjusted)
    case stockReserved(StockReserved)
    case stockReleased(StockReleased)
    case stockShipped(StockShipped)
    case lowStockDetected(LowStockDetected)
    case delisted(GoodsDelisted)
    case relisted(GoodsRelisted)
    case reviewPosted(ReviewPosted)
}

// MARK: Carts

public struct CartItemAdded: EventPayload { public static let eventType = "CartItemAdded"; public var goodsId: GoodsId; public var quantity: Int; public var at: Instant
    public init(goodsId: GoodsId, quantity: Int, at: Instant) { self.goodsId = goodsId; self.quantity = quantity; self.at = at }
}
public struct CartItemQuantityChanged: EventPayload { public static let eventType = "CartItemQuantityChanged"; public var goodsId: GoodsId; public var quantity: Int; public var at: Instant
    public init(goodsId: GoodsId, quantity: Int, at: Instant) { self.goodsId = goodsId; self.quantity = quantity; self.at = at }
}
public struct CartItemRemoved: EventPayload { public static let eventType = "CartItemRemoved"; public var goodsId: GoodsId; public var at: Instant
    public init(goodsId: GoodsId, at: Instant) { self.goodsId = goodsId; self.at = at }
}
public struct CartCouponApplied: EventPayload { public static let eventType = "CartCouponApplied"; public var couponId: CouponId; public var code: String; public var at: Instant
    public init(couponId: CouponId, code: String, at: Instant) { self.couponId = couponId; self.code = code; self.at = at }
}
public struct CartCouponRemoved: EventPayload { public static let eventType = "CartCouponRemoved"; public var at: Instant
    public init(at: Instant) { self.at = at }
}
public struct CartCleared: EventPayload { public static let eventType = "CartCleared"; public var at: Instant
    public init(at: Instant) { self.at = at }
}
public struct CartCheckedOut: EventPayload { public static let eventType = "CartCheckedOut"; public var orderId: OrderId; public var at: Instant
    public init(orderId: OrderId, at: Instant) { self.orderId = orderId; self.at = at }
}

public enum CartEvent: Hashable, Sendable {
    case itemAdded(CartItemAdded)
    case quantityChanged(CartItemQuantityChanged)
    case itemRemoved(CartItemRemoved)
    case couponApplied(CartCouponApplied)
    case couponRemoved(CartCouponRemoved)
    case cleared(CartCleared)
    case checkedOut(CartCheckedOut)
}

// MARK: Coupons

public enum CouponKind: String, Codable, Sendable, Hashable {
    /// `value` is a percentage, 1–100.
    case percent
    /// `value` is an amount in minor units.
    case fixed
}

public struct CouponCreated: EventPayload {
    public static let eventType = "CouponCreated"
    public var couponId: CouponId
    public var code: String
    public var kind: CouponKind
    public var value: Int64
    public var minimumSpend: Money
    public var validFrom: Instant
    public var validUntil: Instant
    public var totalLimit: Int
    public var perUserLimit: Int
    /// Only this user may redeem it (coupons bought with points), or anyone when nil.
    public var restrictedTo: UserId?
    public var createdBy: String
    public var at: Instant

    public init(couponId: CouponId, code: String, kind: CouponKind, value: Int64, minimumSpend: Money, validFrom: Instant, validUntil: Instant, totalLimit: Int, perUserLimit: Int, restrictedTo: UserId?, createdBy: String, at: Instant) {
        self.couponId = couponId
        self.code = code
        self.kind = kind
        self.value = value
        self.minimumSpend = minimumSpend
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.totalLimit = totalLimit
        self.perUserLimit = perUserLimit
        self.restrictedTo = restrictedTo
        self.createdBy = createdBy
        self.at = at
    }
}
public struct CouponCodeClaimed: EventPayload { public static let eventType = "CouponCodeClaimed"; public var code: String; public var couponId: CouponId
    public init(code: String, couponId: CouponId) { self.code = code; self.couponId = couponId }
}
public struct CouponRedeemed: EventPayload { public static let eventType = "CouponRedeemed"; public var orderId: OrderId; public var userId: UserId; public var at: Instant
    public init(orderId: OrderId, userId: UserId, at: Instant) { self.orderId = orderId; self.userId = userId; self.at = at }
}
public struct CouponReleased: EventPayload { public static let eventType = "CouponReleased"; public var orderId: OrderId; public var userId: UserId; public var at: Instant
    public init(orderId: OrderId, userId: UserId, at: Instant) { self.orderId = orderId; self.userId = userId; self.at = at }
}
public struct CouponDisabled: EventPayload { public static let eventType = "CouponDisabled"; public var at: Instant
    public init(at: Instant) { self.at = at }
}

public enum CouponEvent: Hashable, Sendable {
    case created(CouponCreated)
    case redeemed(CouponRedeemed)
    case released(CouponReleased)
    case disabled(CouponDisabled)
}

public enum CouponCodeEvent: Hashable, Sendable {
    case claimed(CouponCodeClaimed)
}

// MARK: Orders

public struct OrderLine: Codable, Hashable, Sendable {
    public var goodsId: GoodsId
    public var merchantId: UserId
    public var title: String
    public var unitPrice: Money
    public var quantity: Int
    public var lineTotal: Money

    public init(goodsId: GoodsId, merchantId: UserId, title: String, unitPrice: Money, quantity: Int, lineTotal: Money) {
        self.goodsId = goodsId
        self.merchantId = merchantId
        self.title = title
        self.unitPrice = unitPrice
        self.quantity = quantity
        self.lineTotal = lineTotal
    }
}

/// A block of the day's order numbers, taken by one engine to hand out: numbers stay unique without every order touching one stream.
public struct OrderNumbersReserved: EventPayload { public static let eventType = "OrderNumbersReserved"; public var day: String; public var first: Int; public var count: Int
    public init(day: String, first: Int, count: Int) { self.day = day; self.first = first; self.count = count }
}

public struct OrderPlaced: EventPayload {
    public static let eventType = "OrderPlaced"
    public var orderId: OrderId
    public var number: String
    public var userId: UserId
    public var lines: [OrderLine]
    public var subtotal: Money
    public var discount: Money
    public var couponId: CouponId?
    public var pointsUsed: Int64
    public var pointsValue: Money
    public var total: Money
    public var address: Address
    public var at: Instant
    public var expiresAt: Instant

    public init(orderId: OrderId, number: String, userId: UserId, lines: [OrderLine], subtotal: Money, discount: Money, couponId: CouponId?, pointsUsed: Int64, pointsValue: Money, total: Money, address: Address, at: Instant, expiresAt: Instant) {
        self.orderId = orderId
        self.number = number
        self.userId = userId
        self.lines = lines
        self.subtotal = subtotal
        self.discount = discount
        self.couponId = couponId
        self.pointsUsed = pointsUsed
        self.pointsValue = pointsValue
        self.total = total
        self.address = address
        self.at = at
        self.expiresAt = expiresAt
    }
}
public struct OrderPaid: EventPayload { public static let eventType = "OrderPaid"; public var paymentId: PaymentId; public var amount: Money; public var at: Instant
    public init(paymentId: PaymentId, amount: Money, at: Instant) { self.paymentId = paymentId; self.amount = amount; self.at = at }
}
public struct OrderShipped: EventPayload { public static let eventType = "OrderShipped"; public var carrier: String; public var trackingNumber: String; public var at: Instant
    public init(carrier: String, trackingNumber: String, at: Instant) { self.carrier = carrier; self.trackingNumber = trackingNumber; self.at = at }
}
public struct OrderReceived: EventPayload { public static let eventType = "OrderReceived"; public var at: Instant
    public init(at: Instant) { self.at = at }
}
public struct OrderCancelled: EventPayload { public static let eventType = "OrderCancelled"; public var reason: String; public var refundAmount: Money; public var at: Instant
    public init(reason: String, refundAmount: Money, at: Instant) { self.reason = reason; self.refundAmount = refundAmount; self.at = at }
}
public struct RefundRequested: EventPayload { public static let eventType = "RefundRequested"; public var reason: String; public var at: Instant
    public init(reason: String, at: Instant) { self.reason = reason; self.at = at }
}
public struct RefundApproved: EventPayload { public static let eventType = "RefundApproved"; public var at: Instant
    public init(at: Instant) { self.at = at }
}
public struct RefundRejected: EventPayload { public static let eventType = "RefundRejected"; public var reason: String; public var at: Instant
    public init(reason: String, at: Instant) { self.reason = reason; self.at = at }
}
public struct OrderRefunded: EventPayload { public static let eventType = "OrderRefunded"; public var amount: Money; public var at: Instant
    public init(amount: Money, at: Instant) { self.amount = amount; self.at = at }
}
public struct OrderExpired: EventPayload { public static let eventType = "OrderExpired"; public var at: Instant
    public init(at: Instant) { self.at = at }
}

public enum OrderEvent: Hashable, Sendable {
    case placed(OrderPlaced)
    case paid(OrderPaid)
    case shipped(OrderShipped)
    case received(OrderReceived)
    case cancelled(OrderCancelled)
    case refundRequested(RefundRequested)
    case refundApproved(RefundApproved)
    case refundRejected(RefundRejected)
    case refunded(OrderRefunded)
    case expired(OrderExpired)
}

public enum OrderNumberEvent: Hashable, Sendable {
    case reserved(OrderNumbersReserved)
}

// MARK: Payments

public struct PaymentInitiated: EventPayload {
    public static let eventType = "PaymentInitiated"
    public var paymentId: PaymentId
    public var orderId: OrderId
    public var provider: String
    public var amount: Money
    public var at: Instant

    public init(paymentId: PaymentId, orderId: OrderId, provider: String, amount: Money, at: Instant) {
        self.paymentId = paymentId
        self.orderId = orderId
        self.provider = provider
        self.amount = amount
        self.at = at
    }
}
public struct PaymentSucceeded: EventPayload { public static let eventType = "PaymentSucceeded"; public var providerTransactionId: String; public var amount: Money; public var at: Instant
    public init(providerTransactionId: String, amount: Money, at: Instant) { self.providerTransactionId = providerTransactionId; self.amount = amount; self.at = at }
}
public struct PaymentFailed: EventPayload { public static let eventType = "PaymentFailed"; public var providerTransactionId: String; public var reason: String; public var at: Instant
    public init(providerTransactionId: String, reason: String, at: Instant) { self.providerTransactionId = providerTransactionId; self.reason = reason; self.at = at }
}
public struct PaymentRefunded: EventPayload { public static let eventType = "PaymentRefunded"; public var amount: Money; public var reason: String; public var at: Instant
    public init(amount: Money, reason: String, at: Instant) { self.amount = amount; self.reason = reason; self.at = at }
}

public enum PaymentEvent: Hashable, Sendable {
    case initiated(PaymentInitiated)
    case succeeded(PaymentSucceeded)
    case failed(PaymentFailed)
    case refunded(PaymentRefunded)
}

// MARK: Points

public struct PointsEarned: EventPayload { public static let eventType = "PointsEarned"; public var orderId: OrderId; public var points: Int64; public var at: Instant
    public init(orderId: OrderId, points: Int64, at: Instant) { self.orderId = orderId; self.points = points; self.at = at }
}
public struct PointsRedeemed: EventPayload { public static let eventType = "PointsRedeemed"; public var orderId: OrderId?; public var points: Int64; public var reason: String; public var at: Instant
    public init(orderId: OrderId?, points: Int64, reason: String, at: Instant) { self.orderId = orderId; self.points = points; self.reason = reason; self.at = at }
}
public struct PointsRefunded: EventPayload { public static let eventType = "PointsRefunded"; public var orderId: OrderId; public var points: Int64; public var at: Instant
    public init(orderId: OrderId, points: Int64, at: Instant) { self.orderId = orderId; self.points = points; self.at = at }
}
public struct PointsRevoked: EventPayload { public static let eventType = "PointsRevoked"; public var orderId: OrderId; public var points: Int64; public var at: Instant
    public init(orderId: OrderId, points: Int64, at: Instant) { self.orderId = orderId; self.points = points; self.at = at }
}
public struct PointsExchanged: EventPayload { public static let eventType = "PointsExchanged"; public var points: Int64; public var couponId: CouponId; public var at: Instant
    public init(points: Int64, couponId: CouponId, at: Instant) { self.points = points; self.couponId = couponId; self.at = at }
}

public enum PointsEvent: Hashable, Sendable {
    case earned(PointsEarned)
    case redeemed(PointsRedeemed)
    case refunded(PointsRefunded)
    case revoked(PointsRevoked)
    case exchanged(PointsExchanged)
}

// MARK: API keys

/// An API key was issued. The log keeps the SHA-256 of its secret, never the secret.
public struct ApiKeyIssued: EventPayload {
    public static let eventType = "ApiKeyIssued"
    public var keyId: ApiKeyId
    public var ownerId: UserId
    public var name: String
    public var scopes: [Scope]
    public var expiresAt: Instant?
    public var secretDigest: SecretDigest
    public var issuedBy: String
    public var at: Instant

    public init(keyId: ApiKeyId, ownerId: UserId, name: String, scopes: [Scope], expiresAt: Instant?, secretDigest: SecretDigest, issuedBy: String, at: Instant) {
        self.keyId = keyId
        self.ownerId = ownerId
        self.name = name
        self.scopes = scopes
        self.expiresAt = expiresAt
        self.secretDigest = secretDigest
        self.issuedBy = issuedBy
        self.at = at
    }
}
public struct ApiKeyRevoked: EventPayload { public static let eventType = "ApiKeyRevoked"; public var reason: String; public var revokedBy: String; public var at: Instant
    public init(reason: String, revokedBy: String, at: Instant) { self.reason = reason; self.revokedBy = revokedBy; self.at = at }
}

public enum ApiKeyEvent: Hashable, Sendable {
    case issued(ApiKeyIssued)
    case revoked(ApiKeyRevoked)
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
}
