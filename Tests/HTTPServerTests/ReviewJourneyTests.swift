import Commerce
import EventCodec
import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import HTTPServer

/// Review moderation over HTTP: a buyer's review waits in the merchant's queue, is rejected with a reason, edited, approved
/// and answered; only then does it show on the goods' page and count in its rating. The texts were written for this test.
@Suite struct ReviewJourneyTests {
    static let first = "包装有破损，茶叶碎了不少，有点失望。"
    static let second = "客服很快补发了一盒，新的这盒茶叶完整，香气清新，滋味鲜爽。"
    static let reply = "抱歉给您带来不便，感谢您的耐心与认可！"

    @Test func aReviewIsModeratedEditedApprovedAndAnswered() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let merchant = try await client.user("tea-house@example.com", role: .merchant, engine: harness.engine)
            let rival = try await client.user("rival@example.com", role: .merchant, engine: harness.engine)
            let buyer = try await client.shopper("reviewer@example.com", engine: harness.engine)
            let goodsId = try #require(
                try await client.command(
                    "ListGoods", ["title": "Longjing 明前龙井", "category": "tea", "price": 12_800, "stock": 10], token: merchant
                ).result["goodsId"])
            let orderId = try #require(
                try await client.command("PlaceOrder", ["items": [["goodsId": goodsId, "quantity": 1]]], token: buyer).result["orderId"])
            let paymentId = try #require(
                try await client.command("InitiatePayment", ["orderId": orderId], token: buyer).result["paymentId"])
            #expect(try await client.call(.post, "/v1/payments/sandbox/checkout/\(paymentId)", token: buyer).status == .ok)
            _ = try await client.command("ShipOrder", ["orderId": orderId, "carrier": "SF", "trackingNumber": "SF1"], token: merchant)
            #expect(try await client.command("ConfirmReceipt", ["orderId": orderId], token: buyer).status == .ok)

            // Posted: it waits for a moderator, out of sight and out of the rating.
            let posted = try await client.command(
                "PostReview", ["goodsId": goodsId, "orderId": orderId, "rating": 2, "text": Self.first], token: buyer)
            let reviewId = try #require(posted.result["reviewId"], "\(posted.text)")
            var page = try await client.call(.get, "/v1/goods/\(goodsId)/reviews?after=\(posted.lastPosition)").json
            #expect(page["count"] as? Int == 0 && (page["reviews"] as? [Any])?.isEmpty == true, "\(page)")
            let queue = try await client.call(.get, "/v1/reviews?after=\(posted.lastPosition)", token: merchant).array
            #expect(queue.map { $0["reviewId"] as? String } == [reviewId])
            #expect(queue.first?["verifiedPurchase"] as? Bool == true && queue.first?["orderId"] as? String == orderId)
            #expect(try await client.call(.get, "/v1/reviews", token: rival).array.isEmpty, "a merchant sees only their goods' reviews")
            #expect(try await client.call(.get, "/v1/reviews", token: buyer).status == .forbidden)
            let badStatus = try await client.call(.get, "/v1/reviews?status=lost", token: merchant)
            #expect(badStatus.status == .badRequest && badStatus.errorCode == "invalid_query", "\(badStatus.text)")

            // Refused commands append nothing.
            let before = harness.log.headPosition
            let stranger = try await client.command(
                "ModerateReview", ["goodsId": goodsId, "reviewId": reviewId, "verdict": "approve"], token: rival)
            #expect(stranger.status == .forbidden && stranger.errorCode == "forbidden", "\(stranger.text)")
            let reasonless = try await client.command(
                "ModerateReview", ["goodsId": goodsId, "reviewId": reviewId, "verdict": "reject"], token: merchant)
            #expect(reasonless.status == .badRequest && reasonless.errorCode == "invalid_input", "\(reasonless.text)")
            let unknownVerdict = try await client.command(
                "ModerateReview", ["goodsId": goodsId, "reviewId": reviewId, "verdict": "maybe"], token: merchant)
            #expect(unknownVerdict.status == .badRequest && unknownVerdict.errorCode == "invalid_value", "\(unknownVerdict.text)")
            #expect(harness.log.headPosition == before)

            // Rejected with a reason the author sees; the author edits it, and it waits again.
            let rejected = try await client.command(
                "ModerateReview", ["goodsId": goodsId, "reviewId": reviewId, "verdict": "reject", "reason": "请描述商品本身 describe the goods"],
                token: merchant)
            #expect(rejected.status == .ok, "\(rejected.text)")
            let mine = try await client.call(.get, "/v1/me/reviews", token: buyer).array
            #expect(mine.first?["status"] as? String == "rejected" && mine.first?["reason"] as? String == "请描述商品本身 describe the goods")
            let edited = try await client.command(
                "EditReview", ["goodsId": goodsId, "reviewId": reviewId, "rating": 5, "text": Self.second], token: buyer)
            #expect(edited.status == .ok, "\(edited.text)")
            let pendingAgain = try await client.call(.get, "/v1/reviews?after=\(edited.lastPosition)", token: merchant).array
            #expect(pendingAgain.first?["status"] as? String == "pending" && pendingAgain.first?["text"] as? String == Self.second)

            // Approved and answered: on the goods' page, in its rating.
            #expect(
                try await client.command(
                    "ModerateReview", ["goodsId": goodsId, "reviewId": reviewId, "verdict": "approve"], token: merchant
                )
                .status == .ok)
            let replied = try await client.command(
                "ReplyToReview", ["goodsId": goodsId, "reviewId": reviewId, "text": Self.reply], token: merchant)
            #expect(replied.status == .ok, "\(replied.text)")
            let twice = try await client.command(
                "ReplyToReview", ["goodsId": goodsId, "reviewId": reviewId, "text": "再次感谢"], token: merchant)
            #expect(twice.status == .unprocessableContent && twice.errorCode == "already_replied", "\(twice.text)")
            let locked = try await client.command(
                "EditReview", ["goodsId": goodsId, "reviewId": reviewId, "rating": 1, "text": "改主意了"], token: buyer)
            #expect(locked.errorCode == "review_not_editable", "\(locked.text)")
            page = try await client.call(.get, "/v1/goods/\(goodsId)/reviews?after=\(replied.lastPosition)").json
            #expect(page["count"] as? Int == 1 && page["averageRating"] as? Double == 5 && page["ratings"] as? [Int] == [0, 0, 0, 0, 1])
            let shown = try #require((page["reviews"] as? [[String: Any]])?.first)
            #expect(shown["text"] as? String == Self.second && shown["reply"] as? String == Self.reply)
            let goods = try await client.call(.get, "/v1/goods/\(goodsId)").json
            #expect(goods["ratingCount"] as? Int == 1 && goods["ratingAverage"] as? Double == 5, "\(goods)")
            #expect(try await client.call(.get, "/v1/reviews", token: merchant).array.isEmpty, "the queue is empty")
        }
    }
}

