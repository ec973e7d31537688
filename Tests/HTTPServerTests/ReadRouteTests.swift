import CommandEngine
import Commerce
import EventStore
import Foundation
import HTTPServer
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ReadModels
import Testing

extension Reply {
    /// The position of the last event a command appended (for `?after=`).
    var lastPosition: String {
        let events = json["events"] as? [[String: Any]] ?? []
        return (events.last?["position"] as? NSNumber).map { "\($0)" } ?? "0"
    }
    var array: [[String: Any]] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [[String: Any]] ?? [] }
}

@Suite struct ReadRouteTests {
    /// A merchant with two goods, a customer who bought one; returns their tokens, the goods and the order's last position.
    func shop(
        _ client: some TestClientProtocol, _ harness: Harness
    ) async throws -> (merchant: String, customer: String, goods: [String], position: String) {
        let merchant = try await client.user("seller@example.com", role: .merchant, engine: harness.engine)
        var goods: [String] = []
        for (title, price) in [("Longjing green tea 龙井绿茶", 8_800), ("Clay teapot 紫砂壶", 26_000)] {
            let listed = try await client.command(
                "ListGoods",
                [
                    "title": title, "description": title, "category": "tea", "brand": "West Lake",
                    "tags": ["green"], "price": price, "stock": 4, "lowStockThreshold": 5,
                ], token: merchant)
            goods.append(listed.result["goodsId"] ?? "")
        }
        let customer = try await client.shopper("buyer@example.com", engine: harness.engine)
        _ = try await client.command("RecordView", ["goodsId": goods[0]], token: customer)
        _ = try await client.command("AddToCart", ["goodsId": goods[0], "quantity": 1], token: customer)
        _ = try await client.command("AddToCart", ["goodsId": goods[1], "quantity": 1], token: customer)
        let placed = try await client.command("PlaceOrder", [:], token: customer)
        #expect(placed.status == .ok)
        return (merchant, customer, goods, placed.lastPosition)
    }

