import CommandEngine
import Commerce
import Foundation

// The `data` of each command as clients send it, and the typed command it
// stands for. Money is integer minor units; times are milliseconds since the
// Unix epoch; ids are UUID strings. Absent optional fields take the defaults
// the typed commands name.

extension CommandEnvelope {
    /// Reads `data` as the input of `kind` and makes its typed command.
    static func command(_ kind: CommandKind, from decoder: any Decoder) throws -> Command {
        _ = try decoder.container(keyedBy: AnyKey.self)  // `data` is an object, even for commands without fields
        func read<Input: CommandInput>(_: Input.Type) throws -> Command { try Input(from: decoder).command }
        switch kind {
        case .registerUser: return try read(RegisterUserInput.self)
        case .login: return try read(LoginInput.self)
        case .updateProfile: return try read(ProfileInput.self)
        case .changePassword: return try read(ChangePasswordInput.self)
        case .addAddress: return try read(AddAddressInput.self)
        case .updateAddress: return try read(UpdateAddressInput.self)
        case .removeAddress: return try AddressRef(from: decoder).removing
        case .setDefaultAddress: return try AddressRef(from: decoder).makingDefault
        case .addFavorite: return .addFavorite(try GoodsRef(from: decoder).goodsId)
        case .removeFavorite: return .removeFavorite(try GoodsRef(from: decoder).goodsId)
        case .recordView: return .recordView(try GoodsRef(from: decoder).goodsId)
        case .grantRole: return try read(GrantRoleInput.self)
        case .forgetUser: return .forgetUser(userId: try UserRef(from: decoder).userId)
        case .applyForMerchant: return try read(MerchantApplicationInput.self)
        case .approveMerchantApplication: return .approveMerchantApplication(userId: try TargetUserInput(from: decoder).userId)
        case .rejectMerchantApplication: return try read(RejectApplicationInput.self)
        case .issueApiKey: return try read(IssueApiKeyInput.self)
        case .revokeApiKey: return try read(RevokeApiKeyInput.self)
        case .registerWebhook: return try read(RegisterWebhookInput.self)
        case .disableWebhook: return try read(DisableWebhookInput.self)
        case .replayWebhookDeadLetters: return try read(WebhookInput.self)
        case .listGoods: return try read(ListGoodsInput.self)
        case .updateGoods: return try read(UpdateGoodsInput.self)
        case .changePrice: return try read(ChangePriceInput.self)
        case .restock: return try read(RestockInput.self)
        case .adjustStock: return try read(AdjustStockInput.self)
        case .delist: return .delist(try GoodsRef(from: decoder).goodsId)
        case .relist: return .relist(try GoodsRef(from: decoder).goodsId)
        case .postReview: return try read(ReviewInput.self)
        case .moderateReview: return try read(ModerateReviewInput.self)
        case .replyToReview: return try read(ReplyToReviewInput.self)
        case .editReview: return try read(EditReviewInput.self)
        case .joinWaitlist: return try WaitlistInput(from: decoder).joining
        case .leaveWaitlist: return try WaitlistInput(from: decoder).leaving
        case .defineOptions: return try read(DefineOptionsInput.self)
        case .addVariant: return try read(AddVariantInput.self)
        case .updateVariant: return try read(UpdateVariantInput.self)
        case .delistVariant: return try VariantRef(from: decoder).delisting
        case .relistVariant: return try VariantRef(from: decoder).relisting
        case .setGoodsAttributes: return try read(SetAttributesInput.self)
        case .openPreOrders: return try read(OpenPreOrdersInput.self)
        case .cancelPreOrders: return try read(CancelPreOrdersInput.self)
        case .defineDeliveryMethod: return try read(DefineDeliveryMethodInput.self)
        case .retireDeliveryMethod: return try read(RetireDeliveryMethodInput.self)
        case .addToCart: return try CartLineInput(from: decoder).adding
        case .changeQuantity: return try CartLineInput(from: decoder).changing
        case .removeFromCart: return try GoodsVariantRef(from: decoder).removing
        case .applyCoupon: return .applyCoupon(code: try CouponCodeInput(from: decoder).code)
        case .removeCoupon: return .removeCoupon
        case .clearCart: return .clearCart
        case .createCoupon: return try read(CreateCouponInput.self)
        case .disableCoupon: return .disableCoupon(try CouponRef(from: decoder).couponId)
        case .createPromotion: return try read(CreatePromotionInput.self)
        case .endPromotion: return try read(EndPromotionInput.self)
        case .placeOrder: return try read(PlaceOrderInput.self)
        case .payOrder: return try read(PayOrderInput.self)
        case .shipOrder: return try read(ShipOrderInput.self)
        case .confirmReceipt: return .confirmReceipt(try OrderRef(from: decoder).orderId)
        case .cancelOrder: return try OrderReasonInput(from: decoder).cancelling
        case .requestRefund: return try OrderReasonInput(from: decoder).requestingRefund
        case .approveRefund: return .approveRefund(try OrderRef(from: decoder).orderId)
        case .rejectRefund: return try OrderReasonInput(from: decoder).rejectingRefund
        case .expireOrder: return .expireOrder(try OrderRef(from: decoder).orderId)
        case .requestAfterSale: return try read(RequestAfterSaleInput.self)
        case .approveAfterSale: return .approveAfterSale(try AfterSaleRef(from: decoder).afterSaleId)
        case .rejectAfterSale: return try read(RejectAfterSaleInput.self)
        case .receiveReturn: return try read(ReceiveReturnInput.self)
        case .shipReplacement: return try read(ShipReplacementInput.self)
        case .refundExchange: return .refundExchange(try AfterSaleRef(from: decoder).afterSaleId)
        case .initiatePayment: return try read(InitiatePaymentInput.self)
        case .refundPayment: return try read(RefundPaymentInput.self)
        case .redeemPoints: return try read(RedeemPointsInput.self)
        case .exchangePoints: return try read(ExchangePointsInput.self)
        }
    }
}

