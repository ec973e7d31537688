extension Payments: Decider {
    public enum Command: Hashable, Sendable {
        case initiate(orderId: OrderId, InitiatePayment)
        /// A provider's notification, its signature already checked.
        case callback(PaymentId, ProviderCallback)
        case refund(PaymentId, reason: String)
    }

    public static func reads(_ command: Command, actor: Actor, loaded: Loaded) -> [StreamId] {
        switch command {
        case let .initiate(orderId, initiate):
            return [.payment(initiate.paymentId), .order(orderId)] + (initiate.afterSaleId.map { [StreamId.afterSale($0)] } ?? [])
        case .callback(let paymentId, _), .refund(let paymentId, _):
            let payment: PaymentState = loaded[.payment(paymentId)]
            guard let initiated = payment.initiated else { return [.payment(paymentId)] }
            return [.payment(paymentId), .order(initiated.orderId)] + (initiated.afterSaleId.map { [StreamId.afterSale($0)] } ?? [])
        }
    }

    public static func decide(
        _ command: Command, actor: Actor, loaded: Loaded, at: Instant, policy: ShopPolicy
    ) throws(Rejection) -> Decision {
        switch command {
        case let .initiate(orderId, initiate):
            return try Payments.initiate(
                initiate, actor: actor, payment: loaded[.payment(initiate.paymentId)], order: loaded[.order(orderId)],
                afterSale: initiate.afterSaleId.map { loaded[.afterSale($0)] } ?? AfterSaleState())
        case let .callback(paymentId, callback):
            let payment: PaymentState = loaded[.payment(paymentId)]
            return try handle(
                callback, actor: actor, payment: payment, order: payment.initiated.map { loaded[.order($0.orderId)] } ?? OrderState(),
                afterSale: payment.initiated?.afterSaleId.map { loaded[.afterSale($0)] } ?? AfterSaleState())
        case let .refund(paymentId, reason):
            let payment: PaymentState = loaded[.payment(paymentId)]
            return try Payments.refund(
                actor: actor, payment: payment, order: payment.initiated.map { loaded[.order($0.orderId)] } ?? OrderState(),
                reason: reason, at: at)
        }
    }
}
