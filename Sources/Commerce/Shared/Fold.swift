/// Folding a stream's events into its state. A stream only ever holds its own
/// aggregate's events; anything else is ignored, because evolve never fails.
public protocol AggregateState: Codable, Hashable, Sendable {
    init()
    func evolve(_ event: DomainEvent) -> Self
    /// The version of the state's encoding in snapshots. Bump it when the
    /// state's fields change; an older snapshot is then ignored and the
    /// stream is folded from its first event.
    static var snapshotSchemaVersion: Int { get }
    /// The user whose key seals the personal fields of this state when it is stored (in a snapshot).
    var personalDataOwner: UserId? { get }
}

extension AggregateState {
    public static var snapshotSchemaVersion: Int { 1 }
    public var personalDataOwner: UserId? { nil }
}

extension AggregateState {
    public init(events: some Sequence<DomainEvent>) {
        self = events.reduce(Self()) { $0.evolve($1) }
    }
}

extension EmailClaimState: AggregateState {
    public var personalDataOwner: UserId? { owner }

    public func evolve(_ event: DomainEvent) -> EmailClaimState {
        if case .emailClaim(let event) = event { return evolve(event) }
        return self
    }
}

extension UserState: AggregateState {
    public var personalDataOwner: UserId? { userId }

    public func evolve(_ event: DomainEvent) -> UserState {
        if case .user(let event) = event { return evolve(event) }
        return self
    }
}

extension GoodsState: AggregateState {
    /// 2: variants, options and attributes; 3: each review's mark (the rating counts approved reviews only), the waitlist;
    /// 4: each variant's pre-order campaign and queue.
    public static var snapshotSchemaVersion: Int { 4 }

    public func evolve(_ event: DomainEvent) -> GoodsState {
        if case .goods(let event) = event { return evolve(event) }
        return self
    }
}

extension CartState: AggregateState {
    /// 2: lines name their variant.
    public static var snapshotSchemaVersion: Int { 2 }

    public func evolve(_ event: DomainEvent) -> CartState {
        if case .cart(let event) = event { return evolve(event) }
        return self
    }
}

extension CouponState: AggregateState {
    public func evolve(_ event: DomainEvent) -> CouponState {
        if case .coupon(let event) = event { return evolve(event) }
        return self
    }
}

extension CouponCodeState: AggregateState {
    public func evolve(_ event: DomainEvent) -> CouponCodeState {
        if case .couponCode(let event) = event { return evolve(event) }
        return self
    }
}

extension DeliveryState: AggregateState {
    public func evolve(_ event: DomainEvent) -> DeliveryState {
        if case .delivery(let event) = event { return evolve(event) }
        return self
    }
}

extension AfterSaleState: AggregateState {
    public func evolve(_ event: DomainEvent) -> AfterSaleState {
        if case .afterSale(let event) = event { return evolve(event) }
        return self
    }
}

extension PromotionDirectoryState: AggregateState {
    public func evolve(_ event: DomainEvent) -> PromotionDirectoryState {
        if case .promotions(let event) = event { return evolve(event) }
        return self
    }
}

extension PromotionState: AggregateState {
    public func evolve(_ event: DomainEvent) -> PromotionState {
        if case .promotion(let event) = event { return evolve(event) }
        return self
    }
}

extension WebhookState: AggregateState {
    public func evolve(_ event: DomainEvent) -> WebhookState {
        if case .webhook(let event) = event { return evolve(event) }
        return self
    }
}

extension SkuClaimState: AggregateState {
    public func evolve(_ event: DomainEvent) -> SkuClaimState {
        if case .skuClaim(let event) = event { return evolve(event) }
        return self
    }
}

extension OrderState: AggregateState {
    /// 2: the stream's version and its after-sale requests; 3: its promotions; 4: exchanges' differences paid.
    public static var snapshotSchemaVersion: Int { 4 }
    public var personalDataOwner: UserId? { placed?.userId }

    public func evolve(_ event: DomainEvent) -> OrderState {
        if case .order(let event) = event { return evolve(event) }
        return self
    }
}

extension OrderNumbersState: AggregateState {
    public func evolve(_ event: DomainEvent) -> OrderNumbersState {
        if case .orderNumber(let event) = event { return evolve(event) }
        return self
    }
}

extension PaymentState: AggregateState {
    public func evolve(_ event: DomainEvent) -> PaymentState {
        if case .payment(let event) = event { return evolve(event) }
        return self
    }
}

extension PointsState: AggregateState {
    /// 2: points revoked are taken off what their order earned (a partial refund revokes a part).
    public static var snapshotSchemaVersion: Int { 2 }
    public func evolve(_ event: DomainEvent) -> PointsState {
        if case .points(let event) = event { return evolve(event) }
        return self
    }
}

extension ApiKeyState: AggregateState {
    public func evolve(_ event: DomainEvent) -> ApiKeyState {
        if case .apiKey(let event) = event { return evolve(event) }
        return self
    }
}
