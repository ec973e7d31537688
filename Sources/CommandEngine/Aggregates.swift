import Commerce
import EventStore
import Foundation
import History

extension Engine {
    /// The engine's current state of a stream (from its cache or the log), for tools and tests that compare it with a replay.
    package func aggregate(_ stream: StreamId) throws -> AnyAggregate {
        func load<S: AggregateState>(_: S.Type) throws -> S { try store.load(stream, as: S.self).state }
        switch stream {
        case .emailClaim: return .emailClaim(try load(EmailClaimState.self))
        case .user: return .user(try load(UserState.self))
        case .goods: return .goods(try load(GoodsState.self))
        case .cart: return .cart(try load(CartState.self))
        case .coupon: return .coupon(try load(CouponState.self))
        case .couponCode: return .couponCode(try load(CouponCodeState.self))
        case .order: return .order(try load(OrderState.self))
        case .orderNumbers: return .orderNumbers(try load(OrderNumbersState.self))
        case .payment: return .payment(try load(PaymentState.self))
        case .points: return .points(try load(PointsState.self))
        case .apiKey: return .apiKey(try load(ApiKeyState.self))
        case .skuClaim: return .skuClaim(try load(SkuClaimState.self))
        case .delivery: return .delivery(try load(DeliveryState.self))
        case .webhook: return .webhook(try load(WebhookState.self))
        case .afterSale: return .afterSale(try load(AfterSaleState.self))
        case .promotions: return .promotions(try load(PromotionDirectoryState.self))
        case .promotion: return .promotion(try load(PromotionState.self))
        }
    }
}
