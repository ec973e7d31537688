import Foundation
import Testing

@testable import Commerce

/// Variants (SKUs): listing with options, adding, changing and delisting variants, SKUs unique per merchant, and
/// carts, orders and stock per variant.
@Suite struct VariantSpecs {
    typealias Spec = DeciderSpec<Catalog>
    static let seller = UserId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000001") ?? UUID())
    static let tee = GoodsId(UUID(uuidString: "0193a1f2-0000-7000-8000-0000000000b1") ?? UUID())
    static let otherGoods = GoodsId(UUID(uuidString: "0193a1f2-0000-7000-8000-0000000000b2") ?? UUID())
    static let redL = VariantId(UUID(uuidString: "0193a1f2-0000-7000-8000-0000000000c1") ?? UUID())
    static let blueM = VariantId(UUID(uuidString: "0193a1f2-0000-7000-8000-0000000000c2") ?? UUID())
    static let merchant = Actor.user(seller, .merchant)
    static let now = Spec.now
    static let details = GoodsDetails(title: "T-shirt T恤", category: "clothing", tags: ["cotton"])
    static let options = ["颜色 Colour", "尺码 Size"]
    static let cotton = GoodsAttribute.choice("材质 Material", "纯棉 cotton", of: ["纯棉 cotton", "涤纶 polyester"])

    static func variant(_ id: VariantId, _ sku: String, _ values: [String], price: Int64 = 9_900, stock: Int = 10) -> NewVariant {
        NewVariant(id, VariantTerms(sku: sku, values: values, price: Money(minorUnits: price), stock: stock, lowStockThreshold: 2))
    }

    static var listing: GoodsCommand {
        .listVariants(
            tee, details, options: options,
            variants: [
                variant(tee.defaultVariant, "TEE-RED-M", ["红 red", "M"], price: 9_900, stock: 10),
                variant(redL, "TEE-RED-L", ["红 red", "L"], price: 10_900, stock: 5),
            ], attributes: [cotton])
    }

    /// The T-shirt as `listing` lists it (its events, as the spec's given).
    static var listed: [(StreamId, DomainEvent)] {
        guard
            case .success(let decision) = Result(catching: { () throws(Rejection) in
                try Catalog.decide(listing, actor: merchant, goods: GoodsState(), at: now)
            })
        else { return [] }
        return decision.changes.flatMap { change in change.events.map { (change.stream, $0) } }
    }

    static func given(_ extra: (StreamId, DomainEvent)...) -> Spec {
        var spec = Spec.given()
        for (stream, event) in listed + extra { spec = spec.and(stream, event) }
        return spec
    }

    static func goods(_ event: GoodsEvent) -> (StreamId, DomainEvent) { (.goods(tee), .goods(event)) }
    static func claim(_ sku: String, _ variant: VariantId, goods: GoodsId = tee) -> (StreamId, DomainEvent) {
        (
            .skuClaim(Variants.claimKey(merchant: seller, sku: sku)),
            .skuClaim(.claimed(SkuClaimed(merchantId: seller, sku: sku, goodsId: goods, variantId: variant)))
        )
    }

    @Test func aMerchantListsGoodsWithOptionsVariantsAndAttributes() {
        Spec.given().when(.goods(Self.tee, Self.listing), by: Self.merchant)
            .then(
                Self.goods(
                    .listed(
                        GoodsListed(
                            goodsId: Self.tee, merchantId: Self.seller, title: "T-shirt T恤", description: "", category: "clothing",
                            brand: "", tags: ["cotton"], price: Money(minorUnits: 9_900), stock: 10, lowStockThreshold: 2, at: Self.now))),
                Self.goods(
                    .optionsDefined(
                        GoodsOptionsDefined(
                            options: Self.options, values: ["红 red", "M"], sku: "TEE-RED-M", weightGrams: nil, at: Self.now))),
                Self.goods(
                    .variantAdded(
                        VariantAdded(
                            variantId: Self.redL, sku: "TEE-RED-L", values: ["红 red", "L"], price: Money(minorUnits: 10_900), stock: 5,
                            lowStockThreshold: 2, weightGrams: nil, at: Self.now))),
                Self.goods(.attributesSet(GoodsAttributesSet(attributes: [Self.cotton], at: Self.now))),
                Self.claim("TEE-RED-M", Self.tee.defaultVariant), Self.claim("TEE-RED-L", Self.redL))
    }

    @Test func theListedGoodsHasItsVariantsPricesAndStock() {
        let state = GoodsState(events: Self.listed.filter { $0.0 == .goods(Self.tee) }.map(\.1))
        #expect(state.variants.map(\.sku) == ["TEE-RED-M", "TEE-RED-L"])
        #expect(state.price == Money(minorUnits: 9_900) && state.highestPrice == Money(minorUnits: 10_900))
        #expect(state.available == 15 && state.onHand == 15)
        #expect(state.label(of: state.variants[1]) == "颜色 Colour: 红 red / 尺码 Size: L")
        #expect(state.attributes == [Self.cotton])
    }

