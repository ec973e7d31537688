import Commerce
import Hummingbird
import Synchronization

/// The context every request carries through the router: Hummingbird's core
/// storage, and who the route admitted, so the middleware that logs and
/// measures the request can name the caller once the handler has run.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Shared by every copy of this request's context: the router fills it, the middleware reads it.
    let facts = RequestFacts()

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// The caller the route's access middleware admitted (nil: anonymous).
    var caller: Actor? { facts.caller }
}

/// What routing learned about one request.
final class RequestFacts: Sendable {
    private let admitted = Mutex<Actor?>(nil)

    var caller: Actor? {
        get { admitted.withLock { $0 } }
        set { admitted.withLock { $0 = newValue } }
    }

    /// The caller as logs name them: a user or key id, never a name or an email.
    var callerId: String {
        switch caller {
        case .user(let id, _)?: return id.description
        case .apiKey(let key)?: return "apikey:\(key.keyId)"
        case .system?: return "system"
        case .paymentProvider(let name)?: return "provider:\(name)"
        case .anonymous?, nil: return "anonymous"
        }
    }
}
