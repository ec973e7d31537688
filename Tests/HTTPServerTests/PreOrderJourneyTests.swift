import CommandEngine
import Commerce
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import HTTPServer

/// Pre-orders over HTTP: a merchant opens them on a phone with no stock; a customer's order queues for the stock and
/// cannot ship; the restock fills it and it ships; the cap holds.
@Suite struct PreOrderJourneyTests {
    @Test func aPreOrderQueuesForItsStockAndShipsWhenItArrives() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let merchant = try await client.user("launch@example.com", role: .merchant, engine: harness.engine)
            let admin = try await client.user("desk@example.com", role: .admin, engine: harness.engine)
            let fan = try await client.shopper("fan@example.com", engine: harness.engine)
            let late = try await client.shopper("late@example.com", engine: harness.engine)
            let goodsId = try #require(
                try await client.command(
                    "ListGoods", ["title": "Phone 16 手机", "category": "phones", "price": 599_900, "stock": 0], token: merchant
                ).result["goodsId"])
            let day: Int64 = 86_400_000
            let now = Int64(harness.engine.now.millisecondsSinceEpoch)
            let backwards = try await client.command(
                "OpenPreOrders", ["goodsId": goodsId, "cap": 3, "endsAt": now + 7 * day, "arrivesBy": now + day], token: merchant)
            #expect(backwards.status == .badRequest && backwards.errorCode == "invalid_input", "\(backwards.text)")
            let opened = try await client.command(
                "OpenPreOrders", ["goodsId": goodsId, "cap": 3, "endsAt": now + day, "arrivesBy": now + 7 * day], token: merchant)
            #expect(opened.status == .ok, "\(opened.text)")
            let page = try await client.call(.get, "/v1/goods/\(goodsId)?after=\(opened.lastPosition)").json
            let preOrder = ((page["variants"] as? [[String: Any]])?.first?["preOrder"] as? [String: Any]) ?? [:]
            #expect(preOrder["open"] as? Bool == true && preOrder["remaining"] as? Int == 3 && preOrder["waiting"] as? Int == 0, "\(page)")
            #expect(preOrder["arrivesBy"] as? Int == Int(now + 7 * day))

            let placed = try await client.command("PlaceOrder", ["items": [["goodsId": goodsId, "quantity": 2]]], token: fan)
            #expect(placed.status == .ok, "\(placed.text)")
            #expect((placed.json["events"] as? [[String: Any]] ?? []).contains { $0["type"] as? String == "PreOrderReserved" })
            let orderId = try #require(placed.result["orderId"])
            let total = try #require(Int(placed.result["total"] ?? ""))
            #expect(try await client.command("PayOrder", ["orderId": orderId, "amount": total], token: admin).status == .ok)
            let waiting = try await client.call(.get, "/v1/orders/\(orderId)", token: fan).json
            #expect(waiting["awaitingStock"] as? Bool == true && waiting["status"] as? String == "paid", "\(waiting)")
            let early = try await client.command(
                "ShipOrder", ["orderId": orderId, "carrier": "SF Express", "trackingNumber": "SF100"], token: merchant)
            #expect(early.status == .unprocessableContent && early.errorCode == "order_awaiting_stock", "\(early.text)")
            let full = try await client.command("PlaceOrder", ["items": [["goodsId": goodsId, "quantity": 2]]], token: late)
            #expect(
                full.status == .unprocessableContent && full.errorCode == "insufficient_stock", "one unit left to pre-order: \(full.text)")

            let restock = try await client.command("Restock", ["goodsId": goodsId, "quantity": 2], token: merchant)
            #expect((restock.json["events"] as? [[String: Any]] ?? []).map { $0["type"] as? String } == ["StockAdded", "PreOrderFilled"])
            let arrived = try await client.call(.get, "/v1/orders/\(orderId)", token: fan).json
            #expect(arrived["awaitingStock"] as? Bool == false, "\(arrived)")
            #expect(
                try await client.command(
                    "ShipOrder", ["orderId": orderId, "carrier": "SF Express", "trackingNumber": "SF100"], token: merchant
                ).status == .ok)
            let after = try await client.call(.get, "/v1/goods/\(goodsId)").json
            let variant = (after["variants"] as? [[String: Any]])?.first ?? [:]
            #expect(variant["available"] as? Int == 0 && (variant["preOrder"] as? [String: Any])?["remaining"] as? Int == 1, "\(after)")
        }
    }
}
