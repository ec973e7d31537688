import Commerce
import Foundation

/// Every command the engine takes, typed: what a caller sends, before the
/// engine adds what only it may (ids, salts, the time). The HTTP edge decodes
/// JSON into these (`CommandAPI`); in-process callers (order expiry, the demo
/// shop, tools, tests) build them directly.
public enum Command: Sendable, Hashable {
    // Users and access.
    case registerUser(email: String, password: String, name: String, phone: String = "", role: Role = .customer)
    case login(email: String, password: String)
    /// `userId` nil: the caller.
    case updateProfile(userId: UserId? = nil, name: String, phone: String = "")
    case changePassword(oldPassword: String, newPassword: String)
    case addAddress(Address, makeDefault: Bool = false)
    case updateAddress(AddressId, Address)
    case removeAddress(AddressId)
    case setDefaultAddress(AddressId)
    case addFavorite(GoodsId)
    case removeFavorite(GoodsId)
    case recordView(GoodsId)
    case grantRole(userId: UserId, role: Role)
    /// `userId` nil: the caller.
    case forgetUser(userId: UserId? = nil)
    case applyForMerchant(shopName: String, description: String = "")
    case approveMerchantApplication(userId: UserId)
    case rejectMerchantApplication(userId: UserId, reason: String)
    case issueApiKey(name: String, scopes: [Scope], expiresAt: Instant? = nil, ownerId: UserId? = nil)
    case revokeApiKey(ApiKeyId, reason: String = "")
    // Goods.
    case listGoods(GoodsDetails, price: Money, stock: Int)
    /// A goods with options and variants (the first is the default one), or a plain goods with a SKU, weight or attributes.
    case listGoodsWithVariants(GoodsDetails, options: [String], variants: [VariantTerms], attributes: [GoodsAttribute] = [])
    case updateGoods(GoodsId, GoodsDetails)
    /// nil variant: the default one (the only one of a plain goods).
    case changePrice(GoodsId, price: Money, variant: VariantId? = nil)
    case restock(GoodsId, quantity: Int, variant: VariantId? = nil)
    case adjustStock(GoodsId, delta: Int, reason: String, variant: VariantId? = nil)
    case defineOptions(GoodsId, options: [String], values: [String], sku: String = "")
    case addVariant(GoodsId, VariantTerms)
    case updateVariant(GoodsId, VariantId, lowStockThreshold: Int, weightGrams: Int?)
    case delistVariant(GoodsId, VariantId)
    case relistVariant(GoodsId, VariantId)
    case setAttributes(GoodsId, [GoodsAttribute])
    /// Pre-orders of a variant (nil: the goods' only one) against announced incoming stock: at most `cap` units, taken
    /// until `endsAt`, the stock to arrive by `arrivesBy` (else the queued orders are cancelled and refunded).
    case openPreOrders(GoodsId, variant: VariantId? = nil, cap: Int, endsAt: Instant, arrivesBy: Instant)
    /// The stock will not come: no more pre-orders, and the queued orders are cancelled and refunded.
    case cancelPreOrders(GoodsId, variant: VariantId? = nil, reason: String)
    // Webhooks (admins).
    /// An endpoint for the events of `eventTypes` (empty: all), from `from` (nil: what is appended from now on); the
    /// result carries its signing secret.
    case registerWebhook(url: String, eventTypes: [String] = [], from: UInt64? = nil)
    case disableWebhook(WebhookId, reason: String)
    case replayWebhookDeadLetters(WebhookId)
    case delist(GoodsId)
    case relist(GoodsId)
    case postReview(goodsId: GoodsId, orderId: OrderId, rating: Int, text: String = "")
    /// An admin or the goods' merchant: approve, reject or flag (a reason to reject or flag).
    case moderateReview(goodsId: GoodsId, reviewId: ReviewId, verdict: ReviewVerdict, reason: String = "")
    /// The goods' merchant (or an admin), once per review.
    case replyToReview(goodsId: GoodsId, reviewId: ReviewId, text: String)
    /// The author, while the review is pending or rejected; it awaits moderation again.
    case editReview(goodsId: GoodsId, reviewId: ReviewId, rating: Int, text: String = "")
    /// The caller waits for the variant (nil: the goods' only one) to be back in stock; only while it is out of stock.
    case joinWaitlist(GoodsId, variant: VariantId? = nil)
    case leaveWaitlist(GoodsId, variant: VariantId? = nil)
    // Carts and coupons.
    /// nil variant: the goods' only one (a goods with several variants must be told which).
    case addToCart(GoodsId, quantity: Int, variant: VariantId? = nil)
    case changeQuantity(GoodsId, quantity: Int, variant: VariantId? = nil)
    case removeFromCart(GoodsId, variant: VariantId? = nil)
    case applyCoupon(code: String)
    case removeCoupon
    case clearCart
    case createCoupon(CouponTerms)
    case disableCoupon(CouponId)
    /// An admin (shop-wide) or a merchant (their own goods): a promotion that needs no code (`Promotions.swift`).
    case createPromotion(PromotionTerms)
    case endPromotion(PromotionId, reason: String = "")
    // Orders and payments.
    /// `items` nil: the caller's cart; else "buy now" (the cart is neither read nor changed).
    case placeOrder(
        addressId: AddressId? = nil, pointsToUse: Int64 = 0, items: [CartLine]? = nil, deliveryMethodId: DeliveryMethodId? = nil)
    /// `methodId` nil: a new method; `merchantId` nil: the caller's own methods.
    case defineDeliveryMethod(methodId: DeliveryMethodId? = nil, name: String, rule: DeliveryRule, merchantId: UserId? = nil)
    case retireDeliveryMethod(DeliveryMethodId, merchantId: UserId? = nil)
    case payOrder(OrderId, amount: Money)
    case shipOrder(OrderId, carrier: String, trackingNumber: String)
    case confirmReceipt(OrderId)
    case cancelOrder(OrderId, reason: String = "cancelled")
    case requestRefund(OrderId, reason: String = "")
    case approveRefund(OrderId)
    case rejectRefund(OrderId, reason: String = "")
    case expireOrder(OrderId)
    // After-sale (returns and claims about received orders).
    /// The buyer asks about `lines` of a received order: a return (refunded when the goods come back) or a claim for a
    /// missing or wrong item (refunded, or replaced, without a return). The result carries the request's id.
    case requestAfterSale(OrderId, kind: AfterSaleKind, resolution: AfterSaleResolution = .refund, lines: [AfterSaleLine], reason: String)
    case approveAfterSale(AfterSaleId)
    case rejectAfterSale(AfterSaleId, reason: String)
    /// What came back of an approved return (undamaged units go back to stock); the received units are refunded.
    case receiveReturn(AfterSaleId, lines: [ReturnedLine])
    case shipReplacement(AfterSaleId, carrier: String, trackingNumber: String)
    /// An exchange whose goods came back refunded instead of replaced.
    case refundExchange(AfterSaleId)
    /// Pays the order, or (naming one of its after-sale requests) what that exchange owes.
    case initiatePayment(OrderId, provider: String = "sandbox", afterSaleId: AfterSaleId? = nil)
    case refundPayment(PaymentId, reason: String = "refund")
    // Points.
    case redeemPoints(Int64, reason: String = "redeemed")
    case exchangePoints(Int64, code: String? = nil, validDays: Int = 30)
}

