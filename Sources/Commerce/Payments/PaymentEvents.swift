import Foundation

// MARK: Payments

public struct PaymentInitiated: EventPayload {
    public static let eventType = "PaymentInitiated"
    public var paymentId: PaymentId
    public var orderId: OrderId
    public var provider: String
    public var amount: Money
    public var at: Instant

    public init(paymentId: PaymentId, orderId: OrderId, provider: String, amount: Money, at: Instant) {
        self.paymentId = paymentId
        self.orderId = orderId
        self.provider = provider
        self.amount = amount
        self.at = at
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
