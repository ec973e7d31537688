public enum PaymentStatus: String, Codable, Sendable {
    case pending, succeeded, failed, refunded
}

public struct PaymentState: Hashable, Codable, Sendable {
    public var initiated: PaymentInitiated?
    public var status = PaymentStatus.pending
    /// Provider transaction ids already handled: a repeated callback has no effect.
    public var handledTransactions: SortedSet<String> = []
    public var capturedAmount = Money.zero
    public var refundedAmount = Money.zero

    public init() {}

    public var exists: Bool { initiated != nil }
    /// Captured and not yet refunded.
    public var refundable: Money { Money(minorUnits: capturedAmount.minorUnits - refundedAmount.minorUnits) }

    public func evolve(_ event: PaymentEvent) -> PaymentState {
        var next = self
        switch event {
        case .initiated(let initiated): next.initiated = initiated
        case .succeeded(let succeeded):
            next.status = .succeeded
            next.capturedAmount = succeeded.amount
            next.handledTransactions.insert(succeeded.providerTransactionId)
        case .failed(let failed):
            next.status = .failed
            next.handledTransactions.insert(failed.providerTransactionId)
        case .refunded(let refunded):
            // Refunds add up (an after-sale request refunds a part); the payment is refunded once all of it is.
            next.refundedAmount = Money(minorUnits: next.refundedAmount.minorUnits + refunded.amount.minorUnits)
            if next.refundedAmount.minorUnits >= next.capturedAmount.minorUnits { next.status = .refunded }
        }
        return next
    }
}

public struct InitiatePayment: Hashable, Sendable {
    public var paymentId: PaymentId
    public var provider: String
    public var at: Instant
    /// Pays what this exchange owes instead of the order.
    public var afterSaleId: AfterSaleId?

    public init(paymentId: PaymentId, provider: String, at: Instant, afterSaleId: AfterSaleId? = nil) {
        self.paymentId = paymentId
        self.provider = provider
        self.at = at
        self.afterSaleId = afterSaleId
    }
}

/// A provider's (already signature-checked) notification about a payment.
public struct ProviderCallback: Hashable, Sendable {
    public var providerTransactionId: String
    public var succeeded: Bool
    public var amount: Money
    public var reason: String
    public var at: Instant

    public init(providerTransactionId: String, succeeded: Bool, amount: Money, reason: String = "", at: Instant) {
        self.providerTransactionId = providerTransactionId
        self.succeeded = succeeded
        self.amount = amount
        self.reason = reason
        self.at = at
    }
}

public enum Payments {
    static let providerNameCharactersMax = 40
    static let transactionIdCharactersMax = 128

    /// The buyer starts paying a placed order, the amount its total; or, naming an after-sale request of the order,
    /// what that exchange owes for dearer replacements.
    public static func initiate(
        _ command: InitiatePayment, actor: Actor, payment: PaymentState, order: OrderState, afterSale: AfterSaleState = AfterSaleState()
    ) throws(Rejection) -> Decision {
        try Limits.text(command.provider, "provider", max: providerNameCharactersMax)
        guard let placed = order.placed else { throw Rejection(.orderNotFound, "no such order") }
        guard actor.userId == placed.userId || actor.isAdmin else { throw Rejection(.notOwner, "not your order") }
        guard !payment.exists else { throw Rejection(.paymentAlreadyExists, "payment \(command.paymentId) exists") }
        let amount: Money
        if let afterSaleId = command.afterSaleId {
            guard afterSale.requested?.orderId == placed.orderId else {
                throw Rejection(.afterSaleNotFound, "the order has no after-sale request \(afterSaleId)")
            }
            guard let owed = afterSale.owed else {
                throw Rejection(.afterSaleNotPayable, "after-sale request \(afterSaleId) owes nothing now (\(afterSale.status.rawValue))")
            }
            amount = owed
        } else {
            guard order.status == .placed, command.at < placed.expiresAt else {
                throw Rejection(.orderNotPayable, "order is \(order.status.rawValue)")
            }
            amount = placed.total
        }
        var decision = Decision()
        decision.append(
            .payment(
                .initiated(
                    PaymentInitiated(
                        paymentId: command.paymentId, orderId: placed.orderId, provider: command.provider,
                        amount: amount, at: command.at, afterSaleId: command.afterSaleId))), to: .payment(command.paymentId))
        return decision
    }

