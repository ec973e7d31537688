import Foundation

/// Who owns an email address (`email-<address>` stream).
public struct EmailClaimState: Hashable, Codable, Sendable {
    public var owner: UserId?

    public init() {}

    public func evolve(_ event: EmailClaimEvent) -> EmailClaimState {
        var next = self
        switch event {
        case .claimed(let claimed): next.owner = claimed.userId
        case .released: next.owner = nil
        }
        return next
    }
}

public struct UserState: Hashable, Codable, Sendable {
    public var userId: UserId?
    @Personal public var email = ""
    @Personal public var name = ""
    @Personal public var phone = ""
    public var role = Role.customer
    public var passwordHash: PasswordHash?
    public var consecutiveFailures = 0
    public var lockedUntil: Instant?
    /// In the order they were added.
    public var addresses: [SavedAddress] = []
    public var defaultAddress: AddressId?
    public var favorites: [GoodsId] = []
    /// Most recent last, at most `Limits.footprintsKept`.
    public var footprints: [GoodsId] = []
    public var isForgotten = false
    /// The user's latest application to become a merchant, if any.
    public var merchantApplication: MerchantApplication?

    public init() {}

    public var exists: Bool { userId != nil }

    public func address(_ id: AddressId) -> Address? { addresses.first { $0.id == id }?.address }

    public func evolve(_ event: UserEvent) -> UserState {
        var next = self
        switch event {
        case .registered(let registered):
            next.userId = registered.userId
            next.email = registered.email
            next.name = registered.name
            next.phone = registered.phone
            next.role = registered.role
            next.passwordHash = registered.passwordHash
        case .loggedIn:
            next.consecutiveFailures = 0
            next.lockedUntil = nil
        case .loginFailed(let failed): next.consecutiveFailures = failed.consecutiveFailures
        case .lockedOut(let locked): next.lockedUntil = locked.until
        case .profileUpdated(let updated):
            next.name = updated.name
            next.phone = updated.phone
        case .passwordChanged(let changed): next.passwordHash = changed.passwordHash
        case .addressAdded(let added):
            next.addresses.append(SavedAddress(id: added.addressId, address: added.address))
            if next.defaultAddress == nil { next.defaultAddress = added.addressId }
        case .addressUpdated(let updated):
            if let index = next.addresses.firstIndex(where: { $0.id == updated.addressId }) {
                next.addresses[index].address = updated.address
            }
        case .addressRemoved(let removed):
            next.addresses.removeAll { $0.id == removed.addressId }
            if next.defaultAddress == removed.addressId { next.defaultAddress = next.addresses.first?.id }
        case .defaultAddressSet(let set): next.defaultAddress = set.addressId
        case .favoriteAdded(let added): next.favorites.append(added.goodsId)
        case .favoriteRemoved(let removed): next.favorites.removeAll { $0 == removed.goodsId }
        case .goodsViewed(let viewed):
            next.footprints.removeAll { $0 == viewed.goodsId }
            next.footprints.append(viewed.goodsId)
            if next.footprints.count > Limits.footprintsKept { next.footprints.removeFirst(next.footprints.count - Limits.footprintsKept) }
        case .roleGranted(let granted): next.role = granted.role
        case .merchantApplicationSubmitted(let submitted):
            next.merchantApplication = MerchantApplication(
                shopName: submitted.shopName, description: submitted.description, status: .pending,
                submittedAt: submitted.at)
        case .merchantApplicationApproved(let approved):
            next.merchantApplication?.status = .approved
            next.merchantApplication?.decidedAt = approved.at
        case .merchantApplicationRejected(let rejected):
            next.merchantApplication?.status = .rejected
            next.merchantApplication?.decidedAt = rejected.at
            next.merchantApplication?.reason = rejected.reason
        case .forgotten:
            next.isForgotten = true
            next.email = ""
            next.name = ""
            next.phone = ""
            next.addresses = []
            next.defaultAddress = nil
            next.passwordHash = nil
        }
        return next
    }

}

public struct MerchantApplication: Hashable, Codable, Sendable {
    public enum Status: String, Hashable, Codable, Sendable { case pending, approved, rejected }

    public var shopName: String
    public var description: String
    public var status: Status
    public var submittedAt: Instant
    public var decidedAt: Instant?
    /// Why it was rejected.
    public var reason: String?
}

public struct SavedAddress: Hashable, Codable, Sendable {
    public var id: AddressId
    public var address: Address
}

