import CommandEngine
import Commerce
import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ShopTestSupport
import Testing

@testable import HTTPServer

@Suite struct ConcurrencyOverHTTPTests {
    /// From carts, and as "buy now" orders that name the goods (the form a flash sale uses: no cart edits in between).
    @Test(arguments: [false, true])
    func twoHundredConcurrentCheckoutsForFiftyItemsPlaceExactlyFifty(buyNow: Bool) async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let merchant = try await client.user("flash@example.com", role: .merchant, engine: harness.engine)
            let goodsId = try #require(
                try await client.command("ListGoods", ["title": "Limited", "category": "x", "price": 999, "stock": 50], token: merchant)
                    .result["goodsId"])
            var tokens: [String] = []
            for index in 0..<200 {
                let token = try await client.shopper("fan\(index)@example.com", engine: harness.engine)
                if !buyNow { _ = try await client.command("AddToCart", ["goodsId": goodsId, "quantity": 1], token: token) }
                tokens.append(token)
            }
            let codes = try await withThrowingTaskGroup(of: String.self) { group in
                for token in tokens {
                    group.addTask {
                        let data: [String: Any] = buyNow ? ["items": [["goodsId": goodsId, "quantity": 1]]] : [:]
                        return try await client.command("PlaceOrder", data, token: token).errorCode ?? "placed"
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(codes.filter { $0 == "placed" }.count == 50)
            #expect(codes.filter { $0 == "insufficient_stock" }.count == 150, "\(Set(codes))")
            #expect(try await client.call(.get, "/v1/goods/\(goodsId)").json["available"] as? Int == 0)
            #expect(try harness.log.events(ofType: "OrderPlaced").count == 50)
            #expect(try harness.log.events(ofType: "CartCheckedOut").count == (buyNow ? 0 : 50))
        }
    }

    @Test func aHundredConcurrentDeliveriesOfOneSignedCallbackPayOnce() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let merchant = try await client.user("m@example.com", role: .merchant, engine: harness.engine)
            let buyer = try await client.shopper("b@example.com", engine: harness.engine)
            let goodsId = try #require(
                try await client.command("ListGoods", ["title": "Tea", "category": "t", "price": 1_234, "stock": 5], token: merchant)
                    .result["goodsId"])
            _ = try await client.command("AddToCart", ["goodsId": goodsId, "quantity": 1], token: buyer)
            let orderId = try #require(try await client.command("PlaceOrder", token: buyer).result["orderId"])
            let paymentId = try #require(
                try await client.command("InitiatePayment", ["orderId": orderId], token: buyer).result["paymentId"])
            let body = String(
                decoding: try JSONEncoder().encode(
                    ProviderNotification(paymentId: paymentId, transactionId: "sbx-100", status: "succeeded", amount: 1_234)), as: UTF8.self
            )
            let timestamp = Int64(Date().timeIntervalSince1970)
            let signature = CallbackVerifier(provider: "sandbox", secret: sandboxSecret).sign(body: Array(body.utf8), timestamp: timestamp)
            let headers: HTTPFields = [
                HTTPField.Name("X-Timestamp") ?? .via: String(timestamp), HTTPField.Name("X-Signature") ?? .via: signature,
            ]
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<100 {
                    group.addTask { try await client.call(.post, "/v1/payments/sandbox/callback", body: body, headers: headers).status }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == .ok })
            #expect(try harness.log.events(ofType: "PaymentSucceeded").count == 1)
            #expect(try harness.log.events(ofType: "OrderPaid").count == 1)
            var tampered = headers
            tampered[HTTPField.Name("X-Signature") ?? .via] = String(signature.reversed())
            let before = try await client.head()
            #expect(try await client.call(.post, "/v1/payments/sandbox/callback", body: body, headers: tampered).status == .unauthorized)
            #expect(try await client.head() == before)
        }
    }

    @Test func anIdempotencyKeyOverHTTPReturnsTheFirstAnswer() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let merchant = try await client.user("m@example.com", role: .merchant, engine: harness.engine)
            let first = try await client.command(
                "ListGoods", ["title": "Once", "category": "t", "price": 1, "stock": 1], token: merchant, key: "abc-123")
            let second = try await client.command(
                "ListGoods", ["title": "Once", "category": "t", "price": 1, "stock": 1], token: merchant, key: "abc-123")
            #expect(first.result == second.result)
            #expect(second.json["replayed"] as? Bool == true)
            #expect(try harness.log.events(ofType: "GoodsListed").count == 1)
            // Another request under the same key: 422, nothing run, and not the first answer passed off as this one's.
            let other = try await client.command(
                "ListGoods", ["title": "Twice", "category": "t", "price": 1, "stock": 1], token: merchant, key: "abc-123")
            #expect(other.status == .unprocessableContent && other.errorCode == "idempotency_key_reused", "\(other.text)")
            #expect(try harness.log.events(ofType: "GoodsListed").count == 1)
        }
    }
}

