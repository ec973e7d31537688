import HTTPTypes
import HummingbirdTesting
import Testing

@testable import HTTPServer

/// The console's pages are served from the binary with their media types; what they do is checked in Chromium
/// (`tools/console.sh`).
@Suite struct ConsoleTests {
    @Test func theConsoleAndTheReferenceAreServedFromTheBinary() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            for (path, script) in [("/console", "/console/console.js"), ("/docs", "/console/docs.js")] {
                let page = try await client.call(.get, path)
                #expect(page.status == .ok && page.headers[.contentType] == "text/html; charset=utf-8")
                #expect(page.text.contains(#"<script type="module" src="\#(script)"></script>"#))
                #expect(page.headers[.cacheControl] == "public, max-age=60")
            }
            for (name, file) in ConsoleController.files {
                let answer = try await client.call(.get, "/console/\(name)")
                #expect(answer.status == .ok && answer.headers[.contentType] == file.type && Array(answer.text.utf8) == file.bytes)
            }
            // Every module a page imports is one the server has.
            for (name, file) in ConsoleController.files where name.hasSuffix(".js") {
                for imported in String(decoding: file.bytes, as: UTF8.self).matches(of: /from "\.\/([a-z]+\.js)"/) {
                    #expect(ConsoleController.files[String(imported.1)] != nil, "\(name) imports \(imported.1)")
                }
            }
            let missing = try await client.call(.get, "/console/secrets.txt")
            #expect(missing.status == .notFound)
        }
    }
}
