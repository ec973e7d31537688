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
        case .listGoods: return try read(ListGoodsInput.self)
        case .updateGoods: return try read(UpdateGoodsInput.self)
        case .changePrice: return try read(ChangePriceInput.self)
        case .restock: return try read(RestockInput.self)
        case .adjustStock: return try read(AdjustStockInput.self)
        case .delist: return .delist(try GoodsRef(from: decoder).goodsId)
        case .relist: return .relist(try GoodsRef(from: decoder).goodsId)
        case .postReview: return try read(ReviewInput.self)
        case .addToCart: return try CartLineInput(from: decoder).adding
        case .changeQuantity: return try CartLineInput(from: decoder).changing
        case .removeFromCart: return .removeFromCart(try GoodsRef(from: decoder).goodsId)
        case .applyCoupon: return .applyCoupon(code: try CouponCodeInput(from: decoder).code)
        case .removeCoupon: return .removeCoupon
        case .clearCart: return .clearCart
        case .createCoupon: return try read(CreateCouponInput.self)
        case .disableCoupon: return .disableCoupon(try CouponRef(from: decoder).couponId)
        case .placeOrder: return try read(PlaceOrderInput.self)
        case .payOrder: return try read(PayOrderInput.self)
        case .shipOrder: return try read(ShipOrderInput.self)
        case .confirmReceipt: return .confirmReceipt(try OrderRef(from: decoder).orderId)
        case .cancelOrder: return try OrderReasonInput(from: decoder).cancelling
        case .requestRefund: return try OrderReasonInput(from: decoder).requestingRefund
        case .approveRefund: return .approveRefund(try OrderRef(from: decoder).orderId)
        case .rejectRefund: return try OrderReasonInput(from: decoder).rejectingRefund
        case .expireOrder: return .expireOrder(try OrderRef(from: decoder).orderId)
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

struct ListGoodsInput: CommandInput {
    var fields: GoodsFields
    var price: Int64
    var stock: Int

    private enum CodingKeys: String, CodingKey { case price, stock }

    init(from decoder: any Decoder) throws {
        fields = try GoodsFields(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        price = try container.decode(Int64.self, forKey: .price)
        stock = try container.decode(Int.self, forKey: .stock)
    }

    var command: Command { .listGoods(fields.details, price: Money(minorUnits: price), stock: stock) }
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
    var price: Int64
    var command: Command { .changePrice(goodsId, price: Money(minorUnits: price)) }
}

struct RestockInput: CommandInput {
    var goodsId: GoodsId
    var quantity: Int
    var command: Command { .restock(goodsId, quantity: quantity) }
}

struct AdjustStockInput: CommandInput {
    var goodsId: GoodsId
    var delta: Int
    var reason: String
    var command: Command { .adjustStock(goodsId, delta: delta, reason: reason) }
}

struct ReviewInput: CommandInput {
    var goodsId: GoodsId
    var orderId: OrderId
    var rating: Int
    var text: String?
    var command: Command { .postReview(goodsId: goodsId, orderId: orderId, rating: rating, text: text ?? "") }
}

struct CartLineInput: Decodable {
    var goodsId: GoodsId
    var quantity: Int
    var adding: Command { .addToCart(goodsId, quantity: quantity) }
    var changing: Command { .changeQuantity(goodsId, quantity: quantity) }
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

struct PlaceOrderInput: CommandInput {
    var addressId: AddressId?
    var pointsToUse: Int64?
    /// Buy now: these goods, not the cart's.
    var items: [CartLineInput]?
    var command: Command {
        .placeOrder(
            addressId: addressId, pointsToUse: pointsToUse ?? 0, items: items?.map { CartLine(goodsId: $0.goodsId, quantity: $0.quantity) })
    }
}

struct PayOrderInput: CommandInput {
    var orderId: OrderId
    var amount: Int64
    var command: Command { .payOrder(orderId, amount: Money(minorUnits: amount)) }
}

struct ShipOrderInput: CommandInput {
    var orderId: OrderId
    var carrier: String
    var trackingNumber: String
    var command: Command { .shipOrder(orderId, carrier: carrier, trackingNumber: trackingNumber) }
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
    var command: Command { .initiatePayment(orderId, provider: provider ?? "sandbox") }
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