    @Test func aSkuIsUniqueAmongTheMerchantsGoods() {
        // Twice in one listing.
        let twice = GoodsCommand.listVariants(
            Self.tee, Self.details, options: Self.options,
            variants: [Self.variant(Self.tee.defaultVariant, "TEE-1", ["红", "M"]), Self.variant(Self.redL, "tee-1", ["红", "L"])],
            attributes: [])
        Spec.given().when(.goods(Self.tee, twice), by: Self.merchant).thenRejects(.duplicateSku)
        // Held by another goods of the same merchant (compared without case).
        Self.given(Self.claim("TEE-BLUE-M", Self.redL, goods: Self.otherGoods))
            .when(.goods(Self.tee, .addVariant(Self.variant(Self.blueM, "tee-blue-m", ["蓝 blue", "M"]))), by: Self.merchant)
            .thenRejects(.duplicateSku)
        // Another variant of this goods.
        Self.given().when(.goods(Self.tee, .addVariant(Self.variant(Self.blueM, "TEE-RED-L", ["蓝 blue", "M"]))), by: Self.merchant)
            .thenRejects(.duplicateSku)
    }

    @Test func anOptionCombinationIsOneVariant() {
        Self.given().when(.goods(Self.tee, .addVariant(Self.variant(Self.blueM, "TEE-X", ["红 red", "L"]))), by: Self.merchant)
            .thenRejects(.optionCombinationExists)
        Self.given().when(.goods(Self.tee, .addVariant(Self.variant(Self.blueM, "TEE-X", ["红 red"]))), by: Self.merchant)
            .thenRejects(.invalidInput)
    }

    @Test func aMerchantAddsAVariantAndClaimsItsSku() {
        Self.given().when(
            .goods(Self.tee, .addVariant(Self.variant(Self.blueM, "TEE-BLUE-M", ["蓝 blue", "M"], stock: 1))), by: Self.merchant
        )
        .then(
            Self.goods(
                .variantAdded(
                    VariantAdded(
                        variantId: Self.blueM, sku: "TEE-BLUE-M", values: ["蓝 blue", "M"], price: Money(minorUnits: 9_900), stock: 1,
                        lowStockThreshold: 2, weightGrams: nil, at: Self.now))),
            Self.goods(.lowStockDetected(LowStockDetected(available: 1, threshold: 2, at: Self.now, variantId: Self.blueM))),
            Self.claim("TEE-BLUE-M", Self.blueM))
    }

    @Test func aPlainGoodsHasNoVariantsToAddUntilItHasOptions() {
        let plain = CatalogSpecs.listed
        Spec.given(plain).when(.goods(CatalogSpecs.tea, .addVariant(Self.variant(Self.blueM, "T-1", []))), by: Self.merchant)
            .thenRejects(.invalidInput)
        Spec.given(plain).when(.goods(CatalogSpecs.tea, .defineOptions(["规格 Size"], values: ["250g"], sku: "TEA-250")), by: Self.merchant)
            .then(
                (
                    .goods(CatalogSpecs.tea),
                    .goods(
                        .optionsDefined(
                            GoodsOptionsDefined(options: ["规格 Size"], values: ["250g"], sku: "TEA-250", weightGrams: nil, at: Self.now)))
                ),
                (
                    .skuClaim(Variants.claimKey(merchant: Self.seller, sku: "TEA-250")),
                    .skuClaim(
                        .claimed(
                            SkuClaimed(
                                merchantId: Self.seller, sku: "TEA-250", goodsId: CatalogSpecs.tea,
                                variantId: CatalogSpecs.tea.defaultVariant)))
                ))
        Self.given().when(.goods(Self.tee, .defineOptions(["x"], values: ["y"], sku: "")), by: Self.merchant).thenRejects(
            .optionsAlreadyDefined)
    }

    @Test func stockAndPriceNameTheirVariant() {
        Self.given().when(.goods(Self.tee, .restock(5)), by: Self.merchant).thenRejects(.variantRequired)
        Self.given().when(.goods(Self.tee, .restock(5, variant: Self.blueM)), by: Self.merchant).thenRejects(.variantNotFound)
        Self.given().when(.goods(Self.tee, .restock(5, variant: Self.redL)), by: Self.merchant)
            .then(Self.goods(.stockAdded(StockAdded(quantity: 5, at: Self.now, variantId: Self.redL))))
        // The default variant is named by no id in its events, so a plain goods' events read as they always did.
        Self.given().when(.goods(Self.tee, .changePrice(Money(minorUnits: 8_800), variant: Self.tee.defaultVariant)), by: Self.merchant)
            .then(Self.goods(.priceChanged(PriceChanged(from: Money(minorUnits: 9_900), to: Money(minorUnits: 8_800), at: Self.now))))
        Self.given().when(.goods(Self.tee, .adjustStock(delta: -4, reason: "damaged", variant: Self.redL)), by: Self.merchant)
            .then(
                Self.goods(.stockAdjusted(StockAdjusted(delta: -4, reason: "damaged", at: Self.now, variantId: Self.redL))),
                Self.goods(.lowStockDetected(LowStockDetected(available: 1, threshold: 2, at: Self.now, variantId: Self.redL))))
        Self.given().when(.goods(Self.tee, .adjustStock(delta: -6, reason: "lost", variant: Self.redL)), by: Self.merchant)
            .thenRejects(.insufficientStock)
    }

