import Commerce
import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import HTTPServer

/// Goods with variants over HTTP: listing a T-shirt in sizes, choosing one, and a flash sale on one size.
@Suite struct VariantJourneyTests {
    static var tShirt: [String: Any] {
        [
            "title": "Cotton T-shirt 纯棉T恤", "category": "clothing", "options": ["尺码 Size", "颜色 Colour"],
            "variants": [
                ["sku": "TEE-M-WHITE", "values": ["M", "白 white"], "price": 9_900, "stock": 5, "weightGrams": 180],
                [
                    "sku": "TEE-L-WHITE", "values": ["L", "白 white"], "price": 10_900, "stock": 20, "lowStockThreshold": 2,
                    "weightGrams": 250,
                ],
            ],
            "attributes": [
                ["name": "材质 Material", "kind": "choice", "value": "纯棉 cotton", "choices": ["纯棉 cotton", "涤纶 polyester"]],
                ["name": "产地 Origin", "kind": "text", "value": "杭州 Hangzhou"],
            ],
        ]
    }

    @Test func aShopperChoosesASizeAndADeliveryMethodAndTheOrderNamesBoth() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let merchant = try await client.user("tees@example.com", role: .merchant, engine: harness.engine)
            let buyer = try await client.shopper("size@example.com", engine: harness.engine)
            let listed = try await client.command("ListGoods", Self.tShirt, token: merchant)
            let goodsId = try #require(listed.result["goodsId"])
            let variantIds = try #require(listed.result["variantIds"]).split(separator: " ").map(String.init)
            #expect(variantIds.count == 2 && variantIds.first == goodsId, "the default variant's id is the goods id")
            let large = try #require(variantIds.last)

            // Search filters by option value (in either language) and counts each option's values.
            let found = try await client.call(.get, "/v1/search?attr.size=L&attr.colour=%E7%99%BD&after=\(harness.log.headPosition)")
            #expect((found.json["hits"] as? [[String: Any]])?.map { $0["goodsId"] as? String } == [goodsId], "\(found.text)")
            let sizes = (found.json["facets"] as? [String: Any])?["attr.尺码 Size"] as? [[String: Any]]
            #expect(sizes?.compactMap { $0["value"] as? String }.sorted() == ["L", "M"], "\(found.text)")
            let none = try await client.call(.get, "/v1/search?attr.size=XXL")
            #expect(none.status == .ok && (none.json["hits"] as? [Any])?.isEmpty == true)
            let bad = try await client.call(.get, "/v1/search?attr.size=")
            #expect(bad.status == .badRequest && bad.errorCode == "invalid_query", "\(bad.text)")

            let page = try await client.call(.get, "/v1/goods/\(goodsId)").json
            #expect(page["price"] as? Int == 9_900 && page["highestPrice"] as? Int == 10_900 && page["available"] as? Int == 25)
            let variants = try #require(page["variants"] as? [[String: Any]])
            #expect(variants.map { $0["label"] as? String } == ["尺码 Size: M / 颜色 Colour: 白 white", "尺码 Size: L / 颜色 Colour: 白 white"])
            #expect(variants.first?["weightGrams"] as? Int == 180)
            #expect((page["attributes"] as? [[String: Any]])?.map { $0["name"] as? String } == ["材质 Material", "产地 Origin"])

            // A goods with several variants is told which; a delisted one is not for sale.
            let unnamed = try await client.command("AddToCart", ["goodsId": goodsId, "quantity": 1], token: buyer)
            #expect(unnamed.status == .unprocessableContent && unnamed.errorCode == "variant_required", "\(unnamed.text)")
            let unknown = try await client.command(
                "AddToCart", ["goodsId": goodsId, "variantId": "019de0d5-c800-7000-8000-00000000abcd", "quantity": 1], token: buyer)
            #expect(unknown.status == .notFound && unknown.errorCode == "variant_not_found", "\(unknown.text)")
            let before = harness.log.headPosition
            let duplicate = try await client.command(
                "AddVariant",
                ["goodsId": goodsId, "variant": ["sku": "tee-l-white", "values": ["XL", "白 white"], "price": 1, "stock": 1]],
                token: merchant)
            #expect(duplicate.errorCode == "duplicate_sku" && harness.log.headPosition == before)
            let sameOptions = try await client.command(
                "AddVariant", ["goodsId": goodsId, "variant": ["values": ["L", "白 white"], "price": 1, "stock": 1]], token: merchant)
            #expect(sameOptions.errorCode == "option_combination_exists" && harness.log.headPosition == before)