/// The terms of a new coupon, as an admin gives them.
/// A promotion as a caller asks for it (the engine adds its id and the time).
public struct PromotionTerms: Sendable, Hashable {
    public var name: String
    public var rule: PromotionRule
    public var target: PromotionTarget
    public var budget: PromotionBudget
    /// nil: from now.
    public var validFrom: Instant?
    public var validUntil: Instant

    public init(
        name: String, rule: PromotionRule, target: PromotionTarget = PromotionTarget(), budget: PromotionBudget = PromotionBudget(),
        validFrom: Instant? = nil, validUntil: Instant
    ) {
        self.name = name
        self.rule = rule
        self.target = target
        self.budget = budget
        self.validFrom = validFrom
        self.validUntil = validUntil
    }
}

public struct CouponTerms: Sendable, Hashable {
    public var code: String
    public var kind: CouponKind
    /// A percentage (1–100) or an amount in minor units.
    public var value: Int64
    public var minimumSpend: Money
    /// nil: from now.
    public var validFrom: Instant?
    public var validUntil: Instant
    public var totalLimit: Int
    public var perUserLimit: Int

    public init(
        code: String, kind: CouponKind, value: Int64, minimumSpend: Money = .zero, validFrom: Instant? = nil, validUntil: Instant,
        totalLimit: Int, perUserLimit: Int = 1
    ) {
        self.code = code
        self.kind = kind
        self.value = value
        self.minimumSpend = minimumSpend
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.totalLimit = totalLimit
        self.perUserLimit = perUserLimit
    }
}

