extension Payments: Decider {
    public enum Command: Hashable, Sendable {
        case initiate(orderId: OrderId, InitiatePayment)
        /// A provider's notification, its signature already checked.
        case callback(PaymentId, ProviderCallback)
        case refund(PaymentId, reason: String)
    }

    public static func reads(_ command: Command, actor: Actor, loaded: Loaded) -> [StreamId] {
        switch command {
        case let .initiate(orderId, initiate): return [.payment(initiate.paymentId), .order(orderId)]
        case .callback(let paymentId, _), .refund(let paymentId, _):
            let payment: PaymentState = loaded[.payment(paymentId)]
            return [.payment(paymentId)] + (payment.initiated.map { [StreamId.order($0.orderId)] } ?? [])
        }
    }

    public static func decide(
        _ command: Command, actor: Actor, loaded: Loaded, at: Instant, policy: ShopPolicy
    ) throws(Rejection) -> Decision {
        switch command {
        case let .initiate(orderId, initiate):
            return try Payments.initiate(
                initiate, actor: actor, payment: loaded[.payment(initiate.paymentId)], order: loaded[.order(orderId)])
        case let .callback(paymentId, callback):
            let payment: PaymentState = loaded[.payment(paymentId)]
            return try handle(
                callback, actor: actor, payment: payment, order: payment.initiated.map { loaded[.order($0.orderId)] } ?? OrderState())
        case let .refund(paymentId, reason):
            let payment: PaymentState = loaded[.payment(paymentId)]
            return try Payments.refund(
                actor: actor, payment: payment, order: payment.initiated.map { loaded[.order($0.orderId)] } ?? OrderState(),
                reason: reason, at: at)
        }
    }
}
