import CommandEngine
import Commerce
import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresTestSupport
import ReadModels
import ShopTestSupport
import TestSupport
import Testing

@testable import HTTPServer

@Suite struct MetricsAndHealthTests {
    /// Every family the operator's dashboards read is there once traffic has flowed.
    @Test func metricsCoverRoutesCommandsTheLogTheReadModelsRefusalsAndTheProcess() async throws {
        // One command in two seconds (a burst of one): commands that follow the first are refused even when a loaded
        // machine takes a second over each (at one per second, a busy suite run saw none refused).
        let harness = try Harness { $0.commandsPerSecondPerCaller = 0.5 }
        try await harness.app.test(.router) { client in
            let merchant = try await client.user("m@x.example", role: .merchant, engine: harness.engine)
            let goods = try await client.command(
                "ListGoods", ["title": "Tea", "category": "tea", "price": 100, "stock": 5], token: merchant)
            #expect(try await client.call(.get, "/v1/goods/\(goods.result["goodsId"] ?? "")").status == .ok)
            #expect(try await client.call(.get, "/v1/goods/nope").status == .notFound)
            #expect(try await client.call(.get, "/no/such/route").status == .notFound)
            var limited = 0
            for _ in 0..<4
            where try await client.command("ChangePrice", ["goodsId": goods.result["goodsId"] ?? "", "price": 101], token: merchant).status
                == .tooManyRequests
            {
                limited += 1
            }
            #expect(limited > 0)
            _ = try await client.call(.get, "/v1/search?q=tea&after=\(harness.log.headPosition)")
            let text = try await client.call(.get, "/metrics").text
            let expected = [
                #"emporium_http_requests_total{route="/v1/goods/{goodsId}",method="GET",status="200"} 1"#,
                #"emporium_http_requests_total{route="/v1/goods/{goodsId}",method="GET",status="404"} 1"#,
                #"emporium_http_requests_total{route="NotFound",method="GET",status="404"} 1"#,
                #"emporium_http_request_duration_seconds_bucket{route="/v1/commands",method="POST",status="200",le="#,
                #"emporium_commands_total{type="ListGoods",outcome="ok"} 1"#,
                #"emporium_commands_total{type="ChangePrice",outcome="rate_limited"}"#,
                #"emporium_command_duration_seconds_count{type="ListGoods",outcome="ok"} 1"#,
                #"emporium_rate_limited_total{caller="signed_in"}"#,
                "emporium_log_commits_total ", "emporium_log_events_per_commit_bucket{le=",
                "emporium_log_commit_duration_seconds_bucket{le=",
                "emporium_log_head_position \(harness.log.headPosition)",
                #"emporium_projection_lag_events{projection="search"}"#, #"emporium_projection_checkpoint{projection="search"}"#,
                #"emporium_projection_folded_events_total{projection="search"}"#,
                "process_cpu_seconds_total ", "process_resident_memory_bytes ", "process_open_fds ", "process_start_time_seconds ",
            ]
            for line in expected { #expect(text.contains(line), "missing \(line)") }
            // Routes are templates: an id never becomes a label.
            #expect(!text.contains(goods.result["goodsId"] ?? "-"))
            #expect(!text.contains("emporium_log_of_record_"), "a shop with its log on this machine has no log of record")
        }
    }

    /// A node of a cluster counts what its appends cost the log of record: transactions, events, and how many of its
    /// writes PostgreSQL placed again because another node committed under them (what an operator sizes a cluster by).
    @Test func aNodeCountsItsWritesToTheLogOfRecord() async throws {
        let database = try await TestPostgres.database()
        let node = try await TestShop(node: "metrics", of: database, readModels: true)
        let other = try await TestShop(node: "other", of: database)
        let harness = try Harness(shop: node)
        try await harness.app.test(.router) { client in
            let merchant = try await client.user("m@x.example", role: .merchant, engine: harness.engine)
            for title in ["Tea", "Milk", "Rice"] {
                let listed = try await client.command(
                    "ListGoods", ["title": title, "category": "tea", "price": 100, "stock": 5], token: merchant)
                #expect(listed.status == .ok, "\(listed.text)")
                // Another node commits between this node's writes: the next one is placed on a head that moved.
                _ = try await other.engine.execute(
                    .registerUser(email: "\(title)@x.example", password: "correct horse", name: title, role: .customer),
                    context: CommandContext(actor: .system, correlationId: UUID()))
            }
            let text = try await client.call(.get, "/metrics").text
            func total(_ name: String) -> Int? {
                text.split(separator: "\n").first { $0.hasPrefix("emporium_log_of_record_\(name)_total ") }
                    .flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }.map { Int($0) }
            }
            let transactions = try #require(total("transactions"), "\(text)")
            #expect(transactions >= 4, "the user's registration and three listings")
            #expect(try #require(total("events")) >= transactions)
            #expect(try #require(total("writes_placed_again")) >= 1, "a write on a head another node moved was placed again")
            for name in [
                "one_statement_writes", "writes_decided_again_under_lock", "drains", "relearned", "chains_answered",
                "appends_refused_on_what_was_known",
            ] {
                #expect(total(name) != nil, "missing emporium_log_of_record_\(name)_total")
            }
        }
        await other.stop()
        await node.stop()
    }

