import Foundation
import Testing

@testable import Commerce

/// Every named text limit counts characters and also bounds Unicode scalars
/// and UTF-8 bytes: "a" followed by ten thousand combining accents is one
/// character but 20 KB (the issue's example; a longer one here, to reach past the description's limit). One check per family of fields, through the decision
/// that reads them, so a field that skips `Limits.text` fails here.
@Suite struct TextLimitSpecs {
    /// One character, 20,001 scalars, 40,001 bytes: beyond even the longest limit's (description, 5,000 characters) 15,000 scalars.
    static let zalgo = "a" + String(repeating: "\u{0301}", count: 20_000)
    /// Within every limit of 20 characters or more: Chinese is one scalar and three bytes a character.
    static let chinese = String(repeating: "茶", count: 20)

    func expectRefused(_ field: String, _ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try body()
            Issue.record("\(field): 20 KB in one character was accepted", sourceLocation: sourceLocation)
        } catch let error as Rejection {
            #expect(error.code == .invalidInput && error.field == field, "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(field): \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func theLimitCountsBytesAndScalarsToo() throws {
        #expect(Self.zalgo.count == 1)
        #expect(throws: Rejection.self) { try Limits.text(Self.zalgo, "title", max: Limits.titleCharactersMax) }
        try Limits.text(String(repeating: "茶", count: Limits.titleCharactersMax), "title", max: Limits.titleCharactersMax)
        try Limits.text(String(repeating: "👍🏽", count: 100), "title", max: Limits.titleCharactersMax)  // two scalars, eight bytes each
        #expect(throws: Rejection.self) {
            try Limits.text(String(repeating: "茶", count: Limits.titleCharactersMax + 1), "title", max: Limits.titleCharactersMax)
        }
        #expect(!Limits.fits(Self.zalgo, characters: 100) && Limits.fits(Self.chinese, characters: 20))
    }

    @Test func userFields() throws {
        let shop = Shop()
        expectRefused("name") { try shop.register(email: "z@example.com", name: Self.zalgo) }
        expectRefused("email") { try shop.register(email: "z\(Self.zalgo)@example.com") }
        expectRefused("password") { try shop.register(email: "p@example.com", password: "1234567" + Self.zalgo) }
        let id = try shop.register(email: "ok@example.com", name: Self.chinese)
        expectRefused("phone") { try shop.userCommand(.updateProfile(name: "Li", phone: Self.zalgo), on: id, by: shop.customer(id)) }
        expectRefused("shopName") {
            try shop.userCommand(.applyForMerchant(shopName: Self.zalgo, description: ""), on: id, by: shop.customer(id))
        }
    }

    @Test func addressFields() throws {
        let shop = Shop()
        let id = try shop.register(email: "a@example.com")
        for field in ["recipient", "phone", "line1", "line2", "city", "region", "postalCode", "country"] {
            var address = sampleAddress
            switch field {
            case "recipient": address.recipient = Self.zalgo
            case "phone": address.phone = Self.zalgo
            case "line1": address.line1 = Self.zalgo
            case "line2": address.line2 = Self.zalgo
            case "city": address.city = Self.zalgo
            case "region": address.region = Self.zalgo
            case "postalCode": address.postalCode = Self.zalgo
            default: address.country = Self.zalgo
            }
            expectRefused("address.\(field)") {
                try shop.userCommand(.addAddress(shop.id(), address, makeDefault: false), on: id, by: shop.customer(id))
            }
        }
    }

    @Test func goodsAndReviewFields() throws {
        let shop = Shop()
        let merchant = try shop.merchant()
        expectRefused("title") { try shop.list(by: merchant, title: Self.zalgo) }
        expectRefused("category") { try shop.list(by: merchant, category: Self.zalgo) }
        let goodsId = try shop.list(by: merchant, title: Self.chinese)
        for (field, details) in [
            ("description", GoodsDetails(title: "t", description: Self.zalgo, category: "c")),
            ("brand", GoodsDetails(title: "t", category: "c", brand: Self.zalgo)),
            ("tags", GoodsDetails(title: "t", category: "c", tags: [Self.zalgo])),
        ] {
            expectRefused(field) { try shop.goodsCommand(.update(details), on: goodsId, by: shop.customer(merchant)) }
        }
        expectRefused("reason") {
            try shop.goodsCommand(.adjustStock(delta: 1, reason: Self.zalgo), on: goodsId, by: shop.customer(merchant))
        }
        let buyer = try shop.shopper()
        let order = try shop.receivedOrder(buyer: buyer, merchant: merchant, goodsId: goodsId)
        expectRefused("text") {
            _ = try Catalog.review(
                PostReview(reviewId: shop.id(), goodsId: goodsId, orderId: order, rating: 5, text: Self.zalgo, at: shop.now),
                actor: shop.customer(buyer), goods: shop.goods(goodsId), order: shop.order(order), policy: shop.policy)
        }
    }

    @Test func orderCouponAndKeyFields() throws {
        let shop = Shop()
        let merchant = try shop.merchant()
        let goodsId = try shop.list(by: merchant, stock: 5)
        let buyer = try shop.shopper()
        let paid = try shop.paidOrder(buyer: buyer, goodsId: goodsId)
        expectRefused("carrier") {
            try shop.orderCommand(.ship(carrier: Self.zalgo, trackingNumber: "SF1"), paid, by: shop.customer(merchant))
        }
        expectRefused("trackingNumber") {
            try shop.orderCommand(.ship(carrier: "SF", trackingNumber: Self.zalgo), paid, by: shop.customer(merchant))
        }
        expectRefused("reason") { try shop.orderCommand(.cancel(reason: Self.zalgo), paid, by: shop.customer(buyer)) }
        expectRefused("code") { try shop.createCoupon(code: Self.zalgo) }
        let admin = try shop.register(email: "admin@example.com", role: .admin)
        let keyId: ApiKeyId = shop.id()
        expectRefused("name") {
            _ = try ApiKeys.issue(
                IssueApiKey(
                    keyId: keyId, ownerId: admin, name: Self.zalgo, scopes: [.eventsRead], expiresAt: nil,
                    secretDigest: SecretDigest(hex: "00"), at: shop.now),
                actor: shop.customer(admin), key: ApiKeyState(), owner: shop.user(admin))
        }
    }
}
