import Foundation
import Testing

@testable import Commerce

/// Rejections that need unusual states to reach.
@Suite struct EdgeSpecs {
    @Test func amountsNeverOverflow() throws {
        let shop = Shop()
        let seller = try shop.merchant()
        let buyer = try shop.shopper()
        let jewel = try shop.list(by: seller, price: Limits.priceMax, stock: Limits.quantityPerLineMax)
        try shop.cartCommand(.add(jewel, quantity: Limits.quantityPerLineMax), owner: buyer)
        expectRejection(.amountOutOfRange, in: shop) { _ = try shop.decidePlaceOrder(buyer: buyer) }
        #expect(throws: Rejection.self) { _ = try Money(minorUnits: Int64.max) + Money(minorUnits: 1) }
    }

    @Test func favoritesAreBounded() throws {
        let shop = Shop()
        let seller = try shop.merchant()
        let buyer = try shop.shopper()
        let item = try shop.list(by: seller)
        var user = shop.user(buyer)
        for _ in 0..<Limits.favoritesPerUserMax { user = user.evolve(.favoriteAdded(FavoriteAdded(goodsId: shop.id(), at: shop.now))) }
        #expect(throws: Rejection(.favoriteLimitReached, "at most \(Limits.favoritesPerUserMax) favorites")) {
            _ = try Users.decide(
                .addFavorite(item), actor: shop.customer(buyer), user: user, goods: shop.goods(item), at: shop.now, policy: shop.policy)
        }
    }

    @Test func couponIdsAndValidityWindows() throws {
        let shop = Shop()
        let buyer = try shop.shopper()
        let couponId = try shop.createCoupon(code: "FIRST")
        let again = CreateCoupon(
            couponId: couponId, code: "OTHER", kind: .fixed, value: 10, validFrom: shop.now,
            validUntil: shop.now.adding(seconds: 60), totalLimit: 1, at: shop.now)
        expectRejection(.couponAlreadyExists, in: shop) {
            shop.commit(
                try Coupons.create(again, actor: .system, coupon: shop.state(.coupon(couponId)), code: shop.state(.couponCode("OTHER"))))
        }
        let later: CouponId = shop.id()
        let future = CreateCoupon(
            couponId: later, code: "LATER", kind: .percent, value: 5, validFrom: shop.now.adding(seconds: 3_600),
            validUntil: shop.now.adding(seconds: 7_200), totalLimit: 1, at: shop.now)
        shop.commit(try Coupons.create(future, actor: .system, coupon: shop.state(.coupon(later)), code: shop.state(.couponCode("LATER"))))
        expectRejection(.couponNotYetValid, in: shop) { try shop.applyCoupon("LATER", owner: buyer) }
        shop.advance(seconds: 3_600)
        try shop.applyCoupon("LATER", owner: buyer)
    }

    @Test func orderNumbersAreReservedInBlocksAndRunOutCleanly() throws {
        let shop = Shop()
        let first = try Orders.reserveNumbers(day: "20261121", count: 100, state: OrderNumbersState())
        #expect(first.allEvents == [.orderNumber(.reserved(OrderNumbersReserved(day: "20261121", first: 1, count: 100)))])
        shop.commit(first)
        let state: OrderNumbersState = shop.state(.orderNumbers("20261121"))
        #expect(state.reservedThrough == 100)
        let second = try Orders.reserveNumbers(day: "20261121", count: 50, state: state)
        #expect(second.allEvents == [.orderNumber(.reserved(OrderNumbersReserved(day: "20261121", first: 101, count: 50)))])
        var full = OrderNumbersState()
        full.reservedThrough = Orders.orderNumberSequenceMax - 10
        #expect(throws: Rejection.self) { _ = try Orders.reserveNumbers(day: "20261121", count: 11, state: full) }
        do {
            _ = try Orders.reserveNumbers(day: "20261121", count: 11, state: full)
        } catch {
            #expect(error.code == .orderNumberTaken)
        }
        #expect(throws: Rejection.self) { _ = try Orders.reserveNumbers(day: "2026-11-21", count: 1, state: OrderNumbersState()) }
        #expect(throws: Rejection.self) { _ = try Orders.reserveNumbers(day: "20261121", count: 0, state: OrderNumbersState()) }
        #expect(Orders.orderNumber(day: "20261121", sequence: 42) == "20261121-000042")
        #expect(Orders.orderNumber(day: "20261121", sequence: 999_999) == "20261121-999999")
        // an Arabic-Indic one
        #expect(throws: Rejection.self) { _ = try Orders.reserveNumbers(day: "2026112١", count: 1, state: OrderNumbersState()) }
    }

    @Test func aMalformedOrderNumberIsRefused() throws {
        let shop = Shop()
        let seller = try shop.merchant()
        let buyer = try shop.shopper()
        try shop.cartCommand(.add(try shop.list(by: seller), quantity: 1), owner: buyer)
        let cart = shop.cart(buyer)
        let states = CheckoutStates(
            user: shop.user(buyer), cart: cart,
            goods: Dictionary(uniqueKeysWithValues: cart.lines.map { ($0.goodsId, shop.goods($0.goodsId)) }),
            coupon: nil, points: PointsState(), order: OrderState())
        for number in ["42", "20261121-00004", "20261121_000042", "2026112١-000042", "20261121-00004½", "20261121-0000420"] {
            #expect(throws: Rejection(.invalidInput, "an order number is YYYYMMDD-NNNNNN", field: "number"), "\(number)") {
                _ = try Orders.place(
                    PlaceOrder(orderId: shop.id(), number: number, at: shop.now), actor: shop.customer(buyer), states: states,
                    policy: shop.policy)
            }
        }
        _ = try Orders.place(
            PlaceOrder(orderId: shop.id(), number: "20261121-000042", at: shop.now), actor: shop.customer(buyer), states: states,
            policy: shop.policy)
    }

    @Test func offlinePaymentMustMatchTheTotal() throws {
        let shop = Shop()
        let seller = try shop.merchant()
        let buyer = try shop.shopper()
        try shop.cartCommand(.add(try shop.list(by: seller, price: 500), quantity: 2), owner: buyer)
        let orderId = try shop.placeOrder(buyer: buyer)
        expectRejection(.amountMismatch, in: shop) {
            try shop.orderCommand(.pay(shop.id(), amount: Money(minorUnits: 999)), orderId, by: .system)
        }
        expectRejection(.forbidden, in: shop) {
            try shop.orderCommand(.pay(shop.id(), amount: Money(minorUnits: 1_000)), orderId, by: .paymentProvider("x"))
        }
        try shop.orderCommand(.pay(shop.id(), amount: Money(minorUnits: 1_000)), orderId, by: .system)
        #expect(shop.order(orderId).status == .paid)
    }

    @Test func anAdminRefundsOnlyPaymentsNoOrderHolds() throws {
        let shop = Shop()
        let seller = try shop.merchant()
        let buyer = try shop.shopper()
        let item = try shop.list(by: seller)
        let orderId = try shop.paidOrder(buyer: buyer, goodsId: item)
        let paymentId = try #require(shop.order(orderId).paymentId)
        let refund = { () throws(Rejection) -> Decision in
            shop.commit(
                try Payments.refund(
                    actor: .system, payment: shop.payment(paymentId), order: shop.order(orderId), reason: "manual", at: shop.now))
        }
        expectRejection(.orderNotRefundable, in: shop) { _ = try refund() }
        expectRejection(.forbidden, in: shop) {
            shop.commit(
                try Payments.refund(
                    actor: shop.customer(buyer), payment: shop.payment(paymentId), order: shop.order(orderId), reason: "x", at: shop.now))
        }
        // A capture no order holds: the order was paid offline first, then the provider reported the payment.
        try shop.cartCommand(.add(item, quantity: 1), owner: buyer)
        let second = try shop.placeOrder(buyer: buyer)
        let stray = try shop.initiatePayment(second, by: shop.customer(buyer))
        try shop.orderCommand(.pay(shop.id(), amount: shop.order(second).placed?.total ?? .zero), second, by: .system)
        #expect(eventTypes(try shop.callback(stray, transaction: "tx-stray")) == ["payment:PaymentSucceeded", "payment:PaymentRefunded"])
        expectRejection(.paymentNotPending, in: shop) {
            shop.commit(
                try Payments.refund(actor: .system, payment: shop.payment(stray), order: shop.order(second), reason: "again", at: shop.now))
        }
    }

    @Test func anOrphanedCaptureIsRefundedByAnAdmin() throws {
        let shop = Shop()
        let paymentId: PaymentId = shop.id()
        let orderId: OrderId = shop.id()
        let payment = PaymentState()
            .evolve(
                .initiated(
                    PaymentInitiated(
                        paymentId: paymentId, orderId: orderId, provider: "sandbox", amount: Money(minorUnits: 700), at: shop.now))
            )
            .evolve(.succeeded(PaymentSucceeded(providerTransactionId: "tx", amount: Money(minorUnits: 700), at: shop.now)))
        let decision = try Payments.refund(actor: .system, payment: payment, order: OrderState(), reason: "orphan", at: shop.now)
        #expect(
            decision.allEvents == [.payment(.refunded(PaymentRefunded(amount: Money(minorUnits: 700), reason: "orphan", at: shop.now)))])
    }

    @Test func cancellingAnOfflinePaidOrderRecordsNoProviderRefund() throws {
        let shop = Shop()
        let seller = try shop.merchant()
        let buyer = try shop.shopper()
        try shop.cartCommand(.add(try shop.list(by: seller, price: 500), quantity: 1), owner: buyer)
        let orderId = try shop.placeOrder(buyer: buyer)
        try shop.orderCommand(.pay(shop.id(), amount: Money(minorUnits: 500)), orderId, by: .system)
        let cancelled = try shop.orderCommand(.cancel(reason: "offline refund"), orderId, by: shop.customer(buyer))
        #expect(eventTypes(cancelled) == ["order:OrderCancelled", "goods:StockReleased"])
    }
}

