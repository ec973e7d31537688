import Foundation

/// Where a PostgreSQL log lives: `postgres://user:password@host:port/database`.
public struct PostgresEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String

    public init(
        host: String = "127.0.0.1", port: Int = 5432, user: String = "postgres", password: String? = nil, database: String = "emporium"
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
    }

    /// Parses `postgres://` or `postgresql://` URLs; nil, with no guessing, for anything else.
    public init?(url text: String) {
        guard let components = URLComponents(string: text), components.scheme == "postgres" || components.scheme == "postgresql",
            let host = components.host, !host.isEmpty
        else { return nil }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !database.isEmpty, !database.contains("/") else { return nil }
        self.init(
            host: host, port: components.port ?? 5432, user: components.user ?? "postgres", password: components.password,
            database: database)
    }

    /// The URL without its password, for logs and messages.
    public var redacted: String { "postgres://\(user)\(password == nil ? "" : ":⟨hidden⟩")@\(host):\(port)/\(database)" }
    public var description: String { redacted }
}
