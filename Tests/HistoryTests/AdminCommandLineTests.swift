import Assembly
import CommandEngine
import Commerce
import EventStore
import Foundation
import History
import TestSupport
import Testing

/// `emporium admin create`: how a real shop gets its first admin, on the data directory.
@Suite struct AdminCommandLineTests {
    @Test func theFirstAdminIsMadeOnTheCommandLineAndASecondOnlyOnPurpose() async throws {
        let data = temporaryDirectory("admin")
        let refused = try await runEmporium(["admin", "create", "--data-dir", data, "--email", "owner@shop.example"], input: "\n")
        #expect(refused.status != 0 && refused.error.contains("no password"), "\(refused.error)")
        let created = try await runEmporium(
            ["admin", "create", "--data-dir", data, "--email", "Owner@Shop.example", "--name", "Owner"],
            input: "correct horse battery\n")
        #expect(created.status == 0 && created.output.contains("created admin owner@shop.example"), "\(created.error)")
        let second = try await runEmporium(
            ["admin", "create", "--data-dir", data, "--email", "deputy@shop.example"], input: "another password\n")
        #expect(second.status != 0 && second.error.contains("--another"), "\(second.error)")
        let another = try await runEmporium(
            ["admin", "create", "--data-dir", data, "--email", "deputy@shop.example", "--another"], input: "another password\n")
        #expect(another.status == 0, "\(another.error)")
        let taken = try await runEmporium(
            ["admin", "create", "--data-dir", data, "--email", "deputy@shop.example", "--another"], input: "another password\n")
        #expect(taken.status != 0 && taken.error.contains("registered already"), "\(taken.error)")
        let listed = try await runEmporium(["admin", "list", "--data-dir", data])
        #expect(listed.status == 0 && listed.output.split(separator: "\n").count == 2)

        // The admin logs in with the password given, and the log says the engine itself (the operator's command) made them.
        var options = Shop.Options(engine: Engine.Configuration(tokenSecret: Array(repeating: 1, count: 32)))
        options.projections = nil
        let shop = try Shop(directory: ShopDirectory(data), options: options)
        defer { shop.close() }
        let log = shop.log
        let login = try await shop.engine.execute(
            .login(email: "owner@shop.example", password: "correct horse battery"),
            context: CommandContext(actor: nil, correlationId: UUID()))
        #expect(login.result.role == .admin)
        #expect(try log.events(ofType: UserRegistered.eventType).allSatisfy { $0.metadata.actor == "system" })
    }
}
