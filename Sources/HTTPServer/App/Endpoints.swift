import CommandAPI
import CommandEngine
import Commerce
import HTTPTypes
import Hummingbird
import Synchronization

/// One endpoint as the contract describes it.
struct RouteSpec: Sendable {
    /// The OpenAPI operation id.
    let name: String
    let method: HTTPRequest.Method
    /// Hummingbird syntax (`:id`); OpenAPI uses `{id}`.
    let path: String
    let summary: String
    /// Who may call it; enforced by the route's own access middleware, before the handler runs.
    let access: Access
    /// The query and header parameters it reads (path parameters come from `path`).
    var parameters: [Parameter] = []
    /// The schema of its 200 answer (nil: not JSON, or not described yet).
    var answer: Schema?
    /// Its 503 has the 200's schema, not the error's (`/health` says what is wrong).
    var answersUnavailableWithItsSchema = false
    /// The media types of a 200 that is text, not JSON (the event feed, the metrics, the console).
    var textAnswers: [String] = []

    /// Whether a request for `path` (no query) is this route's: a `:name` segment matches any one segment.
    func serves(path: String) -> Bool {
        let pattern = self.path.split(separator: "/", omittingEmptySubsequences: false)
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        return pattern.count == segments.count
            && zip(pattern, segments).allSatisfy { template, segment in template.hasPrefix(":") ? !segment.isEmpty : template == segment }
    }
}

/// A query or header parameter as the contract describes it.
struct Parameter: Sendable {
    enum Location: String, Sendable { case query, header }

    let name: String
    let location: Location
    let schema: Schema
    let summary: String

    static func query(_ name: String, _ schema: Schema, _ summary: String) -> Parameter {
        Parameter(name: name, location: .query, schema: schema, summary: summary)
    }

    /// `limit=`: how many to answer, 1…`max`.
    static func limit(default value: Int, max: Int) -> Parameter {
        .query("limit", .integer(1, Int64(max)).with { $0.examples = [.integer(Int64(value))] }, "how many to answer (default \(value))")
    }

    /// `after=`: read at least up to this log position (a command's answer names its events' positions): read-your-writes.
    static let after = Parameter.query(
        "after", .integer(0), "answer once the read model has folded the log to this position (503 projection_behind if not soon)")

    static func day(_ name: String) -> Parameter {
        .query(name, .string(format: "date").with { $0.maxLength = 10 }, "a calendar day, YYYY-MM-DD (UTC)")
    }

    /// Why `text` is not a value of this parameter ("must be 1…100"), or nil when it is one: the contract's bounds,
    /// enforced before the handler runs, so a request the document calls invalid is refused whatever the handler reads.
    func refusal(of text: Substring) -> String? {
        switch schema.kind {
        case .integer:
            guard let value = Int64(text) else {
                // Positions run to 2⁶⁴ − 1: past Int64, a non-negative parameter without a bound still takes them.
                let unbounded = (schema.minimum ?? -1) >= 0 && schema.maximum == nil
                return unbounded && UInt64(text) != nil ? nil : "must be an integer"
            }
            if let low = schema.minimum, value < low { return "must be at least \(low)" }
            if let high = schema.maximum, value > high { return "must be at most \(high)" }
        case .boolean:
            guard text == "true" || text == "false" else { return "must be true or false" }
        default:
            if let values = schema.enumeration, !values.contains(String(text)) { return "must be one of \(values.joined(separator: ", "))" }
            if let longest = schema.maxLength, text.count > longest { return "must be at most \(longest) characters" }
            if schema.format == "uuid", UUIDText.parse(String(text)) == nil { return "must be a UUID" }
        }
        return nil
    }

    static let idempotencyKey = Parameter(
        name: "Idempotency-Key", location: .header,
        schema: .string(maxLength: Engine.idempotencyKeyCharactersMax).with { $0.minLength = 1 },
        summary: "a retry under the same key answers as the first request did, and runs at most once")
    static let requestId = Parameter(
        name: "X-Request-Id", location: .header, schema: .string(format: "uuid"),
        summary: "a UUID: the request's id (answered back, and the correlation id of the events it appends); one is made when absent")
}

/// Who may call a route.
enum Access: Sendable, Hashable {
    /// No credentials read.
    case anyone
    /// Anyone, but credentials sent are checked (a bad one is 401) and the caller is known to the handler (the command route).
    case anyoneNamed
    /// A person signed in with a login token; API keys are refused.
    case signedIn
    /// A user with at least `role`, or an API key holding `scope` (nil: keys never) whose owner has that role.
    case role(Role, scope: Scope?)
}

/// What the router serves, in registration order.
final class RouteTable: Sendable {
    private let specs = Mutex<[RouteSpec]>([])

    var all: [RouteSpec] { specs.withLock { $0 } }

    func append(_ spec: RouteSpec) { specs.withLock { $0.append(spec) } }

    /// The methods served at `path` (a `:name` segment matches any one segment), for a 405's `Allow`.
    func methods(servingPath path: String) -> [HTTPRequest.Method] {
        var methods: [HTTPRequest.Method] = []
        for route in all where !methods.contains(route.method) && route.serves(path: path) { methods.append(route.method) }
        return methods
    }
}

typealias Handler = @Sendable (Request, AppRequestContext) async throws -> Response

extension Schema {
    /// The schema of an answer of type `T`, read from its own coding (see `SchemaProbe.answerSchema`).
    static func of<T: Decodable>(_ type: T.Type) -> Schema { SchemaProbe.answerSchema(of: T.self) }
}

/// Where controllers register their endpoints: each handler goes into the
/// route collection behind its own access middleware, and its spec into the
/// table, in one call, so the contract is what is served.
struct Endpoints {
    let collection = RouteCollection(context: AppRequestContext.self)
    let table = RouteTable()
    let authenticator: Authenticator

    func on(
        _ method: HTTPRequest.Method, _ path: String, _ name: String, _ summary: String, access: Access, parameters: [Parameter] = [],
        answer: Schema? = nil, answersUnavailableWithItsSchema: Bool = false, textAnswers: [String] = [], _ handler: @escaping Handler
    ) {
        table.append(
            RouteSpec(
                name: name, method: method, path: path, summary: summary, access: access, parameters: parameters, answer: answer,
                answersUnavailableWithItsSchema: answersUnavailableWithItsSchema, textAnswers: textAnswers))
        let query = parameters.filter { $0.location == .query }
        collection.group()
            .add(middleware: AccessMiddleware(access: access, path: path, authenticator: authenticator))
            .on(RouterPath(path), method: method) { request, context in
                let sent = request.uri.queryParameters
                for parameter in query {
                    if let text = sent[parameter.name[...]], let reason = parameter.refusal(of: text) {
                        throw Responses.badQuery(parameter.name, reason)
                    }
                }
                return try await handler(request, context)
            }
    }

    func get(
        _ path: String, _ name: String, _ summary: String, access: Access = .anyone, parameters: [Parameter] = [], answer: Schema? = nil,
        _ handler: @escaping Handler
    ) {
        on(.get, path, name, summary, access: access, parameters: parameters, answer: answer, handler)
    }

    func post(
        _ path: String, _ name: String, _ summary: String, access: Access = .anyone, parameters: [Parameter] = [], answer: Schema? = nil,
        _ handler: @escaping Handler
    ) {
        on(.post, path, name, summary, access: access, parameters: parameters, answer: answer, handler)
    }
}