    @Test func aVariantIsUpdatedDelistedAndRelisted() {
        Self.given().when(.goods(Self.tee, .updateVariant(Self.redL, lowStockThreshold: 1, weightGrams: 200)), by: Self.merchant)
            .then(Self.goods(.variantUpdated(VariantUpdated(variantId: Self.redL, lowStockThreshold: 1, weightGrams: 200, at: Self.now))))
        Self.given().when(.goods(Self.tee, .delistVariant(Self.redL)), by: Self.merchant)
            .then(Self.goods(.variantDelisted(VariantDelisted(variantId: Self.redL, at: Self.now))))
        let delisted = Self.goods(.variantDelisted(VariantDelisted(variantId: Self.redL, at: Self.now)))
        Self.given(delisted).when(.goods(Self.tee, .delistVariant(Self.tee.defaultVariant)), by: Self.merchant).thenRejects(.invalidInput)
        Self.given(delisted).when(.goods(Self.tee, .delistVariant(Self.redL)), by: Self.merchant).thenRejects(.variantDelisted)
        Self.given(delisted).when(.goods(Self.tee, .relistVariant(Self.redL)), by: Self.merchant)
            .then(Self.goods(.variantRelisted(VariantRelisted(variantId: Self.redL, at: Self.now))))
        let state = GoodsState(events: (Self.listed.filter { $0.0 == .goods(Self.tee) } + [delisted]).map(\.1))
        #expect(state.available == 10 && state.price == Money(minorUnits: 9_900) && state.highestPrice == Money(minorUnits: 9_900))
    }

    @Test func attributesAreTypedAndBounded() {
        let attributes: [GoodsAttribute] = [.text("产地 Origin", "杭州 Hangzhou"), .number("Capacity 容量", "0.5", unit: "l")]
        Self.given().when(.goods(Self.tee, .setAttributes(attributes)), by: Self.merchant)
            .then(Self.goods(.attributesSet(GoodsAttributesSet(attributes: attributes, at: Self.now))))
        Self.given().when(.goods(Self.tee, .setAttributes([.number("Capacity", "lots", unit: "l")])), by: Self.merchant)
            .thenRejects(.invalidInput)
        Self.given().when(.goods(Self.tee, .setAttributes([.choice("Fit", "loose", of: ["slim", "regular"])])), by: Self.merchant)
            .thenRejects(.invalidInput)
        Self.given().when(.goods(Self.tee, .setAttributes([.text("A", "1"), .text("A", "2")])), by: Self.merchant)
            .thenRejects(.invalidInput)
        Self.given().when(.goods(Self.tee, .setAttributes([Self.cotton])), by: Self.merchant).thenRejects(.nothingChanged)
    }
}

/// Carts, orders and stock per variant, through the shop harness.
@Suite struct VariantOrderSpecs {
    /// A T-shirt in red M (3 on hand) and red L (1 on hand, low at 1), and a shopper.
    func tShirtShop() throws -> (Shop, buyer: UserId, seller: UserId, tee: GoodsId, large: VariantId) {
        let shop = Shop()
        let seller = try shop.merchant()
        let buyer = try shop.shopper()
        let tee: GoodsId = shop.id()
        let large: VariantId = shop.id()
        try shop.goodsCommand(
            .listVariants(
                tee, GoodsDetails(title: "T-shirt T恤", category: "clothing"), options: ["颜色", "尺码"],
                variants: [
                    NewVariant(
                        tee.defaultVariant, VariantTerms(sku: "R-M", values: ["红", "M"], price: Money(minorUnits: 9_900), stock: 3)),
                    NewVariant(
                        large,
                        VariantTerms(sku: "R-L", values: ["红", "L"], price: Money(minorUnits: 10_900), stock: 1, lowStockThreshold: 0)),
                ], attributes: []), on: tee, by: shop.customer(seller))
        return (shop, buyer, seller, tee, large)
    }