/// A command's `data`, decoded, and the typed command it makes.
protocol CommandInput: Decodable {
    var command: Command { get }
}

struct UserRef: Decodable { var userId: UserId? }
struct GoodsRef: Decodable { var goodsId: GoodsId }
struct OrderRef: Decodable { var orderId: OrderId }
struct CouponRef: Decodable { var couponId: CouponId }
struct CouponCodeInput: Decodable { var code: String }
struct TargetUserInput: Decodable { var userId: UserId }

struct RegisterUserInput: CommandInput {
    var email: String
    var password: String
    var name: String
    var phone: String?
    var role: Role?
    var command: Command { .registerUser(email: email, password: password, name: name, phone: phone ?? "", role: role ?? .customer) }
}

struct LoginInput: CommandInput {
    var email: String
    var password: String
    var command: Command { .login(email: email, password: password) }
}

struct ProfileInput: CommandInput {
    var userId: UserId?
    var name: String
    var phone: String?
    var command: Command { .updateProfile(userId: userId, name: name, phone: phone ?? "") }
}

struct ChangePasswordInput: CommandInput {
    var oldPassword: String
    var newPassword: String
    var command: Command { .changePassword(oldPassword: oldPassword, newPassword: newPassword) }
}

struct AddressBody: Decodable {
    var recipient: String
    var phone: String
    var line1: String
    var line2: String?
    var city: String
    var region: String?
    var postalCode: String
    var country: String

    var address: Address {
        Address(
            recipient: recipient, phone: phone, line1: line1, line2: line2 ?? "", city: city, region: region ?? "",
            postalCode: postalCode, country: country)
    }
}

struct AddAddressInput: CommandInput {
    var address: AddressBody
    var makeDefault: Bool?
    var command: Command { .addAddress(address.address, makeDefault: makeDefault ?? false) }
}

/// An address named by id; UpdateAddress also sends its new fields (an empty address, refused, when it sends none).
struct UpdateAddressInput: CommandInput {
    var addressId: AddressId
    var address: AddressBody?
    var command: Command {
        .updateAddress(addressId, address?.address ?? Address(recipient: "", phone: "", line1: "", city: "", postalCode: "", country: ""))
    }
}

