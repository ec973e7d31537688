import Foundation

/// A moment, in milliseconds since the Unix epoch (UTC). Commands carry it in;
/// the domain never reads a clock.
public struct Instant: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) { self.millisecondsSinceEpoch = millisecondsSinceEpoch }

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch }

    public func adding(seconds: Int64) -> Instant { Instant(millisecondsSinceEpoch: millisecondsSinceEpoch + seconds * 1_000) }

    /// `YYYYMMDD` in UTC, used in order numbers.
    public var dayStamp: String { day(separator: nil) }

    /// `YYYY-MM-DD` in UTC.
    public var isoDay: String { day(separator: UInt8(ascii: "-")) }

    /// The UTC calendar date (proleptic Gregorian), by Howard Hinnant's `civil_from_days`:
    /// integer arithmetic only, because projections ask for it on every event.
    public var utcDate: (year: Int, month: Int, day: Int) {
        let days = Int(millisecondsSinceEpoch.dividedRoundingDown(by: 86_400_000)) + 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private func day(separator: UInt8?) -> String {
        let (year, month, day) = utcDate
        var bytes: [UInt8] = []
        bytes.reserveCapacity(10)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            var rest = max(0, value)
            for _ in 0..<count {
                bytes.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(year, 4)
        if let separator { bytes.append(separator) }
        digits(month, 2)
        if let separator { bytes.append(separator) }
        digits(day, 2)
        return String(decoding: bytes, as: UTF8.self)
    }

    public var description: String { "\(millisecondsSinceEpoch)ms" }

    public init(from decoder: any Decoder) throws {
        millisecondsSinceEpoch = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(millisecondsSinceEpoch)
    }
}

extension Int64 {
    /// Division rounding toward negative infinity (days before 1970 are still whole days).
    func dividedRoundingDown(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
