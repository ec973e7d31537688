import Foundation

/// An amount in integer minor units (fen, cents). One currency per shop, so
/// the currency lives in the shop's policy, not in every amount.
public struct Money: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    public var minorUnits: Int64

    public init(minorUnits: Int64) { self.minorUnits = minorUnits }

    public static let zero = Money(minorUnits: 0)

    public static func < (lhs: Money, rhs: Money) -> Bool { lhs.minorUnits < rhs.minorUnits }

    /// Sum or product beyond `Limits.moneyMax` is a rejection, never a wrap.
    public static func + (lhs: Money, rhs: Money) throws(Rejection) -> Money {
        let (sum, overflow) = lhs.minorUnits.addingReportingOverflow(rhs.minorUnits)
        guard !overflow, sum <= Limits.moneyMax else { throw Rejection(.amountOutOfRange, "amount exceeds \(Limits.moneyMax)") }
        return Money(minorUnits: sum)
    }

    public func times(_ quantity: Int) throws(Rejection) -> Money {
        let (product, overflow) = minorUnits.multipliedReportingOverflow(by: Int64(quantity))
        guard !overflow, product <= Limits.moneyMax else { throw Rejection(.amountOutOfRange, "amount exceeds \(Limits.moneyMax)") }
        return Money(minorUnits: product)
    }

    public var description: String { "\(minorUnits)" }

    public init(from decoder: any Decoder) throws {
        minorUnits = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(minorUnits)
    }
}