struct AddressRef: Decodable {
    var addressId: AddressId
    var removing: Command { .removeAddress(addressId) }
    var makingDefault: Command { .setDefaultAddress(addressId) }
}

struct GrantRoleInput: CommandInput {
    var userId: UserId
    var role: Role
    var command: Command { .grantRole(userId: userId, role: role) }
}

struct MerchantApplicationInput: CommandInput {
    var shopName: String
    var description: String?
    var command: Command { .applyForMerchant(shopName: shopName, description: description ?? "") }
}

struct RejectApplicationInput: CommandInput {
    var userId: UserId
    var reason: String
    var command: Command { .rejectMerchantApplication(userId: userId, reason: reason) }
}

struct IssueApiKeyInput: CommandInput {
    var name: String
    var scopes: [Scope]
    /// Milliseconds since the epoch; none: the key does not expire.
    var expiresAt: Int64?
    /// Whom the key acts for (an admin or a merchant); the caller by default.
    var ownerId: UserId?
    var command: Command {
        .issueApiKey(name: name, scopes: scopes, expiresAt: expiresAt.map { Instant(millisecondsSinceEpoch: $0) }, ownerId: ownerId)
    }
}

struct RevokeApiKeyInput: CommandInput {
    var keyId: ApiKeyId
    var reason: String?
    var command: Command { .revokeApiKey(keyId, reason: reason ?? "") }
}

struct RegisterWebhookInput: CommandInput {
    /// An absolute http(s) URL the events are POSTed to.
    var url: String
    /// The event types to deliver (`OrderPaid`, `GoodsListed`…); absent or empty: every type.
    var eventTypes: [String]?
    /// Deliver from after this log position (to catch up on history); absent: what is appended from now on.
    var from: UInt64?
    var command: Command { .registerWebhook(url: url, eventTypes: eventTypes ?? [], from: from) }
}

struct DisableWebhookInput: CommandInput {
    var webhookId: WebhookId
    var reason: String
    var command: Command { .disableWebhook(webhookId, reason: reason) }
}

struct WebhookInput: CommandInput {
    var webhookId: WebhookId
    var command: Command { .replayWebhookDeadLetters(webhookId) }
}

/// The goods fields shared by ListGoods and UpdateGoods (decoded from the same flat `data` object).
struct GoodsFields: Decodable {
    var title: String
    var description: String?
    var category: String
    var brand: String?
    var tags: [String]?
    var lowStockThreshold: Int?

    var details: GoodsDetails {
        GoodsDetails(
            title: title, description: description ?? "", category: category, brand: brand ?? "", tags: tags ?? [],
            lowStockThreshold: lowStockThreshold ?? 5)
    }
}

/// ListGoods: a plain goods (`price`, `stock`, optionally `sku`, `weightGrams`, `attributes`), or one with `options`
/// and `variants` (the first is the default variant; `price` and `stock` are then each variant's own).
struct ListGoodsInput: CommandInput {
    var fields: GoodsFields
    var price: Int64?
    var stock: Int?
    var sku: String?
    var weightGrams: Int?
    var options: [String]?
    var variants: [VariantInput]?
    var attributes: [AttributeInput]?

    private enum CodingKeys: String, CodingKey { case price, stock, sku, weightGrams, options, variants, attributes }

