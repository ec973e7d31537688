import Foundation
import Synchronization
import LMDB
import TestSupport
import Testing
@testable import Projections

@Suite struct ProjectionCommandLineTests {
    func emporium(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
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
        #expect(rows.map(\.name) == ["analytics", "mypages", "recommend", "search"])
        #expect(rows.allSatisfy { $0.lag == 0 && $0.rows > 0 && $0.modelBytes > 0 })
        let evaluation = try emporium(["recommend", "evaluate", "--data-dir", data])
        #expect(evaluation.status == 0 && evaluation.output.contains("feed") && evaluation.output.contains("NDCG@10"))
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
        #expect(damaged.output.contains("FAILED: the read models cannot be loaded") && damaged.output.contains("analytics holds a row that does not decode"))
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
        let process = Process()
        process.executableURL = try emporiumExecutable()
        process.arguments = ["serve", "--data-dir", data, "--port", "\(Int.random(in: 20_000...60_000))", "--seed-if-empty",
                             "--customers", "3", "--goods", "12", "--orders", "6"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let output = Mutex("")
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let chunk = String(decoding: handle.availableData, as: UTF8.self)
            output.withLock { $0 += chunk }
        }
        try process.run()
        let deadline = ContinuousClock.now + .seconds(60)
        // The HTTP server's log line (stderr, unbuffered; the banner on stdout is buffered in a pipe).
        while !output.withLock({ $0.contains("listening on") }), process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        try #require(process.isRunning && output.withLock { $0.contains("listening on") }, "the server did not start: \(output.withLock { $0 })")
        try await Task.sleep(for: .milliseconds(300))  // past start-up: the projector follows, the sweeper runs
        process.terminate()  // SIGTERM
        process.waitUntilExit()
        pipe.fileHandleForReading.readabilityHandler = nil
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "\(output.withLock { $0 })")
        let verified = try emporium(["verify", "--data-dir", data])
        #expect(verified.status == 0, "\(verified.output)")
    }
}
