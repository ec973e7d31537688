import Foundation
import Testing

@testable import Commerce

/// Goods: listing, editing, price, stock and listing status, one rule per spec.
@Suite struct CatalogSpecs {
    typealias Spec = DeciderSpec<Catalog>
    static let seller = UserId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000001") ?? UUID())
    static let rival = UserId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000002") ?? UUID())
    static let buyer = UserId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000003") ?? UUID())
    static let tea = GoodsId(UUID(uuidString: "0193a1f2-0000-7000-8000-0000000000a1") ?? UUID())
    static let merchant = Actor.user(seller, .merchant)
    static let now = Spec.now
    static let details = GoodsDetails(title: "Oolong 乌龙茶", category: "tea", tags: ["oolong"], lowStockThreshold: 3)

    /// Tea listed by the seller: 10 on hand at 10.00, low stock at 2 or fewer.
    static var listed: (StreamId, DomainEvent) {
        (
            .goods(tea),
            .goods(
                .listed(
                    GoodsListed(
                        goodsId: tea, merchantId: seller, title: "Green tea 绿茶", description: "", category: "tea", brand: "",
                        tags: [], price: Money(minorUnits: 1_000), stock: 10, lowStockThreshold: 2, at: now)))
        )
    }

    static func goods(_ event: GoodsEvent) -> (StreamId, DomainEvent) { (.goods(tea), .goods(event)) }

    @Test func aMerchantListsNewGoods() {
        Spec.given().when(.goods(Self.tea, .list(Self.tea, Self.details, price: Money(minorUnits: 1_500), stock: 4)), by: Self.merchant)
            .then(
                Self.goods(
                    .listed(
                        GoodsListed(
                            goodsId: Self.tea, merchantId: Self.seller, title: "Oolong 乌龙茶", description: "", category: "tea",
                            brand: "", tags: ["oolong"], price: Money(minorUnits: 1_500), stock: 4, lowStockThreshold: 3,
                            at: Self.now))))
    }

    @Test func aCustomerListsNothing() {
        Spec.given().when(.goods(Self.tea, .list(Self.tea, Self.details, price: .zero, stock: 1)), by: .user(Self.buyer, .customer))
            .thenRejects(.forbidden)
    }

    @Test func goodsAreListedOnce() {
        Spec.given(Self.listed).when(.goods(Self.tea, .list(Self.tea, Self.details, price: .zero, stock: 1)), by: Self.merchant)
            .thenRejects(.goodsAlreadyExists)
    }

    @Test func stockAndPriceCannotBeNegative() {
        Spec.given().when(.goods(Self.tea, .list(Self.tea, Self.details, price: .zero, stock: -1)), by: Self.merchant).thenRejects(
            .stockOutOfRange)
        Spec.given().when(.goods(Self.tea, .list(Self.tea, Self.details, price: Money(minorUnits: -5), stock: 1)), by: Self.merchant)
            .thenRejects(.invalidInput)
    }

    @Test func titlesAreBounded() {
        let long = GoodsDetails(title: String(repeating: "长", count: 201), category: "tea")
        Spec.given().when(.goods(Self.tea, .list(Self.tea, long, price: .zero, stock: 1)), by: Self.merchant).thenRejects(.invalidInput)
    }

    @Test func theSellerAndAnAdminEditButNotARival() {
        let updated = Self.goods(
            .updated(
                GoodsUpdated(
                    title: "Oolong 乌龙茶", description: "", category: "tea", brand: "", tags: ["oolong"],
                    lowStockThreshold: 3, at: Self.now)))
        Spec.given(Self.listed).when(.goods(Self.tea, .update(Self.details)), by: Self.merchant).then(updated)
        Spec.given(Self.listed).when(.goods(Self.tea, .update(Self.details)), by: .system).then(updated)
        Spec.given(Self.listed).when(.goods(Self.tea, .update(Self.details)), by: .user(Self.rival, .merchant)).thenRejects(.notOwner)
        Spec.given(Self.listed).when(.goods(Self.tea, .update(Self.details)), by: .user(Self.buyer, .customer)).thenRejects(.forbidden)
    }

