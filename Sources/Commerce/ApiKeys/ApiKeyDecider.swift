extension ApiKeys: Decider {
    public enum Command: Hashable, Sendable {
        case issue(IssueApiKey)
        case revoke(ApiKeyId, reason: String)
    }

    public static func reads(_ command: Command, actor: Actor, loaded: Loaded) -> [StreamId] {
        switch command {
        case .issue(let issue): return [.apiKey(issue.keyId), .user(issue.ownerId)]
        case .revoke(let keyId, _): return [.apiKey(keyId)]
        }
    }

    public static func decide(
        _ command: Command, actor: Actor, loaded: Loaded, at: Instant, policy: ShopPolicy
    ) throws(Rejection) -> Decision {
        switch command {
        case .issue(let issue):
            return try ApiKeys.issue(issue, actor: actor, key: loaded[.apiKey(issue.keyId)], owner: loaded[.user(issue.ownerId)])
        case let .revoke(keyId, reason): return try revoke(reason: reason, actor: actor, key: loaded[.apiKey(keyId)], at: at)
        }
    }
}
