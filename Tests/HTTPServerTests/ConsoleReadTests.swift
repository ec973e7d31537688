import CommandEngine
import Commerce
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import HTTPServer

/// The reads the console's pages are built from, over HTTP: the orders that wait for their merchant, the goods with their
/// price and stock (and one goods' history), the stream browser, and the chain check.
@Suite struct ConsoleReadTests {
    @Test func anOrderWaitsForItsMerchantUntilShippedAndARefundRequestUntilAnswered() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let routes = ReadRouteTests()
            let (merchant, customer, _, placedAt) = try await routes.shop(client, harness)
            let other = try await client.user("other-seller@example.com", role: .merchant, engine: harness.engine)
            let admin = try await client.user("root@example.com", role: .admin, engine: harness.engine)
            let orderId = try #require(
                try await client.call(.get, "/v1/me/orders?after=\(placedAt)", token: customer).array.first?["orderId"] as? String)
            func waiting(_ token: String, after position: String) async throws -> [[String: Any]] {
                try await client.call(.get, "/v1/analytics/orders-to-act?after=\(position)", token: token).array
            }
            #expect(try await waiting(merchant, after: placedAt).isEmpty, "placed and not paid: nothing to do yet")

            let paymentId = try #require(
                try await client.command("InitiatePayment", ["orderId": orderId], token: customer).result["paymentId"])
            let paid = try await client.call(.post, "/v1/payments/sandbox/checkout/\(paymentId)", token: customer)
            let toShip = try await waiting(merchant, after: paid.lastPosition)
            #expect(toShip.map { $0["orderId"] as? String } == [orderId] && toShip.first?["action"] as? String == "ship")
            #expect(toShip.first?["currency"] as? String == "CNY" && toShip.first?["total"] as? Int == 8_800 + 26_000)
            #expect(try await waiting(admin, after: paid.lastPosition).count == 1)
            #expect(try await waiting(other, after: paid.lastPosition).isEmpty, "another merchant's orders are not theirs")

            let shipped = try await client.command(
                "ShipOrder", ["orderId": orderId, "carrier": "SF", "trackingNumber": "SF1"], token: merchant)
            #expect(try await waiting(merchant, after: shipped.lastPosition).isEmpty)
            _ = try await client.command("ConfirmReceipt", ["orderId": orderId], token: customer)
            let requested = try await client.command("RequestRefund", ["orderId": orderId, "reason": "cracked"], token: customer)
            #expect(try await waiting(merchant, after: requested.lastPosition).first?["action"] as? String == "refund")
            let rejected = try await client.command("RejectRefund", ["orderId": orderId, "reason": "no photos"], token: merchant)
            #expect(try await waiting(merchant, after: rejected.lastPosition).isEmpty)
            #expect(try await client.call(.get, "/v1/analytics/orders-to-act", token: customer).status == .forbidden)
        }
    }

    @Test func theGoodsTableAndOneGoodsPriceAndStockHistoryAreItsMerchants() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let (merchant, customer, goods, placedAt) = try await ReadRouteTests().shop(client, harness)
            let other = try await client.user("other-seller@example.com", role: .merchant, engine: harness.engine)
            let admin = try await client.user("root@example.com", role: .admin, engine: harness.engine)
            _ = try await client.command("ChangePrice", ["goodsId": goods[0], "price": 9_900], token: merchant)
            let restocked = try await client.command("Restock", ["goodsId": goods[0], "quantity": 6], token: merchant)

            let table = try await client.call(.get, "/v1/analytics/stock?after=\(restocked.lastPosition)", token: merchant).array
            let tea = try #require(table.first { $0["goodsId"] as? String == goods[0] })
            #expect(table.count == 2 && tea["price"] as? Int == 9_900 && tea["onHand"] as? Int == 10 && tea["reserved"] as? Int == 1)
            #expect(tea["available"] as? Int == 9 && tea["currency"] as? String == "CNY")
            #expect(try await client.call(.get, "/v1/analytics/stock?after=\(placedAt)", token: other).array.isEmpty)

            let history = try await client.call(.get, "/v1/goods/\(goods[0])/history", token: merchant)
            #expect(history.status == .ok)
            let steps = history.array.map { ($0["type"] as? String ?? "", $0["price"] as? Int ?? 0, $0["onHand"] as? Int ?? 0) }
            #expect(steps.first?.0 == "StockAdded" && steps.first?.1 == 9_900 && steps.first?.2 == 10, "newest first, as it left the goods")
            #expect(steps.contains { $0.0 == "PriceChanged" && $0.1 == 9_900 } && steps.last?.0 == "GoodsListed" && steps.last?.1 == 8_800)
            #expect(
                history.array.first?["actor"] as? String != nil && history.array.first?["position"] as? Int == Int(restocked.lastPosition))
            #expect(try await client.call(.get, "/v1/goods/\(goods[0])/history", token: admin).array.count == steps.count)
            #expect(
                try await client.call(.get, "/v1/goods/\(goods[0])/history", token: other).status == .notFound, "not another merchant's")
            #expect(try await client.call(.get, "/v1/goods/\(goods[0])/history", token: customer).status == .forbidden)
        }
    }

    @Test func streamsByPrefixCategoriesAndTheChainCheck() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let (_, _, goods, _) = try await ReadRouteTests().shop(client, harness)
            let admin = try await client.user("root@example.com", role: .admin, engine: harness.engine)
            let listed = try await client.call(.get, "/v1/audit/streams?prefix=goods-", token: admin)
            let streams = listed.json["streams"] as? [[String: Any]] ?? []
            #expect(
                Set(streams.compactMap { $0["stream"] as? String }) == Set(goods.map { "goods-\($0)" }) && listed.json["next"] is NSNull)
            for stream in streams {
                let name = stream["stream"] as? String ?? ""
                let history = try await client.call(.get, "/v1/audit/streams/\(name)", token: admin).json["events"] as? [[String: Any]]
                #expect(stream["events"] as? Int == history?.count && stream["lastPosition"] as? Int == history?.last?["position"] as? Int)
            }
            let first = try await client.call(.get, "/v1/audit/streams?prefix=goods-&limit=1", token: admin)
            let next = try #require(first.json["next"] as? String)
            let second = try await client.call(.get, "/v1/audit/streams?prefix=goods-&limit=1&after=\(next)", token: admin)
            #expect(((second.json["streams"] as? [[String: Any]])?.first?["stream"] as? String).map { $0 > next } == true)
            #expect(try await client.call(.get, "/v1/audit/streams?limit=0", token: admin).errorCode == "invalid_query")

            let categories = try await client.call(.get, "/v1/audit/categories", token: admin).array
            let counts = Dictionary(uniqueKeysWithValues: categories.map { ($0["category"] as? String ?? "", $0["streams"] as? Int ?? 0) })
            #expect(counts["goods"] == 2 && counts["order"] == 1 && counts["user"] == 3)

            let verified = try await client.call(.post, "/v1/audit/verify", token: admin)
            #expect(verified.status == .ok && verified.json["healthy"] as? Bool == true)
            #expect(verified.json["position"] as? Int == Int(harness.engine.headPosition))
            #expect(verified.json["eventsChecked"] as? Int == Int(harness.engine.headPosition))
            #expect((verified.json["problems"] as? [String])?.isEmpty == true && (verified.json["aggregates"] as? Int ?? 0) > 5)
        }
    }
}
