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
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        var methods: [HTTPRequest.Method] = []
        for route in all where !methods.contains(route.method) {
            let pattern = route.path.split(separator: "/", omittingEmptySubsequences: false)
            if pattern.count == segments.count,
                zip(pattern, segments).allSatisfy({ template, segment in template.hasPrefix(":") ? !segment.isEmpty : template == segment })
            {
                methods.append(route.method)
            }
        }
        return methods
    }
}

typealias Handler = @Sendable (Request, AppRequestContext) async throws -> Response

/// Where controllers register their endpoints: each handler goes into the
/// route collection behind its own access middleware, and its spec into the
/// table, in one call, so the contract is what is served.
struct Endpoints {
    let collection = RouteCollection(context: AppRequestContext.self)
    let table = RouteTable()
    let authenticator: Authenticator

    func on(_ method: HTTPRequest.Method, _ path: String, _ name: String, _ summary: String, access: Access, _ handler: @escaping Handler) {
        table.append(RouteSpec(name: name, method: method, path: path, summary: summary, access: access))
        collection.group()
            .add(middleware: AccessMiddleware(access: access, path: path, authenticator: authenticator))
            .on(RouterPath(path), method: method, use: handler)
    }

    func get(_ path: String, _ name: String, _ summary: String, access: Access = .anyone, _ handler: @escaping Handler) {
        on(.get, path, name, summary, access: access, handler)
    }

    func post(_ path: String, _ name: String, _ summary: String, access: Access = .anyone, _ handler: @escaping Handler) {
        on(.post, path, name, summary, access: access, handler)
    }
}