    init(from decoder: any Decoder) throws {
        fields = try GoodsFields(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        price = try container.decodeIfPresent(Int64.self, forKey: .price)
        stock = try container.decodeIfPresent(Int.self, forKey: .stock)
        sku = try container.decodeIfPresent(String.self, forKey: .sku)
        weightGrams = try container.decodeIfPresent(Int.self, forKey: .weightGrams)
        options = try container.decodeIfPresent([String].self, forKey: .options)
        variants = try container.decodeIfPresent([VariantInput].self, forKey: .variants)
        attributes = try container.decodeIfPresent([AttributeInput].self, forKey: .attributes)
        if variants == nil, price == nil || stock == nil {
            throw DecodingError.keyNotFound(
                price == nil ? CodingKeys.price : CodingKeys.stock,
                .init(codingPath: [], debugDescription: "a goods without variants has a price and a stock"))
        }
    }

    var command: Command {
        let attributes = attributes?.map(\.attribute) ?? []
        if let variants {
            return .listGoodsWithVariants(fields.details, options: options ?? [], variants: variants.map(\.terms), attributes: attributes)
        }
        let price = Money(minorUnits: price ?? 0)
        guard options != nil || sku != nil || weightGrams != nil || !attributes.isEmpty else {
            return .listGoods(fields.details, price: price, stock: stock ?? 0)
        }
        // Options without variants are refused by the domain (values must match options).
        let only = VariantTerms(
            sku: sku ?? "", values: [], price: price, stock: stock ?? 0, lowStockThreshold: fields.details.lowStockThreshold,
            weightGrams: weightGrams)
        return .listGoodsWithVariants(fields.details, options: options ?? [], variants: [only], attributes: attributes)
    }
}

/// A variant as a merchant sends it.
struct VariantInput: Decodable {
    var sku: String?
    /// One value per option of the goods, in order.
    var values: [String]
    var price: Int64
    var stock: Int
    var lowStockThreshold: Int?
    var weightGrams: Int?

    var terms: VariantTerms {
        VariantTerms(
            sku: sku ?? "", values: values, price: Money(minorUnits: price), stock: stock, lowStockThreshold: lowStockThreshold ?? 5,
            weightGrams: weightGrams)
    }
}

/// A specification attribute: text, a number with its unit, or one of a list of choices.
struct AttributeInput: Decodable {
    var name: String
    var kind: GoodsAttribute.Kind
    var value: String
    var unit: String?
    var choices: [String]?

    var attribute: GoodsAttribute { GoodsAttribute(name: name, kind: kind, value: value, unit: unit ?? "", choices: choices ?? []) }
}

struct DefineOptionsInput: CommandInput {
    var goodsId: GoodsId
    var options: [String]
    var values: [String]
    var sku: String?
    var command: Command { .defineOptions(goodsId, options: options, values: values, sku: sku ?? "") }
}

struct AddVariantInput: CommandInput {
    var goodsId: GoodsId
    var variant: VariantInput
    var command: Command { .addVariant(goodsId, variant.terms) }
}

struct UpdateVariantInput: CommandInput {
    var goodsId: GoodsId
    var variantId: VariantId
    var lowStockThreshold: Int
    var weightGrams: Int?
    var command: Command { .updateVariant(goodsId, variantId, lowStockThreshold: lowStockThreshold, weightGrams: weightGrams) }
}

struct VariantRef: Decodable {
    var goodsId: GoodsId
    var variantId: VariantId
    var delisting: Command { .delistVariant(goodsId, variantId) }
    var relisting: Command { .relistVariant(goodsId, variantId) }
}

/// A goods and, when it has several, one of its variants.
struct GoodsVariantRef: Decodable {
    var goodsId: GoodsId
    var variantId: VariantId?
    var removing: Command { .removeFromCart(goodsId, variant: variantId) }
}

/// A delivery method: a flat fee, plus a fee per started kilogram, free from an order amount, serving the areas named
/// (each with its own flat fee when given) or everywhere.
struct DefineDeliveryMethodInput: CommandInput {
    struct Area: Decodable {
        var area: String
        var fee: Int64?
    }

    /// Given: redefines that method; absent: a new one.
    var methodId: DeliveryMethodId?
    /// An admin defining a merchant's method.
    var merchantId: UserId?
    var name: String
    var flatFee: Int64
    var perKilogram: Int64?
    var freeAbove: Int64?
    var areas: [Area]?

