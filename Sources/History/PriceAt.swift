import Commerce
import EventStore
import Foundation

/// A cart as it stood at a position, priced then: what the console's time travel and `emporium replay --cart` show.
public struct CartAt: Codable, Sendable, Equatable {
    public struct Line: Codable, Sendable, Equatable {
        public var goodsId: String
        public var title: String
        public var variant: String?
        public var unitPrice: Int64
        public var quantity: Int
        public var lineTotal: Int64
    }

    public struct Promotion: Codable, Sendable, Equatable {
        public var promotionId: String
        public var name: String
        public var amount: Int64
    }

    public var userId: String
    public var position: UInt64
    /// The moment its promotions' windows were judged at (milliseconds since the epoch).
    public var at: Int64
    public var lines: [Line]
    public var subtotal: Int64
    public var promotions: [Promotion]
    /// Promotions and coupon together.
    public var discount: Int64
    public var total: Int64
    /// Why it could not have been checked out then (an empty cart, a delisted line, a coupon not valid yet), when so.
    public var problem: String?
}

extension Replayer {
    /// The moment a position stands for: when its event was recorded (the epoch at 0).
    public func moment(of position: UInt64) throws -> Instant {
        let recorded = try log.event(at: position)?.recordedAt.nanosecondsSinceEpoch ?? 0
        return Instant(millisecondsSinceEpoch: recorded / 1_000_000)
    }

    /// `owner`'s cart as of `position`, priced at `time` (`quote`); a cart that could not have been checked out then is
    /// answered with its lines at the prices of that moment and the reason.
    public func cart(of owner: UserId, through position: UInt64, at time: Instant, policy: ShopPolicy) throws -> CartAt {
        var cart = CartAt(
            userId: owner.description, position: position, at: time.millisecondsSinceEpoch, lines: [], subtotal: 0, promotions: [],
            discount: 0, total: 0, problem: nil)
        do {
            let quote = try self.quote(cartOf: owner, through: position, at: time, policy: policy)
            cart.lines = quote.lines.map {
                .init(
                    goodsId: $0.goodsId.description, title: $0.title, variant: $0.variant, unitPrice: $0.unitPrice.minorUnits,
                    quantity: $0.quantity, lineTotal: $0.lineTotal.minorUnits)
            }
            cart.subtotal = quote.subtotal.minorUnits
            cart.promotions = quote.promotions.map {
                .init(promotionId: $0.promotionId.description, name: $0.name, amount: $0.amount.minorUnits)
            }
            cart.discount = quote.discount.minorUnits
            cart.total = quote.total.minorUnits
        } catch let rejection as Rejection {
            cart.problem = rejection.description
        }
        return cart
    }

    /// What `owner`'s cart would have cost as of `position` at `time`: its lines, the goods' prices, the promotions
    /// running then with what their budgets had left, and its coupon, each as it stood there; priced by the same pure
    /// function checkout uses (`Pricing.quote`). A cart that could not have been checked out then throws its rejection.
    public func quote(cartOf owner: UserId, through position: UInt64, at time: Instant, policy: ShopPolicy) throws -> Quote {
        func state<S: AggregateState>(_ stream: StreamId, as _: S.Type = S.self) throws -> S {
            try self.stream(stream.description, through: position).state.state as? S ?? S()
        }
        let cart: CartState = try state(.cart(owner))
        var goods: [GoodsId: GoodsState] = [:]
        for line in cart.lines { goods[line.goodsId] = try state(.goods(line.goodsId)) }
        let promotions = try Promotions.live(try state(.promotions), lines: cart.lines, goods: goods, at: time) {
            try state(.promotion($0))
        }
        let coupon: CouponState? = try cart.couponId.map { try state(.coupon($0)) }
        return try Pricing.quote(
            cart: cart, goods: goods, promotions: promotions, coupon: coupon, buyer: owner, pointsToUse: 0, pointsBalance: 0,
            policy: policy, at: time)
    }
}
