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
    /// `init?(name:)` from the name's UTF-8 read in place (a record in the log), without making strings
    /// for the name and the id: folds parse one per event.
    public init?(utf8 name: UnsafeRawBufferPointer) {
        guard let dash = name.firstIndex(of: UInt8(ascii: "-")) else { return nil }
        let kind = UnsafeRawBufferPointer(rebasing: name[..<dash])
        let rest = UnsafeRawBufferPointer(rebasing: name[(dash + 1)...])
        func id<Tag>(_: Tag.Type) -> EntityId<Tag>? { EntityId(utf8: rest.assumingMemoryBound(to: UInt8.self)) }
        func named(_ text: StaticString) -> Bool {
            kind.count == text.utf8CodeUnitCount && kind.elementsEqual(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }
        if named("goods") { guard let id = id(GoodsTag.self) else { return nil }; self = .goods(id) }
        else if named("user") { guard let id = id(UserTag.self) else { return nil }; self = .user(id) }
        else if named("order") { guard let id = id(OrderTag.self) else { return nil }; self = .order(id) }
        else if named("cart") { guard let id = id(UserTag.self) else { return nil }; self = .cart(id) }
        else if named("points") { guard let id = id(UserTag.self) else { return nil }; self = .points(id) }
        else { self.init(name: String(decoding: name, as: UTF8.self)) }  // the rarer kinds
    }

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