    var command: Command {
        .defineDeliveryMethod(
            methodId: methodId, name: name,
            rule: DeliveryRule(
                flatFee: Money(minorUnits: flatFee), perKilogram: Money(minorUnits: perKilogram ?? 0),
                freeAbove: freeAbove.map(Money.init(minorUnits:)),
                areas: areas?.map { DeliveryArea(area: $0.area, fee: $0.fee.map(Money.init(minorUnits:))) } ?? []),
            merchantId: merchantId)
    }
}

struct RetireDeliveryMethodInput: CommandInput {
    var methodId: DeliveryMethodId
    var merchantId: UserId?
    var command: Command { .retireDeliveryMethod(methodId, merchantId: merchantId) }
}

struct SetAttributesInput: CommandInput {
    var goodsId: GoodsId
    var attributes: [AttributeInput]
    var command: Command { .setAttributes(goodsId, attributes.map(\.attribute)) }
}

struct OpenPreOrdersInput: CommandInput {
    var goodsId: GoodsId
    /// Which variant, for a goods with several.
    var variantId: VariantId?
    /// At most this many units pre-ordered.
    var cap: Int
    /// Pre-orders are taken until then (milliseconds since the epoch).
    var endsAt: Int64
    /// The stock is to arrive by then (≥ endsAt); orders still waiting after it are cancelled and refunded.
    var arrivesBy: Int64
    var command: Command {
        .openPreOrders(
            goodsId, variant: variantId, cap: cap, endsAt: Instant(millisecondsSinceEpoch: endsAt),
            arrivesBy: Instant(millisecondsSinceEpoch: arrivesBy))
    }
}

struct CancelPreOrdersInput: CommandInput {
    var goodsId: GoodsId
    var variantId: VariantId?
    /// Told to every customer whose order is cancelled.
    var reason: String
    var command: Command { .cancelPreOrders(goodsId, variant: variantId, reason: reason) }
}

struct UpdateGoodsInput: CommandInput {
    var goodsId: GoodsId
    var fields: GoodsFields

    private enum CodingKeys: String, CodingKey { case goodsId }

    init(from decoder: any Decoder) throws {
        fields = try GoodsFields(from: decoder)
        goodsId = try decoder.container(keyedBy: CodingKeys.self).decode(GoodsId.self, forKey: .goodsId)
    }

