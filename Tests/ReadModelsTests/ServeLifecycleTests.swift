import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `emporium serve` as a process: how it stops, what it logs, how it fails to start.
@Suite struct ServeLifecycleTests {
    static let seedFlags = ["--seed-if-empty", "--customers", "3", "--goods", "12", "--orders", "6"]

    /// A login over a raw connection: the token of the demo admin.
    func adminToken(port: Int) throws -> String {
        let body = #"{"type":"Login","data":{"email":"admin@demo.emporium","password":"demo-password"}}"#
        let connection = try RawConnection(port: port)
        connection.send(
            "POST /v1/commands HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let (text, _) = connection.readUntilClosed()
        let token = text.components(separatedBy: #""token":""#).dropFirst().first?.prefix { $0 != "\"" }
        return try #require(token.map(String.init), "no token in \(text)")
    }

    func openFeed(port: Int, token: String) throws -> RawConnection {
        let connection = try RawConnection(port: port)
        connection.send("GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n\r\n")
        return connection
    }

    /// SIGTERM with two event-feed clients attached: the feeds end and the server exits 0 within 5 s
    /// (it used to wait for them forever).
    @Test func twoEventFeedClientsAttachedDoNotHoldTheServerPastFiveSeconds() async throws {
        let server = try await RunningServer(["--data-dir", temporaryDirectory("sse-stop")] + Self.seedFlags)
        let token = try adminToken(port: server.port)
        let feeds = try (0..<2).map { _ in try openFeed(port: server.port, token: token) }
        try await Task.sleep(for: .milliseconds(300))  // both streams are open and have sent the history
        let started = ContinuousClock.now
        let output = server.stop()
        let took = ContinuousClock.now - started
        #expect(server.process.terminationReason == .exit && server.process.terminationStatus == 0, "\(output)")
        #expect(took < .seconds(5), "stopping took \(took)")
        for feed in feeds {
            let (text, closed) = feed.readUntilClosed()
            #expect(closed && text.contains("event: UserRegistered"), "the feed ended with the server")
        }
    }

    /// The same after the two clients hung up: nothing they left behind holds the server.
    @Test func feedClientsThatHungUpDoNotHoldTheServerEither() async throws {
        let server = try await RunningServer(["--data-dir", temporaryDirectory("sse-gone")] + Self.seedFlags)
        let token = try adminToken(port: server.port)
        var feeds = try (0..<2).map { _ in try openFeed(port: server.port, token: token) }
        try await Task.sleep(for: .milliseconds(300))
        feeds.removeAll()  // closes both sockets
        try await Task.sleep(for: .milliseconds(300))
        let started = ContinuousClock.now
        let output = server.stop()
        #expect(server.process.terminationStatus == 0 && ContinuousClock.now - started < .seconds(5), "\(output)")
    }

    /// `--log-format json`: every line on standard error is one JSON object, a request's line names its route,
    /// status and ids with dotted keys, and no line holds what a customer typed.
    @Test func jsonLogsAreOneObjectPerLineWithDottedKeysAndNothingPersonal() async throws {
        let data = temporaryDirectory("json-logs")
        let server = try await ServedBinary(["--data-dir", data, "--log-format", "json"] + Self.seedFlags)
        let token = try adminToken(port: server.port)
        let email = "private.person@example.com"
        for body in [
            #"{"type":"RegisterUser","data":{"email":"\#(email)","password":"secret password","name":"Private Person","phone":"+86 139 0000 1234"}}"#,
            #"{"type":"RegisterUser","data":{"email":"\#(email)","password":"secret password","name":"Private Person"}}"#,
            #"{"type":"Login","data":{"email":"\#(email)","password":"wrong password"}}"#,
        ] {
            let connection = try RawConnection(port: server.port)
            connection.send(
                "POST /v1/commands HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            _ = connection.readUntilClosed()
        }
        let search = try RawConnection(port: server.port)
        search.send("GET /v1/search?q=private%20person HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        _ = search.readUntilClosed()
        let audit = try RawConnection(port: server.port)
        audit.send(
            "GET /v1/audit/events?reveal=personal&limit=1000 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\n\r\n"
        )
        #expect(audit.readUntilClosed().text.contains(email), "the reveal itself shows the email to the admin")
        let (_, errors) = server.stop()
        let lines = errors.split(separator: "\n").filter { !$0.hasPrefix("seed") }
        let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(
            !lines.isEmpty && objects.count == lines.count,
            "lines that are not JSON objects: \(lines.filter { !$0.hasPrefix("{") }.prefix(3))")
        #expect(objects.allSatisfy { $0["time"] is String && $0["level"] is String && $0["logger"] is String && $0["message"] is String })
        let requests = objects.filter { $0["message"] as? String == "request" }
        #expect(requests.count >= 6)
        #expect(
            requests.contains {
                $0["http.route"] as? String == "/v1/commands" && $0["http.status"] as? String == "422"
                    && $0["error.code"] as? String == "email_taken"
            })
        #expect(requests.allSatisfy { $0["request.id"] is String && $0["caller.id"] is String && $0["duration.ms"] is String })
        for secret in [email, "Private Person", "+86 139 0000 1234", "secret password", "wrong password", "private", token] {
            #expect(!errors.localizedCaseInsensitiveContains(secret), "the log holds \(secret)")
        }
    }

    /// A port already taken: the server says so and exits non-zero, and never claimed to be serving.
    @Test func aBindErrorComesBeforeAnyServingLine() async throws {
        let first = try await RunningServer(["--data-dir", temporaryDirectory("bind-first")])
        defer { _ = first.stop() }
        let second = try await runEmporium(["serve", "--data-dir", temporaryDirectory("bind-second"), "--port", "\(first.port)"])
        #expect(second.status != 0)
        #expect(!second.output.contains("serving"), "\(second.output)")
        #expect(second.error.contains("Address already in use") || second.error.contains("in use"), "\(second.error)")
    }

    /// The ports the suite's servers are given lie below the range Linux hands out to outgoing connections, so that none
    /// of the suite's own connections takes one before its server binds it (a server seeding a shop first lost its port
    /// that way under CI's load), and each is free when handed out.
    @Test func aServersPortIsOutsideTheRangeOutgoingConnectionsAreGiven() throws {
        let outgoingFrom = try #require(localPortRangeStart())
        for _ in 0..<20 {
            let port = try freePort()
            #expect(port >= 10_000 && port < outgoingFrom, "\(port)")
            let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(listener) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            #expect(bound == 0, "port \(port) could not be bound")
        }
    }
}

/// `emporium serve` with standard output and standard error kept apart (in files, so neither pipe fills).
final class ServedBinary {
    let process = ChildProcess()
    let port: Int
    private let output = temporaryDirectory("served-out")
    private let errors = temporaryDirectory("served-err")

    init(_ arguments: [String]) async throws {
        port = try freePort()
        process.executableURL = try emporiumExecutable()
        process.arguments = ["serve", "--port", "\(port)"] + arguments
        for path in [output, errors] { try #require(FileManager.default.createFile(atPath: path, contents: nil)) }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errors))
        try process.run()
        let deadline = ContinuousClock.now + .seconds(60)
        while process.isRunning, ContinuousClock.now < deadline, !(read(errors).contains("listening on")) {
            try await Task.sleep(for: .milliseconds(50))
        }
        try #require(process.isRunning, "the server did not start: \(read(errors))")
    }

    /// SIGTERM; then standard output and standard error.
    func stop() -> (output: String, errors: String) {
        if process.isRunning { process.terminate() }
        stopOrKill(process)
        return (read(output), read(errors))
    }

    private func read(_ path: String) -> String {
        String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data(), as: UTF8.self)
    }
}