@Suite struct EventFeedTests {
    /// Parses `id:` and `event:` lines of a Server-Sent Events body.
    static func positions(_ body: String) -> [UInt64] {
        body.split(separator: "\n").filter { $0.hasPrefix("id: ") }.compactMap { UInt64($0.dropFirst(4)) }
    }

    @Test func aClientThatResumesWithLastEventIdSeesEveryEventOnceInOrder() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let admin = try await client.user("admin@example.com", role: .admin, engine: harness.engine)
            for index in 0..<6 { _ = try await client.user("u\(index)@example.com", engine: harness.engine) }
            let head = try #require(UInt64(try await client.head()))
            let first = try await client.call(.get, "/v1/events?from=1&limit=7", token: admin)
            #expect(first.headers[.contentType] == "text/event-stream")
            let seen = Self.positions(first.text)
            #expect(seen == Array(1...7))
            #expect(first.text.contains("event: UserRegistered") && first.text.contains(#""payload":{"#))
            let rest = try await client.call(
                .get, "/v1/events?limit=\(head - 7)", token: admin,
                headers: [HTTPField.Name("Last-Event-ID") ?? .via: String(seen.last ?? 0)])
            #expect(seen + Self.positions(rest.text) == Array(1...head))
            let filtered = try await client.call(.get, "/v1/events?type=UserLoggedIn&limit=7", token: admin)
            #expect(Self.positions(filtered.text).count == 7)
            #expect(!filtered.text.contains("event: UserRegistered"))
            let customer = try await client.user("c@example.com", engine: harness.engine)
            #expect(try await client.call(.get, "/v1/events?limit=1", token: customer).status == .forbidden)
            // Bad positions and limits are 400s, not a feed from the start (and the last position there is
            // cannot be followed: adding one to it crashed the server).
            let lastEventId = HTTPField.Name("Last-Event-ID") ?? .via
            for (bad, headers) in [
                ("from=abc", [:]), ("from=-5", [:]), ("from=99999999999999999999999", [:]), ("limit=0", [:]),
                ("limit=-1", [:]), ("limit=x", [:]), ("", [lastEventId: "zzz"]), ("", [lastEventId: "18446744073709551615"]),
            ]
                as [(String, HTTPFields)]
            {
                let reply = try await client.call(.get, "/v1/events?\(bad)", token: admin, headers: headers)
                #expect(reply.status == .badRequest && reply.errorCode == "invalid_query", "\(bad) \(headers)")
            }
            let empty = try await client.call(.get, "/v1/events?from=3&limit=1", token: admin, headers: [lastEventId: ""])
            #expect(Self.positions(empty.text) == [3], "an empty Last-Event-ID is no Last-Event-ID")
        }
    }
}

