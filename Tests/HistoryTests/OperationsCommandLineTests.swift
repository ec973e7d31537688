import Assembly
import CommandEngine
import Commerce
import EventStore
import Foundation
import History
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The command line as an operator meets it: versions, exit codes, JSON output, backups and key archives.
@Suite struct OperationsCommandLineTests {
    func referenceShop() async throws -> String {
        let data = temporaryDirectory("ops")
        let seeded = try await runEmporium(["seed", "--scenario", "reference", "--data-dir", data])
        try #require(seeded.status == 0, "\(seeded.error)")
        return data
    }

    @Test func versionAndExitCodesAsSysexitsWithoutUsageTextForRuntimeFailures() async throws {
        let version = try await runEmporium(["--version"])
        #expect(version.status == 0 && version.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
        let data = try await referenceShop()
        // 64: usage, with the usage text.
        let usage = try await runEmporium(["audit", "--data-dir", data, "--limit", "0"])
        #expect(usage.status == 64 && usage.error.contains("Usage:"))
        #expect(try await runEmporium(["demo", "--data-dir", data]).status == 64, "the raw log demo is gone from the shop's CLI")
        // 65: the data is wrong.
        let past = try await runEmporium(["replay", "--data-dir", data, "--position", "999"])
        #expect(past.status == 65 && past.error.contains("past the log's head, 47") && !past.error.contains("Usage:"), "\(past.error)")
        let reseed = try await runEmporium(["seed", "--data-dir", data])
        #expect(reseed.status == 65 && reseed.error.contains("already holds a shop") && !reseed.error.contains("Usage:"))
        // 66: an input is missing.
        let missing = try await runEmporium(["stats", "--data-dir", temporaryDirectory("nothing")])
        #expect(missing.status == 66 && missing.error.hasPrefix("emporium: no event log"))
        // 75: a server holds the data directory.
        try FileManager.default.createDirectory(atPath: data + "/projections", withIntermediateDirectories: true)
        let lock = open(data + "/projections/server.lock", O_CREAT | O_RDWR, 0o640)
        #expect(lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) == 0)
        let busy = try await runEmporium(
            ["admin", "create", "--data-dir", data, "--email", "x@y.example", "--another"], input: "long enough pw\n")
        #expect(busy.status == 75 && busy.error.contains("stop it first"), "\(busy.error)")
        let rebuild = try await runEmporium(["projections", "rebuild", "all", "--data-dir", data])
        #expect(rebuild.status == 75 && rebuild.error.contains("POST /v1/admin/projections/all/rebuild"))
        close(lock)
        // 1: verify found a problem, even one that keeps the log from opening (a truncated file).
        let truncated = temporaryDirectory("truncated")
        try FileManager.default.createDirectory(atPath: truncated + "/log", withIntermediateDirectories: true)
        let whole = try Data(contentsOf: URL(fileURLWithPath: data + "/log/data.mdb"))
        try whole.prefix(whole.count / 3).write(to: URL(fileURLWithPath: truncated + "/log/data.mdb"))
        let broken = try await runEmporium(["verify", "--data-dir", truncated])
        #expect(broken.status == 1 && broken.output.contains("FAILED"), "\(broken.status) \(broken.output) \(broken.error)")
    }