            let added = try await client.command("AddToCart", ["goodsId": goodsId, "variantId": large, "quantity": 2], token: buyer)
            #expect(added.status == .ok, "\(added.text)")
            let cart = try await client.call(.get, "/v1/me/cart", token: buyer).json
            let line = try #require((cart["lines"] as? [[String: Any]])?.first)
            #expect(line["variantId"] as? String == large && line["variant"] as? String == "尺码 Size: L / 颜色 Colour: 白 white")
            #expect(line["unitPrice"] as? Int == 10_900 && cart["total"] as? Int == 21_800)

            // The merchant's delivery methods: one serving 浙江 only, one serving China by weight.
            let merchantId = try #require(try await client.call(.get, "/v1/goods/\(goodsId)").json["merchantId"] as? String)
            let local = try await client.command(
                "DefineDeliveryMethod", ["name": "同城 Local", "flatFee": 500, "areas": [["area": "浙江"]]], token: merchant)
            let express = try await client.command(
                "DefineDeliveryMethod", ["name": "顺丰 SF Express", "flatFee": 1_200, "perKilogram": 300, "areas": [["area": "CN"]]],
                token: merchant)
            let listing = try await client.call(.get, "/v1/merchants/\(merchantId)/delivery-methods")
            #expect(listing.status == .ok && listing.text.contains("同城 Local") && listing.text.contains("顺丰 SF Express"), "\(listing.text)")
            let unserved = try await client.command(
                "PlaceOrder", ["deliveryMethodId": local.result["deliveryMethodId"] ?? ""], token: buyer)
            #expect(unserved.errorCode == "delivery_method_does_not_serve_address", "\(unserved.text)")
            // Refused: no order, no reservation (the day's block of order numbers was taken before deciding).
            #expect(try harness.log.events(ofType: "OrderPlaced").isEmpty && harness.log.events(ofType: "StockReserved").isEmpty)

            let placed = try await client.command(
                "PlaceOrder", ["deliveryMethodId": express.result["deliveryMethodId"] ?? ""], token: buyer)
            let orderId = try #require(placed.result["orderId"], "\(placed.text)")
            #expect(placed.result["total"] == "23300", "21800, and 12.00 + 3.00 for 2 × 250 g (one started kilogram)")
            let order = try await client.call(.get, "/v1/orders/\(orderId)", token: buyer).json
            let ordered = try #require((order["lines"] as? [[String: Any]])?.first)
            #expect(ordered["variant"] as? String == "尺码 Size: L / 颜色 Colour: 白 white" && ordered["quantity"] as? Int == 2)
            let delivery = try #require(order["delivery"] as? [String: Any])
            #expect(delivery["name"] as? String == "顺丰 SF Express" && delivery["fee"] as? Int == 1_500, "\(delivery)")
            let after = try await client.call(.get, "/v1/goods/\(goodsId)").json
            #expect((after["variants"] as? [[String: Any]])?.map { $0["available"] as? Int } == [5, 18])
            #expect(try harness.log.events(ofType: "StockReserved").count == 1)
        }
    }

    /// 60 buyers at once for 20 of one size: exactly 20 orders, the other size untouched.
    @Test func aFlashSaleOnOneVariantSellsExactlyItsStock() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let merchant = try await client.user("flash-tees@example.com", role: .merchant, engine: harness.engine)
            let listed = try await client.command("ListGoods", Self.tShirt, token: merchant)
            let goodsId = try #require(listed.result["goodsId"])
            let large = try #require(listed.result["variantIds"]?.split(separator: " ").last.map(String.init))
            var tokens: [String] = []
            for index in 0..<60 { tokens.append(try await client.shopper("fan\(index)@tees.example", engine: harness.engine)) }
            let codes = try await withThrowingTaskGroup(of: String.self) { group in
                for token in tokens {
                    group.addTask {
                        let items: [[String: Any]] = [["goodsId": goodsId, "variantId": large, "quantity": 1]]
                        return try await client.command("PlaceOrder", ["items": items], token: token).errorCode ?? "placed"
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(codes.filter { $0 == "placed" }.count == 20)
            #expect(codes.filter { $0 == "insufficient_stock" }.count == 40, "\(Set(codes))")
            let page = try await client.call(.get, "/v1/goods/\(goodsId)").json
            #expect((page["variants"] as? [[String: Any]])?.map { $0["available"] as? Int } == [5, 0])
            #expect(try harness.log.events(ofType: "OrderPlaced").count == 20)
        }
    }
}
