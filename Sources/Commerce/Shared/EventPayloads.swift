/// Every event's fields, reached through its case, whatever its aggregate (the codec names events by their payload's type).
extension DomainEvent {
    /// The event's fields, whatever its aggregate.
    public var payload: any EventPayload {
        switch self {
        case .emailClaim(let event):
            switch event {
            case .claimed(let payload): return payload
            case .released(let payload): return payload
            }
        case .user(let event): return event.payload
        case .goods(let event): return event.payload
        case .cart(let event): return event.payload
        case .coupon(let event):
            switch event {
            case .created(let payload): return payload
            case .redeemed(let payload): return payload
            case .released(let payload): return payload
            case .disabled(let payload): return payload
            }
        case .couponCode(.claimed(let payload)): return payload
        case .skuClaim(.claimed(let payload)): return payload
        case .delivery(.defined(let payload)): return payload
        case .delivery(.retired(let payload)): return payload
        case .webhook(let event):
            switch event {
            case .registered(let payload): return payload
            case .disabled(let payload): return payload
            case .checkpointed(let payload): return payload
            case .deadLettered(let payload): return payload
            case .deadLettersReplayed(let payload): return payload
            case .redelivered(let payload): return payload
            }
        case .order(let event): return event.payload
        case .afterSale(let event): return event.payload
        case .promotions(let event): return event.payload
        case .promotion(let event): return event.payload
        case .orderNumber(.reserved(let payload)): return payload
        case .payment(let event):
            switch event {
            case .initiated(let payload): return payload
            case .succeeded(let payload): return payload
            case .failed(let payload): return payload
            case .refunded(let payload): return payload
            }
        case .points(let event):
            switch event {
            case .earned(let payload): return payload
            case .redeemed(let payload): return payload
            case .refunded(let payload): return payload
            case .revoked(let payload): return payload
            case .exchanged(let payload): return payload
            }
        case .apiKey(let event):
            switch event {
            case .issued(let payload): return payload
            case .revoked(let payload): return payload
            }
        }
    }

    public var eventType: String { type(of: payload).eventType }
}

extension UserEvent {
    var payload: any EventPayload {
        switch self {
        case .registered(let payload): return payload
        case .loggedIn(let payload): return payload
        case .loginFailed(let payload): return payload
        case .lockedOut(let payload): return payload
        case .profileUpdated(let payload): return payload
        case .passwordChanged(let payload): return payload
        case .addressAdded(let payload): return payload
        case .addressUpdated(let payload): return payload
        case .addressRemoved(let payload): return payload
        case .defaultAddressSet(let payload): return payload
        case .favoriteAdded(let payload): return payload
        case .favoriteRemoved(let payload): return payload
        case .goodsViewed(let payload): return payload
        case .roleGranted(let payload): return payload
        case .forgotten(let payload): return payload
        case .merchantApplicationSubmitted(let payload): return payload
        case .merchantApplicationApproved(let payload): return payload
        case .merchantApplicationRejected(let payload): return payload
        }
    }
}

extension GoodsEvent {
    var payload: any EventPayload {
        switch self {
        case .listed(let payload): return payload
        case .updated(let payload): return payload
        case .priceChanged(let payload): return payload
        case .stockAdded(let payload): return payload
        case .stockReturned(let payload): return payload
        case .stockAdjusted(let payload): return payload
        case .stockReserved(let payload): return payload
        case .stockReleased(let payload): return payload
        case .stockShipped(let payload): return payload
        case .lowStockDetected(let payload): return payload
        case .delisted(let payload): return payload
        case .relisted(let payload): return payload
        case .reviewPosted(let payload): return payload
        case .reviewModerated(let payload): return payload
        case .reviewReplied(let payload): return payload
        case .reviewEdited(let payload): return payload
        case .waitlistJoined(let payload): return payload
        case .waitlistLeft(let payload): return payload
        case .backInStockNotified(let payload): return payload
        case .preOrdersOpened(let payload): return payload
        case .preOrdersCancelled(let payload): return payload
        case .preOrderReserved(let payload): return payload
        case .preOrderFilled(let payload): return payload
        case .preOrderReleased(let payload): return payload
        case .optionsDefined(let payload): return payload
        case .variantAdded(let payload): return payload
        case .variantUpdated(let payload): return payload
        case .variantDelisted(let payload): return payload
        case .variantRelisted(let payload): return payload
        case .attributesSet(let payload): return payload
        }
    }
}

extension CartEvent {
    var payload: any EventPayload {
        switch self {
        case .itemAdded(let payload): return payload
        case .quantityChanged(let payload): return payload
        case .itemRemoved(let payload): return payload
        case .couponApplied(let payload): return payload
        case .couponRemoved(let payload): return payload
        case .cleared(let payload): return payload
        case .checkedOut(let payload): return payload
        }
    }
}

extension OrderEvent {
    var payload: any EventPayload {
        switch self {
        case .placed(let payload): return payload
        case .paid(let payload): return payload
        case .shipped(let payload): return payload
        case .received(let payload): return payload
        case .cancelled(let payload): return payload
        case .refundRequested(let payload): return payload
        case .refundApproved(let payload): return payload
        case .refundRejected(let payload): return payload
        case .refunded(let payload): return payload
        case .expired(let payload): return payload
        case .afterSaleOpened(let payload): return payload
        case .promotionsApplied(let payload): return payload
        case .afterSaleClosed(let payload): return payload
        case .partlyRefunded(let payload): return payload
        case .differencePaid(let payload): return payload
        }
    }
}
