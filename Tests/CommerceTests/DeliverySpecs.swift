import Foundation
import Testing

@testable import Commerce

/// Delivery methods: a merchant defines them, the customer chooses one at checkout, and its fee is in the order.
@Suite struct DeliverySpecs {
    typealias Spec = DeciderSpec<DeliveryMethods>
    static let seller = UserId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000001") ?? UUID())
    static let rival = UserId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000002") ?? UUID())
    static let sf = DeliveryMethodId(UUID(uuidString: "0193a1f2-0000-7000-8000-0000000000d1") ?? UUID())
    static let now = Spec.now
    static let rule = DeliveryRule(
        flatFee: Money(minorUnits: 1_200), perKilogram: Money(minorUnits: 300), freeAbove: Money(minorUnits: 20_000),
        areas: [DeliveryArea(area: "浙江", fee: Money(minorUnits: 800)), DeliveryArea(area: "CN")])
    static var defined: (StreamId, DomainEvent) {
        (.delivery(seller), .delivery(.defined(DeliveryMethodDefined(methodId: sf, name: "顺丰 SF Express", rule: rule, at: now))))
    }

    static func address(region: String, country: String = "CN") -> Address {
        Address(recipient: "李雷", phone: "1", line1: "1 Road", city: "City", region: region, postalCode: "310000", country: country)
    }

    @Test func aMerchantDefinesAndRetiresItsOwnMethods() {
        Spec.given().when(
            .onMethods(merchant: nil, .define(Self.sf, name: "顺丰 SF Express", rule: Self.rule)), by: .user(Self.seller, .merchant)
        )
        .then(Self.defined)
        Spec.given(Self.defined).when(.onMethods(merchant: nil, .retire(Self.sf)), by: .user(Self.seller, .merchant))
            .then((.delivery(Self.seller), .delivery(.retired(DeliveryMethodRetired(methodId: Self.sf, at: Self.now)))))
        Spec.given(Self.defined).when(.onMethods(merchant: Self.seller, .retire(Self.sf)), by: .user(Self.rival, .merchant))
            .thenRejects(.notOwner)
        Spec.given().when(.onMethods(merchant: nil, .define(Self.sf, name: "Mine", rule: Self.rule)), by: .user(Self.rival, .customer))
            .thenRejects(.forbidden)
        Spec.given().when(.onMethods(merchant: nil, .retire(Self.sf)), by: .user(Self.seller, .merchant))
            .thenRejects(.deliveryMethodNotFound)
        let negative = DeliveryRule(flatFee: Money(minorUnits: -1))
        Spec.given().when(.onMethods(merchant: nil, .define(Self.sf, name: "Bad", rule: negative)), by: .user(Self.seller, .merchant))
            .thenRejects(.invalidInput)
        Spec.given(Self.defined).when(
            .onMethods(merchant: nil, .define(Self.sf, name: "顺丰 SF Express", rule: Self.rule)), by: .user(Self.seller, .merchant)
        ).thenRejects(.nothingChanged)
    }

