import CommandEngine
import Commerce
import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import HTTPServer

/// After-sale over HTTP: a customer returns two of three teapots (one arrives broken), then claims the third was the
/// wrong colour and gets a replacement; the refunds go to the real (sandbox) payment, stock comes back undamaged only,
/// and the order refunds no more than was paid.
@Suite struct AfterSaleJourneyTests {
    @Test func aReturnAndAClaimSettleAReceivedOrder() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let merchant = try await client.user("kiln@example.com", role: .merchant, engine: harness.engine)
            let admin = try await client.user("desk@example.com", role: .admin, engine: harness.engine)
            let buyer = try await client.shopper("tea@example.com", engine: harness.engine)
            let stranger = try await client.shopper("nosy@example.com", engine: harness.engine)
            let goodsId = try #require(
                try await client.command(
                    "ListGoods", ["title": "紫砂壶 Yixing teapot", "category": "茶具", "price": 2_000, "stock": 5], token: merchant
                ).result["goodsId"])
            let placed = try await client.command("PlaceOrder", ["items": [["goodsId": goodsId, "quantity": 3]]], token: buyer)
            let orderId = try #require(placed.result["orderId"], "\(placed.text)")
            let paymentId = try #require(
                try await client.command("InitiatePayment", ["orderId": orderId], token: buyer).result["paymentId"])
            #expect(try await client.call(.post, "/v1/payments/sandbox/checkout/\(paymentId)", token: buyer).status == .ok)
            let early = try await client.command(
                "RequestAfterSale", ["orderId": orderId, "kind": "return", "lines": [["line": 0, "quantity": 1]], "reason": "不想要了"],
                token: buyer)
            #expect(early.errorCode == "order_not_refundable", "not received yet: \(early.text)")
            #expect(
                try await client.command("ShipOrder", ["orderId": orderId, "carrier": "SF", "trackingNumber": "SF1"], token: merchant)
                    .status
                    == .ok)
            #expect(try await client.command("ConfirmReceipt", ["orderId": orderId], token: buyer).status == .ok)

            // Two come back, one of them broken in the post.
            let tooMany = try await client.command(
                "RequestAfterSale", ["orderId": orderId, "kind": "return", "lines": [["line": 0, "quantity": 4]], "reason": "退货"],
                token: buyer)
            #expect(tooMany.status == .unprocessableContent && tooMany.errorCode == "quantity_not_returnable", "\(tooMany.text)")
            let asked = try await client.command(
                "RequestAfterSale",
                ["orderId": orderId, "kind": "return", "lines": [["line": 0, "quantity": 2]], "reason": "颜色和图片不一样 not the colour shown"],
                token: buyer)
            let returnId = try #require(asked.result["afterSaleId"], "\(asked.text)")
            #expect(asked.result["orderId"] == orderId)
            let whole = try await client.command("RequestRefund", ["orderId": orderId, "reason": "全退"], token: buyer)
            #expect(whole.errorCode == "after_sale_open", "\(whole.text)")
            #expect(try await client.command("ApproveAfterSale", ["afterSaleId": returnId], token: buyer).errorCode == "not_owner")
            #expect(try await client.command("ApproveAfterSale", ["afterSaleId": returnId], token: merchant).status == .ok)
            let head = try harness.engine.log.head().position
            let wrong = try await client.command(
                "ReceiveReturn", ["afterSaleId": returnId, "lines": [["line": 0, "received": 1, "damaged": 2]]], token: merchant)
            #expect(wrong.status == .badRequest && wrong.errorCode == "invalid_input", "\(wrong.text)")
            #expect(try harness.engine.log.head().position == head, "a refused command appends nothing")
            let received = try await client.command(
                "ReceiveReturn", ["afterSaleId": returnId, "lines": [["line": 0, "received": 2, "damaged": 1]]], token: merchant)
            #expect(received.status == .ok, "\(received.text)")
            #expect(received.result["amount"] == "4000", "two teapots at ¥20: \(received.text)")
            let types = (received.json["events"] as? [[String: Any]] ?? []).compactMap { $0["type"] as? String }
            #expect(
                types.contains("StockReturned") && types.contains("PaymentRefunded") && types.contains("OrderPartlyRefunded"), "\(types)")
            let goods = try await client.call(.get, "/v1/goods/\(goodsId)?after=\(received.lastPosition)").json
            #expect(goods["available"] as? Int == 3, "5 − 3 sold + 1 undamaged back: \(goods)")

            let view = try await client.call(.get, "/v1/after-sales/\(returnId)", token: buyer)
            #expect(view.json["status"] as? String == "refunded" && view.json["refundedAmount"] as? Int == 4_000, "\(view.text)")
            #expect(
                (view.json["timeline"] as? [[String: Any]] ?? []).compactMap { $0["type"] as? String } == [
                    "AfterSaleRequested", "AfterSaleApproved", "ReturnReceived", "AfterSaleRefunded",
                ])
            #expect(try await client.call(.get, "/v1/after-sales/\(returnId)", token: stranger).status == .notFound)

            // The third was the wrong colour: replaced, no money moves.
            let claim = try await client.command(
                "RequestAfterSale",
                [
                    "orderId": orderId, "kind": "claim", "resolution": "replace", "lines": [["line": 0, "quantity": 1]],
                    "reason": "发错颜色 wrong colour sent",
                ], token: buyer)
            let claimId = try #require(claim.result["afterSaleId"], "\(claim.text)")
            #expect(try await client.command("ApproveAfterSale", ["afterSaleId": claimId], token: merchant).status == .ok)
            let shipped = try await client.command(
                "ShipReplacement", ["afterSaleId": claimId, "carrier": "SF", "trackingNumber": "SF2"], token: merchant)
            #expect(shipped.status == .ok, "\(shipped.text)")
            let more = try await client.command(
                "RequestAfterSale", ["orderId": orderId, "kind": "claim", "lines": [["line": 0, "quantity": 1]], "reason": "again"],
                token: buyer)
            #expect(more.errorCode == "quantity_not_returnable", "every unit is settled: \(more.text)")

            let order = try await client.call(.get, "/v1/orders/\(orderId)", token: merchant).json
            #expect(order["refundedByAfterSales"] as? Int == 4_000, "\(order)")
            #expect((order["afterSales"] as? [[String: Any]] ?? []).compactMap { $0["status"] as? String } == ["refunded", "replaced"])
            let timeline = (order["timeline"] as? [[String: Any]] ?? []).compactMap { $0["type"] as? String }
            #expect(
                timeline.contains("AfterSaleRequested") && timeline.contains("OrderPartlyRefunded")
                    && timeline.contains("ReplacementShipped"))

            // Refunding the rest refunds what is left of the payment, never more.
            #expect(try await client.command("RequestRefund", ["orderId": orderId, "reason": "整单退"], token: buyer).status == .ok)
            let rest = try await client.command("ApproveRefund", ["orderId": orderId], token: merchant)
            #expect(rest.status == .ok, "\(rest.text)")
            let history = try await client.call(.get, "/v1/audit/streams/payment-\(paymentId)", token: admin).json["events"]
            let refundedAmounts = (history as? [[String: Any]] ?? []).filter { $0["type"] as? String == "PaymentRefunded" }
                .compactMap { ($0["data"] as? [String: Any])?["amount"] as? Int }
            #expect(refundedAmounts == [4_000, 2_000], "the payment refunded in two parts, ¥60 in all: \(String(describing: history))")
            let refunds = try await client.call(.get, "/v1/analytics/refunds?after=\(rest.lastPosition)", token: admin).json
            #expect(refunds["refundedAmount"] as? Int == 6_000 && refunds["refundRateByValue"] as? Double == 1.0, "\(refunds)")
            // Three teapots sold, three refunded: two by the return, the one left by the whole refund (not all three again).
            let top = try await client.call(.get, "/v1/analytics/top-goods?after=\(rest.lastPosition)", token: admin)
            let teapot = try #require(top.array.first { $0["goodsId"] as? String == goodsId }, "\(top.text)")
            #expect(teapot["unitsPaid"] as? Int == 3 && teapot["unitsRefunded"] as? Int == 3, "\(teapot)")
        }
    }

    /// A T-shirt exchanged one size up over HTTP: L costs ¥10 more than the S that was bought, so once the S is back the
    /// buyer owes ¥10; the L ships only after the buyer pays it through the sandbox provider, and the S goes back into
    /// stock. The payment cannot be made early, twice, or by another customer.
    @Test func aDearerExchangeIsPaidForBeforeTheOtherSizeShips() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let merchant = try await client.user("tees@example.com", role: .merchant, engine: harness.engine)
            let buyer = try await client.shopper("size@example.com", engine: harness.engine)
            let stranger = try await client.shopper("other@example.com", engine: harness.engine)
            let admin = try await client.user("desk@example.com", role: .admin, engine: harness.engine)
            let tee = try await client.command(
                "ListGoods",
                [
                    "title": "T-shirt T恤", "category": "clothing", "options": ["尺码 Size"],
                    "variants": [
                        ["sku": "T-S", "values": ["S"], "price": 9_900, "stock": 10],
                        ["sku": "T-M", "values": ["M"], "price": 9_900, "stock": 10],
                        ["sku": "T-L", "values": ["L"], "price": 10_900, "stock": 10],
                    ],
                ], token: merchant)
            let goodsId = try #require(tee.result["goodsId"], "\(tee.text)")
            let sizes = (tee.result["variantIds"] ?? "").split(separator: " ").map(String.init)
            try #require(sizes.count == 3)
            let placed = try await client.command(
                "PlaceOrder", ["items": [["goodsId": goodsId, "variantId": sizes[0], "quantity": 1]]], token: buyer)
            let orderId = try #require(placed.result["orderId"], "\(placed.text)")
            #expect(try await client.command("PayOrder", ["orderId": orderId, "amount": 9_900], token: admin).status == .ok)
            #expect(
                try await client.command("ShipOrder", ["orderId": orderId, "carrier": "SF", "trackingNumber": "SF9"], token: merchant)
                    .status
                    == .ok)
            #expect(try await client.command("ConfirmReceipt", ["orderId": orderId], token: buyer).status == .ok)

            let asked = try await client.command(
                "RequestAfterSale",
                [
                    "orderId": orderId, "kind": "exchange", "lines": [["line": 0, "quantity": 1, "replacementVariantId": sizes[2]]],
                    "reason": "小了一号 one size too small",
                ], token: buyer)
            let id = try #require(asked.result["afterSaleId"], "\(asked.text)")
            func pay(as token: String) async throws -> Reply {
                try await client.command("InitiatePayment", ["orderId": orderId, "afterSaleId": id], token: token)
            }
            #expect(try await client.command("ApproveAfterSale", ["afterSaleId": id], token: merchant).status == .ok)
            let early = try await pay(as: buyer)
            #expect(early.errorCode == "after_sale_not_payable", "nothing owed until the S is back: \(early.text)")
            let notBack = try await client.command(
                "ShipReplacement", ["afterSaleId": id, "carrier": "SF", "trackingNumber": "SF10"], token: merchant)
            #expect(notBack.errorCode == "after_sale_not_open", "the S is not back yet: \(notBack.text)")
            #expect(
                try await client.command("ReceiveReturn", ["afterSaleId": id, "lines": [["line": 0, "received": 1]]], token: merchant)
                    .status
                    == .ok)
            let unpaid = try await client.command(
                "ShipReplacement", ["afterSaleId": id, "carrier": "SF", "trackingNumber": "SF10"], token: merchant)
            #expect(unpaid.errorCode == "exchange_difference_unpaid", "\(unpaid.text)")
            let owing = try await client.call(.get, "/v1/after-sales/\(id)", token: buyer).json
            #expect(owing["differenceDue"] as? Int == 1_000 && owing["differencePaymentId"] == nil, "\(owing)")

            #expect(try await pay(as: stranger).errorCode == "not_owner")
            let payment = try await pay(as: buyer)
            let paymentId = try #require(payment.result["paymentId"], "\(payment.text)")
            #expect(payment.result["amount"] == "1000", "\(payment.text)")
            #expect(try await client.call(.post, "/v1/payments/sandbox/checkout/\(paymentId)", token: buyer).status == .ok)
            let again = try await pay(as: buyer)
            #expect(again.errorCode == "after_sale_not_payable", "paid once: \(again.text)")

            let shipped = try await client.command(
                "ShipReplacement", ["afterSaleId": id, "carrier": "SF", "trackingNumber": "SF10"], token: merchant)
            #expect(shipped.status == .ok && shipped.result["amount"] == nil, "paid: it ships, nothing refunded: \(shipped.text)")
            let goods = try await client.call(.get, "/v1/goods/\(goodsId)?after=\(shipped.lastPosition)").json
            let available = (goods["variants"] as? [[String: Any]] ?? []).map { $0["available"] as? Int }
            #expect(available == [10, 10, 9], "S back, L sent, M untouched: \(goods)")
            let view = try await client.call(.get, "/v1/after-sales/\(id)", token: buyer).json
            #expect(view["status"] as? String == "replaced" && view["differencePaymentId"] as? String == paymentId, "\(view)")
            // The difference is a sale: ¥99 for the S and ¥10 for the L.
            let sales = try await client.call(.get, "/v1/analytics/sales?after=\(shipped.lastPosition)", token: admin)
            #expect(sales.array.reduce(0) { $0 + ($1["gmv"] as? Int ?? 0) } == 10_900, "\(sales.text)")
            let timeline = (view["timeline"] as? [[String: Any]] ?? []).compactMap { $0["type"] as? String }
            #expect(
                timeline == [
                    "AfterSaleRequested", "AfterSaleApproved", "ReturnReceived", "ExchangeDifferenceDue", "ExchangeDifferencePaid",
                    "ReplacementShipped",
                ], "\(timeline)")
        }
    }
}