@Suite struct CalendarDayTests {
    /// The integer civil-date arithmetic agrees with the C library's `gmtime_r`, before and after 1970,
    /// across leap days and century years.
    @Test func utcDaysAgreeWithGmtime() {
        var state: UInt64 = 5
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 11
        }
        var instants: [Int64] = [0, -1, 86_399_999, 86_400_000, 951_782_400_000, 951_868_799_999, 4_107_542_400_000, -2_208_988_800_000]
        for _ in 0..<20_000 { instants.append(Int64(next() % 8_000_000_000_000) - 2_000_000_000_000) }
        for milliseconds in instants {
            var seconds = time_t(milliseconds >= 0 ? milliseconds / 1_000 : (milliseconds - 999) / 1_000)
            var parts = tm()
            gmtime_r(&seconds, &parts)
            let expected = (Int(parts.tm_year) + 1_900, Int(parts.tm_mon) + 1, Int(parts.tm_mday))
            let instant = Instant(millisecondsSinceEpoch: milliseconds)
            let date = instant.utcDate
            #expect(date == expected, "\(milliseconds)")
            #expect(instant.isoDay == String(format: "%04d-%02d-%02d", expected.0, expected.1, expected.2))
            #expect(instant.dayStamp == String(format: "%04d%02d%02d", expected.0, expected.1, expected.2))
        }
    }
}
