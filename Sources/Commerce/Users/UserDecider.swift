extension Users: Decider {
    public enum Command: Hashable, Sendable {
        case register(RegisterUser)
        /// The email as typed: its claim names the user.
        case login(email: String, Login)
        /// A command on an existing user's record (`userId`: the caller's own, or another's for an admin).
        case onUser(UserId, UserCommand)
    }

    public static func reads(_ command: Command, actor: Actor, loaded: Loaded) -> [StreamId] {
        switch command {
        case .register(let register): return [.emailClaim(normalizedEmail(register.email)), .user(register.userId)]
        case .login(let email, _):
            let claim: EmailClaimState = loaded[.emailClaim(normalizedEmail(email))]
            return [.emailClaim(normalizedEmail(email))] + (claim.owner.map { [StreamId.user($0)] } ?? [])
        case let .onUser(userId, userCommand):
            var streams: [StreamId] = [.user(userId)]
            switch userCommand {
            case .addFavorite(let goodsId), .removeFavorite(let goodsId), .recordView(let goodsId): streams.append(.goods(goodsId))
            case .forget:
                let user: UserState = loaded[.user(userId)]
                if !user.email.isEmpty { streams.append(.emailClaim(user.email)) }  // forgetting releases the claim
            default: break
            }
            return streams
        }
    }

    public static func decide(
        _ command: Command, actor: Actor, loaded: Loaded, at: Instant, policy: ShopPolicy
    ) throws(Rejection) -> Decision {
        switch command {
        case .register(let register):
            return try Users.register(
                register, actor: actor, claim: loaded[.emailClaim(normalizedEmail(register.email))],
                user: loaded[.user(register.userId)], policy: policy)
        case let .login(email, login):
            let claim: EmailClaimState = loaded[.emailClaim(normalizedEmail(email))]
            let result = try Users.login(login, user: claim.owner.map { loaded[.user($0)] } ?? UserState(), policy: policy)
            var decision = result.decision
            decision.refusal = result.rejection
            return decision
        case let .onUser(userId, userCommand):
            let goods: GoodsState?
            switch userCommand {
            case .addFavorite(let goodsId), .removeFavorite(let goodsId), .recordView(let goodsId): goods = loaded[.goods(goodsId)]
            default: goods = nil
            }
            return try Users.decide(userCommand, actor: actor, user: loaded[.user(userId)], goods: goods, at: at, policy: policy)
        }
    }
}
