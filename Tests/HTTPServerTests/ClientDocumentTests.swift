import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// The generated Swift client (`clients/swift`) is built from a copy of the document the server serves; this fails when
/// the copy is stale, so a client built from this commit speaks to this commit's server.
@Suite struct ClientDocumentTests {
    static let copy = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("clients/swift/Sources/EmporiumClient/openapi.json")

    @Test func theClientIsGeneratedFromTheDocumentTheServerServes() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let served = try await client.call(.get, "/openapi.json").text
            let copied = (try? String(contentsOf: Self.copy, encoding: .utf8)) ?? "(none)"
            if served != copied, ProcessInfo.processInfo.environment["EMPORIUM_UPDATE_CLIENT_DOCUMENT"] == "1" {
                try Data(served.utf8).write(to: Self.copy)
                return
            }
            let current = served == copied
            #expect(
                current,
                """
                \(Self.copy.path) is not the document the server serves: refresh it with
                EMPORIUM_UPDATE_CLIENT_DOCUMENT=1 swift test --filter theClientIsGeneratedFromTheDocumentTheServerServes
                """)
        }
    }
}