    @Test func unknownGoodsAreNotFound() {
        Spec.given().when(.goods(Self.tea, .update(Self.details)), by: Self.merchant).thenRejects(.goodsNotFound)
    }

    @Test func aPriceChangeRecordsBothPricesAndAnEqualPriceChangesNothing() {
        Spec.given(Self.listed).when(.goods(Self.tea, .changePrice(Money(minorUnits: 1_200))), by: Self.merchant)
            .then(Self.goods(.priceChanged(PriceChanged(from: Money(minorUnits: 1_000), to: Money(minorUnits: 1_200), at: Self.now))))
        Spec.given(Self.listed).when(.goods(Self.tea, .changePrice(Money(minorUnits: 1_000))), by: Self.merchant).thenRejects(
            .nothingChanged)
    }

    @Test func restockingAddsAtLeastOne() {
        Spec.given(Self.listed).when(.goods(Self.tea, .restock(5)), by: Self.merchant).then(
            Self.goods(.stockAdded(StockAdded(quantity: 5, at: Self.now))))
        Spec.given(Self.listed).when(.goods(Self.tea, .restock(0)), by: Self.merchant).thenRejects(.stockOutOfRange)
    }

    @Test func anAdjustmentNeedsAReasonAndStock() {
        Spec.given(Self.listed).when(.goods(Self.tea, .adjustStock(delta: -11, reason: "count")), by: Self.merchant).thenRejects(
            .insufficientStock)
        Spec.given(Self.listed).when(.goods(Self.tea, .adjustStock(delta: 0, reason: "count")), by: Self.merchant).thenRejects(
            .nothingChanged)
        Spec.given(Self.listed).when(.goods(Self.tea, .adjustStock(delta: -1, reason: "")), by: Self.merchant).thenRejects(.invalidInput)
    }

    @Test func fallingToTheThresholdIsDetectedOnce() {
        Spec.given(Self.listed).when(.goods(Self.tea, .adjustStock(delta: -8, reason: "breakage")), by: Self.merchant)
            .then(
                Self.goods(.stockAdjusted(StockAdjusted(delta: -8, reason: "breakage", at: Self.now))),
                Self.goods(.lowStockDetected(LowStockDetected(available: 2, threshold: 2, at: Self.now))))
        Spec.given(Self.listed, Self.goods(.stockAdjusted(StockAdjusted(delta: -8, reason: "breakage", at: Self.now))))
            .when(.goods(Self.tea, .adjustStock(delta: -1, reason: "breakage")), by: Self.merchant)
            .then(Self.goods(.stockAdjusted(StockAdjusted(delta: -1, reason: "breakage", at: Self.now))))
    }

    @Test func delistingAndRelistingEachHappenOnceInTurn() {
        let delisted = Self.goods(.delisted(GoodsDelisted(at: Self.now)))
        Spec.given(Self.listed).when(.goods(Self.tea, .delist), by: Self.merchant).then(delisted)
        Spec.given(Self.listed, delisted).when(.goods(Self.tea, .delist), by: Self.merchant).thenRejects(.goodsDelisted)
        Spec.given(Self.listed, delisted).when(.goods(Self.tea, .relist), by: Self.merchant).then(
            Self.goods(.relisted(GoodsRelisted(at: Self.now))))
        Spec.given(Self.listed).when(.goods(Self.tea, .relist), by: Self.merchant).thenRejects(.goodsNotDelisted)
    }
}

/// Carts: lines merge, are bounded and are changed only where they are.
@Suite struct CartDeciderSpecs {
    typealias Spec = DeciderSpec<Carts>
    static let buyer = CatalogSpecs.buyer
    static let me = Actor.user(buyer, .customer)
    static let tea = CatalogSpecs.tea
    static let now = Spec.now

