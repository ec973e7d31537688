import Assembly
import CommandEngine
import Commerce
import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ShopTestSupport
import Synchronization
import Testing

/// A real endpoint on 127.0.0.1 (Hummingbird) that records every delivery and answers as its script says.
final class WebhookReceiver: Sendable {
    struct Received: Sendable {
        var deliveryId: String
        var position: UInt64
        var stream: String
        var type: String
        var signatureValid: Bool
    }

    enum Answer: Sendable {
        case ok, fail, hang
    }

    let secret: Mutex<String> = Mutex("")
    let received = Mutex<[Received]>([])
    /// Answers for the next requests, in order; then `ok`.
    let script = Mutex<[Answer]>([])
    /// Bodies containing this are refused every time.
    let poison = Mutex<String?>(nil)

    var router: Router<BasicRequestContext> {
        let router = Router()
        router.post("/hook") { request, _ -> HTTPResponse.Status in
            let body = Array(try await request.body.collect(upTo: 1 << 20).readableBytesView)
            let timestamp = request.headers[HTTPField.Name("X-Emporium-Timestamp") ?? .via].flatMap { Int64($0) } ?? 0
            let signature = request.headers[HTTPField.Name("X-Emporium-Signature") ?? .via] ?? ""
            let verifier = CallbackVerifier(provider: "webhook", secret: Array(self.secret.withLock { $0 }.utf8))
            let valid = (try? verifier.verify(body: body, timestamp: timestamp, signature: signature, nowSeconds: timestamp)) != nil
            let json = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
            let event = json["event"] as? [String: Any] ?? [:]
            self.received.withLock {
                $0.append(
                    Received(
                        deliveryId: request.headers[HTTPField.Name("X-Emporium-Delivery") ?? .via] ?? "",
                        position: (event["position"] as? NSNumber)?.uint64Value ?? 0, stream: event["stream"] as? String ?? "",
                        type: event["type"] as? String ?? "", signatureValid: valid && json["deliveryId"] as? String != nil))
            }
            if let poison = self.poison.withLock({ $0 }), String(decoding: body, as: UTF8.self).contains(poison) {
                return .internalServerError
            }
            let answer = self.script.withLock { $0.isEmpty ? Answer.ok : $0.removeFirst() }
            switch answer {
            case .ok: return .noContent
            case .fail: return .internalServerError
            case .hang:
                try await Task.sleep(for: .seconds(3))
                return .ok
            }
        }
        return router
    }
}

/// Each delivery attempt's result, as the server's metrics are told them.
final class AttemptTally: Sendable {
    let counts = Mutex<[String: Int]>([:])
}

/// Outbound webhooks against a real local receiver that fails, times out and recovers: every event arrives, in order
/// per stream, signed; duplicates carry the same delivery id; a restart resumes from the checkpoint; an event the
/// endpoint keeps refusing is dead-lettered, delivery moves on, and an admin's replay sends it once the endpoint mends.
@Suite struct WebhookDeliveryTests {
    /// Fast retries: five attempts 10–40 ms apart, a 2 s timeout (long enough that a loaded CI machine answers in time;
    /// the receiver's hang is longer).
    static func settings(reportingTo tally: AttemptTally) -> WebhookDispatcher.Settings {
        var settings = WebhookDispatcher.Settings()
        (settings.attemptsMax, settings.backoffBase, settings.backoffMax, settings.timeout) = (
            5, .milliseconds(10), .milliseconds(40), .seconds(2)
        )
        settings.onAttempt = { result in tally.counts.withLock { $0[result, default: 0] += 1 } }
        return settings
    }