    /// Flat, by the started kilogram, an area's own fee, free above an amount, and areas not served.
    @Test func theFeeFollowsTheRule() throws {
        let beijing = Self.address(region: "北京市")
        let hangzhou = Self.address(region: "浙江省")
        let small = Money(minorUnits: 5_000)
        #expect(try Self.rule.fee(grams: 0, subtotal: small, to: beijing) == Money(minorUnits: 1_200))
        #expect(try Self.rule.fee(grams: 1, subtotal: small, to: beijing) == Money(minorUnits: 1_500))
        #expect(try Self.rule.fee(grams: 2_001, subtotal: small, to: beijing) == Money(minorUnits: 2_100))
        #expect(try Self.rule.fee(grams: 1_000, subtotal: small, to: hangzhou) == Money(minorUnits: 1_100))
        #expect(try Self.rule.fee(grams: 5_000, subtotal: Money(minorUnits: 20_000), to: beijing) == .zero)
        #expect(try Self.rule.fee(grams: 0, subtotal: small, to: Self.address(region: "", country: "JP")) == nil)
        #expect(
            try DeliveryRule(flatFee: Money(minorUnits: 500)).fee(grams: 0, subtotal: small, to: Self.address(region: "", country: "JP"))
                == Money(minorUnits: 500))
    }

    func shopWithTea() throws -> (Shop, buyer: UserId, seller: UserId, tea: GoodsId, method: DeliveryMethodId) {
        let shop = Shop()
        let seller = try shop.merchant()
        let buyer = try shop.shopper()
        let tea: GoodsId = shop.id()
        try shop.goodsCommand(
            .listVariants(
                tea, GoodsDetails(title: "Tea 茶", category: "tea"), options: [],
                variants: [
                    NewVariant(
                        tea.defaultVariant, VariantTerms(sku: "", values: [], price: Money(minorUnits: 4_000), stock: 10, weightGrams: 600))
                ],
                attributes: []), on: tea, by: shop.customer(seller))
        let method: DeliveryMethodId = shop.id()
        try shop.run(
            DeliveryMethods.self, .onMethods(merchant: nil, .define(method, name: "EMS 邮政", rule: Self.rule)), by: shop.customer(seller))
        return (shop, buyer, seller, tea, method)
    }

    @Test func theChosenMethodsFeeIsSnapshottedAndCountedInTheTotal() throws {
        let (shop, buyer, seller, tea, method) = try shopWithTea()
        let (orderId, decision) = try shop.decidePlaceOrder(buyer: buyer, items: [CartLine(goodsId: tea, quantity: 2)], delivery: method)
        guard case .order(.placed(let placed)) = decision.events(for: .order(orderId)).first else { Issue.record("no OrderPlaced"); return }
        // 2 × 600 g is 2 started kilograms: 12.00 + 2 × 3.00.
        #expect(placed.delivery == DeliveryChoice(methodId: method, name: "EMS 邮政", fee: Money(minorUnits: 1_800)))
        #expect(placed.subtotal == Money(minorUnits: 8_000) && placed.total == Money(minorUnits: 9_800))
        shop.commit(decision)
        // The fee is paid and refunded with the order.
        try shop.orderCommand(.pay(shop.id(), amount: Money(minorUnits: 9_800)), orderId, by: .system)
        // Shipped as the method chosen, with its tracking number, unless the merchant names another carrier.
        let shipped = try shop.orderCommand(.ship(carrier: "", trackingNumber: "E1"), orderId, by: shop.customer(seller))
        #expect(shipped.allEvents.first == .order(.shipped(OrderShipped(carrier: "EMS 邮政", trackingNumber: "E1", at: shop.now))))
        try shop.orderCommand(.confirmReceipt, orderId, by: shop.customer(buyer))
        try shop.orderCommand(.requestRefund(reason: "broken"), orderId, by: shop.customer(buyer))
        let refund = try shop.orderCommand(.approveRefund, orderId, by: shop.customer(seller))
        #expect(refund.allEvents.contains(.order(.refunded(OrderRefunded(amount: Money(minorUnits: 9_800), at: shop.now)))))

        // A retired method is no longer chosen; one of another merchant's is not these goods'.
        try shop.run(DeliveryMethods.self, .onMethods(merchant: nil, .retire(method)), by: shop.customer(seller))
        expectRejection(.deliveryMethodNotFound, in: shop) {
            _ = try shop.decidePlaceOrder(buyer: buyer, items: [CartLine(goodsId: tea, quantity: 1)], delivery: method)
        }
        let other = try shop.merchant()
        let coffee = try shop.list(by: other, title: "Coffee", price: 3_000)
        let theirs: DeliveryMethodId = shop.id()
        try shop.run(
            DeliveryMethods.self, .onMethods(merchant: nil, .define(theirs, name: "Theirs", rule: DeliveryRule(flatFee: .zero))),
            by: shop.customer(other))
        expectRejection(.deliveryMethodNotFound, in: shop) {
            _ = try shop.decidePlaceOrder(
                buyer: buyer, items: [CartLine(goodsId: coffee, quantity: 1), CartLine(goodsId: tea, quantity: 1)], delivery: theirs)
        }
    }

    @Test func aMethodThatDoesNotServeTheAddressIsRefused() throws {
        let (shop, buyer, seller, tea, _) = try shopWithTea()
        let local: DeliveryMethodId = shop.id()
        let zhejiangOnly = DeliveryRule(flatFee: Money(minorUnits: 600), areas: [DeliveryArea(area: "浙江")])
        try shop.run(
            DeliveryMethods.self, .onMethods(merchant: nil, .define(local, name: "同城 Local", rule: zhejiangOnly)), by: shop.customer(seller)
        )
        expectRejection(.deliveryMethodDoesNotServeAddress, in: shop) {
            _ = try shop.decidePlaceOrder(buyer: buyer, items: [CartLine(goodsId: tea, quantity: 1)], delivery: local)
        }
        // Without a method there is no fee, as before delivery methods.
        let (_, decision) = try shop.decidePlaceOrder(buyer: buyer, items: [CartLine(goodsId: tea, quantity: 1)])
        guard case .order(.placed(let placed))? = decision.allEvents.first else { Issue.record("no OrderPlaced"); return }
        #expect(placed.delivery == nil && placed.total == Money(minorUnits: 4_000))
        // Without a method, shipping names its carrier.
        let orderId = shop.commit(decision).changes.compactMap { change -> OrderId? in
            if case .order(let id) = change.stream { return id }; return nil
        }.first
        try shop.orderCommand(.pay(shop.id(), amount: placed.total), try #require(orderId), by: .system)
        expectRejection(.invalidInput, in: shop) {
            try shop.orderCommand(.ship(carrier: "", trackingNumber: "E2"), try #require(orderId), by: shop.customer(seller))
        }
    }
}
