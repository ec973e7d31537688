import Foundation

// MARK: Payments

/// Version 3 adds `afterSaleId` last: the payment of what an exchange owes (nil: the order's own payment, written in its
/// version 2 form as every payment before version 3 was).
public struct PaymentInitiated: EvolvedEventPayload {
    public static let eventType = "PaymentInitiated"
    public static var schemaVersion: Int { 3 }
    public var paymentId: PaymentId
    public var orderId: OrderId
    public var provider: String
    public var amount: Money
    public var at: Instant
    public var afterSaleId: AfterSaleId?

    public init(paymentId: PaymentId, orderId: OrderId, provider: String, amount: Money, at: Instant, afterSaleId: AfterSaleId? = nil) {
        self.paymentId = paymentId
        self.orderId = orderId
        self.provider = provider
        self.amount = amount
        self.at = at
        self.afterSaleId = afterSaleId
    }

    public var writtenVersion: Int { afterSaleId == nil ? 2 : 3 }

    /// Version 2 ends before `afterSaleId`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        paymentId = try container.decode(PaymentId.self, forKey: .paymentId)
        orderId = try container.decode(OrderId.self, forKey: .orderId)
        provider = try container.decode(String.self, forKey: .provider)
        amount = try container.decode(Money.self, forKey: .amount)
        at = try container.decode(Instant.self, forKey: .at)
        if decoder.userInfo[.eventSchemaVersion] as? Int ?? Self.schemaVersion >= 3 {
            afterSaleId = try container.decodeIfPresent(AfterSaleId.self, forKey: .afterSaleId)
        }
    }
}
public struct PaymentSucceeded: EventPayload {
    public static let eventType = "PaymentSucceeded"; public var providerTransactionId: String; public var amount: Money;
    public var at: Instant
    public init(providerTransactionId: String, amount: Money, at: Instant) {
        self.providerTransactionId = providerTransactionId; self.amount = amount; self.at = at
    }
}
public struct PaymentFailed: EventPayload {
    public static let eventType = "PaymentFailed"; public var providerTransactionId: String; public var reason: String;
    public var at: Instant
    public init(providerTransactionId: String, reason: String, at: Instant) {
        self.providerTransactionId = providerTransactionId; self.reason = reason; self.at = at
    }
}
public struct PaymentRefunded: EventPayload {
    public static let eventType = "PaymentRefunded"; public var amount: Money; public var reason: String; public var at: Instant
    public init(amount: Money, reason: String, at: Instant) { self.amount = amount; self.reason = reason; self.at = at }
}

public enum PaymentEvent: Hashable, Sendable {
    case initiated(PaymentInitiated)
    case succeeded(PaymentSucceeded)
    case failed(PaymentFailed)
    case refunded(PaymentRefunded)
}