    var command: Command { .updateGoods(goodsId, fields.details) }
}

struct ChangePriceInput: CommandInput {
    var goodsId: GoodsId
    var variantId: VariantId?
    var price: Int64
    var command: Command { .changePrice(goodsId, price: Money(minorUnits: price), variant: variantId) }
}

struct RestockInput: CommandInput {
    var goodsId: GoodsId
    var variantId: VariantId?
    var quantity: Int
    var command: Command { .restock(goodsId, quantity: quantity, variant: variantId) }
}

struct AdjustStockInput: CommandInput {
    var goodsId: GoodsId
    var variantId: VariantId?
    var delta: Int
    var reason: String
    var command: Command { .adjustStock(goodsId, delta: delta, reason: reason, variant: variantId) }
}

struct ReviewInput: CommandInput {
    var goodsId: GoodsId
    var orderId: OrderId
    var rating: Int
    var text: String?
    var command: Command { .postReview(goodsId: goodsId, orderId: orderId, rating: rating, text: text ?? "") }
}

struct ModerateReviewInput: CommandInput {
    var goodsId: GoodsId
    var reviewId: ReviewId
    var verdict: ReviewVerdict
    var reason: String?
    var command: Command { .moderateReview(goodsId: goodsId, reviewId: reviewId, verdict: verdict, reason: reason ?? "") }
}

struct ReplyToReviewInput: CommandInput {
    var goodsId: GoodsId
    var reviewId: ReviewId
    var text: String
    var command: Command { .replyToReview(goodsId: goodsId, reviewId: reviewId, text: text) }
}

struct EditReviewInput: CommandInput {
    var goodsId: GoodsId
    var reviewId: ReviewId
    var rating: Int
    var text: String?
    var command: Command { .editReview(goodsId: goodsId, reviewId: reviewId, rating: rating, text: text ?? "") }
}

struct WaitlistInput: Decodable {
    var goodsId: GoodsId
    /// Which variant, for a goods with several.
    var variantId: VariantId?
    var joining: Command { .joinWaitlist(goodsId, variant: variantId) }
    var leaving: Command { .leaveWaitlist(goodsId, variant: variantId) }
}

struct CartLineInput: Decodable {
    var goodsId: GoodsId
    /// Which variant, for a goods with several.
    var variantId: VariantId?
    var quantity: Int
    var adding: Command { .addToCart(goodsId, quantity: quantity, variant: variantId) }
    var changing: Command { .changeQuantity(goodsId, quantity: quantity, variant: variantId) }
    var line: CartLine { CartLine(goodsId: goodsId, quantity: quantity, variantId: variantId) }
}

struct CreateCouponInput: CommandInput {
    var code: String
    var kind: CouponKind
    var value: Int64
    var minimumSpend: Int64?
    var validFrom: Int64?
    var validUntil: Int64
    var totalLimit: Int
    var perUserLimit: Int?
    var command: Command {
        .createCoupon(
            CouponTerms(
                code: code, kind: kind, value: value, minimumSpend: Money(minorUnits: minimumSpend ?? 0),
                validFrom: validFrom.map { Instant(millisecondsSinceEpoch: $0) },
                validUntil: Instant(millisecondsSinceEpoch: validUntil), totalLimit: totalLimit, perUserLimit: perUserLimit ?? 1))
    }
}

struct CreatePromotionInput: CommandInput {
    var name: String
    /// `percentOff` and `amountOff` (catalogue: off each line or unit), `spendAndSave` (满减 tiers) or `buyXGetY` (order).
    var kind: PromotionKind
    /// percentOff's percentage.
    var percent: Int?
    /// amountOff's amount off each unit.
    var amountOff: Int64?
    /// spendAndSave's tiers, thresholds rising.
    var tiers: [PromotionTierInput]?
    /// buyXGetY's: of every buy + get units, the get cheapest are free.
    var buy: Int?
    var get: Int?
    /// What it covers (any of them; none: every goods, or every goods of the merchant who makes it).
    var goodsIds: [GoodsId]?
    var categories: [String]?
    var brands: [String]?
    /// The campaign's budget: the total discount it may give, the orders that may use it (absent: no limit).
    var discountMax: Int64?
    var usesMax: Int?
    var validFrom: Int64?
    var validUntil: Int64
    var command: Command {
        .createPromotion(
            PromotionTerms(
                name: name,
                rule: PromotionRule(
                    kind: kind, percent: percent ?? 0, amountOff: Money(minorUnits: amountOff ?? 0),
                    tiers: (tiers ?? []).map {
                        PromotionTier(
                            threshold: Money(minorUnits: $0.threshold), amountOff: Money(minorUnits: $0.amountOff ?? 0),
                            percent: $0.percent ?? 0, repeating: $0.repeating ?? false)
                    }, buy: buy ?? 0, get: get ?? 0),
                target: PromotionTarget(goodsIds: goodsIds ?? [], categories: categories ?? [], brands: brands ?? []),
                budget: PromotionBudget(discountMax: discountMax.map { Money(minorUnits: $0) }, usesMax: usesMax),
                validFrom: validFrom.map { Instant(millisecondsSinceEpoch: $0) }, validUntil: Instant(millisecondsSinceEpoch: validUntil)))
    }
}

struct PromotionTierInput: Decodable {
    /// From this subtotal of the covered lines on.
    var threshold: Int64
    /// A fixed amount off (for every threshold reached when repeating), or a percentage off: one of the two.
    var amountOff: Int64?
    var percent: Int?
    var repeating: Bool?
}

struct EndPromotionInput: CommandInput {
    var promotionId: PromotionId
    var reason: String?
    var command: Command { .endPromotion(promotionId, reason: reason ?? "") }
}

struct PlaceOrderInput: CommandInput {
    var addressId: AddressId?
    var pointsToUse: Int64?
    /// Buy now: these goods, not the cart's.
    var items: [CartLineInput]?
    /// One of the merchant's delivery methods; none: no delivery fee.
    var deliveryMethodId: DeliveryMethodId?
    var command: Command {
        .placeOrder(addressId: addressId, pointsToUse: pointsToUse ?? 0, items: items?.map(\.line), deliveryMethodId: deliveryMethodId)
    }
}

struct PayOrderInput: CommandInput {
    var orderId: OrderId
    var amount: Int64
    var command: Command { .payOrder(orderId, amount: Money(minorUnits: amount)) }
}

struct ShipOrderInput: CommandInput {
    var orderId: OrderId
    /// Absent: the delivery method the order was placed with.
    var carrier: String?
    var trackingNumber: String
    var command: Command { .shipOrder(orderId, carrier: carrier ?? "", trackingNumber: trackingNumber) }
}

struct RequestAfterSaleInput: CommandInput {
    var orderId: OrderId
    /// `return` (the goods come back) or `claim` (a missing or wrong item).
    var kind: AfterSaleKind
    /// A claim's: `refund` (default) or `replace`; a return is refunded, an exchange replaced.
    var resolution: AfterSaleResolution?
    var lines: [AfterSaleLineInput]
    var reason: String
    var command: Command {
        .requestAfterSale(
            orderId, kind: kind, resolution: resolution ?? (kind == .exchange ? .replace : .refund),
            lines: lines.map { AfterSaleLine(line: $0.line, quantity: $0.quantity, replacement: $0.replacementVariantId) }, reason: reason)
    }
}

struct AfterSaleLineInput: Decodable {
    /// The order's line (from 0).
    var line: Int
    var quantity: Int
    /// An exchange's: the variant of the same goods sent in their place (absent: the same one again).
    var replacementVariantId: VariantId?
}

struct AfterSaleRef: Decodable {
    var afterSaleId: AfterSaleId
}

struct RejectAfterSaleInput: CommandInput {
    var afterSaleId: AfterSaleId
    var reason: String
    var command: Command { .rejectAfterSale(afterSaleId, reason: reason) }
}

struct ReceiveReturnInput: CommandInput {
    var afterSaleId: AfterSaleId
    var lines: [ReturnedLineInput]
    var command: Command {
        .receiveReturn(afterSaleId, lines: lines.map { ReturnedLine(line: $0.line, received: $0.received, damaged: $0.damaged ?? 0) })
    }
}

struct ReturnedLineInput: Decodable {
    /// The order's line (from 0).
    var line: Int
    /// Units that came back.
    var received: Int
    /// Of those, damaged: not put back in stock (absent: none).
    var damaged: Int?
}

struct ShipReplacementInput: CommandInput {
    var afterSaleId: AfterSaleId
    var carrier: String
    var trackingNumber: String
    var command: Command { .shipReplacement(afterSaleId, carrier: carrier, trackingNumber: trackingNumber) }
}

struct OrderReasonInput: Decodable {
    var orderId: OrderId
    var reason: String?
    var cancelling: Command { .cancelOrder(orderId, reason: reason ?? "cancelled") }
    var requestingRefund: Command { .requestRefund(orderId, reason: reason ?? "") }
    var rejectingRefund: Command { .rejectRefund(orderId, reason: reason ?? "") }
}

struct InitiatePaymentInput: CommandInput {
    var orderId: OrderId
    var provider: String?
    /// One of the order's after-sale requests: pays what that exchange owes for dearer replacements instead of the order.
    var afterSaleId: AfterSaleId?
    var command: Command { .initiatePayment(orderId, provider: provider ?? "sandbox", afterSaleId: afterSaleId) }
}

struct RefundPaymentInput: CommandInput {
    var paymentId: PaymentId
    var reason: String?
    var command: Command { .refundPayment(paymentId, reason: reason ?? "refund") }
}

struct RedeemPointsInput: CommandInput {
    var points: Int64
    var reason: String?
    var command: Command { .redeemPoints(points, reason: reason ?? "redeemed") }
}

struct ExchangePointsInput: CommandInput {
    var points: Int64
    var code: String?
    var validDays: Int?
    var command: Command { .exchangePoints(points, code: code, validDays: validDays ?? 30) }
}

/// Any key: to ask a decoder whether it holds an object at all.
struct AnyKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
