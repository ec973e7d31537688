import Foundation
import PostgresStore
import PostgresTestSupport
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The command line's flags for the log of record, as an operator meets them.
@Suite struct LogOfRecordCommandLineTests {
    /// `--log-start-seconds` bounds connecting (the schema created, checked or upgraded under the migration lock), never
    /// below a request's bound: with another session holding that lock for 15 s, a command given 1 s gives up within the
    /// answer timeout (5 s) and says why, and a node given 1 s for both within a few seconds; the default (30 s) would
    /// have waited for the lock. Out of range, the flag is a usage error.
    @Test func connectingGivesUpAtTheStartTimeoutTheFlagSets() async throws {
        let database = try await TestPostgres.database()
        let url = database.redacted  // no password in tests: the URL itself
        let refused = try await runEmporium(["cluster", "status", "--log", url, "--log-start-seconds", "0"])
        #expect(refused.status == 64 && refused.error.contains("--log-start-seconds must be between 1 and 3600"), "\(refused.error)")
        let holder = Task {
            try await TestPostgres.execute(
                "DO $$ BEGIN PERFORM pg_advisory_xact_lock(\(PostgresLog.migrationLock)); PERFORM pg_sleep(15); END $$", on: database)
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while try await TestPostgres.integer(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(15)%' AND state = 'active' AND pid <> pg_backend_pid()",
            on: database) == 0, ContinuousClock.now < deadline
        {
            try await Task.sleep(for: .milliseconds(50))
        }
        let started = ContinuousClock.now
        let waited = try await runEmporium(["cluster", "status", "--log", url, "--log-start-seconds", "1"])
        let elapsed = ContinuousClock.now - started
        #expect(waited.status != 0 && waited.error.contains("cannot reach the log of record"), "\(waited.status) \(waited.error)")
        #expect(elapsed < .seconds(8), "gave up after \(elapsed), not at the start timeout")
        // A node gives up as soon, and exits saying why (it would have waited for the lock, then served, and been killed).
        let serving = ContinuousClock.now
        let node = try await runEmporium(
            [
                "serve", "--data-dir", temporaryDirectory("start-timeout"), "--port", "\(try freePort())", "--log", url,
                "--vault-secret", String(repeating: "v", count: 32), "--token-secret", String(repeating: "t", count: 32),
                "--callback-secret", String(repeating: "c", count: 16), "--log-start-seconds", "1", "--log-answer-seconds", "1",
            ], killedAfter: .seconds(20))
        #expect(node.status != 0 && node.status != 128 + SIGKILL && node.error.contains("unavailable"), "\(node.status) \(node.error)")
        #expect(ContinuousClock.now - serving < .seconds(4), "the node gave up after \(ContinuousClock.now - serving)")
        try await holder.value
        let listed = try await runEmporium(["cluster", "status", "--log", url, "--log-start-seconds", "1"])
        #expect(listed.status == 0, "\(listed.error)")
    }

    /// A node's connections to the log of record and the chains it keeps knowing are flags; out of range, each is a
    /// usage error that names the flag and its range, before anything is opened or connected.
    @Test(arguments: [
        ("--log-connections", "0", "--log-connections must be between 1 and 100"),
        ("--log-connections", "101", "--log-connections must be between 1 and 100"),
        ("--log-chains-known", "999", "--log-chains-known must be between 1000 and 50000000"),
        ("--log-answer-seconds", "0", "--log-answer-seconds must be between 0.1 and 120"),
    ])
    func aNodesTuningFlagsOutOfRangeAreUsageErrors(flag: String, value: String, says: String) async throws {
        let directory = temporaryDirectory("tuning-flags")
        let refused = try await runEmporium([
            "serve", "--data-dir", directory, "--port", "\(try freePort())", "--log", "postgres://nobody@127.0.0.1:1/none",
            "--vault-secret", String(repeating: "v", count: 32), flag, value,
        ])
        #expect(refused.status == 64 && refused.error.contains(says), "\(refused.status) \(refused.error)")
        #expect(!FileManager.default.fileExists(atPath: directory), "nothing was opened or created")
    }

    /// In range, the flags are the node's settings, as it says when it joins the cluster (here one it cannot reach: it
    /// gives up at its start timeout).
    @Test func aNodesTuningFlagsAreItsSettings() async throws {
        let node = try await runEmporium(
            [
                "serve", "--data-dir", temporaryDirectory("tuning-flags"), "--port", "\(try freePort())",
                "--log", "postgres://nobody@127.0.0.1:1/none", "--vault-secret", String(repeating: "v", count: 32),
                "--token-secret", String(repeating: "t", count: 32), "--callback-secret", String(repeating: "c", count: 16),
                "--log-start-seconds", "1", "--log-answer-seconds", "0.5", "--log-connections", "3", "--log-chains-known", "2000",
            ], killedAfter: .seconds(30))
        let joining = node.error.split(separator: "\n").first { $0.contains("joining the cluster") } ?? ""
        let settings = Set(joining.split(separator: " ").map(String.init))  // whole words: 2000 is not 200000
        for setting in ["log.answer_seconds=0.5", "log.connections=3", "log.chains_known=2000"] {
            #expect(settings.contains(setting), "\(setting) in: \(node.error)")
        }
        #expect(node.status != 0, "it cannot reach the log of record")
    }
}
