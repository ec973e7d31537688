import Foundation
import LMDB
import Testing

@testable import EventStore

/// Runs the CLI; returns its exit status and standard output (standard error goes to a file: progress bars).
func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
    let process = ChildProcess()
    process.executableURL = try emporiumExecutable()
    process.arguments = arguments
    let output = temporaryDirectory("cli-out")
    #expect(FileManager.default.createFile(atPath: output, contents: nil))
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: try Data(contentsOf: URL(fileURLWithPath: output)), as: UTF8.self))
}

/// The history commands end to end, through the binary: exit codes and what they print.
@Suite(.serialized) struct CommandLineTests {
    @Test func seedReplayAuditVerifyExportAndImport() async throws {
        let data = temporaryDirectory("cli")
        #expect(try await run(["seed", "--scenario", "reference", "--data-dir", data]).status == 0)
        let verified = try await run(["verify", "--data-dir", data])
        #expect(verified.status == 0 && verified.output.contains("OK: the log is intact"))

        let replay = try await run(["replay", "--data-dir", data, "--position", "23", "--json"])
        #expect(replay.status == 0)
        let shop = try #require(try JSONSerialization.jsonObject(with: Data(replay.output.utf8)) as? [String: Any])
        #expect(shop["position"] as? Int == 23)
        #expect(((shop["streams"] as? [String: Any])?.keys.filter { $0.hasPrefix("order-") }.count) == 1)

        let audit = try await run(["audit", "--data-dir", data, "--type", "OrderPlaced", "--format", "jsonl"])
        let lines = audit.output.split(separator: "\n")
        #expect(audit.status == 0 && lines.count == 2)
        #expect(lines.allSatisfy { $0.contains("\"type\":\"OrderPlaced\"") })

        let diff = try await run(["replay", "--data-dir", data, "--diff", "23", "29"])
        #expect(diff.status == 0 && diff.output.contains("changed") && diff.output.contains("status"))

        let exported = temporaryDirectory("cli-export") + ".jsonl"
        #expect(try await run(["export", "--data-dir", data, "--out", exported]).status == 0)
        let copy = temporaryDirectory("cli-import")
        let imported = try await run(["import", "--data-dir", copy, exported])
        #expect(imported.status == 0 && imported.output.contains("imported 47 events"))
        #expect(try await run(["verify", "--data-dir", copy]).status == 0)

        // A damaged export is refused (a data error, 65, not a usage one) and writes nothing.
        var damaged = String(decoding: try Data(contentsOf: URL(fileURLWithPath: exported)), as: UTF8.self).split(separator: "\n").map(
            String.init)
        damaged.swapAt(5, 6)
        let damagedPath = temporaryDirectory("cli-damaged") + ".jsonl"
        try Data(damaged.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: damagedPath))
        let empty = temporaryDirectory("cli-refused")
        #expect(try await run(["import", "--data-dir", empty, damagedPath]).status == 65)  // the data is wrong, not the usage
        #expect(!FileManager.default.fileExists(atPath: empty + "/log/data.mdb"))
        // Bad arguments are usage errors too.
        #expect(try await run(["replay", "--data-dir", data, "--at", "yesterday"]).status == 64)
        #expect(try await run(["replay", "--data-dir", data, "--position", "23", "--cart", "nobody"]).status == 64)
        // A cart that could not have been checked out then (no one's: empty) is a data error that says why.
        #expect(try await run(["replay", "--data-dir", data, "--position", "23", "--cart", UUID().uuidString]).status == 65)
        #expect(try await run(["audit", "--data-dir", data, "--limit", "0"]).status == 64)
        // Numbers that would trap once used are refused up front (1e300 s crashed the sweeper's sleep).
        for seconds in ["1e300", "inf", "0"] {
            #expect(
                try await run(["serve", "--data-dir", data, "--port", "1", "--expiry-sweep-seconds", seconds]).status == 64, "\(seconds)")
        }
        // Bounds past the log's ends answer as the ends do (they overflowed before).
        let far = try await run(["replay", "--data-dir", data, "--at", "9999-12-31T00:00:00Z", "--json"])
        #expect(far.status == 0 && far.output.contains("\"position\" : 47"))
        #expect(try await run(["audit", "--data-dir", data, "--after", String(UInt64.max)]).status == 0)
    }

    @Test func verifyFailsWithExitOneAndNamesTheFirstProblem() async throws {
        let data = temporaryDirectory("cli-tamper")
        #expect(try await run(["seed", "--scenario", "reference", "--data-dir", data]).status == 0)
        let environment = try Environment(directory: data + "/log")
        let schema = try LogSchema(environment: environment)
        try environment.write { txn in _ = try txn.delete(schema.events, key: Key.u64(12)) }
        environment.close()
        let verified = try await run(["verify", "--data-dir", data])
        #expect(verified.status == 1)
        #expect(verified.output.contains("FAILED") && verified.output.contains("position_gap at position 12"))
    }
}
