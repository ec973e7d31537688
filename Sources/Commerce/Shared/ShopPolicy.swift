import Foundation

/// The shop's rules that are configuration, not code.
public struct ShopPolicy: Sendable, Hashable {
    /// ISO 4217 code of the shop's one currency.
    public var currency = "CNY"
    /// Unpaid orders expire after this long.
    public var orderExpirySeconds: Int64 = 30 * 60
    /// Points earned per whole major unit of an order's total, on receipt.
    public var pointsPerMajorUnit: Int64 = 1
    /// What one point is worth at checkout, in minor units.
    public var pointValueMinorUnits: Int64 = 1
    /// Share of the amount after discount that points may pay, in percent.
    public var pointsPayPercentMax: Int64 = 50
    /// Failed logins in a row that lock an account.
    public var lockoutFailures = 5
    public var lockoutSeconds: Int64 = 15 * 60
    /// Refunds may be requested this long after receipt.
    public var refundWindowSeconds: Int64 = 14 * 24 * 3600
    /// Reviews wait for an admin or the goods' merchant to approve them before they count (false: published at once).
    public var reviewsAwaitModeration = true
    public var passwordHashing = PasswordParameters.production

    public init() {}
}