// MARK: Commands

public struct RegisterUser: Hashable, Sendable {
    public var userId: UserId
    public var email: String
    public var password: String
    public var name: String
    public var phone: String
    public var role: Role
    /// `PasswordHash.saltBytes` random bytes, made by the caller.
    public var salt: [UInt8]
    public var at: Instant

    public init(
        userId: UserId, email: String, password: String, name: String, phone: String = "", role: Role = .customer, salt: [UInt8],
        at: Instant
    ) {
        self.userId = userId
        self.email = email
        self.password = password
        self.name = name
        self.phone = phone
        self.role = role
        self.salt = salt
        self.at = at
    }
}

public struct Login: Hashable, Sendable {
    public var password: String
    public var at: Instant
    public init(password: String, at: Instant) {
        self.password = password
        self.at = at
    }
}

public enum UserCommand: Hashable, Sendable {
    case updateProfile(name: String, phone: String)
    case changePassword(old: String, new: String, salt: [UInt8])
    case addAddress(AddressId, Address, makeDefault: Bool)
    case updateAddress(AddressId, Address)
    case removeAddress(AddressId)
    case setDefaultAddress(AddressId)
    case addFavorite(GoodsId)
    case removeFavorite(GoodsId)
    case recordView(GoodsId)
    case grantRole(Role)
    case forget
    /// A customer asks to become a merchant.
    case applyForMerchant(shopName: String, description: String)
    /// An admin approves the pending application: the user becomes a merchant.
    case approveMerchantApplication
    case rejectMerchantApplication(reason: String)
}

/// The outcome of a login: a failed one is still recorded (for the audit trail and lock-out).
public struct LoginResult: Hashable, Sendable {
    public var decision: Decision
    /// `invalid_credentials` after a wrong password; nil when the user is in.
    public var rejection: Rejection?
}