    @Test func healthSaysVersionAndUptimeAndTurnsUnhealthyWhenTheNewestRecordDoesNotCheck() async throws {
        let harness = try Harness { $0.version = "9.8.7" }
        try await harness.app.test(.router) { client in
            let merchant = try await client.user("m@x.example", role: .merchant, engine: harness.engine)
            let healthy = try await client.call(.get, "/health")
            #expect(healthy.status == .ok && healthy.json["status"] as? String == "ok" && healthy.json["version"] as? String == "9.8.7")
            #expect(healthy.json["uptimeSeconds"] is Int && (healthy.json["problems"] as? [Any])?.isEmpty == true)
            // Tamper with the newest record's payload in the file (a same-length edit, as an attacker would make).
            let marker = "TAMPERMARK-\(UUID().uuidString.prefix(8))"
            #expect(
                try await client.command("ListGoods", ["title": marker, "category": "tea", "price": 100, "stock": 50], token: merchant)
                    .status == .ok)
            let path = harness.directory + "/log/data.mdb"
            let file = try Data(contentsOf: URL(fileURLWithPath: path))
            let range = try #require(file.range(of: Data(marker.utf8)))
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.seek(toOffset: UInt64(range.lowerBound))
            handle.write(Data(marker.lowercased().utf8))
            try handle.close()
            let unhealthy = try await client.call(.get, "/health")
            #expect(unhealthy.status == .serviceUnavailable && unhealthy.json["status"] as? String == "unhealthy", "\(unhealthy.text)")
            #expect((unhealthy.json["problems"] as? [String])?.first?.contains("newest record") == true)
        }
    }

    /// A node cut off from its log of record says so on `/health` (200, `degraded`: it still serves reads), marks every
    /// read as stale, and refuses commands with 503 `log_unavailable` and a `Retry-After`; all of it ends when the link
    /// returns.
    @Test func aNodeCutOffFromItsLogOfRecordSaysSoAndAsksForARetry() async throws {
        let database = try await TestPostgres.database()
        let link = try TestLink(to: try await TestPostgres.port())
        defer { link.close() }
        let node = try await TestShop(node: "http", of: link.carrying(database), readModels: true, answerTimeout: .seconds(5))
        let harness = try Harness(shop: node)
        try await harness.app.test(.router) { client in
            let merchant = try await client.user("m@x.example", role: .merchant, engine: harness.engine)
            let listed = try await client.command(
                "ListGoods", ["title": "Tea", "category": "tea", "price": 100, "stock": 5], token: merchant)
            let goods = try #require(listed.result["goodsId"])
            let healthy = try await client.call(.get, "/health")
            #expect(healthy.json["status"] as? String == "ok")
            #expect((healthy.json["logOfRecord"] as? [String: Any])?["answers"] as? Bool == true, "\(healthy.text)")
            #expect(healthy.headers[RequestMiddleware.staleHeader] == nil)

            link.cut()
            let refused = try await client.command(
                "ListGoods", ["title": "Milk", "category": "tea", "price": 100, "stock": 5], token: merchant)
            #expect(refused.status == .serviceUnavailable && refused.errorCode == "log_unavailable", "\(refused.text)")
            #expect(refused.headers[.retryAfter] == "1")
            let degraded = try await client.call(.get, "/health")
            #expect(degraded.status == .ok && degraded.json["status"] as? String == "degraded", "\(degraded.text)")
            #expect((degraded.json["logOfRecord"] as? [String: Any])?["answers"] as? Bool == false)
            let read = try await client.call(.get, "/v1/goods/\(goods)")
            #expect(read.status == .ok, "\(read.text)")
            let stale = try #require(read.headers[RequestMiddleware.staleHeader].flatMap(Double.init))
            #expect(stale >= 0.5)

            link.restore()
            var answered = false
            for _ in 0..<100 where !answered {
                try await Task.sleep(for: .milliseconds(100))
                answered = try await client.call(.get, "/health").json["status"] as? String == "ok"
            }
            #expect(answered)
            #expect(try await client.call(.get, "/v1/goods/\(goods)").headers[RequestMiddleware.staleHeader] == nil)
        }
        await node.stop()
    }

    @Test func rebuildingAllReadModelsIsOneRequest() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let admin = try await client.user("a@x.example", role: .admin, engine: harness.engine)
            let reply = try await client.call(.post, "/v1/admin/projections/all/rebuild", token: admin)
            #expect(reply.status == .ok && reply.array.count == 5, "\(reply.text)")
            #expect(try await client.call(.post, "/v1/admin/projections/nothing/rebuild", token: admin).errorCode == "projection_not_found")
        }
    }
}