@Suite struct LiveServerTests {
    @Test func aRealServerOnLoopbackAnswers() async throws {
        let harness = try Harness()
        try await harness.app.test(.live) { client in
            #expect(try await client.call(.get, "/health").status == .ok)
            let registered = try await client.command(
                "RegisterUser", ["email": "live@example.com", "password": "correct horse", "name": "Live"])
            #expect(registered.status == .ok)
            let login = try await client.command("Login", ["email": "live@example.com", "password": "correct horse"])
            #expect(login.result["token"] != nil)
            let wrong = try await client.command("Login", ["email": "live@example.com", "password": "wrong password"])
            #expect(wrong.status == .unauthorized && wrong.errorCode == "invalid_credentials")
        }
    }
}

@Suite struct ExpectedVersionTests {
    @Test func aStaleExpectedVersionIsAConflictWithTheCurrentVersion() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let merchant = try await client.user("m@example.com", role: .merchant, engine: harness.engine)
            let goodsId = try #require(
                try await client.command(
                    "ListGoods", ["title": "Tea", "category": "t", "price": 100, "stock": 5, "lowStockThreshold": 1],
                    token: merchant
                ).result["goodsId"])
            func changePrice(_ price: Int, expected: Any) async throws -> Reply {
                let body = String(
                    decoding: try JSONSerialization.data(withJSONObject: [
                        "type": "ChangePrice", "data": ["goodsId": goodsId, "price": price],
                        "expectedVersion": expected,
                    ]), as: UTF8.self)
                return try await client.call(.post, "/v1/commands", body: body, token: merchant)
            }
            let first = try await changePrice(200, expected: 1)
            #expect(first.status == .ok, "\(first.text)")
            let before = try await client.head()
            let stale = try await changePrice(300, expected: 1)
            #expect(stale.status == .conflict && stale.errorCode == "version_conflict")
            #expect(((stale.json["error"] as? [String: Any])?["details"] as? [String: String])?["currentVersion"] == "2")
            #expect(try await client.head() == before)
            #expect(try await changePrice(300, expected: 2).status == .ok)
            #expect(try await changePrice(400, expected: "two").errorCode == "wrong_type")
            #expect(try await changePrice(400, expected: -1).errorCode == "wrong_type")
        }
    }
}

@Suite struct RateLimitTests {
    @Test func aCallerBeyondTheirBurstGets429AndOthersDoNot() async throws {
        // One command a minute after a burst of 2: 20 commands cannot earn a token back however loaded the machine is (under
        // load a command here has taken 4 s, which refilled a bucket of one a second).
        let harness = try Harness {
            $0.commandsPerSecondPerCaller = 1.0 / 60
            $0.commandBurstPerCaller = 2
        }
        try await harness.app.test(.router) { client in
            let merchant = try await client.user("m@example.com", role: .merchant, engine: harness.engine)
            let other = try await client.user("o@example.com", role: .merchant, engine: harness.engine)
            var statuses: [HTTPResponse.Status] = []
            var limitedAt: String?
            for index in 0..<20 {
                let before = try await client.head()
                let reply = try await client.command(
                    "ListGoods", ["title": "Item \(index)", "category": "t", "price": 1, "stock": 1], token: merchant)
                statuses.append(reply.status)
                if reply.status == .tooManyRequests {
                    #expect(reply.errorCode == "rate_limited")
                    #expect(try await client.head() == before)
                    limitedAt = limitedAt ?? before
                }
            }
            #expect(statuses.prefix(2).allSatisfy { $0 == .ok })
            #expect(statuses.contains(.tooManyRequests))
            #expect(limitedAt != nil)
            #expect(
                try await client.command("ListGoods", ["title": "Other", "category": "t", "price": 1, "stock": 1], token: other).status
                    == .ok)
        }
    }
}

@Suite struct RateLimiterBoundTests {
    /// Every caller active (two requests each, so none looks idle): the bound must still hold.
    @Test func theLimiterNeverTracksMoreThanItsBound() {
        let limiter = RateLimiter(ratePerSecond: 0.001, burst: 2)
        for caller in 0..<(RateLimiter.bucketsMax + 10) {
            _ = limiter.allow("caller-\(caller)")
            _ = limiter.allow("caller-\(caller)")
            #expect(limiter.trackedCallers <= RateLimiter.bucketsMax)
        }
        #expect(limiter.allow("newcomer"))
    }
}

