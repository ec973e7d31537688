import Foundation
import PostgresNIO
import PostgresTestSupport
import Testing

@testable import EventStore
@testable import PostgresStore

/// A request that outlives its timeout is ended by closing its connection, and the pool may lend that connection again
/// while it closes (seen once after a cut link was restored: the node's next command refused with `clientClosedConnection`).
@Suite struct StaleConnectionTests {
    @Test func aRequestLentAConnectionThatIsClosingTakesAnother() async throws {
        let log = try await TestPostgres.log(try await TestPostgres.database()) { $0.answerTimeout = .seconds(2) }
        defer { Task { await log.close() } }
        var failures: [String] = []
        for _ in 0..<30 {
            _ = try await log.bounded { connection in
                Task { try? await connection.close() }  // as the answer timeout does: closing, not waited for
            }
            do {
                _ = try await log.head()
            } catch {
                failures.append(String(reflecting: error))
            }
        }
        // A query sent on a connection as it closes is sometimes never answered (postgres-nio 1.33): the answer timeout
        // ends it, `unavailable`, as for any silent request. Never the closing connection's own refusal.
        #expect(!failures.contains { $0.contains("clientClosedConnection") }, "\(failures)")
        #expect(failures.count < 10, "\(failures)")
    }
}