/// A command's name as clients send it (`{"type": "PlaceOrder"}`), and who may send it.
public enum CommandKind: String, CaseIterable, Sendable, Hashable {
    case registerUser = "RegisterUser", login = "Login", updateProfile = "UpdateProfile", changePassword = "ChangePassword"
    case addAddress = "AddAddress", updateAddress = "UpdateAddress", removeAddress = "RemoveAddress", setDefaultAddress =
        "SetDefaultAddress"
    case addFavorite = "AddFavorite", removeFavorite = "RemoveFavorite", recordView = "RecordView", grantRole = "GrantRole", forgetUser =
        "ForgetUser"
    case applyForMerchant = "ApplyForMerchant", approveMerchantApplication = "ApproveMerchantApplication"
    case rejectMerchantApplication = "RejectMerchantApplication", issueApiKey = "IssueApiKey", revokeApiKey = "RevokeApiKey"
    case listGoods = "ListGoods", updateGoods = "UpdateGoods", changePrice = "ChangePrice", restock = "Restock", adjustStock = "AdjustStock"
    case delist = "Delist", relist = "Relist", postReview = "PostReview"
    case moderateReview = "ModerateReview", replyToReview = "ReplyToReview", editReview = "EditReview"
    case joinWaitlist = "JoinWaitlist", leaveWaitlist = "LeaveWaitlist"
    case defineOptions = "DefineOptions", addVariant = "AddVariant", updateVariant = "UpdateVariant", delistVariant = "DelistVariant"
    case relistVariant = "RelistVariant", setGoodsAttributes = "SetGoodsAttributes"
    case openPreOrders = "OpenPreOrders", cancelPreOrders = "CancelPreOrders"
    case registerWebhook = "RegisterWebhook", disableWebhook = "DisableWebhook", replayWebhookDeadLetters = "ReplayWebhookDeadLetters"
    case defineDeliveryMethod = "DefineDeliveryMethod", retireDeliveryMethod = "RetireDeliveryMethod"
    case addToCart = "AddToCart", changeQuantity = "ChangeQuantity", removeFromCart = "RemoveFromCart", applyCoupon = "ApplyCoupon"
    case removeCoupon = "RemoveCoupon", clearCart = "ClearCart", createCoupon = "CreateCoupon", disableCoupon = "DisableCoupon"
    case createPromotion = "CreatePromotion", endPromotion = "EndPromotion"
    case placeOrder = "PlaceOrder", payOrder = "PayOrder", shipOrder = "ShipOrder", confirmReceipt = "ConfirmReceipt", cancelOrder =
        "CancelOrder"
    case requestRefund = "RequestRefund", approveRefund = "ApproveRefund", rejectRefund = "RejectRefund", expireOrder = "ExpireOrder"
    case requestAfterSale = "RequestAfterSale", approveAfterSale = "ApproveAfterSale", rejectAfterSale = "RejectAfterSale"
    case receiveReturn = "ReceiveReturn", shipReplacement = "ShipReplacement", refundExchange = "RefundExchange"
    case initiatePayment = "InitiatePayment", refundPayment = "RefundPayment", redeemPoints = "RedeemPoints", exchangePoints =
        "ExchangePoints"

    /// Who may send it, checked before anything is read.
    public var access: CommandAccess {
        switch self {
        case .registerUser, .login: return .anyone
        case .listGoods, .updateGoods, .changePrice, .restock, .adjustStock, .delist, .relist, .defineOptions, .addVariant, .updateVariant,
            .delistVariant, .relistVariant, .setGoodsAttributes, .openPreOrders, .cancelPreOrders, .defineDeliveryMethod,
            .retireDeliveryMethod, .moderateReview,
            .replyToReview, .createPromotion, .endPromotion:
            return .signedIn(scope: .goodsWrite)
        case .createCoupon, .disableCoupon: return .signedIn(scope: .couponsWrite)
        case .registerWebhook, .disableWebhook, .replayWebhookDeadLetters: return .signedIn(scope: .webhooksManage)
        case .shipOrder, .cancelOrder, .approveRefund, .rejectRefund, .refundPayment, .approveAfterSale, .rejectAfterSale, .receiveReturn,
            .shipReplacement, .refundExchange:
            return .signedIn(scope: .ordersWrite)
        case .updateProfile, .changePassword, .addAddress, .updateAddress, .removeAddress, .setDefaultAddress, .addFavorite,
            .removeFavorite,
            .recordView, .grantRole, .forgetUser, .applyForMerchant, .approveMerchantApplication, .rejectMerchantApplication, .issueApiKey,
            .revokeApiKey, .postReview, .editReview, .joinWaitlist, .leaveWaitlist, .addToCart, .changeQuantity, .removeFromCart,
            .applyCoupon, .removeCoupon, .clearCart,
            .placeOrder,
            .payOrder, .confirmReceipt, .requestRefund, .requestAfterSale, .expireOrder, .initiatePayment, .redeemPoints, .exchangePoints:
            return .signedIn(scope: nil)
        }
    }
}