    @Test func statsVerifyTailAndProjectionStatusSpeakJSON() async throws {
        let data = try await referenceShop()
        _ = try await runEmporium(["projections", "rebuild", "all", "--data-dir", data])
        func object(_ text: String) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        }
        let stats = try object(try await runEmporium(["stats", "--json", "--data-dir", data]).output)
        #expect(stats["headPosition"] as? Int == 47 && (stats["headHash"] as? String)?.count == 64)
        let verify = try await runEmporium(["verify", "--json", "--data-dir", data])
        let verified = try object(verify.output)
        #expect(verify.status == 0 && verified["ok"] as? Bool == true && (verified["readModels"] as? [String: Any])?.count == 5)
        let tail = try await runEmporium(["tail", "--json", "--count", "3", "--data-dir", data])
        let lines = try tail.output.split(separator: "\n").map { try object(String($0)) }
        #expect(
            lines.map { $0["position"] as? Int } == [45, 46, 47] && lines.allSatisfy { $0["payload"] == nil && $0["payloadBase64"] == nil })
        let status = try JSONSerialization.jsonObject(
            with: Data(try await runEmporium(["projections", "status", "--json", "--data-dir", data]).output.utf8))
        #expect((status as? [[String: Any]])?.count == 5)
    }

    @Test func theSeedProgressEndsAtAHundredPercent() async throws {
        let seeded = try await runEmporium([
            "seed", "--data-dir", temporaryDirectory("seed"), "--customers", "3", "--goods", "5", "--orders", "4",
        ])
        #expect(seeded.status == 0)
        #expect(seeded.error.split(separator: "\n").last?.contains("100%") == true, "\(seeded.error)")
    }

    /// An export carries its keys only when asked (wrapped under a passphrase); without them the shop is refused, never served with a new vault.
    @Test func anImportWithoutItsKeysIsRefusedAndWithThemLogsIn() async throws {
        let data = try await referenceShop()
        let export = temporaryDirectory("export") + ".jsonl"
        let keys = temporaryDirectory("keys") + ".json"
        let passphrase = temporaryDirectory("passphrase")
        try Data("correct horse battery staple\n".utf8).write(to: URL(fileURLWithPath: passphrase))
        let exported = try await runEmporium([
            "export", "--data-dir", data, "--out", export, "--keys-out", keys, "--passphrase-file", passphrase,
        ])
        #expect(exported.status == 0, "\(exported.error)")
        #expect(!String(decoding: try Data(contentsOf: URL(fileURLWithPath: keys)), as: UTF8.self).contains("emailIndexKey"))

        let bare = temporaryDirectory("bare")
        #expect(try await runEmporium(["import", "--data-dir", bare, export]).status == 0)
        let refused = try await runEmporium(["serve", "--data-dir", bare, "--port", "1"])
        #expect(refused.status == 66 && refused.error.contains("key vault does not hold its keys"), "\(refused.status) \(refused.error)")

        let wrong = temporaryDirectory("wrong-passphrase")
        try Data("not the passphrase at all\n".utf8).write(to: URL(fileURLWithPath: wrong))
        let denied = try await runEmporium([
            "import", "--data-dir", temporaryDirectory("denied"), export, "--keys", keys, "--passphrase-file", wrong,
        ])
        #expect(denied.status == 65 && denied.error.contains("passphrase"))

        let whole = temporaryDirectory("whole")
        let imported = try await runEmporium(["import", "--data-dir", whole, export, "--keys", keys, "--passphrase-file", passphrase])
        #expect(imported.status == 0, "\(imported.error)")
        let shop = try OpenedShop(whole)
        #expect(try await shop.login("li.lei@reference.emporium", "reference-password") == "customer")
        await #expect(throws: EngineError.self) { try await shop.register("li.lei@reference.emporium") }
    }

    /// A backup taken while commands keep arriving restores a shop whose log verifies, whose users log in and whose emails stay taken.
    @Test func aBackupUnderWriteLoadRestoresAWholeShop() async throws {
        let data = temporaryDirectory("live")
        let shop = try OpenedShop(data)
        let writer = Task {
            var registered: [String] = []
            for index in 0..<10_000 where !Task.isCancelled {
                let email = "buyer\(index)@backup.example"
                try await shop.register(email)
                registered.append(email)
            }
            return registered
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while shop.log.headPosition < 40, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try #require(shop.log.headPosition >= 40, "the writer has not registered 40 users in a minute")
        let backup = temporaryDirectory("backup")
        let backedUp = try await runEmporium(["backup", "--data-dir", data, "--out", backup])
        try await Task.sleep(for: .milliseconds(200))  // writes go on after the backup
        writer.cancel()
        let registered = try await writer.value
        #expect(backedUp.status == 0, "\(backedUp.error)")
        let manifest = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: backup + "/backup.json"))) as? [String: Any])
        let position = try #require(manifest["logPosition"] as? Int)
        #expect(position > 0 && position < Int(shop.log.headPosition), "the backup is a point in the middle of the load")

        let restoredDirectory = temporaryDirectory("restored")
        let restored = try await runEmporium(["restore", backup, "--data-dir", restoredDirectory])
        #expect(restored.status == 0 && restored.output.contains("chain verified"), "\(restored.error)")
        #expect(try await runEmporium(["verify", "--data-dir", restoredDirectory]).status == 0)
        let copy = try OpenedShop(restoredDirectory)
        // Exactly the users registered up to the backup's position are there, and every one logs in.
        let inBackup = try shop.log.events(ofType: UserRegistered.eventType, limit: 100_000).filter { $0.position <= UInt64(position) }
            .count
        let restoredUsers = try copy.log.events(ofType: UserRegistered.eventType, limit: 100_000).count
        #expect(inBackup > 0 && restoredUsers == inBackup)
        for email in registered.prefix(inBackup) { #expect(try await copy.login(email, OpenedShop.password) == "customer", "\(email)") }
        await #expect(throws: EngineError.self) { try await copy.register(try #require(registered.first)) }
        // Restoring over a shop is refused.
        #expect(try await runEmporium(["restore", backup, "--data-dir", restoredDirectory]).status == 65)
    }
}

/// A data directory opened in this process the way `serve` opens it (test strength password hashing).
final class OpenedShop: @unchecked Sendable {
    static let password = "correct horse"
    let shop: Shop
    var log: EventLog { shop.log }
    var engine: Engine { shop.engine }

    init(_ directory: String) throws {
        var configuration = Engine.Configuration(tokenSecret: Array(repeating: 3, count: 32))
        configuration.policy.passwordHashing = .fastForTests
        var options = Shop.Options(engine: configuration)
        options.projections = nil
        shop = try Shop(directory: ShopDirectory(directory), options: options)
    }

    deinit { shop.close() }

    func register(_ email: String) async throws {
        _ = try await engine.execute(
            .registerUser(email: email, password: Self.password, name: "Buyer"), context: CommandContext(actor: nil, correlationId: UUID()))
    }

    /// The role Login answers with.
    func login(_ email: String, _ password: String) async throws -> String? {
        try await engine.execute(.login(email: email, password: password), context: CommandContext(actor: nil, correlationId: UUID()))
            .result.role?.rawValue
    }
}
