import CommandAPI
import Foundation
import HTTPTypes
import Synchronization
import Testing

@testable import HTTPServer

/// Every answer the HTTP tests receive, held to the contract: a refusal to the `Error` schema, a 200 to its
/// operation's answer schema. A handler that drifts from what `/openapi.json` says fails the test that called it.
enum ContractCheck {
    private static let routes = Mutex<[RouteSpec]>([])

    /// The routes the router serves (every harness serves the same ones).
    static func register(_ served: [RouteSpec]) { routes.withLock { if $0.isEmpty { $0 = served } } }

    /// What is wrong with one answer, by the contract; empty when nothing is.
    static func violations(_ method: HTTPRequest.Method, _ uri: String, status: HTTPResponse.Status, body: String) -> [String] {
        guard method != .head, status.code != 204 else { return [] }
        let path = String(uri.split(separator: "?", maxSplits: 1).first ?? "")
        let route = routes.withLock { $0 }.first { $0.method == method && $0.serves(path: path) }
        let schema: Schema?
        if status.code == 503, route?.answersUnavailableWithItsSchema == true {
            schema = route?.answer
        } else if status.code >= 400 {
            schema = .ref("Error")
        } else if status.code == 200 {
            schema = route?.answer
        } else {
            schema = nil
        }
        guard let schema else { return [] }
        guard let value = JSONValue(parsing: Data(body.utf8)) else { return ["the \(status.code) answer is not JSON: \(body.prefix(120))"] }
        return schema.violations(of: value, components: OpenAPI.components)
    }

    /// A command the engine took (200) is one the contract admits: its schema is no stricter than the engine.
    static func acceptedCommandViolations(
        _ method: HTTPRequest.Method, _ uri: String, status: HTTPResponse.Status, request: String?
    )
        -> [String]
    {
        guard method == .post, uri == "/v1/commands", status.code == 200, let request,
            let value = JSONValue(parsing: Data(request.utf8))
        else { return [] }
        return Schema.ref("Command").violations(of: value, components: OpenAPI.components).map { "the request \($0)" }
    }

    static func check(_ method: HTTPRequest.Method, _ uri: String, status: HTTPResponse.Status, request: String?, body: String) {
        let found =
            violations(method, uri, status: status, body: body) + acceptedCommandViolations(method, uri, status: status, request: request)
        if !found.isEmpty {
            Issue.record("\(method) \(uri) answered \(status.code), not as the contract says: \(found.prefix(6).joined(separator: "; "))")
        }
    }
}