    @Test func everyEventArrivesSignedInOrderThroughFailuresTimeoutsAndARestart() async throws {
        let receiver = WebhookReceiver()
        let app = Application(router: receiver.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let shop = try TestShop()
            let admin = try await shop.register("hooks@example.com", role: .admin)
            let merchant = try await shop.register("seller@example.com", role: .merchant)
            let refused = await outcome {
                _ = try await shop.run(.registerWebhook(url: "ftp://127.0.0.1/hook"), as: admin)
            }
            #expect(refused.contains("invalid_input"), "\(refused)")
            let unknownType = await outcome {
                _ = try await shop.run(.registerWebhook(url: "http://127.0.0.1:\(port)/hook", eventTypes: ["NoSuchEvent"]), as: admin)
            }
            #expect(unknownType.contains("invalid_input"), "\(unknownType)")
            #expect(
                await outcome { _ = try await shop.run(.registerWebhook(url: "http://127.0.0.1/x"), as: merchant) }.contains("forbidden"))

            let registered = try await shop.run(
                .registerWebhook(url: "http://127.0.0.1:\(port)/hook", eventTypes: ["GoodsListed", "PriceChanged", "StockAdded"]), as: admin
            )
            let webhookId = try #require(registered.result.webhookId)
            let secret = try #require(registered.result.secret)
            #expect(secret == shop.engine.webhookSecret(webhookId) && secret.count == 64)
            receiver.secret.withLock { $0 = secret }
            let logged = try shop.log.read(from: 1).map { String(decoding: $0.payload, as: UTF8.self) }
            #expect(!logged.contains { $0.contains(secret) }, "the secret is derived, never written to the log")
            // Fails twice, then hangs past the timeout (the receiver still takes it: a duplicate follows), then mends.
            receiver.script.withLock { $0 = [.fail, .fail, .hang] }
            var goods: [GoodsId] = []
            for _ in 0..<3 { goods.append(try await shop.listGoods(by: merchant, stock: 5)) }
            for (index, goodsId) in goods.enumerated() {
                _ = try await shop.run(.changePrice(goodsId, price: Money(minorUnits: Int64(3_000 + index))), as: merchant)
                _ = try await shop.run(.restock(goodsId, quantity: 2), as: merchant)
            }
            _ = try await shop.run(.addToCart(goods[0], quantity: 1), as: merchant)  // a type it does not want
            let wanted = try shop.log.read(from: 1).filter { ["GoodsListed", "PriceChanged", "StockAdded"].contains($0.type) }
            #expect(wanted.count == 9)

            let attempts = AttemptTally()
            let settings = Self.settings(reportingTo: attempts)
            let dispatcher = WebhookDispatcher(engine: shop.engine, transport: HTTPWebhookTransport(), settings: settings)
            #expect(try await dispatcher.deliverOnce() == 9)
            let got = receiver.received.withLock { $0 }
            let allSigned = got.allSatisfy(\.signatureValid)
            #expect(allSigned, "every delivery is signed with the webhook's secret")
            #expect(Set(got.map(\.position)) == Set(wanted.map(\.position)), "every wanted event arrived, and nothing else")
            #expect(got.count >= 12, "two failures and a timeout were tried again: \(got.count) requests")
            for position in Set(got.map(\.position)) {
                let ids = Set(got.filter { $0.position == position }.map(\.deliveryId))
                #expect(ids == [WebhookDispatcher.deliveryId(webhookId, position: position)], "one delivery id per event, on every attempt")
            }
            for stream in Set(got.map(\.stream)) {
                var firsts: [UInt64] = []
                for received in got where received.stream == stream && !firsts.contains(received.position) {
                    firsts.append(received.position)
                }
                #expect(firsts == firsts.sorted(), "\(stream) arrived in order")
            }
            var view = try shop.engine.webhook(webhookId, for: admin)
            let lastWanted = try #require(wanted.last).position
            #expect(view.delivered == 9 && view.deadLetters.isEmpty && view.checkpoint >= lastWanted)

            // A restart resumes from the checkpoint in the log: nothing is sent again.
            let restarted = WebhookDispatcher(engine: shop.engine, transport: HTTPWebhookTransport(), settings: settings)
            #expect(try await restarted.deliverOnce() == 0)
            #expect(receiver.received.withLock { $0.count } == got.count)

            // An event the endpoint keeps refusing is dead-lettered after the last attempt, and delivery moves on.
            receiver.poison.withLock { $0 = "6666" }
            _ = try await shop.run(.changePrice(goods[1], price: Money(minorUnits: 6_666)), as: merchant)
            _ = try await shop.run(.restock(goods[2], quantity: 3), as: merchant)
            #expect(try await restarted.deliverOnce() == 1)
            view = try shop.engine.webhook(webhookId, for: admin)
            #expect(view.deadLetters.map(\.eventType) == ["PriceChanged"] && view.deadLetters.first?.attempts == 5, "\(view)")
            #expect(view.deadLetters.first?.error == "HTTP 500")
            let reported = attempts.counts.withLock { $0 }
            // Two failures, a timeout and five refusals at least (a loaded machine may time out once more): each is reported.
            #expect(reported["delivered"] == 10 && reported["dead_lettered"] == 1 && reported["failed", default: 0] >= 8, "\(reported)")
            let replayRefused = await outcome { _ = try await shop.run(.replayWebhookDeadLetters(webhookId), as: merchant) }
            #expect(replayRefused.contains("forbidden") || replayRefused.contains("insufficient"), "\(replayRefused)")
            // Mended, replayed: it goes through.
            receiver.poison.withLock { $0 = nil }
            _ = try await shop.run(.replayWebhookDeadLetters(webhookId), as: admin)
            #expect(try await restarted.deliverOnce() == 1)
            view = try shop.engine.webhook(webhookId, for: admin)
            #expect(view.deadLetters.isEmpty && view.replaying.isEmpty && view.delivered == 11, "\(view)")

            // Disabled: nothing more is sent.
            _ = try await shop.run(.disableWebhook(webhookId, reason: "endpoint retired"), as: admin)
            let before = receiver.received.withLock { $0.count }
            _ = try await shop.run(.restock(goods[0], quantity: 1), as: merchant)
            #expect(try await restarted.deliverOnce() == 0)
            #expect(receiver.received.withLock { $0.count } == before)
            #expect(try shop.engine.webhooks(for: admin).map(\.disabled) == [true])
        }
    }
}
