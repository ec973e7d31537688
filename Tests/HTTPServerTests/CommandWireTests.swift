import CommandAPI
import CommandEngine
import Commerce
import EventStore
import Foundation
import ShopTestSupport
import Testing

/// The command wire format: the envelope, its faults and codes, the retry fingerprint, the answer's JSON.
@Suite struct CommandEnvelopeTests {
    /// The body's faults, each with the code and field a client reads; unknown types and bad data wait for `execute`.
    @Test func envelopeFaultsHaveStableCodes() async throws {
        let envelopeFaults: [(String, String, String?)] = [
            ("{not json", "malformed_json", nil),
            ("[1,2]", "malformed_json", nil),
            (#""text""#, "malformed_json", nil),
            (#"{"data":{}}"#, "missing_field", "type"),
            (#"{"type":7}"#, "wrong_type", "type"),
            (#"{"type":"ClearCart","expectedVersion":-1}"#, "wrong_type", "expectedVersion"),
            (#"{"type":"ClearCart","expectedVersion":"two"}"#, "wrong_type", "expectedVersion"),
            (#"{"type":"ClearCart","type":"ForgetUser","data":{}}"#, "duplicate_key", "type"),
        ]
        for (body, code, field) in envelopeFaults {
            do {
                _ = try CommandEnvelope(envelope: Data(body.utf8))
                Issue.record("\(body) was accepted")
            } catch {
                #expect(error.code.description == code, "\(body): \(error)")
                #expect(error.details["field"] == field, "\(body): \(error)")
            }
        }
        let dataFaults: [(String, String, String)] = [
            (#"{"type":"Explode","data":{}}"#, "unknown_command", ""),
            (#"{"type":"ClearCart","data":7}"#, "wrong_type", "data"),
            (#"{"type":"ClearCart","data":null}"#, "wrong_type", "data"),
            (#"{"type":"AddToCart","data":{"quantity":1}}"#, "missing_field", "goodsId"),
            (#"{"type":"AddToCart","data":{"goodsId":"not-a-uuid","quantity":1}}"#, "invalid_value", "goodsId"),
            (#"{"type":"IssueApiKey","data":{"name":"k","scopes":["root:all"]}}"#, "invalid_value", "scopes[0]"),
            (
                #"{"type":"AddToCart","data":{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":"many"}}"#, "wrong_type",
                "quantity"
            ),
            (#"{"type":"AddAddress","data":{"address":{"recipient":"x"}}}"#, "missing_field", "address.phone"),
            (
                #"{"type":"PlaceOrder","data":{"items":[{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":1},{"goodsId":"nope","quantity":1}]}}"#,
                "invalid_value", "items[1].goodsId"
            ),
            // Foundation's decoder calls these "not valid JSON"; the first number that is not a 64-bit whole number is named.
            (#"{"type":"AddToCart","data":{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":1.5}}"#, "wrong_type", "quantity"),
            (
                #"{"type":"AddToCart","data":{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":99999999999999999999999}}"#,
                "wrong_type", "quantity"
            ),
            (
                #"{"type":"PlaceOrder","data":{"items":[{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":1},{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":-2.5}]}}"#,
                "wrong_type", "items[1].quantity"
            ),
            // A repeated key is refused by name, escaped spellings included, at any depth.
            (
                #"{"type":"AddToCart","data":{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":1,"quantity":90}}"#,
                "duplicate_key", "quantity"
            ),
            (
                #"{"type":"AddToCart","data":{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":1,"quan\u0074ity":90}}"#,
                "duplicate_key", "quantity"
            ),
            (
                #"{"type":"PlaceOrder","data":{"items":[{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":1},{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":1,"goodsId":"0195c0de-0000-7000-8000-000000000002"}]}}"#,
                "duplicate_key", "items[1].goodsId"
            ),
        ]
        // The same key in different objects, and a key's name as a string value, are not repeats.
        let distinct =
            #"{"type":"PlaceOrder","data":{"items":[{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":1},{"goodsId":"0195c0de-0000-7000-8000-000000000002","quantity":2}],"note":"type"}}"#
        if case .failure(let error) = try CommandEnvelope(envelope: Data(distinct.utf8)).command { Issue.record("\(distinct): \(error)") }
        if case .failure(let error) = CommandEnvelope(
            type: "AddToCart", data: Data(#"{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":1,"quantity":2}"#.utf8)
        ).command {
            #expect(error.code == .duplicateKey && error.details["field"] == "quantity", "\(error)")
        } else {
            Issue.record("a repeated key in data given apart was decoded")
        }
        let longType = String(repeating: "X", count: 100_000)
        if case .failure(let error) = try CommandEnvelope(envelope: Data(#"{"type":"\#(longType)","data":{}}"#.utf8)).command {
            #expect(
                error.code == .unknownCommand && error.message.utf8.count < 200 && (error.details["type"]?.utf8.count ?? 0) < 200,
                "\(error.message)")
        } else {
            Issue.record("a 100 KB command type was decoded")
        }
        let apart = CommandEnvelope(
            type: "AddToCart", data: Data(#"{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":1e30}"#.utf8))
        if case .failure(let error) = apart.command {
            #expect(error.code == .wrongType && error.details["field"] == "quantity", "\(error)")
        } else {
            Issue.record("a quantity of 1e30 was decoded")
        }
        for broken in [#"{"goodsId":"0195c0de-0000-7000-8000-000000000001","quantity":1"#, "1.5"] {
            if case .failure(let error) = CommandEnvelope(type: "AddToCart", data: Data(broken.utf8)).command {
                #expect(error.code == (broken == "1.5" ? .wrongType : .malformedJSON), "\(broken): \(error)")
            } else {
                Issue.record("\(broken) was decoded")
            }
        }
        for (body, code, field) in dataFaults {
            let envelope = try CommandEnvelope(envelope: Data(body.utf8))
            guard case .failure(let error) = envelope.command else {
                Issue.record("\(body) was decoded")
                continue
            }
            #expect(error.code.description == code, "\(body): \(error)")
            if code != "unknown_command" {
                #expect(error.details["field"] == field, "\(body): \(error)")
                #expect(error.message.hasPrefix(field == "data" ? "data must" : "data.\(field)"), "\(body): \(error.message)")
            }
        }
    }

    /// The envelope read in one pass decodes the same command as `data` given apart; no `data` is `{}`.
    @Test func envelopeAndSeparateDataRunTheSameCommand() async throws {
        let shop = try TestShop()
        let merchant = try await shop.register("m@example.com", role: .merchant)
        let buyer = try await shop.shopper("b@example.com")
        let goodsId = try await shop.listGoods(by: merchant)
        let context = CommandContext(actor: buyer, correlationId: UUID())
        let envelope = try CommandEnvelope(
            envelope: Data(#"{"type":"AddToCart","expectedVersion":0,"data":{"goodsId":"\#(goodsId)","quantity":2}}"#.utf8))
        #expect(try envelope.command.get() == .addToCart(goodsId, quantity: 2))
        let added = try await shop.engine.execute(try envelope.command.get(), context: context)
        #expect(added.events.map(\.type) == ["CartItemAdded"])
        let command = try CommandEnvelope(envelope: Data(#"{"type":"ClearCart"}"#.utf8))
        #expect(command.expectedVersion == nil)
        let cleared = try await shop.engine.execute(try command.command.get(), context: context)
        #expect(cleared.events.map(\.type) == ["CartCleared"])
        #expect(try CommandEnvelope(envelope: Data(#"{"type":"AddToCart","expectedVersion":0,"data":{}}"#.utf8)).expectedVersion == 0)
    }

    /// The same request laid out otherwise is a retry under its `Idempotency-Key`; another request under a used key is refused.
    @Test func aRetryIsKnownByItsCanonicalBody() async throws {
        let shop = try TestShop()
        let merchant = try await shop.register("m@example.com", role: .merchant)
        func send(_ data: String) async throws -> CommandOutcome {
            let envelope = CommandEnvelope(type: "ListGoods", data: Data(data.utf8))
            let context = CommandContext(
                actor: merchant, correlationId: UUID(), idempotencyKey: "list-cup-1", requestFingerprint: envelope.fingerprint)
            return try await shop.engine.execute(try envelope.command.get(), context: context)
        }
        let first = try await send(#"{"title":"Cup","category":"ware","price":100,"stock":1}"#)
        let retried = try await send(#"{ "stock": 1, "price": 100,  "category": "ware", "title": "Cup" }"#)
        #expect(!first.replayed && retried.replayed && retried.result == first.result)
        await expectEngineError("idempotency_key_reused", shop) {
            _ = try await send(#"{"title":"Cup","category":"ware","price":101,"stock":1}"#)
        }
        #expect(try shop.log.events(ofType: "GoodsListed").count == 1)
    }

    /// The hand-written answer is byte for byte what `JSONEncoder` writes, whatever the strings hold.
    @Test func answerJSONIsTheEncodersJSON() throws {
        struct Answer: Encodable {
            let events: [AppendedEvent]
            let replayed: Bool
            let result: [String: AnswerValue]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var generator = SplitMix64(seed: 11)
        let alphabet = Array("aZ09 \"\\/\n\r\t\u{08}\u{0C}\u{01}\u{1F}\u{7F}é绿茶🍵-_:") + [Character("\u{00}")]
        func text() -> String {
            String((0..<Int(generator.next() % 12)).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
        }
        for _ in 0..<300 {
            let events = (0..<Int(generator.next() % 4)).map { _ in
                AppendedEvent(stream: text(), version: generator.next() % 1_000, position: generator.next(), type: text())
            }
            var result = CommandResult()
            if generator.next() % 2 == 0 { result.token = text() }
            if generator.next() % 2 == 0 { result.code = text() }
            if generator.next() % 2 == 0 { result.number = text() }
            if generator.next() % 2 == 0 { result.orderId = OrderId(UUID()) }
            if generator.next() % 2 == 0 { result.total = Money(minorUnits: Int64(bitPattern: generator.next())) }
            if generator.next() % 2 == 0 { result.scopes = [.ordersRead, .goodsWrite].filter { _ in generator.next() % 2 == 0 } }
            let outcome = CommandOutcome(events: events, result: result, replayed: generator.next() % 2 == 0)
            let currency = text()
            let expected = try encoder.encode(
                Answer(events: events, replayed: outcome.replayed, result: result.answerValues(currency: currency)))
            #expect(outcome.json(currency: currency) == Array(expected), "\(outcome)")
            // The typed answer names what the stored text values name, and a retry (read back from them) answers the same.
            let answer = result.answerValues(currency: currency)
            #expect(Set(answer.keys).subtracting(["currency"]) == Set(result.values.keys))
            #expect(CommandResult(values: result.values).answerValues(currency: currency) == answer)
        }
    }
}
