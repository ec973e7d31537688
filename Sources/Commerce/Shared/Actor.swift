import Foundation

public enum Role: String, Codable, Sendable, CaseIterable, Comparable {
    case customer, merchant, admin

    private var rank: Int {
        switch self {
        case .customer: return 0
        case .merchant: return 1
        case .admin: return 2
        }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}

/// Who issues a command.
public enum Actor: Hashable, Codable, Sendable, CustomStringConvertible {
    case user(UserId, Role)
    /// An integration's API key: it acts for its owner with the owner's role,
    /// narrowed to the key's scopes (the engine checks those before deciding).
    case apiKey(ApiKeyCredential)
    /// The engine's own processes (order expiry, seeding, migrations, the
    /// first admin made on the command line); never reachable from a request.
    case system
    case paymentProvider(String)
    /// A caller without credentials: registers customers and logs in, nothing else.
    case anonymous

    /// The user the actor acts for: the user, or the API key's owner.
    public var userId: UserId? {
        switch self {
        case .user(let id, _): return id
        case .apiKey(let key): return key.owner
        case .system, .paymentProvider, .anonymous: return nil
        }
    }

    /// The role the actor acts with; nil for the system, providers and anonymous callers.
    public var role: Role? {
        switch self {
        case .user(_, let role): return role
        case .apiKey(let key): return key.role
        case .system, .paymentProvider, .anonymous: return nil
        }
    }

    public var isAdmin: Bool {
        switch self {
        case .user, .apiKey: return role == .admin
        case .system: return true
        case .paymentProvider, .anonymous: return false
        }
    }

    /// The form stored in the log's `actor` field.
    public var description: String {
        switch self {
        case let .user(id, role): return "user:\(id):\(role.rawValue)"
        case .apiKey(let key): return "apikey:\(key.keyId)"
        case .system: return "system"
        case .paymentProvider(let name): return "provider:\(name)"
        case .anonymous: return "anonymous"
        }
    }
}
