import CommandEngine
import Commerce
import EventCodec
import EventStore
import Foundation
import HTTPServer
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@Suite struct AdminHoleTests {
    /// The request from the access issue, byte for byte: anyone on the network made themselves an admin.
    @Test func anAnonymousAdminRegistrationIsA403AndAppendsNothing() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let before = harness.log.headPosition
            let body = #"{"type":"RegisterUser","data":{"email":"root@x.example","password":"rootroot1","name":"root","role":"admin"}}"#
            let reply = try await client.call(.post, "/v1/commands", body: body)
            #expect(reply.status == .forbidden && reply.errorCode == "forbidden", "\(reply.text)")
            #expect(harness.log.headPosition == before)
            let merchant = try await client.call(.post, "/v1/commands", body: body.replacingOccurrences(of: "admin", with: "merchant"))
            #expect(merchant.status == .forbidden && harness.log.headPosition == before)
            let login = try await client.command("Login", ["email": "root@x.example", "password": "rootroot1"])
            #expect(login.status == .unauthorized && login.errorCode == "invalid_credentials")
        }
    }
}

@Suite struct SecretsNeverLeaveTests {
    static let email = "secret-shopper@x.example"
    static let phone = "+86 139 5555 0000"

    /// A shop with everything that holds a secret: registrations, a changed password, an API key, logins
    /// under idempotency keys, an order with an address. Returns the admin token, an audit/events key, and
    /// every secret string the log or the answers hold.
    func shopWithSecrets(
        _ client: some TestClientProtocol, _ harness: Harness
    ) async throws -> (admin: String, key: String, secrets: [String]) {
        let admin = try await client.user("admin@x.example", role: .admin, engine: harness.engine)
        let registered = try await client.command(
            "RegisterUser", ["email": Self.email, "password": "first password", "name": "李雷", "phone": Self.phone])
        try #require(registered.status == .ok)
        var token = try #require(
            try await client.command("Login", ["email": Self.email, "password": "first password"], key: "login-1").result["token"])
        _ = try await client.command("ChangePassword", ["oldPassword": "first password", "newPassword": "second password"], token: token)
        token = try #require(
            try await client.command("Login", ["email": Self.email, "password": "second password"], key: "login-2").result["token"])
        _ = try await client.command(
            "AddAddress",
            [
                "address": [
                    "recipient": "李雷", "phone": Self.phone, "line1": "9 Secret Lane", "city": "Beijing",
                    "postalCode": "100080", "country": "CN",
                ]
            ], token: token)
        let merchant = try await client.user("m@x.example", role: .merchant, engine: harness.engine)
        let goods =
            try await client.command("ListGoods", ["title": "Tea", "category": "tea", "price": 100, "stock": 5], token: merchant).result[
                "goodsId"] ?? ""
        try #require(
            try await client.command("PlaceOrder", ["items": [["goodsId": goods, "quantity": 1]]], token: token, key: "order-1").status
                == .ok)
        let issued = try await client.command(
            "IssueApiKey", ["name": "siem", "scopes": ["audit:read", "events:read"]], token: admin, key: "key-1")
        let key = try #require(issued.result["secret"])
        var secrets = [token, key, String(key.suffix(24))]
        for event in try harness.log.read(from: 1) {
            if let decoded = try? EventCodec.decode(type: event.type, schemaVersion: Int(event.schemaVersion), payload: event.payload) {
                switch decoded {
                case .user(.registered(let registered)): secrets += [registered.passwordHash.salt, registered.passwordHash.hash]
                case .user(.passwordChanged(let changed)): secrets += [changed.passwordHash.salt, changed.passwordHash.hash]
                case .apiKey(.issued(let issued)): secrets.append(issued.secretDigest.hex)
                default: break
                }
            } else if let record = try? JSONSerialization.jsonObject(with: Data(event.payload)) as? [String: Any],
                let fingerprint = record["fingerprint"] as? String
            {
                secrets.append(fingerprint)
            }
        }
        #expect(secrets.count >= 3 + 4 + 1 + 3, "the shop holds the secrets this test looks for")
        return (admin, key, secrets)
    }

    @Test func noAuditAnswerFeedOrCommandLineOutputHoldsASecretOrUnrevealedPersonalData() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let (admin, key, secrets) = try await shopWithSecrets(client, harness)
            let head = harness.log.headPosition
            var outputs: [(String, String)] = []
            for (name, token) in [("admin", admin), ("key", key)] {
                let audit = try await client.call(.get, "/v1/audit/events?limit=1000", token: token)
                #expect(audit.status == .ok && (audit.json["events"] as? [Any])?.count == Int(head))
                outputs.append(("audit as \(name)", audit.text))
                let feed = try await client.call(.get, "/v1/events?limit=\(head)", token: token)
                #expect(feed.status == .ok && feed.text.components(separatedBy: "\nid: ").count == Int(head))
                outputs.append(("event feed as \(name)", feed.text))
            }
            let jsonl = try await runEmporium(["audit", "--data-dir", harness.directory, "--all", "--limit", "1000", "--format", "jsonl"])
            #expect(jsonl.status == 0 && jsonl.output.split(separator: "\n").count == Int(head), "\(jsonl.error)")
            outputs.append(("emporium audit", jsonl.output))
            outputs.append(("API key list", try await client.call(.get, "/v1/admin/api-keys", token: admin).text))
            for (name, text) in outputs {
                for secret in secrets { #expect(!text.contains(secret), "\(name) shows a secret: \(secret)") }
                #expect(!text.contains(Self.email) && !text.contains(Self.phone), "\(name) shows personal data unasked")
                #expect(text.contains(Secrets.redacted) || name == "API key list", "\(name) redacts")
            }
            // Revealed, personal fields open; secrets stay redacted.
            let revealed = try await client.call(.get, "/v1/audit/events?limit=1000&reveal=personal", token: admin)
            #expect(revealed.text.contains(Self.email) && revealed.text.contains(Self.phone))
            for secret in secrets { #expect(!revealed.text.contains(secret), "a revealed page shows a secret") }
            let cli = try await runEmporium(["audit", "--data-dir", harness.directory, "--all", "--format", "jsonl", "--reveal-personal"])
            #expect(cli.output.contains(Self.email))
            for secret in secrets { #expect(!cli.output.contains(secret)) }
            // An export keeps everything: it is the operator's copy of the log.
            let export = try await runEmporium(["export", "--data-dir", harness.directory])
            #expect(export.status == 0 && secrets.contains { export.output.contains($0) })
        }
    }

    @Test func aRevealIsRecordedWithWhoWhomAndTheRequestAndOnlyAdminsMayAsk() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let (admin, key, _) = try await shopWithSecrets(client, harness)
            let customer = try #require(
                try await client.call(.get, "/v1/audit/events?type=UserRegistered&limit=10", token: admin).json["events"]
                    as? [[String: Any]]
            )
            .first {
                ($0["data"] as? [String: Any])?["email"] as? String == PersonalData.hidden
                    && ($0["data"] as? [String: Any])?["role"] as? String == "customer"
            }
            let userStream = try #require(customer?["stream"] as? String)
            let userId = String(userStream.dropFirst("user-".count))
            // A key, even with audit:read, may not reveal; nothing is recorded.
            let before = harness.log.headPosition
            let refused = try await client.call(.get, "/v1/audit/streams/\(userStream)?reveal=personal", token: key)
            #expect(refused.status == .forbidden && harness.log.headPosition == before)
            // A page with no personal data on it records nothing.
            #expect(try await client.call(.get, "/v1/audit/events?type=GoodsListed&reveal=personal", token: admin).status == .ok)
            #expect(harness.log.headPosition == before)
            // The admin's reveal: the answer opens the fields, and the log says who saw whose data, when, by which request.
            let requestId = UUID()
            let shown = try await client.call(
                .get, "/v1/audit/streams/\(userStream)?reveal=personal", token: admin,
                headers: [HTTPField.Name("X-Request-Id") ?? .via: requestId.uuidString])
            #expect(shown.status == .ok && shown.text.contains(Self.email))
            let record = try await client.call(.get, "/v1/audit/streams/disclosures-\(userId)", token: admin)
            let events = try #require(record.json["events"] as? [[String: Any]])
            #expect(events.count == 1)
            let disclosure = try #require(events.first)
            #expect(disclosure["type"] as? String == "PersonalDataRevealed")
            #expect(disclosure["correlationId"] as? String == requestId.uuidString.lowercased())
            #expect((disclosure["actor"] as? String)?.hasSuffix(":admin") == true)
            let data = try #require(disclosure["data"] as? [String: Any])
            #expect(data["subject"] as? String == userId && (data["request"] as? String)?.contains("reveal=personal") == true)
            let shownPositions = (shown.json["events"] as? [[String: Any]] ?? []).compactMap { $0["position"] as? Int }
            #expect(Set(data["positions"] as? [Int] ?? []).isSubset(of: shownPositions) && !(data["positions"] as? [Int] ?? []).isEmpty)
            // "Who looked at this customer's data": by stream, and by the viewer as actor.
            let byType = try await client.call(.get, "/v1/audit/events?type=PersonalDataRevealed", token: admin)
            #expect((byType.json["events"] as? [Any])?.count == 1)
        }
    }
}
