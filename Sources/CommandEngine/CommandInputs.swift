import Commerce
import Foundation

// The `data` of each command as clients send it. Money is integer minor units;
// times are milliseconds since the Unix epoch; ids are UUID strings.

struct Empty: Decodable, Sendable {}
struct UserRef: Decodable, Sendable { var userId: UserId? }
struct GoodsRef: Decodable, Sendable { var goodsId: GoodsId }
struct OrderRef: Decodable, Sendable { var orderId: OrderId }
struct CouponRef: Decodable, Sendable { var couponId: CouponId }

struct RegisterUserInput: Decodable, Sendable {
    var email: String
    var password: String
    var name: String
    var phone: String?
    var role: Role?
}

struct LoginInput: Decodable, Sendable {
    var email: String
    var password: String
}

struct ProfileInput: Decodable, Sendable {
    var userId: UserId?
    var name: String
    var phone: String?
}

struct ChangePasswordInput: Decodable, Sendable {
    var oldPassword: String
    var newPassword: String
}

struct AddressBody: Decodable, Sendable {
    var recipient: String
    var phone: String
    var line1: String
    var line2: String?
    var city: String
    var region: String?
    var postalCode: String
    var country: String

    var address: Address {
        Address(recipient: recipient, phone: phone, line1: line1, line2: line2 ?? "", city: city, region: region ?? "",
                postalCode: postalCode, country: country)
    }
}

struct AddAddressInput: Decodable, Sendable {
    var address: AddressBody
    var makeDefault: Bool?
}

struct AddressInput: Decodable, Sendable {
    var addressId: AddressId
    var address: AddressBody?
}

struct MerchantApplicationInput: Decodable, Sendable {
    var shopName: String
    var description: String?
}

struct TargetUserInput: Decodable, Sendable { var userId: UserId }

struct RejectApplicationInput: Decodable, Sendable {
    var userId: UserId
    var reason: String
}

struct IssueApiKeyInput: Decodable, Sendable {
    var name: String
    var scopes: [Scope]
    /// Milliseconds since the epoch; none: the key does not expire.
    var expiresAt: Int64?
    /// Whom the key acts for (an admin or a merchant); the caller by default.
    var ownerId: UserId?
}

struct RevokeApiKeyInput: Decodable, Sendable {
    var keyId: ApiKeyId
    var reason: String?
}

struct GrantRoleInput: Decodable, Sendable {
    var userId: UserId
    var role: Role
}

/// The goods fields shared by ListGoods and UpdateGoods (decoded from the same flat `data` object).
struct GoodsFields: Decodable, Sendable {
    var title: String
    var description: String?
    var category: String
    var brand: String?
    var tags: [String]?
    var lowStockThreshold: Int?

    var details: GoodsDetails {
        GoodsDetails(title: title, description: description ?? "", category: category, brand: brand ?? "", tags: tags ?? [],
                     lowStockThreshold: lowStockThreshold ?? 5)
    }
}

struct ListGoodsInput: Decodable, Sendable {
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
}

struct UpdateGoodsInput: Decodable, Sendable {
    var goodsId: GoodsId
    var fields: GoodsFields

    private enum CodingKeys: String, CodingKey { case goodsId }

    init(from decoder: any Decoder) throws {
        fields = try GoodsFields(from: decoder)
        goodsId = try decoder.container(keyedBy: CodingKeys.self).decode(GoodsId.self, forKey: .goodsId)
    }
}

struct ChangePriceInput: Decodable, Sendable {
    var goodsId: GoodsId
    var price: Int64
}

struct QuantityInput: Decodable, Sendable {
    var goodsId: GoodsId
    var quantity: Int
}

struct AdjustStockInput: Decodable, Sendable {
    var goodsId: GoodsId
    var delta: Int
    var reason: String
}

struct ReviewInput: Decodable, Sendable {
    var goodsId: GoodsId
    var orderId: OrderId
    var rating: Int
    var text: String?
}

struct CartLineInput: Decodable, Sendable {
    var goodsId: GoodsId
    var quantity: Int
}

struct CouponCodeInput: Decodable, Sendable { var code: String }

struct CreateCouponInput: Decodable, Sendable {
    var code: String
    var kind: CouponKind
    var value: Int64
    var minimumSpend: Int64?
    var validFrom: Int64?
    var validUntil: Int64
    var totalLimit: Int
    var perUserLimit: Int?
}

struct PlaceOrderInput: Decodable, Sendable {
    var addressId: AddressId?
    var pointsToUse: Int64?
    /// Buy now: these goods, not the cart's.
    var items: [CartLineInput]?
}

struct PayOrderInput: Decodable, Sendable {
    var orderId: OrderId
    var amount: Int64
}

struct ShipOrderInput: Decodable, Sendable {
    var orderId: OrderId
    var carrier: String
    var trackingNumber: String
}

struct OrderReasonInput: Decodable, Sendable {
    var orderId: OrderId
    var reason: String?
}

struct InitiatePaymentInput: Decodable, Sendable {
    var orderId: OrderId
    var provider: String?
}

struct RefundPaymentInput: Decodable, Sendable {
    var paymentId: PaymentId
    var reason: String?
}

struct RedeemPointsInput: Decodable, Sendable {
    var points: Int64
    var reason: String?
}

struct ExchangePointsInput: Decodable, Sendable {
    var points: Int64
    var code: String?
    var validDays: Int?
}