    @Test func aCartHoldsVariantsAsLinesOfTheirOwn() throws {
        let (shop, buyer, _, tee, large) = try tShirtShop()
        expectRejection(.variantRequired, in: shop) { try shop.cartCommand(.add(tee, quantity: 1), owner: buyer) }
        try shop.cartCommand(.add(tee, quantity: 1, variant: large), owner: buyer)
        try shop.cartCommand(.add(tee, quantity: 2, variant: tee.defaultVariant), owner: buyer)
        #expect(shop.cart(buyer).lines == [CartLine(goodsId: tee, quantity: 1, variantId: large), CartLine(goodsId: tee, quantity: 2)])
        try shop.cartCommand(.changeQuantity(tee, quantity: 3, variant: large), owner: buyer)
        #expect(shop.cart(buyer).quantity(of: tee, variant: large) == 3 && shop.cart(buyer).quantity(of: tee) == 2)
        try shop.cartCommand(.remove(tee, variant: tee.defaultVariant), owner: buyer)
        #expect(shop.cart(buyer).lines == [CartLine(goodsId: tee, quantity: 3, variantId: large)])
        try shop.goodsCommand(.delistVariant(large), on: tee, by: .system)
        expectRejection(.variantDelisted, in: shop) { try shop.cartCommand(.add(tee, quantity: 1, variant: large), owner: buyer) }
    }

    @Test func anOrderReservesShipsAndReleasesEachVariantsOwnStock() throws {
        let (shop, buyer, seller, tee, large) = try tShirtShop()
        try shop.cartCommand(.add(tee, quantity: 1, variant: large), owner: buyer)
        try shop.cartCommand(.add(tee, quantity: 2, variant: tee.defaultVariant), owner: buyer)
        let (orderId, decision) = try shop.decidePlaceOrder(buyer: buyer)
        #expect(
            eventTypes(decision) == [
                "order:OrderPlaced", "goods:StockReserved", "goods:LowStockDetected", "goods:StockReserved", "cart:CartCheckedOut",
            ])
        guard case .order(.placed(let placed)) = decision.events(for: .order(orderId)).first else { Issue.record("no OrderPlaced"); return }
        #expect(placed.lines.map(\.variantId) == [large, nil])
        #expect(placed.lines.map(\.variant) == ["颜色: 红 / 尺码: L", nil])
        #expect(placed.lines.map(\.unitPrice) == [Money(minorUnits: 10_900), Money(minorUnits: 9_900)])
        #expect(placed.subtotal == Money(minorUnits: 30_700))
        shop.commit(decision)
        #expect(shop.goods(tee).variant(large)?.reserved == 1 && shop.goods(tee).variant(nil)?.reserved == 2)
        #expect(shop.goods(tee).available == 1)
        try shop.orderCommand(.pay(shop.id(), amount: placed.total), orderId, by: .system)
        try shop.orderCommand(.ship(carrier: "SF", trackingNumber: "SF1"), orderId, by: shop.customer(seller))
        #expect(shop.goods(tee).variant(large)?.onHand == 0 && shop.goods(tee).variant(large)?.sold == 1)
        #expect(shop.goods(tee).variant(nil)?.onHand == 1 && shop.goods(tee).sold == 3)

        // Cancelling gives back each variant's own reservation.
        try shop.goodsCommand(.restock(2, variant: large), on: tee, by: .system)
        let second = try shop.decidePlaceOrder(buyer: buyer, items: [CartLine(goodsId: tee, quantity: 2, variantId: large)])
        shop.commit(second.1)
        #expect(shop.goods(tee).variant(large)?.reserved == 2)
        try shop.orderCommand(.cancel(reason: "size"), second.0, by: shop.customer(buyer))
        #expect(shop.goods(tee).variant(large)?.reserved == 0 && shop.goods(tee).variant(nil)?.reserved == 0)
    }

    @Test func aVariantOutOfStockIsRefusedWhileAnotherHasStock() throws {
        let (shop, buyer, _, tee, large) = try tShirtShop()
        expectRejection(.insufficientStock, in: shop) {
            _ = try shop.decidePlaceOrder(buyer: buyer, items: [CartLine(goodsId: tee, quantity: 2, variantId: large)])
        }
        expectRejection(.variantRequired, in: shop) {
            _ = try shop.decidePlaceOrder(buyer: buyer, items: [CartLine(goodsId: tee, quantity: 1)])
        }
        expectRejection(.invalidInput, in: shop) {
            _ = try shop.decidePlaceOrder(
                buyer: buyer,
                items: [CartLine(goodsId: tee, quantity: 1, variantId: large), CartLine(goodsId: tee, quantity: 1, variantId: large)])
        }
        let (_, decision) = try shop.decidePlaceOrder(
            buyer: buyer, items: [CartLine(goodsId: tee, quantity: 3, variantId: tee.defaultVariant)])
        #expect(eventTypes(decision).first == "order:OrderPlaced")
    }
}