/// Back in stock over HTTP: two customers wait for a sold-out tea; each restock notifies them in the order they joined,
/// one per unit.
@Suite struct WaitlistJourneyTests {
    @Test func restocksNotifyTheWaitlistFirstComeFirstServed() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let merchant = try await client.user("scarce@example.com", role: .merchant, engine: harness.engine)
            let early = try await client.shopper("early@example.com", engine: harness.engine)
            let late = try await client.shopper("late@example.com", engine: harness.engine)
            let goodsId = try #require(
                try await client.command(
                    "ListGoods", ["title": "Da Hong Pao 大红袍", "category": "tea", "price": 38_800, "stock": 1], token: merchant
                ).result["goodsId"])
            let inStock = try await client.command("JoinWaitlist", ["goodsId": goodsId], token: early)
            #expect(inStock.status == .unprocessableContent && inStock.errorCode == "in_stock", "\(inStock.text)")
            #expect(try await client.command("PlaceOrder", ["items": [["goodsId": goodsId, "quantity": 1]]], token: late).status == .ok)

            #expect(try await client.command("JoinWaitlist", ["goodsId": goodsId], token: early).status == .ok)
            #expect(try await client.command("JoinWaitlist", ["goodsId": goodsId], token: late).status == .ok)
            let twice = try await client.command("JoinWaitlist", ["goodsId": goodsId], token: late)
            #expect(twice.status == .unprocessableContent && twice.errorCode == "already_waiting", "\(twice.text)")

            func notified(_ reply: Reply) -> Int {
                (reply.json["events"] as? [[String: Any]] ?? []).filter { $0["type"] as? String == "BackInStockNotified" }.count
            }
            let one = try await client.command("Restock", ["goodsId": goodsId, "quantity": 1], token: merchant)
            #expect(one.status == .ok && notified(one) == 1, "\(one.text)")
            let earlyId = try await client.call(.get, "/v1/me/profile", token: early).json["userId"] as? String
            let recorded = try harness.log.events(ofType: BackInStockNotified.eventType, from: 1, limit: 10)
            let first = try #require(recorded.first)
            let event = try EventCodec.decode(type: first.type, schemaVersion: Int(first.schemaVersion), payload: first.payload)
            guard case .goods(.backInStockNotified(let notice)) = event else { throw CancellationError() }
            #expect(recorded.count == 1 && notice.userId.description == earlyId, "the first to join is the first told")
            // My waitlist: the early customer was told (with the units then available), the late one still waits.
            let told = try await client.call(.get, "/v1/me/waitlist?after=\(one.lastPosition)", token: early).array
            #expect(told.count == 1 && told.first?["goodsId"] as? String == goodsId && told.first?["available"] as? Int == 1, "\(told)")
            #expect(told.first?["notifiedAt"] is Int)
            let waiting = try await client.call(.get, "/v1/me/waitlist", token: late).array
            #expect(waiting.count == 1 && waiting.first?["notifiedAt"] == nil, "\(waiting)")
            let more = try await client.command("Restock", ["goodsId": goodsId, "quantity": 5], token: merchant)
            #expect(notified(more) == 1, "\(more.text)")
            let leave = try await client.command("LeaveWaitlist", ["goodsId": goodsId], token: late)
            #expect(leave.errorCode == "not_waiting", "the notified have left the list: \(leave.text)")
        }
    }
}
