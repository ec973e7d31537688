import CommandEngine
import Commerce
import HTTPTypes
import Hummingbird

/// Reads the caller from `Authorization: Bearer …` (a login token or an API key).
struct Authenticator: Sendable {
    let engine: Engine

    /// The caller the credentials name, nil without the header; a bad credential is 401, never anonymous.
    func claimed(_ request: Request) throws -> Actor? {
        guard let header = request.headers[.authorization] else { return nil }
        guard header.hasPrefix("Bearer ") else { throw EngineError(.invalidToken, "use Authorization: Bearer <token>") }
        return try engine.authenticate(bearer: String(header.dropFirst("Bearer ".count)))
    }

    /// The caller as `access` admits them (nil for an anonymous caller of an open route), with
    /// the role their user record has now; or why not: 401 without valid credentials, 403 when not admitted.
    func admit(_ request: Request, to access: Access, path: String) throws -> Actor? {
        switch access {
        case .anyone: return nil
        case .anyoneNamed: return try claimed(request)
        case .signedIn, .role: break
        }
        guard let claimed = try claimed(request) else {
            throw EngineError(.unauthenticated, "this request needs a bearer token (Authorization: Bearer <token>)")
        }
        let caller = try engine.currentActor(claimed)
        switch access {
        case .anyone, .anyoneNamed: return caller
        case .signedIn:
            guard case .user = caller else { throw EngineError(.insufficientScope, "\(path) is for people signed in, not API keys") }
        case let .role(role, scope):
            if case .apiKey(let key) = caller {
                guard let scope else { throw EngineError(.insufficientScope, "\(path) is not for API keys") }
                guard key.allows(scope) else {
                    throw EngineError(.insufficientScope, "this key lacks the \(scope.rawValue) scope", details: ["scope": scope.rawValue])
                }
            }
            guard let have = caller.role, have >= role else { throw EngineError(.forbidden, "\(path) is for \(role.rawValue)s") }
        }
        return caller
    }
}

/// One route's access rule, enforced before its handler runs; the caller it
/// admits travels in the request context.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let access: Access
    let path: String
    let authenticator: Authenticator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        context.facts.caller = try authenticator.admit(request, to: access, path: path)
        return try await next(request, context)
    }
}