public enum Users {
    /// Lower-cased and trimmed: the form claimed and compared.
    public static func normalizedEmail(_ email: String) -> String {
        email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    static func validateEmail(_ email: String) throws(Rejection) {
        try Limits.text(email, "email", max: Limits.emailCharactersMax)
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
            !email.contains(where: \.isWhitespace)
        else {
            throw Rejection(.invalidInput, "email is not an address", field: "email")
        }
    }

    static func validatePassword(_ password: String, field: String = "password") throws(Rejection) {
        guard password.count >= Limits.passwordCharactersMin, Limits.fits(password, characters: Limits.passwordCharactersMax) else {
            throw Rejection(
                .invalidInput, "\(field) must have \(Limits.passwordCharactersMin) to \(Limits.passwordCharactersMax) characters",
                field: field)
        }
    }

    /// Claims the email and creates the user in one decision (two streams).
    /// Anyone, signed in or not (`.anonymous`), registers customers; only an
    /// admin (or the engine itself) creates merchants and admins. Nobody
    /// grants themselves a role: a customer who wants to sell applies.
    public static func register(
        _ command: RegisterUser, actor: Actor, claim: EmailClaimState, user: UserState,
        policy: ShopPolicy
    ) throws(Rejection) -> Decision {
        guard command.role == .customer || actor.isAdmin else {
            throw Rejection(
                .forbidden,
                command.role == .admin
                    ? "only an admin creates admins"
                    : "only an admin creates merchants; register as a customer and apply with ApplyForMerchant", field: "role")
        }
        let email = normalizedEmail(command.email)
        try validateEmail(email)
        try validatePassword(command.password)
        try Limits.text(command.name, "name", max: Limits.nameCharactersMax)
        try Limits.text(command.phone, "phone", max: Limits.phoneCharactersMax, allowEmpty: true)
        guard !user.exists else { throw Rejection(.userAlreadyExists, "user \(command.userId) exists") }
        guard claim.owner == nil else { throw Rejection(.emailTaken, "\(email) is registered already", field: "email") }
        let hash = try PasswordHash.make(password: command.password, salt: command.salt, parameters: policy.passwordHashing)
        var decision = Decision()
        decision.append(.emailClaim(.claimed(EmailClaimed(email: email, userId: command.userId))), to: .emailClaim(email))
        decision.append(
            .user(
                .registered(
                    UserRegistered(
                        userId: command.userId, email: email, name: command.name,
                        phone: command.phone, role: command.role, passwordHash: hash,
                        at: command.at))), to: .user(command.userId))
        return decision
    }

    /// Checks a password. A wrong one records `LoginFailed` (and `UserLockedOut` at the threshold).
    public static func login(_ command: Login, user: UserState, policy: ShopPolicy) throws(Rejection) -> LoginResult {
        guard let userId = user.userId, !user.isForgotten, let hash = user.passwordHash else {
            throw Rejection(.invalidCredentials, "unknown email or wrong password")
        }
        if let until = user.lockedUntil, command.at < until {
            throw Rejection(.accountLocked, "too many failed logins; try again after \(until.millisecondsSinceEpoch)")
        }
        var decision = Decision()
        guard hash.matches(command.password) else {
            let failures = (user.lockedUntil == nil ? user.consecutiveFailures : 0) + 1
            decision.append(.user(.loginFailed(LoginFailed(consecutiveFailures: failures, at: command.at))), to: .user(userId))
            if failures >= policy.lockoutFailures {
                decision.append(
                    .user(.lockedOut(UserLockedOut(until: command.at.adding(seconds: policy.lockoutSeconds), at: command.at))),
                    to: .user(userId))
            }
            return LoginResult(decision: decision, rejection: Rejection(.invalidCredentials, "unknown email or wrong password"))
        }
        decision.append(.user(.loggedIn(UserLoggedIn(at: command.at))), to: .user(userId))
        return LoginResult(decision: decision, rejection: nil)
    }

    /// Commands on an existing user by the user themself (or an admin). `goods` is
    /// the state of the goods a favorite or view names, when it names one.
    public static func decide(
        _ command: UserCommand, actor: Actor, user: UserState, goods: GoodsState? = nil,
        at: Instant, policy: ShopPolicy
    ) throws(Rejection) -> Decision {
        guard let userId = user.userId else { throw Rejection(.userNotFound, "no such user") }
        guard !user.isForgotten else { throw Rejection(.userForgotten, "the user was forgotten") }
        try authorize(command, actor: actor, userId: userId)
        var decision = Decision()
        for event in try userEvents(command, user: user, goods: goods, actor: actor, at: at, policy: policy) {
            decision.append(.user(event), to: .user(userId))
            if case .forgotten = event, !user.email.isEmpty {
                decision.append(.emailClaim(.released(EmailReleased(email: user.email, userId: userId))), to: .emailClaim(user.email))
            }
        }
        return decision
    }

    /// Roles are an admin's to give; an application is the user's own to make.
    private static func authorize(_ command: UserCommand, actor: Actor, userId: UserId) throws(Rejection) {
        switch command {
        case .grantRole, .approveMerchantApplication, .rejectMerchantApplication:
            guard actor.isAdmin else { throw Rejection(.forbidden, "only an admin grants roles and answers merchant applications") }
        case .applyForMerchant:
            guard actor.userId == userId else { throw Rejection(.notOwner, "users apply for themselves") }
        case .updateProfile, .changePassword, .addAddress, .updateAddress, .removeAddress, .setDefaultAddress, .addFavorite,
            .removeFavorite,
            .recordView, .forget:
            guard actor.userId == userId || actor.isAdmin else { throw Rejection(.notOwner, "not your account") }
        }
    }

    private static func userEvents(
        _ command: UserCommand, user: UserState, goods: GoodsState?, actor: Actor,
        at: Instant, policy: ShopPolicy
    ) throws(Rejection) -> [UserEvent] {
        if case .approveMerchantApplication = command {
            guard user.merchantApplication?.status == .pending else {
                throw Rejection(.noPendingApplication, "the user has no pending application")
            }
            return [
                .merchantApplicationApproved(MerchantApplicationApproved(approvedBy: actor.description, at: at)),
                .roleGranted(RoleGranted(role: .merchant, grantedBy: actor.description, at: at)),
            ]
        }
        if case let .addAddress(id, address, makeDefault) = command {
            let added = try userEvent(
                .addAddress(id, address, makeDefault: makeDefault), user: user, goods: goods, actor: actor, at: at, policy: policy)
            // The first address becomes the default by itself; a later one when asked.
            guard makeDefault, user.defaultAddress != nil else { return [added] }
            return [added, .defaultAddressSet(DefaultAddressSet(addressId: id, at: at))]
        }
        return [try userEvent(command, user: user, goods: goods, actor: actor, at: at, policy: policy)]
    }

    private static func userEvent(
        _ command: UserCommand, user: UserState, goods: GoodsState?, actor: Actor,
        at: Instant, policy: ShopPolicy
    ) throws(Rejection) -> UserEvent {
        switch command {
        case let .updateProfile(name, phone):
            try Limits.text(name, "name", max: Limits.nameCharactersMax)
            try Limits.text(phone, "phone", max: Limits.phoneCharactersMax, allowEmpty: true)
            guard name != user.name || phone != user.phone else { throw Rejection(.nothingChanged, "the profile is unchanged") }
            return .profileUpdated(ProfileUpdated(name: name, phone: phone, at: at))
        case let .changePassword(old, new, salt):
            try validatePassword(new, field: "newPassword")
            guard user.passwordHash?.matches(old) == true else { throw Rejection(.invalidCredentials, "the current password is wrong") }
            return .passwordChanged(
                PasswordChanged(passwordHash: try PasswordHash.make(password: new, salt: salt, parameters: policy.passwordHashing), at: at))
        case let .addAddress(id, address, _):
            try address.validate()
            guard user.addresses.count < Limits.addressesPerUserMax else {
                throw Rejection(.addressLimitReached, "at most \(Limits.addressesPerUserMax) addresses")
            }
            guard user.address(id) == nil else { throw Rejection(.invalidInput, "address \(id) exists", field: "addressId") }
            return .addressAdded(AddressAdded(addressId: id, address: address, at: at))
        case let .updateAddress(id, address):
            try address.validate()
            guard user.address(id) != nil else { throw Rejection(.addressNotFound, "no address \(id)") }
            return .addressUpdated(AddressUpdated(addressId: id, address: address, at: at))
        case .removeAddress(let id):
            guard user.address(id) != nil else { throw Rejection(.addressNotFound, "no address \(id)") }
            return .addressRemoved(AddressRemoved(addressId: id, at: at))
        case .setDefaultAddress(let id):
            guard user.address(id) != nil else { throw Rejection(.addressNotFound, "no address \(id)") }
            return .defaultAddressSet(DefaultAddressSet(addressId: id, at: at))
        case .addFavorite(let goodsId):
            guard goods?.exists == true else { throw Rejection(.goodsNotFound, "no goods \(goodsId)") }
            guard !user.favorites.contains(goodsId) else { throw Rejection(.alreadyFavorite, "already a favorite") }
            guard user.favorites.count < Limits.favoritesPerUserMax else {
                throw Rejection(.favoriteLimitReached, "at most \(Limits.favoritesPerUserMax) favorites")
            }
            return .favoriteAdded(FavoriteAdded(goodsId: goodsId, at: at))
        case .removeFavorite(let goodsId):
            guard user.favorites.contains(goodsId) else { throw Rejection(.notFavorite, "not a favorite") }
            return .favoriteRemoved(FavoriteRemoved(goodsId: goodsId, at: at))
        case .recordView(let goodsId):
            guard goods?.exists == true else { throw Rejection(.goodsNotFound, "no goods \(goodsId)") }
            return .goodsViewed(GoodsViewed(goodsId: goodsId, at: at))
        case .grantRole(let role):
            guard role != user.role else { throw Rejection(.nothingChanged, "the user already has role \(role.rawValue)") }
            return .roleGranted(RoleGranted(role: role, grantedBy: actor.description, at: at))
        case .forget:
            return .forgotten(UserForgotten(at: at))
        case let .applyForMerchant(shopName, description):
            try Limits.text(shopName, "shopName", max: Limits.shopNameCharactersMax)
            try Limits.text(description, "description", max: Limits.merchantApplicationCharactersMax, allowEmpty: true)
            guard user.role == .customer else { throw Rejection(.alreadyMerchant, "the user is a \(user.role.rawValue) already") }
            guard user.merchantApplication?.status != .pending else {
                throw Rejection(.applicationPending, "an application is waiting for an answer")
            }
            return .merchantApplicationSubmitted(MerchantApplicationSubmitted(shopName: shopName, description: description, at: at))
        case .approveMerchantApplication:
            preconditionFailure("approval is decided before")
        case .rejectMerchantApplication(let reason):
            try Limits.text(reason, "reason", max: Limits.reasonCharactersMax)
            guard user.merchantApplication?.status == .pending else {
                throw Rejection(.noPendingApplication, "the user has no pending application")
            }
            return .merchantApplicationRejected(MerchantApplicationRejected(reason: reason, rejectedBy: actor.description, at: at))
        }
    }
}