@Suite struct LoggingTests {
    /// A request line per request, with ids and codes only; nothing a customer typed, no secret, nothing personal,
    /// from the HTTP layer, the engine or the read models.
    @Test func logsNameRequestsByIdAndHoldNoPersonalData() async throws {
        let capture = LogCapture()
        let harness = try Harness(logger: capture.logger())
        let email = "li.lei@private.example"
        let personal = [email, "李雷", "+86 139 5555 1234", "9 Secret Lane", "my secret password", "宁静茶"]
        try await harness.app.test(.router) { client in
            let admin = try await client.user("admin@x.example", role: .admin, engine: harness.engine)
            #expect(
                try await client.command(
                    "RegisterUser", ["email": email, "password": "my secret password", "name": "李雷", "phone": "+86 139 5555 1234"]
                ).status == .ok)
            #expect(
                try await client.command("RegisterUser", ["email": email, "password": "my secret password", "name": "李雷"]).status
                    == .unprocessableContent)
            #expect(try await client.command("Login", ["email": email, "password": "wrong"]).status == .unauthorized)
            let token = try await client.command("Login", ["email": email, "password": "my secret password"]).result["token"] ?? ""
            _ = try await client.command(
                "AddAddress",
                [
                    "address": [
                        "recipient": "李雷", "phone": "+86 139 5555 1234", "line1": "9 Secret Lane",
                        "city": "Beijing", "postalCode": "100080", "country": "CN",
                    ]
                ], token: token)
            _ = try await client.call(.get, "/v1/search?q=%E5%AE%81%E9%9D%99%E8%8C%B6")  // 宁静茶
            _ = try await client.call(.get, "/v1/audit/events?reveal=personal", token: admin)
            _ = try await client.call(.get, "/v1/me/profile", token: token)
        }
        let lines = capture.lines
        let requests = lines.filter { $0.hasPrefix("info request ") }
        #expect(requests.count >= 9)
        #expect(
            requests.allSatisfy {
                $0.contains("request.id=") && $0.contains("http.route=") && $0.contains("http.status=") && $0.contains("caller.id=")
            })
        #expect(requests.contains { $0.contains("error.code=email_taken") && $0.contains("http.status=422") })
        for text in personal { #expect(!lines.contains { $0.contains(text) }, "a log line holds \(text)") }
    }
}