@Suite struct AuditEndpointTests {
    @Test func adminsQueryTheLogByFilterAndPageAndGetTheDigest() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let admin = try await client.user("admin@example.com", role: .admin, engine: harness.engine)
            let customer = try await client.shopper("buyer@example.com", engine: harness.engine)
            // Customers may not audit.
            let refused = try await client.call(.get, "/v1/audit/events", token: customer)
            #expect(refused.status == .forbidden)
            #expect(try await client.call(.get, "/v1/audit/digest").status == .unauthorized)
            // By type, a page at a time.
            let first = try await client.call(.get, "/v1/audit/events?type=UserRegistered&limit=1", token: admin)
            #expect(first.status == .ok)
            let events = try #require(first.json["events"] as? [[String: Any]])
            #expect(events.count == 1 && events[0]["type"] as? String == "UserRegistered")
            #expect(
                (events[0]["data"] as? [String: Any])?["email"] as? String == PersonalData.hidden, "personal fields hidden unless revealed")
            #expect(
                events[0]["payloadBase64"] == nil && events[0]["payloadWithheld"] as? Bool == true, "the stored bytes hold a password hash")
            let listed = try await client.call(.get, "/v1/audit/events?type=EmailClaimed&limit=1", token: admin)
            let claim = try #require((listed.json["events"] as? [[String: Any]])?.first)
            let stored = try #require((claim["payloadBase64"] as? String).flatMap { Data(base64Encoded: $0) })
            #expect(
                !String(decoding: stored, as: UTF8.self).contains("admin@example.com"), "personal fields are sealed in the stored payload")
            let next = try #require(first.json["next"] as? Int)
            let second = try await client.call(.get, "/v1/audit/events?type=UserRegistered&limit=1&after=\(next)", token: admin)
            let rest = try #require(second.json["events"] as? [[String: Any]])
            #expect(rest.count == 1 && (rest[0]["position"] as? Int ?? 0) > next)
            #expect(second.json["next"] is NSNull)
            // One stream's history.
            let stream = try #require(events[0]["stream"] as? String)
            let history = try await client.call(.get, "/v1/audit/streams/\(stream)", token: admin)
            #expect((history.json["events"] as? [[String: Any]])?.allSatisfy { $0["stream"] as? String == stream } == true)
            // The digest is the head.
            let digest = try await client.call(.get, "/v1/audit/digest", token: admin)
            let head = try harness.log.head()
            #expect(digest.json["position"] as? Int == Int(head.position) && digest.json["hash"] as? String == head.hash.hex)
            // Bad filters are 400s with a stable code.
            for bad in ["correlationId=nope", "from=yesterday", "limit=0", "limit=5000", "after=-1"] {
                let reply = try await client.call(.get, "/v1/audit/events?\(bad)", token: admin)
                #expect(reply.status == .badRequest && reply.errorCode == "invalid_query", "\(bad)")
            }
            // Nothing follows the largest position (one past it overflowed and crashed the server).
            let beyond = try await client.call(.get, "/v1/audit/events?after=\(UInt64.max)", token: admin)
            #expect(beyond.status == .ok && (beyond.json["events"] as? [Any])?.isEmpty == true && beyond.json["next"] is NSNull)
            // Times past what 64 bits of nanoseconds hold are bounds like any other (they overflowed and crashed the server).
            let farFuture = try await client.call(.get, "/v1/audit/events?from=9999-12-31T00:00:00Z", token: admin)
            #expect(farFuture.status == .ok && (farFuture.json["events"] as? [Any])?.isEmpty == true)
            let farPast = try await client.call(
                .get, "/v1/audit/events?from=0001-01-01T00:00:00Z&to=9999-12-31T00:00:00Z&limit=1", token: admin)
            #expect(farPast.status == .ok && (farPast.json["events"] as? [[String: Any]])?.first?["position"] as? Int == 1)
        }
    }
}