extension Command {
    public var kind: CommandKind {
        switch self {
        case .registerUser: return .registerUser
        case .login: return .login
        case .updateProfile: return .updateProfile
        case .changePassword: return .changePassword
        case .addAddress: return .addAddress
        case .updateAddress: return .updateAddress
        case .removeAddress: return .removeAddress
        case .setDefaultAddress: return .setDefaultAddress
        case .addFavorite: return .addFavorite
        case .removeFavorite: return .removeFavorite
        case .recordView: return .recordView
        case .grantRole: return .grantRole
        case .forgetUser: return .forgetUser
        case .applyForMerchant: return .applyForMerchant
        case .approveMerchantApplication: return .approveMerchantApplication
        case .rejectMerchantApplication: return .rejectMerchantApplication
        case .issueApiKey: return .issueApiKey
        case .revokeApiKey: return .revokeApiKey
        case .listGoods, .listGoodsWithVariants: return .listGoods
        case .defineOptions: return .defineOptions
        case .addVariant: return .addVariant
        case .updateVariant: return .updateVariant
        case .delistVariant: return .delistVariant
        case .relistVariant: return .relistVariant
        case .setAttributes: return .setGoodsAttributes
        case .openPreOrders: return .openPreOrders
        case .cancelPreOrders: return .cancelPreOrders
        case .registerWebhook: return .registerWebhook
        case .disableWebhook: return .disableWebhook
        case .replayWebhookDeadLetters: return .replayWebhookDeadLetters
        case .updateGoods: return .updateGoods
        case .changePrice: return .changePrice
        case .restock: return .restock
        case .adjustStock: return .adjustStock
        case .delist: return .delist
        case .relist: return .relist
        case .postReview: return .postReview
        case .moderateReview: return .moderateReview
        case .replyToReview: return .replyToReview
        case .editReview: return .editReview
        case .joinWaitlist: return .joinWaitlist
        case .leaveWaitlist: return .leaveWaitlist
        case .addToCart: return .addToCart
        case .changeQuantity: return .changeQuantity
        case .removeFromCart: return .removeFromCart
        case .applyCoupon: return .applyCoupon
        case .removeCoupon: return .removeCoupon
        case .clearCart: return .clearCart
        case .createCoupon: return .createCoupon
        case .disableCoupon: return .disableCoupon
        case .createPromotion: return .createPromotion
        case .endPromotion: return .endPromotion
        case .placeOrder: return .placeOrder
        case .defineDeliveryMethod: return .defineDeliveryMethod
        case .retireDeliveryMethod: return .retireDeliveryMethod
        case .payOrder: return .payOrder
        case .shipOrder: return .shipOrder
        case .confirmReceipt: return .confirmReceipt
        case .cancelOrder: return .cancelOrder
        case .requestRefund: return .requestRefund
        case .approveRefund: return .approveRefund
        case .rejectRefund: return .rejectRefund
        case .expireOrder: return .expireOrder
        case .requestAfterSale: return .requestAfterSale
        case .approveAfterSale: return .approveAfterSale
        case .rejectAfterSale: return .rejectAfterSale
        case .receiveReturn: return .receiveReturn
        case .shipReplacement: return .shipReplacement
        case .refundExchange: return .refundExchange
        case .initiatePayment: return .initiatePayment
        case .refundPayment: return .refundPayment
        case .redeemPoints: return .redeemPoints
        case .exchangePoints: return .exchangePoints
        }
    }
}
