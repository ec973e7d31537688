import CommandEngine
import Commerce
import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import HTTPServer

/// Promotions over HTTP: a merchant runs 满减 on their teaware and the shop a one-use 买二送一; the cart shows both, the
/// order gets them with a coupon on top, the budget runs out for the next buyer, a bad promotion is refused with a
/// stable code and appends nothing, and the cart can be priced as of a moment before the promotions started.
@Suite struct PromotionJourneyTests {
    func list(_ reply: Reply) -> [[String: Any]] {
        (try? JSONSerialization.jsonObject(with: Data(reply.text.utf8))) as? [[String: Any]] ?? []
    }

    @Test func aCartGetsItsPromotionsAndTheBudgetRunsOut() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let merchant = try await client.user("kiln@example.com", role: .merchant, engine: harness.engine)
            let admin = try await client.user("desk@example.com", role: .admin, engine: harness.engine)
            let buyer = try await client.shopper("tea@example.com", engine: harness.engine)
            let next = try await client.shopper("late@example.com", engine: harness.engine)
            let pot = try #require(
                try await client.command(
                    "ListGoods", ["title": "紫砂壶 Yixing teapot", "category": "茶具", "price": 20_000, "stock": 20], token: merchant
                ).result["goodsId"])
            let cup = try #require(
                try await client.command("ListGoods", ["title": "品茗杯 cup", "category": "茶具", "price": 5_000, "stock": 20], token: merchant)
                    .result["goodsId"])
            let validUntil = Int64(Date().timeIntervalSince1970 * 1_000) + 86_400_000
            let coupon = try await client.command(
                "CreateCoupon", ["code": "TEA10", "kind": "fixed", "value": 1_000, "validUntil": validUntil, "totalLimit": 10], token: admin
            )
            #expect(coupon.status == .ok, "\(coupon.text)")
            // A moment after the coupon and before any promotion.
            try await Task.sleep(for: .milliseconds(5))
            let before = Int64(Date().timeIntervalSince1970 * 1_000)
            try await Task.sleep(for: .milliseconds(5))

            // Refused: a customer may not, a tier needs a threshold below the next, nothing is appended.
            let head = try harness.engine.log.head().position
            let forbidden = try await client.command(
                "CreatePromotion", ["name": "x", "kind": "percentOff", "percent": 10, "validUntil": validUntil], token: buyer)
            #expect(forbidden.status == .forbidden && forbidden.errorCode == "forbidden", "\(forbidden.text)")
            let badTiers = try await client.command(
                "CreatePromotion",
                [
                    "name": "满减", "kind": "spendAndSave", "validUntil": validUntil,
                    "tiers": [["threshold": 50_000, "amountOff": 5_000], ["threshold": 30_000, "amountOff": 3_000]],
                ], token: merchant)
            #expect(badTiers.status == .badRequest && badTiers.errorCode == "invalid_input", "\(badTiers.text)")
            #expect(try harness.engine.log.head().position == head)

            let spendAndSave = try await client.command(
                "CreatePromotion",
                [
                    "name": "每满300减30", "kind": "spendAndSave", "categories": ["茶具"], "validUntil": validUntil,
                    "tiers": [["threshold": 30_000, "amountOff": 3_000, "repeating": true]],
                ], token: merchant)
            let spendAndSaveId = try #require(spendAndSave.result["promotionId"], "\(spendAndSave.text)")
            let buyTwo = try await client.command(
                "CreatePromotion",
                ["name": "买二送一", "kind": "buyXGetY", "buy": 2, "get": 1, "goodsIds": [cup], "usesMax": 1, "validUntil": validUntil],
                token: admin)
            let buyTwoId = try #require(buyTwo.result["promotionId"], "\(buyTwo.text)")

            // ¥400 + 3 cups ¥150 = ¥550. Catalogue: none. Order promotions, the better of: 满减 ¥30 (¥550 holds ¥300 once) or
            // buy two cups get one (¥50): the cup. Then the coupon: ¥10. ¥550 − ¥50 − ¥10 = ¥490.
            for (goods, quantity) in [(pot, 2), (cup, 3)] {
                #expect(try await client.command("AddToCart", ["goodsId": goods, "quantity": quantity], token: buyer).status == .ok)
            }
            #expect(try await client.command("ApplyCoupon", ["code": "TEA10"], token: buyer).status == .ok)
            let cart = try await client.call(.get, "/v1/me/cart", token: buyer).json
            #expect(cart["discount"] as? Int == 6_000 && cart["total"] as? Int == 49_000, "\(cart)")
            let cartPromotions = try #require(cart["promotions"] as? [[String: Any]])
            #expect(cartPromotions.map { $0["name"] as? String } == ["买二送一"])
            #expect(cartPromotions.first?["lines"] as? [Int] == [0, 5_000])
            // Before the promotions started the same cart cost ¥540 (the coupon only).
            let then = try await client.call(.get, "/v1/me/cart?at=\(before)", token: buyer).json
            #expect(then["total"] as? Int == 54_000 && (then["promotions"] as? [Any])?.isEmpty == true, "\(then)")

            let pricedAt = harness.engine.headPosition
            let placed = try await client.command("PlaceOrder", [:], token: buyer)
            #expect(placed.result["total"] == "49000", "\(placed.text)")
            let orderId = try #require(placed.result["orderId"])
            let types = (placed.json["events"] as? [[String: Any]] ?? []).compactMap { $0["type"] as? String }
            #expect(types.contains("PromotionsApplied") && types.contains("PromotionApplied"), "\(types)")
            let order = try await client.call(.get, "/v1/orders/\(orderId)", token: buyer).json
            #expect((order["promotions"] as? [[String: Any]])?.first?["promotionId"] as? String == buyTwoId, "\(order)")

            // The cart as it stood before checkout, priced then, for admins only.
            let buyerId = try #require(try await client.call(.get, "/v1/me/profile", token: buyer).json["userId"] as? String)
            let history = try await client.call(.get, "/v1/history/carts/\(buyerId)?position=\(pricedAt)", token: admin).json
            #expect(history["total"] as? Int == 49_000 && history["subtotal"] as? Int == 55_000, "\(history)")
            #expect((history["promotions"] as? [[String: Any]])?.map { $0["name"] as? String } == ["买二送一"])
            #expect(try await client.call(.get, "/v1/history/carts/\(buyerId)", token: buyer).status == .forbidden)
            let checkedOut = try await client.call(.get, "/v1/history/carts/\(buyerId)", token: admin).json
            #expect(checkedOut["problem"] as? String != nil && checkedOut["total"] as? Int == 0, "an empty cart: \(checkedOut)")

            // The one use is gone: the next buyer of the same cart gets the 满减 instead.
            for (goods, quantity) in [(pot, 2), (cup, 3)] {
                _ = try await client.command("AddToCart", ["goodsId": goods, "quantity": quantity], token: next)
            }
            let late = try await client.command("PlaceOrder", [:], token: next)
            #expect(late.result["total"] == "52000", "\(late.text)")
            let promotion = try await client.call(.get, "/v1/promotions/\(buyTwoId)").json
            #expect(
                promotion["uses"] as? Int == 1 && promotion["spent"] as? Int == 5_000 && promotion["usesMax"] as? Int == 1, "\(promotion)")
            let running = try await list(client.call(.get, "/v1/promotions"))
            #expect(Set(running.compactMap { $0["promotionId"] as? String }) == [spendAndSaveId, buyTwoId])

            // Cancelling the first order gives the use back.
            #expect(try await client.command("CancelOrder", ["orderId": orderId, "reason": "买错了"], token: buyer).status == .ok)
            #expect(try await client.call(.get, "/v1/promotions/\(buyTwoId)").json["uses"] as? Int == 0)
            // Ended: no longer running, still listed with all=true.
            #expect(try await client.command("EndPromotion", ["promotionId": spendAndSaveId], token: merchant).status == .ok)
            #expect(try await list(client.call(.get, "/v1/promotions")).count == 1)
            #expect(try await list(client.call(.get, "/v1/promotions?all=true")).count == 2)
            #expect(try await client.call(.get, "/v1/promotions/\(UUID())").status == .notFound)
        }
    }
}