    @Test func searchSuggestAndRecommendationsAnswerOverHTTPAfterACommand() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let (_, customer, goods, position) = try await shop(client, harness)
            let found = try await client.call(.get, "/v1/search?q=%E7%BB%BF%E8%8C%B6&after=\(position)")  // 绿茶
            #expect(found.status == .ok)
            #expect(found.json["total"] as? Int == 1)
            let hit = (found.json["hits"] as? [[String: Any]])?.first
            #expect(hit?["goodsId"] as? String == goods[0])
            #expect(hit?["available"] as? Int == 3)  // one reserved by the order
            let filtered = try await client.call(.get, "/v1/search?category=tea&sort=price_desc&size=1&after=\(position)")
            #expect((filtered.json["hits"] as? [[String: Any]])?.first?["goodsId"] as? String == goods[1])
            #expect(filtered.json["nextCursor"] is String)
            let suggest = try await client.call(.get, "/v1/search/suggest?q=%E7%BB%BF")  // 绿
            #expect((suggest.json["completions"] as? [String])?.contains("绿茶") == true)
            #expect((suggest.json["popular"] as? [[String: Any]])?.first?["value"] as? String == "绿茶")
            let also = try await client.call(.get, "/v1/recommendations/also-bought/\(goods[0])?after=\(position)")
            #expect(also.array.first?["goodsId"] as? String == goods[1])
            let feed = try await client.call(.get, "/v1/recommendations/feed", token: customer)
            #expect(feed.status == .ok && feed.array.allSatisfy { !goods.contains($0["goodsId"] as? String ?? "") })
            let anonymous = try await client.call(.get, "/v1/recommendations/feed")
            #expect(anonymous.status == .unauthorized || anonymous.status == .forbidden)
        }
    }

    @Test func myPagesShowWhatTheCustomerJustDid() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let (_, customer, goods, _) = try await shop(client, harness)
            let orders = try await client.call(.get, "/v1/me/orders", token: customer)
            #expect(orders.array.count == 1 && orders.array.first?["status"] as? String == "placed")
            #expect(try await client.call(.get, "/v1/me/orders?status=paid", token: customer).array.isEmpty)
            let footprints = try await client.call(.get, "/v1/me/footprints", token: customer)
            #expect(footprints.array.first?["goodsId"] as? String == goods[0])
            _ = try await client.command("AddFavorite", ["goodsId": goods[1]], token: customer)
            #expect(try await client.call(.get, "/v1/me/favorites", token: customer).array.first?["goodsId"] as? String == goods[1])
            #expect(try await client.call(.get, "/v1/me/points", token: customer).json["balance"] as? Int == 0)
            #expect(try await client.call(.get, "/v1/me/reviews", token: customer).array.isEmpty)
        }
    }

    @Test func analyticsAreForMerchantsTheirOwnAndAdmins() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let (merchant, customer, goods, position) = try await shop(client, harness)
            let admin = try await client.user("boss@example.com", role: .admin, engine: harness.engine)
            #expect(try await client.call(.get, "/v1/analytics/sales", token: customer).errorCode == "forbidden")
            #expect(try await client.call(.get, "/v1/analytics/funnel", token: merchant).errorCode == "forbidden")
            let low = try await client.call(.get, "/v1/analytics/low-stock?after=\(position)", token: merchant)
            #expect(Set(low.array.compactMap { $0["goodsId"] as? String }) == Set(goods))
            let other = try await client.user("rival@example.com", role: .merchant, engine: harness.engine)
            #expect(try await client.call(.get, "/v1/analytics/low-stock?after=\(position)", token: other).array.isEmpty)
            let funnel = try await client.call(.get, "/v1/analytics/funnel?after=\(position)", token: admin)
            #expect(funnel.json["views"] as? Int == 1 && funnel.json["cartAdds"] as? Int == 2 && funnel.json["ordersPlaced"] as? Int == 1)
            let status = try await client.call(.get, "/v1/admin/projections", token: admin)
            #expect(Set(status.array.compactMap { $0["name"] as? String }) == ["search", "recommend", "analytics", "mypages", "reviews"])
            #expect(try await client.call(.get, "/v1/admin/projections", token: merchant).errorCode == "forbidden")
            #expect(try await client.call(.post, "/v1/admin/projections/search/rebuild", token: admin).status == .ok)
            #expect(try await client.call(.post, "/v1/admin/projections/nope/rebuild", token: admin).errorCode == "projection_not_found")
            // Nothing new is appended: the rebuild must still run to the end and take over.
            var rebuilding = true
            for _ in 0..<200 where rebuilding {
                let rows = try await client.call(.get, "/v1/admin/projections", token: admin).array
                rebuilding = rows.contains { $0["name"] as? String == "search" && $0["rebuild"] != nil }
                if rebuilding { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(!rebuilding, "a rebuild started on an idle server never finished")
            // Training the factor model on demand: in the background, its status says when it is done and where.
            #expect(try await client.call(.post, "/v1/admin/recommendations/train", token: merchant).errorCode == "forbidden")
            let head = try await client.head()
            let asked = try await client.call(.post, "/v1/admin/recommendations/train", token: admin)
            #expect(asked.status == .ok && asked.array.first?["name"] as? String == "recommend", "\(asked.text)")
            var trainedAt: Int?
            var last = ""
            // Trained at utility priority: under the whole suite's load it may wait its turn for a while.
            let deadline = ContinuousClock.now + .seconds(90)
            while trainedAt == nil, ContinuousClock.now < deadline {
                let rows = try await client.call(.get, "/v1/admin/projections", token: admin).array
                let row = rows.first { $0["name"] as? String == "recommend" }
                last = "\(row ?? [:])"
                if row?["training"] as? Bool == false { trainedAt = row?["trainedAt"] as? Int }
                if trainedAt == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(trainedAt == Int(head), "a training asked for on an idle server never finished: \(last)")
            let metrics = try await client.call(.get, "/metrics")
            #expect(metrics.text.contains("emporium_projection_lag_events{projection=\"search\"}"))
        }
    }

    @Test func badQueriesAndAFuturePositionAre400() async throws {
        let harness = try Harness { $0.readYourWritesWaitMax = .milliseconds(100) }
        try await harness.app.test(.router) { client in
            let admin = try await client.user("admin@example.com", role: .admin, engine: harness.engine)
            let head = try await client.head()
            let long = String(repeating: "a", count: 300)
            for uri in [
                "/v1/search?size=0", "/v1/search?size=101", "/v1/search?sort=cheapest", "/v1/search?minPrice=-1",
                "/v1/search?inStock=maybe",
                "/v1/search?cursor=nonsense", "/v1/search?q=\(long)", "/v1/search?page=0", "/v1/search?after=soon",
                "/v1/recommendations/hot?limit=0", "/v1/recommendations/hot?limit=1000",
            ] {
                let reply = try await client.call(.get, uri)
                #expect(reply.status == .badRequest, "\(uri)")
                #expect(reply.errorCode == "invalid_query", "\(uri)")
                #expect(
                    !(reply.text.contains("page page") || reply.text.contains("size size") || reply.text.contains("cursor the")),
                    "the field is named once: \(reply.text)")
            }
            // Days that are not on the calendar, digits that are not ASCII, and a range that ends before it starts.
            for query in [
                "from=2026-13-01", "from=2026-02-30", "to=2025-02-29", "from=2026-1-01", "from=%D9%A2%D9%A0%D9%A2%D9%A6-01-01",
                "from=2026-05-02&to=2026-05-01",
            ] {
                let reply = try await client.call(.get, "/v1/analytics/sales?\(query)", token: admin)
                #expect(reply.status == .badRequest && reply.errorCode == "invalid_query", "\(query): \(reply.text)")
            }
            #expect(try await client.call(.get, "/v1/analytics/sales?from=2024-02-29&to=2024-02-29", token: admin).status == .ok)
            // Values that do not percent-decode to UTF-8 (bad bytes, a broken escape) are refused by name (a search for them matched everything).
            for uri in ["/v1/search?q=%ff%fe", "/v1/search?size=5&q=tea%C3", "/v1/search/suggest?q=%ED%A0%80", "/v1/search?q=%zz"] {
                let reply = try await client.call(.get, uri)
                #expect(
                    reply.status == .badRequest && reply.errorCode == "invalid_query"
                        && reply.text.contains("q is not percent-encoded UTF-8"), "\(uri): \(reply.text)")
            }
            for uri in ["/v1/search?q=%E8%8C%B6", "/v1/search?q=100%25", "/v1/search?q=green+tea"] {
                #expect(try await client.call(.get, uri).status == .ok, "\(uri)")
            }
            // A position past the log's head is not one to wait for: no command has been answered with it.
            let future = try await client.call(.get, "/v1/search?q=tea&after=\((UInt64(head) ?? 0) + 1_000)")
            #expect(future.status == .badRequest && future.errorCode == "invalid_query" && future.text.contains("beyond the log's head"))
            #expect(try await client.head() == head)
        }
    }

    @Test func aLiveServerAnswersSearches() async throws {
        let harness = try Harness()
        try await harness.app.test(.live) { client in
            let (_, _, goods, position) = try await shop(client, harness)
            let found = try await client.call(.get, "/v1/search?q=teapot&after=\(position)")
            #expect((found.json["hits"] as? [[String: Any]])?.first?["goodsId"] as? String == goods[1])
            #expect((found.json["hits"] as? [[String: Any]])?.first?["highlight"] as? String == "Clay <em>teapot</em> 紫砂壶")
        }
    }
}
