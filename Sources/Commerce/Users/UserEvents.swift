import Foundation

// MARK: Users

public struct EmailClaimed: EventPayload {
    public static let eventType = "EmailClaimed"; @Personal public var email: String; public var userId: UserId
    public init(email: String, userId: UserId) { self.email = email; self.userId = userId }
}
public struct EmailReleased: EventPayload {
    public static let eventType = "EmailReleased"; @Personal public var email: String; public var userId: UserId
    public init(email: String, userId: UserId) { self.email = email; self.userId = userId }
}

public struct UserRegistered: EventPayload {
    public static let eventType = "UserRegistered"
    public var userId: UserId
    @Personal public var email: String
    @Personal public var name: String
    @Personal public var phone: String
    public var role: Role
    public var passwordHash: PasswordHash
    public var at: Instant

    public init(userId: UserId, email: String, name: String, phone: String, role: Role, passwordHash: PasswordHash, at: Instant) {
        self.userId = userId
        self.email = email
        self.name = name
        self.phone = phone
        self.role = role
        self.passwordHash = passwordHash
        self.at = at
    }
}
public struct UserLoggedIn: EventPayload {
    public static let eventType = "UserLoggedIn"; public var at: Instant
    public init(at: Instant) { self.at = at }
}
public struct LoginFailed: EventPayload {
    public static let eventType = "LoginFailed"; public var consecutiveFailures: Int; public var at: Instant
    public init(consecutiveFailures: Int, at: Instant) { self.consecutiveFailures = consecutiveFailures; self.at = at }
}
public struct UserLockedOut: EventPayload {
    public static let eventType = "UserLockedOut"; public var until: Instant; public var at: Instant
    public init(until: Instant, at: Instant) { self.until = until; self.at = at }
}
public struct ProfileUpdated: EventPayload {
    public static let eventType = "ProfileUpdated"; @Personal public var name: String; @Personal public var phone: String;
    public var at: Instant
    public init(name: String, phone: String, at: Instant) { self.name = name; self.phone = phone; self.at = at }
}
public struct PasswordChanged: EventPayload {
    public static let eventType = "PasswordChanged"; public var passwordHash: PasswordHash; public var at: Instant
    public init(passwordHash: PasswordHash, at: Instant) { self.passwordHash = passwordHash; self.at = at }
}
public struct AddressAdded: EventPayload {
    public static let eventType = "AddressAdded"; public var addressId: AddressId; public var address: Address; public var at: Instant
    public init(addressId: AddressId, address: Address, at: Instant) { self.addressId = addressId; self.address = address; self.at = at }
}
public struct AddressUpdated: EventPayload {
    public static let eventType = "AddressUpdated"; public var addressId: AddressId; public var address: Address; public var at: Instant
    public init(addressId: AddressId, address: Address, at: Instant) { self.addressId = addressId; self.address = address; self.at = at }
}
public struct AddressRemoved: EventPayload {
    public static let eventType = "AddressRemoved"; public var addressId: AddressId; public var at: Instant
    public init(addressId: AddressId, at: Instant) { self.addressId = addressId; self.at = at }
}
public struct DefaultAddressSet: EventPayload {
    public static let eventType = "DefaultAddressSet"; public var addressId: AddressId; public var at: Instant
    public init(addressId: AddressId, at: Instant) { self.addressId = addressId; self.at = at }
}
public struct FavoriteAdded: EventPayload {
    public static let eventType = "FavoriteAdded"; public var goodsId: GoodsId; public var at: Instant
    public init(goodsId: GoodsId, at: Instant) { self.goodsId = goodsId; self.at = at }
}
public struct FavoriteRemoved: EventPayload {
    public static let eventType = "FavoriteRemoved"; public var goodsId: GoodsId; public var at: Instant
    public init(goodsId: GoodsId, at: Instant) { self.goodsId = goodsId; self.at = at }
}
public struct GoodsViewed: EventPayload {
    public static let eventType = "GoodsViewed"; public var goodsId: GoodsId; public var at: Instant
    public init(goodsId: GoodsId, at: Instant) { self.goodsId = goodsId; self.at = at }
}
public struct RoleGranted: EventPayload {
    public static let eventType = "RoleGranted"; public var role: Role; public var grantedBy: String; public var at: Instant
    public init(role: Role, grantedBy: String, at: Instant) { self.role = role; self.grantedBy = grantedBy; self.at = at }
}
public struct UserForgotten: EventPayload {
    public static let eventType = "UserForgotten"; public var at: Instant
    public init(at: Instant) { self.at = at }
}
/// A customer asks to sell in the shop; an admin approves (the user becomes a merchant) or rejects it.
public struct MerchantApplicationSubmitted: EventPayload {
    public static let eventType = "MerchantApplicationSubmitted"
    public var shopName: String
    public var description: String
    public var at: Instant

    public init(shopName: String, description: String, at: Instant) {
        self.shopName = shopName
        self.description = description
        self.at = at
    }
}
public struct MerchantApplicationApproved: EventPayload {
    public static let eventType = "MerchantApplicationApproved"; public var approvedBy: String; public var at: Instant
    public init(approvedBy: String, at: Instant) { self.approvedBy = approvedBy; self.at = at }
}
public struct MerchantApplicationRejected: EventPayload {
    public static let eventType = "MerchantApplicationRejected"
    public var reason: String
    public var rejectedBy: String
    public var at: Instant

    public init(reason: String, rejectedBy: String, at: Instant) {
        self.reason = reason
        self.rejectedBy = rejectedBy
        self.at = at
    }
}

public enum EmailClaimEvent: Hashable, Sendable {
    case claimed(EmailClaimed)
    case released(EmailReleased)
}

public enum UserEvent: Hashable, Sendable {
    case registered(UserRegistered)
    case loggedIn(UserLoggedIn)
    case loginFailed(LoginFailed)
    case lockedOut(UserLockedOut)
    case profileUpdated(ProfileUpdated)
    case passwordChanged(PasswordChanged)
    case addressAdded(AddressAdded)
    case addressUpdated(AddressUpdated)
    case addressRemoved(AddressRemoved)
    case defaultAddressSet(DefaultAddressSet)
    case favoriteAdded(FavoriteAdded)
    case favoriteRemoved(FavoriteRemoved)
    case goodsViewed(GoodsViewed)
    case roleGranted(RoleGranted)
    case forgotten(UserForgotten)
    case merchantApplicationSubmitted(MerchantApplicationSubmitted)
    case merchantApplicationApproved(MerchantApplicationApproved)
    case merchantApplicationRejected(MerchantApplicationRejected)
}
