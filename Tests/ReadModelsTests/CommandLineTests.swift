import EventStore
import Foundation
import LMDB
import Synchronization
import TestSupport
import Testing

@testable import ReadModels

@Suite struct ProjectionCommandLineTests {
    func emporium(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = ChildProcess()
        process.executableURL = try emporiumExecutable()
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    @Test func rebuildStatusEvaluateAndVerifyOverTheCommandLine() async throws {
        let shop = try await ProjectedShop.shared.value
        let data = temporaryDirectory("cli")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: data + "/log", withDestinationPath: shop.directory + "/log")

        let rebuilt = try emporium(["projections", "rebuild", "all", "--data-dir", data])
        #expect(rebuilt.status == 0, "\(rebuilt.output)")
        #expect(rebuilt.output.contains("search: checkpoint \(shop.log.headPosition)"))
        let status = try emporium(["projections", "status", "--json", "--data-dir", data])
        let rows = try JSONDecoder().decode([ProjectionStatus].self, from: Data(status.output.utf8))
        #expect(rows.map(\.name) == ["analytics", "mypages", "recommend", "reviews", "search"])
        #expect(rows.allSatisfy { $0.lag == 0 && $0.rows > 0 && $0.modelBytes > 0 })
        // The rebuild trained the factor model at its end; `recommend train` trains it again on demand.
        #expect(rows.map(\.trainedAt) == [nil, nil, shop.log.headPosition, nil, nil])
        let trained = try emporium(["recommend", "train", "--data-dir", data])
        #expect(trained.status == 0 && trained.output.contains("trained at position \(shop.log.headPosition) on "), "\(trained.output)")
        let evaluation = try emporium(["recommend", "evaluate", "--data-dir", data])
        #expect(evaluation.status == 0 && evaluation.output.contains("feed") && evaluation.output.contains("NDCG@10"))
        // An outside interaction file, and the files it refuses (exit 64, the line named).
        let file = data + "/interactions.csv"
        let lines = (0..<30).flatMap { user in (0..<4).map { step in "c\(user),g\((user + step) % 12),\(1_700_000_000 + user * 10 + step)" }
        }
        try (["user,item,timestamp"] + lines).joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let outside = try emporium(["recommend", "evaluate", "--interactions", file, "--json"])
        let report = try JSONDecoder().decode(RecommenderEvaluation.Report.self, from: Data(outside.output.utf8))
        #expect(outside.status == 0 && report.users == 30 && report.goods == 12 && report.events == 120)
        let validation = try emporium(["recommend", "evaluate", "--interactions", file, "--split", "validation"])
        #expect(validation.status == 0 && validation.output.contains("the one before hidden"), "\(validation.output)")
        try "1,10,881250949\n1,11\n".write(toFile: file, atomically: true, encoding: .utf8)
        let broken = try emporium(["recommend", "evaluate", "--interactions", file])
        #expect(broken.status == 64 && broken.output.contains("line 2"), "\(broken.output)")
        let missing = try emporium(["recommend", "evaluate", "--interactions", data + "/nothing.csv"])
        #expect(missing.status == 64 && missing.output.contains("cannot be read"), "\(missing.output)")
        #expect(try emporium(["projections", "rebuild", "nothing", "--data-dir", data]).status != 0)
        let healthy = try emporium(["verify", "--data-dir", data])
        #expect(healthy.status == 0, "\(healthy.output)")
        #expect(healthy.output.contains("read model search: equals a fresh rebuild"))

        // A damaged row in a stored model: verify names the model and exits 1.
        let projector = try Projector(directory: data + "/projections", log: shop.log)
        let key = try #require(try projector.storedModel("analytics").keys.first)
        try projector.environment.write { transaction in
            try transaction.put(try #require(projector.servingDatabase("analytics")), key: key, value: [0])
        }
        projector.close()
        let damaged = try emporium(["verify", "--data-dir", data])
        #expect(damaged.status == 1)
        #expect(
            damaged.output.contains("FAILED: the read models cannot be loaded")
                && damaged.output.contains("analytics holds a row that does not decode"))
        // A server (or a rebuild) opening them folds the damaged model again.
        let repairing = try Projector(directory: data + "/projections", log: shop.log)
        #expect(repairing.repairedModels.count == 1 && repairing.checkpoint("analytics") == 0)
        try repairing.catchUp()
        #expect(try repairing.differencesFromRebuild("analytics").isEmpty)
        repairing.close()
        #expect(try emporium(["verify", "--data-dir", data]).status == 0)
    }

