import CommandEngine
import Commerce
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import HTTPServer

/// The shop, one order and the changes between two positions, as of positions of the log, over HTTP (the console's time
/// travel reads these).
@Suite struct TimeTravelTests {
    @Test func anOrderAsOfEachPositionWithTheEventThatLastChangedEachField() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let admin = try await client.user("root@example.com", role: .admin, engine: harness.engine)
            let merchant = try await client.user("shop@example.com", role: .merchant, engine: harness.engine)
            let buyer = try await client.shopper("buyer@example.com", engine: harness.engine)
            let goodsId = try #require(
                try await client.command("ListGoods", ["title": "Tea", "category": "tea", "price": 1_000, "stock": 5], token: merchant)
                    .result["goodsId"])
            _ = try await client.command("AddToCart", ["goodsId": goodsId, "quantity": 1], token: buyer)
            let placed = try await client.command("PlaceOrder", token: buyer)
            let orderId = try #require(placed.result["orderId"])
            let placedAt = try #require(Self.position(of: "OrderPlaced", in: placed))
            let paymentId = try #require(
                try await client.command("InitiatePayment", ["orderId": orderId], token: buyer).result["paymentId"])
            let paid = try await client.call(.post, "/v1/payments/sandbox/checkout/\(paymentId)", token: buyer)
            let paidAt = try #require(Self.position(of: "OrderPaid", in: paid))

            let before = try await client.call(.get, "/v1/history/shop?position=\(placedAt - 1)", token: admin)
            let after = try await client.call(.get, "/v1/history/shop?position=\(placedAt)", token: admin)
            #expect(before.status == .ok && (before.json["counts"] as? [String: Int])?["order"] == nil)
            #expect((after.json["counts"] as? [String: Int])?["order"] == 1 && after.json["position"] as? Int == Int(placedAt))
            #expect(after.json["head"] as? Int == Int(harness.engine.headPosition))

            let stream = "order-\(orderId)"
            let atPlacing = try await client.call(.get, "/v1/history/streams/\(stream)?position=\(placedAt)", token: admin)
            #expect(atPlacing.json["version"] as? Int == 1 && (atPlacing.json["state"] as? [String: Any])?["status"] as? String == "placed")
            let now = try await client.call(.get, "/v1/history/streams/\(stream)", token: admin)
            #expect((now.json["state"] as? [String: Any])?["status"] as? String == "paid")
            let lastChanged = try #require(now.json["lastChangedAt"] as? [String: Int])
            #expect(lastChanged["status"] == Int(paidAt) && lastChanged["placed"] == Int(placedAt))
            let steps = (now.json["events"] as? [[String: Any]])?.compactMap { $0["type"] as? String }
            #expect(steps == ["OrderPlaced", "OrderPaid"])

            let changes = try await client.call(.get, "/v1/history/changes?from=\(placedAt)&to=\(paidAt)", token: admin)
            let order = (changes.json["changes"] as? [[String: Any]])?.first { $0["stream"] as? String == stream }
            #expect(order?["kind"] as? String == "changed" && (order?["fields"] as? [String])?.contains("status") == true)

            // Refusals: beyond the head, not an aggregate, reversed range, and anyone but an admin.
            let head = harness.engine.headPosition
            #expect(try await client.call(.get, "/v1/history/shop?position=\(head + 1)", token: admin).errorCode == "invalid_query")
            #expect(try await client.call(.get, "/v1/history/streams/idem-x", token: admin).status == .notFound)
            #expect(
                try await client.call(.get, "/v1/history/changes?from=\(paidAt)&to=\(placedAt)", token: admin).errorCode == "invalid_query")
            #expect(try await client.call(.get, "/v1/history/shop", token: buyer).status == .forbidden)
            #expect(try await client.call(.get, "/v1/history/streams/\(stream)", token: merchant).status == .forbidden)
        }
    }

    /// The position at which a command's answer says it appended an event of `type`.
    static func position(of type: String, in reply: Reply) -> UInt64? {
        ((reply.json["events"] as? [[String: Any]])?.first { $0["type"] as? String == type }?["position"] as? Int).map(UInt64.init)
    }
}