    /// Handles a provider notification. The same transaction delivered again
    /// decides nothing. A success on a payable order captures it and pays the
    /// order (an exchange's payment: what the exchange owes); a success the order
    /// or exchange can no longer take (expired, cancelled, paid by another payment)
    /// is captured and refunded at once, so money is conserved.
    public static func handle(
        _ callback: ProviderCallback, actor: Actor, payment: PaymentState, order: OrderState, afterSale: AfterSaleState = AfterSaleState()
    ) throws(Rejection) -> Decision {
        guard case .paymentProvider(let provider) = actor else { throw Rejection(.forbidden, "only a payment provider reports payments") }
        try Limits.text(callback.providerTransactionId, "providerTransactionId", max: transactionIdCharactersMax)
        guard let initiated = payment.initiated, initiated.provider == provider else {
            throw Rejection(.paymentNotFound, "no such payment")
        }
        var decision = Decision()
        if payment.handledTransactions.contains(callback.providerTransactionId) { return decision }
        guard payment.status == .pending else { throw Rejection(.paymentNotPending, "payment is \(payment.status.rawValue)") }
        let stream = StreamId.payment(initiated.paymentId)
        guard callback.succeeded else {
            decision.append(
                .payment(
                    .failed(PaymentFailed(providerTransactionId: callback.providerTransactionId, reason: callback.reason, at: callback.at))),
                to: stream)
            return decision
        }
        guard callback.amount == initiated.amount else {
            decision.append(
                .payment(
                    .failed(
                        PaymentFailed(
                            providerTransactionId: callback.providerTransactionId,
                            reason: "amount_mismatch: \(callback.amount) for \(initiated.amount)", at: callback.at))), to: stream)
            return decision
        }
        decision.append(
            .payment(
                .succeeded(
                    PaymentSucceeded(providerTransactionId: callback.providerTransactionId, amount: callback.amount, at: callback.at))),
            to: stream)
        if let afterSaleId = initiated.afterSaleId {
            if let placed = order.placed, afterSale.owed == callback.amount, order.status.holdsPayment {
                let paid = ExchangeDifferencePaid(
                    orderVersion: order.version + 1, paymentId: initiated.paymentId, amount: callback.amount, at: callback.at)
                decision.append(.afterSale(.differencePaid(paid)), to: .afterSale(afterSaleId))
                decision.append(
                    .order(
                        .differencePaid(
                            OrderDifferencePaid(
                                afterSaleId: afterSaleId, paymentId: initiated.paymentId, amount: callback.amount, at: callback.at))),
                    to: .order(placed.orderId))
            } else {
                decision.append(
                    .payment(.refunded(PaymentRefunded(amount: callback.amount, reason: "exchange not payable", at: callback.at))),
                    to: stream)
            }
        } else if let placed = order.placed, order.status == .placed, callback.at < placed.expiresAt, placed.total == callback.amount {
            decision.append(
                .order(.paid(OrderPaid(paymentId: initiated.paymentId, amount: callback.amount, at: callback.at))),
                to: .order(placed.orderId))
        } else {
            decision.append(
                .payment(.refunded(PaymentRefunded(amount: callback.amount, reason: "order not payable", at: callback.at))), to: stream)
        }
        return decision
    }

    /// An admin refunds a captured payment that no order holds (an order that
    /// holds its payment is refunded through the order, so the two stay in step).
    public static func refund(
        actor: Actor, payment: PaymentState, order: OrderState, reason: String, at: Instant
    ) throws(Rejection) -> Decision {
        guard actor.isAdmin else { throw Rejection(.forbidden, "only an admin refunds payments") }
        try Limits.text(reason, "reason", max: Limits.reasonCharactersMax)
        guard let initiated = payment.initiated else { throw Rejection(.paymentNotFound, "no such payment") }
        guard payment.status == .succeeded else { throw Rejection(.paymentNotPending, "payment is \(payment.status.rawValue)") }
        let held = order.paymentId == initiated.paymentId || order.afterSales.differencePayments.contains(initiated.paymentId)
        guard !(held && order.status.holdsPayment) else {
            throw Rejection(.orderNotRefundable, "the order holds this payment: cancel or refund the order")
        }
        var decision = Decision()
        decision.append(
            .payment(.refunded(PaymentRefunded(amount: payment.refundable, reason: reason, at: at))), to: .payment(initiated.paymentId))
        return decision
    }
}
