import CommandEngine
import Commerce
import Foundation
import ShopTestSupport
import TestSupport
import Testing

@testable import EventStore
@testable import History

/// "What would this cart have cost at T": the same pure pricing as checkout, over the cart, prices, promotions and
/// budgets as the log held them then.
@Suite struct PriceAtTests {
    @Test func aCartIsPricedWithThePricesAndPromotionsOfThatMoment() async throws {
        let clock = ManualClock.startingNow()
        let shop = try TestShop(clock: clock)
        let merchant = try await shop.register("kiln@example.com", role: .merchant)
        let buyer = try await shop.shopper("tea@example.com")
        let rival = try await shop.shopper("quick@example.com")
        let goodsId = try await shop.listGoods(by: merchant, price: 10_000, stock: 10)
        try await shop.run(.addToCart(goodsId, quantity: 2), as: buyer)
        let replayer = Replayer(log: shop.log, cipher: shop.vault)
        func quote(_ mark: (UInt64, Instant)) throws -> Quote {
            try replayer.quote(cartOf: try #require(buyer.userId), through: mark.0, at: mark.1, policy: ShopPolicy())
        }
        func mark() -> (UInt64, Instant) {
            (shop.log.headPosition, Instant(millisecondsSinceEpoch: clock.now().nanosecondsSinceEpoch / 1_000_000))
        }
        let before = mark()

        clock.advance(seconds: 60)
        let created = try await shop.run(
            .createPromotion(
                PromotionTerms(
                    name: "开业八折", rule: .percentOff(20), budget: PromotionBudget(usesMax: 1),
                    validUntil: Instant(millisecondsSinceEpoch: before.1.millisecondsSinceEpoch + 86_400_000))), as: merchant)
        let promotionId = try #require(created.result.promotionId)
        clock.advance(seconds: 60)
        try await shop.run(.changePrice(goodsId, price: Money(minorUnits: 12_000)), as: merchant)
        let during = mark()
        clock.advance(seconds: 60)
        try await shop.run(.addToCart(goodsId, quantity: 1), as: rival)
        _ = try await shop.placeOrder(as: rival)
        let spent = mark()

        #expect(try quote(before).total == Money(minorUnits: 20_000))
        #expect(try quote(before).promotions.isEmpty)
        // ¥240 at the new price, 20% off while the campaign had its one use.
        #expect(try quote(during).total == Money(minorUnits: 19_200))
        #expect(try quote(during).promotions.map(\.promotionId) == [promotionId])
        // Once the rival's order took it, the same cart pays full price; the past answers as it was.
        #expect(try quote(spent).total == Money(minorUnits: 24_000))
        #expect(try quote(during).total == Money(minorUnits: 19_200))
        // The live cart agrees with the replay of the head.
        #expect(try shop.engine.cart(of: buyer).total == 24_000)
        #expect(try shop.engine.cart(of: buyer, at: during.1).total == 24_000, "the budget as it is now, at that moment's window")
    }
}