    static func cart(_ event: CartEvent) -> (StreamId, DomainEvent) { (.cart(buyer), .cart(event)) }
    static var inCart: (StreamId, DomainEvent) { cart(.itemAdded(CartItemAdded(goodsId: tea, quantity: 2, at: now))) }

    @Test func addingListedGoodsAddsALine() {
        Spec.given(CatalogSpecs.listed).when(.add(Self.tea, quantity: 2), by: Self.me).then(Self.inCart)
    }

    @Test func quantitiesAreBounded() {
        for quantity in [0, -3, Limits.quantityPerLineMax + 1] {
            Spec.given(CatalogSpecs.listed).when(.add(Self.tea, quantity: quantity), by: Self.me).thenRejects(.quantityOutOfRange)
        }
    }

    @Test func addingGoodsAlreadyThereMergesWithinTheBound() {
        Spec.given(CatalogSpecs.listed, Self.inCart).when(.add(Self.tea, quantity: 3), by: Self.me)
            .then(Self.cart(.itemAdded(CartItemAdded(goodsId: Self.tea, quantity: 3, at: Self.now))))
        Spec.given(CatalogSpecs.listed, Self.inCart).when(.add(Self.tea, quantity: Limits.quantityPerLineMax - 1), by: Self.me)
            .thenRejects(.quantityOutOfRange)
    }

    @Test func onlyListedGoodsGoInACart() {
        Spec.given().when(.add(Self.tea, quantity: 1), by: Self.me).thenRejects(.goodsNotFound)
        Spec.given(CatalogSpecs.listed, CatalogSpecs.goods(.delisted(GoodsDelisted(at: Self.now))))
            .when(.add(Self.tea, quantity: 1), by: Self.me).thenRejects(.goodsDelisted)
    }

    @Test func aQuantityChangesOnlyToAnotherQuantityOfALineThere() {
        Spec.given(CatalogSpecs.listed, Self.inCart).when(.changeQuantity(Self.tea, quantity: 7), by: Self.me)
            .then(Self.cart(.quantityChanged(CartItemQuantityChanged(goodsId: Self.tea, quantity: 7, at: Self.now))))
        Spec.given(CatalogSpecs.listed, Self.inCart).when(.changeQuantity(Self.tea, quantity: 2), by: Self.me).thenRejects(.nothingChanged)
        Spec.given(CatalogSpecs.listed).when(.changeQuantity(Self.tea, quantity: 1), by: Self.me).thenRejects(.notInCart)
    }

    @Test func removingAndClearingNeedSomethingThere() {
        Spec.given(Self.inCart).when(.remove(Self.tea), by: Self.me).then(
            Self.cart(.itemRemoved(CartItemRemoved(goodsId: Self.tea, at: Self.now))))
        Spec.given().when(.remove(Self.tea), by: Self.me).thenRejects(.notInCart)
        Spec.given(Self.inCart).when(.clear, by: Self.me).then(Self.cart(.cleared(CartCleared(at: Self.now))))
        Spec.given().when(.clear, by: Self.me).thenRejects(.cartEmpty)
    }

    @Test func aFullCartTakesNoNewLine() {
        let lines = (0..<Limits.cartLinesMax).map { index in
            Self.cart(
                .itemAdded(
                    CartItemAdded(
                        goodsId: GoodsId(UUID(uuidString: String(format: "0193a1f2-0000-7000-8000-%012x", 0x100 + index)) ?? UUID()),
                        quantity: 1, at: Self.now)))
        }
        var spec = Spec.given(CatalogSpecs.listed)
        for (stream, event) in lines { spec = spec.and(stream, event) }
        spec.when(.add(Self.tea, quantity: 1), by: Self.me).thenRejects(.cartFull)
    }

    @Test func anUnknownCouponCodeIsNotFound() {
        Spec.given(Self.inCart).when(.applyCoupon(code: "nope"), by: Self.me).thenRejects(.couponNotFound)
    }
}