    /// `emporium serve` stops cleanly on SIGTERM (exit 0: the HTTP server drains, the projector stores, the log
    /// closes last), and what it leaves verifies.
    @Test func aServerStopsCleanlyOnSIGTERM() async throws {
        let data = temporaryDirectory("serve-sigterm")
        let server = try await RunningServer(["--data-dir", data, "--seed-if-empty", "--customers", "3", "--goods", "12", "--orders", "6"])
        try await Task.sleep(for: .milliseconds(300))  // past start-up: the projector follows, the sweeper runs
        let output = server.stop()
        #expect(server.process.terminationReason == .exit && server.process.terminationStatus == 0, "\(output)")
        let verified = try emporium(["verify", "--data-dir", data])
        #expect(verified.status == 0, "\(verified.output)")
    }

    /// Connections that go quiet are closed after `--idle-timeout-seconds`: one that never sends, one that never
    /// finishes its headers (a slow-loris client), and a keep-alive one after its answer — which it does get.
    @Test func quietConnectionsAreClosedAfterTheIdleTimeout() async throws {
        let server = try await RunningServer(["--data-dir", temporaryDirectory("serve-idle"), "--idle-timeout-seconds", "0.5"])
        defer { _ = server.stop() }
        let silent = try RawConnection(port: server.port)
        let halfSent = try RawConnection(port: server.port)
        halfSent.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        let answered = try RawConnection(port: server.port)
        answered.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let started = ContinuousClock.now
        for (name, connection) in [("silent", silent), ("half-sent", halfSent), ("answered", answered)] {
            let (text, closed) = connection.readUntilClosed()
            #expect(closed, "\(name) was still open after \(ContinuousClock.now - started)")
            #expect(name == "answered" ? text.hasPrefix("HTTP/1.1 200") : text.isEmpty, "\(name): \(text)")
        }
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(400) && waited < .seconds(4), "\(waited)")
    }
}

/// `emporium serve` on a random loopback port, started and waited for.
final class RunningServer {
    let process = ChildProcess()
    let port: Int
    private let pipe = Pipe()
    private let printed = Printed()

    private final class Printed: Sendable {
        let text = Mutex("")
    }

    init(_ arguments: [String]) async throws {
        port = try freePort()
        process.executableURL = try emporiumExecutable()
        process.arguments = ["serve", "--port", "\(port)"] + arguments
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [printed] handle in
            let chunk = String(decoding: handle.availableData, as: UTF8.self)
            printed.text.withLock { $0 += chunk }
        }
        try process.run()
        let deadline = ContinuousClock.now + .seconds(60)
        // The HTTP server's log line (stderr, unbuffered; the banner on stdout is buffered in a pipe).
        while !printed.text.withLock({ $0.contains("listening on") }), process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        try #require(process.isRunning && printed.text.withLock { $0.contains("listening on") }, "the server did not start: \(stop())")
    }

    /// SIGTERM, then what the server printed. A server still running 15 s later is killed (SIGKILL), so a
    /// server that does not stop fails its test instead of hanging it.
    func stop() -> String {
        if process.isRunning { process.terminate() }
        stopOrKill(process)
        pipe.fileHandleForReading.readabilityHandler = nil
        return printed.text.withLock { $0 }
    }
}

/// A plain TCP connection to 127.0.0.1, for what an HTTP client library would not do.
final class RawConnection {
    private let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(descriptor >= 0 && connected == 0, "cannot connect to port \(port): \(String(cString: strerror(errno)))")
        var timeout = timeval(tv_sec: 5, tv_usec: 0)  // a read never waits longer than this
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(descriptor) }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }

    /// What arrives until the peer closes (`closed`), or until a read waits 5 s.
    func readUntilClosed() -> (text: String, closed: Bool) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                received += buffer[0..<count]
            } else {
                return (String(decoding: received, as: UTF8.self), count == 0)
            }
        }
    }
}

/// Waits for `process` to exit, up to 15 s; then kills it.
func stopOrKill(_ process: ChildProcess) {
    let deadline = ContinuousClock.now + .seconds(15)
    while process.isRunning, ContinuousClock.now < deadline { usleep(20_000) }
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
}
