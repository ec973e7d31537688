/// Every stream of the shop. Its name is what the log stores.
public enum StreamId: Hashable, Sendable, CustomStringConvertible {
    /// Claims an email address for one user (`email-<normalised address>`), so uniqueness is one atomic append.
    case emailClaim(String)
    case user(UserId)
    case goods(GoodsId)
    case cart(UserId)
    case coupon(CouponId)
    /// Claims a coupon code for one coupon.
    case couponCode(String)
    case order(OrderId)
    /// Order numbers of one day (`ordernumbers-YYYYMMDD`); its version is the day's sequence.
    case orderNumbers(String)
    case payment(PaymentId)
    case points(UserId)

    public var description: String {
        switch self {
        case .emailClaim(let email): return "email-\(email)"
        case .user(let id): return "user-\(id)"
        case .goods(let id): return "goods-\(id)"
        case .cart(let id): return "cart-\(id)"
        case .coupon(let id): return "coupon-\(id)"
        case .couponCode(let code): return "couponcode-\(code)"
        case .order(let id): return "order-\(id)"
        case .orderNumbers(let day): return "ordernumbers-\(day)"
        case .payment(let id): return "payment-\(id)"
        case .points(let id): return "points-\(id)"
        }
    }
}

/// What a command decided: events for one or more streams, to be appended
/// atomically, each stream at the version its state was loaded at.
public struct Decision: Hashable, Sendable {
    public struct Change: Hashable, Sendable {
        public var stream: StreamId
        public var events: [DomainEvent]
    }

    public private(set) var changes: [Change] = []

    public init() {}

    public mutating func append(_ event: DomainEvent, to stream: StreamId) {
        if let index = changes.firstIndex(where: { $0.stream == stream }) {
            changes[index].events.append(event)
        } else {
            changes.append(Change(stream: stream, events: [event]))
        }
    }

    public func events(for stream: StreamId) -> [DomainEvent] {
        changes.first { $0.stream == stream }?.events ?? []
    }

    public var isEmpty: Bool { changes.isEmpty }
    public var allEvents: [DomainEvent] { changes.flatMap(\.events) }
}

extension StreamId {
    /// The stream a log name stands for; nil for email claims (named by a
    /// pseudonym that cannot be turned back into the address) and engine streams.
    public init?(name: String) {
        guard let dash = name.firstIndex(of: "-") else { return nil }
        let rest = String(name[name.index(after: dash)...])
        switch name[..<dash] {
        case "user": guard let id = UserId(rest) else { return nil }; self = .user(id)
        case "goods": guard let id = GoodsId(rest) else { return nil }; self = .goods(id)
        case "cart": guard let id = UserId(rest) else { return nil }; self = .cart(id)
        case "coupon": guard let id = CouponId(rest) else { return nil }; self = .coupon(id)
        case "couponcode": self = .couponCode(rest)
        case "order": guard let id = OrderId(rest) else { return nil }; self = .order(id)
        case "ordernumbers": self = .orderNumbers(rest)
        case "payment": guard let id = PaymentId(rest) else { return nil }; self = .payment(id)
        case "points": guard let id = UserId(rest) else { return nil }; self = .points(id)
        default: return nil
        }
    }
}
