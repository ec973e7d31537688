import Foundation
import Testing

@testable import Commerce

@Suite struct CartSpecs {
    /// Another's cart is never changed: the rule beneath the decider, which only ever loads the caller's own.
    @Test func aStrangerChangesNoOneElsesCart() throws {
        let shop = Shop()
        let tea = try shop.list(by: try shop.merchant())
        let buyer = try shop.shopper()
        let stranger = try shop.shopper()
        expectRejection(.notOwner, in: shop) { try shop.cartCommand(.add(tea, quantity: 1), owner: buyer, by: shop.customer(stranger)) }
    }

    @Test func couponsAreCheckedWhenApplied() throws {
        let shop = Shop()
        let buyer = try shop.shopper()
        try shop.createCoupon(code: "spring10")
        expectRejection(.couponCodeTaken, in: shop) { try shop.createCoupon(code: "SPRING10") }
        expectRejection(.forbidden, in: shop) { try shop.createCoupon(code: "mine", actor: shop.customer(buyer)) }
        expectRejection(.invalidInput, in: shop) { try shop.createCoupon(code: "bad code!") }
        expectRejection(.invalidInput, in: shop) { try shop.createCoupon(code: "big", kind: .percent, value: 101) }
        expectRejection(.invalidInput, in: shop) { try shop.createCoupon(code: "none", kind: .fixed, value: 0) }
        expectRejection(.invalidInput, in: shop) { try shop.createCoupon(code: "never", validSeconds: 0) }
        try shop.applyCoupon("Spring10", owner: buyer)
        #expect(shop.cart(buyer).couponCode == "Spring10")
        try shop.cartCommand(.removeCoupon, owner: buyer)
        expectRejection(.noCouponApplied, in: shop) { try shop.cartCommand(.removeCoupon, owner: buyer) }
        expectRejection(.couponNotFound, in: shop) { try shop.applyCoupon("nope", owner: buyer) }
        let off = try shop.createCoupon(code: "off")
        shop.commit(try Coupons.disable(actor: .system, coupon: shop.state(.coupon(off)), at: shop.now))
        expectRejection(.couponDisabled, in: shop) { try shop.applyCoupon("off", owner: buyer) }
        expectRejection(.couponDisabled, in: shop) {
            shop.commit(try Coupons.disable(actor: .system, coupon: shop.state(.coupon(off)), at: shop.now))
        }
        try shop.createCoupon(code: "short", validSeconds: 60)
        shop.advance(seconds: 61)
        expectRejection(.couponExpired, in: shop) { try shop.applyCoupon("short", owner: buyer) }
    }
}

@Suite struct PlaceOrderSpecs {
    /// A merchant with two goods, a shopper with both in the cart, a 10% coupon applied and 500 points.
    func readyShop() throws -> (Shop, buyer: UserId, seller: UserId, tea: GoodsId, cup: GoodsId) {
        let shop = Shop()
        let seller = try shop.merchant()
        let buyer = try shop.shopper()
        let tea = try shop.list(by: seller, title: "Green tea 绿茶", price: 2_000, stock: 5, threshold: 2)
        let cup = try shop.list(by: seller, title: "Tea cup", price: 1_500, stock: 50)
        try shop.cartCommand(.add(tea, quantity: 3), owner: buyer)
        try shop.cartCommand(.add(cup, quantity: 2), owner: buyer)
        try shop.createCoupon(code: "TEN", kind: .percent, value: 10, minimumSpend: 5_000)
        try shop.applyCoupon("TEN", owner: buyer)
        shop.commit(
            {
                var d = Decision();
                d.append(.points(.earned(PointsEarned(orderId: shop.id(), points: 500, at: shop.now))), to: .points(buyer)); return d
            }())
        return (shop, buyer, seller, tea, cup)
    }

    @Test func placingAnOrderIsOneDecisionOverEveryStreamItTouches() throws {
        let (shop, buyer, _, tea, cup) = try readyShop()
        let (orderId, decision) = try shop.decidePlaceOrder(buyer: buyer, pointsToUse: 300)
        #expect(
            eventTypes(decision) == [
                "order:OrderPlaced", "goods:StockReserved", "goods:LowStockDetected",
                "goods:StockReserved", "coupon:CouponRedeemed", "points:PointsRedeemed", "cart:CartCheckedOut",
            ])
        guard case .order(.placed(let placed)) = decision.events(for: .order(orderId)).first else { Issue.record("no OrderPlaced"); return }
        #expect(placed.subtotal == Money(minorUnits: 9_000))
        #expect(placed.discount == Money(minorUnits: 900))
        #expect(placed.pointsUsed == 300 && placed.pointsValue == Money(minorUnits: 300))
        #expect(placed.total == Money(minorUnits: 7_800))
        #expect(placed.lines.map(\.unitPrice) == [Money(minorUnits: 2_000), Money(minorUnits: 1_500)])
        #expect(placed.number == "\(shop.now.dayStamp)-000001")
        #expect(placed.expiresAt == shop.now.adding(seconds: shop.policy.orderExpirySeconds))
        shop.commit(decision)
        #expect(shop.goods(tea).reserved == 3 && shop.goods(cup).reserved == 2)
        #expect(shop.points(buyer).balance == 200)
        #expect(shop.cart(buyer).lines.isEmpty)
        #expect(shop.state(.coupon(try #require(placed.couponId)), as: CouponState.self).redemptions == 1)
    }

    /// Buy now orders the items given, with points but no coupon, and leaves the cart (and its coupon) as it was.
    @Test func buyNowOrdersTheItemsGivenAndLeavesTheCartAlone() throws {
        let (shop, buyer, seller, tea, cup) = try readyShop()
        let cartBefore = shop.cart(buyer)
        let (orderId, decision) = try shop.decidePlaceOrder(buyer: buyer, pointsToUse: 100, items: [CartLine(goodsId: cup, quantity: 4)])
        #expect(eventTypes(decision) == ["order:OrderPlaced", "goods:StockReserved", "points:PointsRedeemed"])
        guard case .order(.placed(let placed)) = decision.events(for: .order(orderId)).first else { Issue.record("no OrderPlaced"); return }
        #expect(placed.lines.map(\.goodsId) == [cup] && placed.lines.map(\.quantity) == [4])
        #expect(placed.couponId == nil && placed.discount == .zero)
        #expect(
            placed.subtotal == Money(minorUnits: 6_000) && placed.total == Money(minorUnits: 6_000 - 100 * shop.policy.pointValueMinorUnits)
        )
        shop.commit(decision)
        #expect(shop.cart(buyer) == cartBefore)
        #expect(shop.goods(cup).available == 46)
        let rare = try shop.list(by: seller, title: "Rare tea", price: 9_000, stock: 1)
        expectRejection(.cartEmpty, in: shop) { _ = try shop.decidePlaceOrder(buyer: buyer, items: []) }
        expectRejection(.quantityOutOfRange, in: shop) {
            _ = try shop.decidePlaceOrder(buyer: buyer, items: [CartLine(goodsId: tea, quantity: 0)])
        }
        expectRejection(.quantityOutOfRange, in: shop) {
            _ = try shop.decidePlaceOrder(buyer: buyer, items: [CartLine(goodsId: tea, quantity: -2)])
        }
        expectRejection(.invalidInput, in: shop) {
            _ = try shop.decidePlaceOrder(buyer: buyer, items: [CartLine(goodsId: tea, quantity: 1), CartLine(goodsId: tea, quantity: 1)])
        }
        expectRejection(.invalidInput, in: shop) {
            _ = try shop.decidePlaceOrder(
                buyer: buyer, items: (0...Limits.cartLinesMax).map { _ in CartLine(goodsId: shop.id(), quantity: 1) })
        }
        expectRejection(.goodsNotFound, in: shop) {
            _ = try shop.decidePlaceOrder(buyer: buyer, items: [CartLine(goodsId: shop.id(), quantity: 1)])
        }
        expectRejection(.insufficientStock, in: shop) {
            _ = try shop.decidePlaceOrder(buyer: buyer, items: [CartLine(goodsId: rare, quantity: 2)])
        }
    }

    @Test func linePricesAreSnapshottedAtPlacement() throws {
        let (shop, buyer, seller, tea, _) = try readyShop()
        let orderId = try shop.placeOrder(buyer: buyer)
        try shop.goodsCommand(.changePrice(Money(minorUnits: 9_999)), on: tea, by: shop.customer(seller))
        #expect(shop.order(orderId).placed?.lines.first?.unitPrice == Money(minorUnits: 2_000))
    }

    @Test func placeOrderRejections() throws {
        let (shop, buyer, seller, tea, cup) = try readyShop()
        expectRejection(.insufficientPoints, in: shop) { _ = try shop.decidePlaceOrder(buyer: buyer, pointsToUse: 501) }
        shop.commit(
            {
                var d = Decision();
                d.append(.points(.earned(PointsEarned(orderId: shop.id(), points: 100_000, at: shop.now))), to: .points(buyer)); return d
            }())
        expectRejection(.pointsNotAllowed, in: shop) { _ = try shop.decidePlaceOrder(buyer: buyer, pointsToUse: 5_000) }
        let stranger = try shop.shopper()
        // An order is placed from the caller's own cart, never another's: a stranger reads their own, empty.
        expectRejection(.cartEmpty, in: shop) { _ = try shop.decidePlaceOrder(buyer: buyer, actor: shop.customer(stranger)) }
        try shop.goodsCommand(.adjustStock(delta: -3, reason: "damaged"), on: tea, by: shop.customer(seller))
        expectRejection(.insufficientStock, in: shop) { _ = try shop.decidePlaceOrder(buyer: buyer) }
        try shop.cartCommand(.changeQuantity(tea, quantity: 1), owner: buyer)
        try shop.cartCommand(.changeQuantity(cup, quantity: 1), owner: buyer)  // 20.00 + 15.00 < 50.00
        expectRejection(.couponMinimumSpendNotMet, in: shop) { _ = try shop.decidePlaceOrder(buyer: buyer) }
        try shop.cartCommand(.removeCoupon, owner: buyer)
        let orderId = try shop.placeOrder(buyer: buyer)
        expectRejection(.cartEmpty, in: shop) { _ = try shop.decidePlaceOrder(buyer: buyer) }
        try shop.cartCommand(.add(tea, quantity: 1), owner: buyer)
        expectRejection(.orderAlreadyExists, in: shop) { _ = try shop.decidePlaceOrder(buyer: buyer, orderId: orderId) }
        let homeless = try shop.register(email: "homeless@example.com")
        try shop.cartCommand(.add(tea, quantity: 1), owner: homeless)
        expectRejection(.addressNotFound, in: shop) { _ = try shop.decidePlaceOrder(buyer: homeless) }
        try shop.goodsCommand(.delist, on: tea, by: shop.customer(seller))
        expectRejection(.goodsDelisted, in: shop) { _ = try shop.decidePlaceOrder(buyer: buyer) }
    }

    @Test func couponLimitsHoldAcrossOrders() throws {
        let shop = Shop()
        let seller = try shop.merchant()
        let tea = try shop.list(by: seller, stock: 100)
        try shop.createCoupon(code: "ONCE", kind: .fixed, value: 100, totalLimit: 2, perUserLimit: 1)
        let first = try shop.shopper()
        try shop.cartCommand(.add(tea, quantity: 1), owner: first)
        try shop.applyCoupon("ONCE", owner: first)
        let firstOrder = try shop.placeOrder(buyer: first)
        try shop.cartCommand(.add(tea, quantity: 1), owner: first)
        expectRejection(.couponPerUserLimitReached, in: shop) { try shop.applyCoupon("ONCE", owner: first) }
        let second = try shop.shopper()
        try shop.cartCommand(.add(tea, quantity: 1), owner: second)
        try shop.applyCoupon("ONCE", owner: second)
        let third = try shop.shopper()
        try shop.cartCommand(.add(tea, quantity: 1), owner: third)
        try shop.applyCoupon("ONCE", owner: third)
        _ = try shop.placeOrder(buyer: second)
        expectRejection(.couponExhausted, in: shop) { _ = try shop.decidePlaceOrder(buyer: third) }
        try shop.orderCommand(.cancel(reason: "changed my mind"), firstOrder, by: shop.customer(first))  // gives the use back
        _ = try shop.placeOrder(buyer: third)
    }
}

@Suite struct OrderStateMachineSpecs {
    enum Step: CaseIterable { case pay, ship, receive, cancel, expire, requestRefund, approveRefund, rejectRefund }
    enum Outcome { case to(OrderStatus), refused(Rejection.Code) }

    /// An order brought to `status` by legal steps.
    func order(in status: OrderStatus) throws -> (Shop, OrderId, buyer: UserId, seller: UserId) {
        let shop = Shop()
        let seller = try shop.merchant()
        let buyer = try shop.shopper()
        let tea = try shop.list(by: seller, price: 10_000)
        try shop.cartCommand(.add(tea, quantity: 1), owner: buyer)
        let orderId = try shop.placeOrder(buyer: buyer)
        let me = shop.customer(buyer)
        let merchant = shop.customer(seller)
        switch status {
        case .placed: break
        case .expired:
            shop.advance(seconds: shop.policy.orderExpirySeconds)
            try shop.orderCommand(.expire, orderId, by: .system)
        case .cancelled: try shop.orderCommand(.cancel(reason: "no"), orderId, by: me)
        default:
            try shop.callback(try shop.initiatePayment(orderId, by: me), transaction: "tx-1")
            guard status != .paid else { break }
            try shop.orderCommand(.ship(carrier: "SF", trackingNumber: "SF1"), orderId, by: merchant)
            guard status != .shipped else { break }
            try shop.orderCommand(.confirmReceipt, orderId, by: me)
            guard status != .received else { break }
            try shop.orderCommand(.requestRefund(reason: "broken"), orderId, by: me)
            guard status != .refundRequested else { break }
            try shop.orderCommand(.approveRefund, orderId, by: merchant)
        }
        #expect(shop.order(orderId).status == status)
        return (shop, orderId, buyer, seller)
    }

    func run(_ step: Step, on shop: Shop, _ orderId: OrderId, buyer: UserId, seller: UserId) throws(Rejection) -> Decision {
        let me = shop.customer(buyer)
        let merchant = shop.customer(seller)
        switch step {
        case .pay:
            let placed = shop.order(orderId).placed
            return try shop.orderCommand(.pay(shop.id(), amount: placed?.total ?? .zero), orderId, by: .system)
        case .ship: return try shop.orderCommand(.ship(carrier: "SF", trackingNumber: "SF2"), orderId, by: merchant)
        case .receive: return try shop.orderCommand(.confirmReceipt, orderId, by: me)
        case .cancel: return try shop.orderCommand(.cancel(reason: "no"), orderId, by: me)
        case .expire:
            shop.advance(seconds: shop.policy.orderExpirySeconds)
            return try shop.orderCommand(.expire, orderId, by: .system)
        case .requestRefund: return try shop.orderCommand(.requestRefund(reason: "broken"), orderId, by: me)
        case .approveRefund: return try shop.orderCommand(.approveRefund, orderId, by: merchant)
        case .rejectRefund: return try shop.orderCommand(.rejectRefund(reason: "used"), orderId, by: merchant)
        }
    }

    /// The whole transition table of SPEC.md §3: every (state, step) either
    /// moves to the listed state or is refused with the listed code.
    static let table: [OrderStatus: [Step: Outcome]] = [
        .placed: [
            .pay: .to(.paid), .ship: .refused(.orderNotShippable), .receive: .refused(.orderNotReceivable),
            .cancel: .to(.cancelled), .expire: .to(.expired), .requestRefund: .refused(.orderNotRefundable),
            .approveRefund: .refused(.refundNotRequested), .rejectRefund: .refused(.refundNotRequested),
        ],
        .paid: [
            .pay: .refused(.orderNotPayable), .ship: .to(.shipped), .receive: .refused(.orderNotReceivable),
            .cancel: .to(.cancelled), .expire: .refused(.orderNotExpirable), .requestRefund: .refused(.orderNotRefundable),
            .approveRefund: .refused(.refundNotRequested), .rejectRefund: .refused(.refundNotRequested),
        ],
        .shipped: [
            .pay: .refused(.orderNotPayable), .ship: .refused(.orderNotShippable), .receive: .to(.received),
            .cancel: .refused(.orderNotCancellable), .expire: .refused(.orderNotExpirable), .requestRefund: .refused(.orderNotRefundable),
            .approveRefund: .refused(.refundNotRequested), .rejectRefund: .refused(.refundNotRequested),
        ],
        .received: [
            .pay: .refused(.orderNotPayable), .ship: .refused(.orderNotShippable), .receive: .refused(.orderNotReceivable),
            .cancel: .refused(.orderNotCancellable), .expire: .refused(.orderNotExpirable), .requestRefund: .to(.refundRequested),
            .approveRefund: .refused(.refundNotRequested), .rejectRefund: .refused(.refundNotRequested),
        ],
        .refundRequested: [
            .pay: .refused(.orderNotPayable), .ship: .refused(.orderNotShippable), .receive: .refused(.orderNotReceivable),
            .cancel: .refused(.orderNotCancellable), .expire: .refused(.orderNotExpirable),
            .requestRefund: .refused(.orderNotRefundable), .approveRefund: .to(.refunded), .rejectRefund: .to(.received),
        ],
        .refunded: [
            .pay: .refused(.orderNotPayable), .ship: .refused(.orderNotShippable), .receive: .refused(.orderNotReceivable),
            .cancel: .refused(.orderNotCancellable), .expire: .refused(.orderNotExpirable), .requestRefund: .refused(.orderNotRefundable),
            .approveRefund: .refused(.refundNotRequested), .rejectRefund: .refused(.refundNotRequested),
        ],
        .cancelled: [
            .pay: .refused(.orderNotPayable), .ship: .refused(.orderNotShippable), .receive: .refused(.orderNotReceivable),
            .cancel: .refused(.orderNotCancellable), .expire: .refused(.orderNotExpirable), .requestRefund: .refused(.orderNotRefundable),
            .approveRefund: .refused(.refundNotRequested), .rejectRefund: .refused(.refundNotRequested),
        ],
        .expired: [
            .pay: .refused(.orderNotPayable), .ship: .refused(.orderNotShippable), .receive: .refused(.orderNotReceivable),
            .cancel: .refused(.orderNotCancellable), .expire: .refused(.orderNotExpirable), .requestRefund: .refused(.orderNotRefundable),
            .approveRefund: .refused(.refundNotRequested), .rejectRefund: .refused(.refundNotRequested),
        ],
    ]

    @Test(arguments: OrderStatus.allCases)
    func everyTransitionFrom(_ status: OrderStatus) throws {
        let row = try #require(Self.table[status])
        for step in Step.allCases {
            let (shop, orderId, buyer, seller) = try order(in: status)
            switch row[step] {
            case .to(let next):
                _ = try run(step, on: shop, orderId, buyer: buyer, seller: seller)
                #expect(shop.order(orderId).status == next, "\(status) --\(step)--> \(shop.order(orderId).status)")
            case .refused(let code):
                expectRejection(code, in: shop) { _ = try run(step, on: shop, orderId, buyer: buyer, seller: seller) }
            case nil:
                Issue.record("the table has no entry for \(status) + \(step)")
            }
        }
    }

    @Test func whoMayDoWhat() throws {
        let (shop, orderId, buyer, seller) = try order(in: .paid)
        let stranger = try shop.shopper()
        let rival = try shop.merchant()
        expectRejection(.notOwner, in: shop) {
            try shop.orderCommand(.ship(carrier: "SF", trackingNumber: "1"), orderId, by: shop.customer(buyer))
        }
        expectRejection(.notOwner, in: shop) {
            try shop.orderCommand(.ship(carrier: "SF", trackingNumber: "1"), orderId, by: shop.customer(rival))
        }
        expectRejection(.notOwner, in: shop) { try shop.orderCommand(.cancel(reason: "x"), orderId, by: shop.customer(stranger)) }
        expectRejection(.forbidden, in: shop) { try shop.orderCommand(.expire, orderId, by: .paymentProvider("sandbox")) }
        expectRejection(.invalidInput, in: shop) {
            try shop.orderCommand(.ship(carrier: "", trackingNumber: "1"), orderId, by: shop.customer(seller))
        }
        expectRejection(.orderNotFound, in: shop) { try shop.orderCommand(.confirmReceipt, shop.id(), by: shop.customer(buyer)) }
    }

    @Test func expiryWaitsForItsTime() throws {
        let (shop, orderId, _, _) = try order(in: .placed)
        expectRejection(.orderNotExpirable, in: shop) { try shop.orderCommand(.expire, orderId, by: .system) }
    }

    @Test func cancellingAPaidOrderRefundsAndReleasesEverything() throws {
        let (shop, orderId, buyer, _) = try order(in: .paid)
        let placed = try #require(shop.order(orderId).placed)
        let decision = try shop.orderCommand(.cancel(reason: "changed my mind"), orderId, by: shop.customer(buyer))
        #expect(eventTypes(decision) == ["order:OrderCancelled", "payment:PaymentRefunded", "goods:StockReleased"])
        #expect(shop.goods(placed.lines[0].goodsId).reserved == 0)
    }

    @Test func receiptEarnsPointsAndARefundSettlesThem() throws {
        let (shop, orderId, buyer, _) = try order(in: .shipped)
        let received = try shop.orderCommand(.confirmReceipt, orderId, by: shop.customer(buyer))
        #expect(eventTypes(received) == ["order:OrderReceived", "points:PointsEarned"])
        #expect(shop.points(buyer).balance == 100)  // 100.00 paid, 1 point per major unit
        shop.advance(seconds: shop.policy.refundWindowSeconds)
        expectRejection(.refundWindowClosed, in: shop) {
            try shop.orderCommand(.requestRefund(reason: "late"), orderId, by: shop.customer(buyer))
        }
        let (fresh, freshOrder, freshBuyer, freshSeller) = try order(in: .refundRequested)
        let approved = try fresh.orderCommand(.approveRefund, freshOrder, by: fresh.customer(freshSeller))
        #expect(eventTypes(approved) == ["order:RefundApproved", "order:OrderRefunded", "payment:PaymentRefunded", "points:PointsRevoked"])
        #expect(fresh.points(freshBuyer).balance == 0)
    }
}

@Suite struct PaymentSpecs {
    func placed() throws -> (Shop, OrderId, UserId) {
        let shop = Shop()
        let seller = try shop.merchant()
        let buyer = try shop.shopper()
        try shop.cartCommand(.add(try shop.list(by: seller, price: 4_200), quantity: 1), owner: buyer)
        return (shop, try shop.placeOrder(buyer: buyer), buyer)
    }

    @Test func aSignedSuccessPaysTheOrderOnceHoweverOftenItArrives() throws {
        let (shop, orderId, buyer) = try placed()
        let paymentId = try shop.initiatePayment(orderId, by: shop.customer(buyer))
        #expect(shop.payment(paymentId).initiated?.amount == Money(minorUnits: 4_200))
        let first = try shop.callback(paymentId, transaction: "tx-42")
        #expect(eventTypes(first) == ["payment:PaymentSucceeded", "order:OrderPaid"])
        for _ in 0..<5 { #expect(try shop.callback(paymentId, transaction: "tx-42").isEmpty) }
        expectRejection(.paymentNotPending, in: shop) { try shop.callback(paymentId, transaction: "tx-43") }
        #expect(shop.order(orderId).status == .paid)
    }

    @Test func initiationRules() throws {
        let (shop, orderId, buyer) = try placed()
        let stranger = try shop.shopper()
        expectRejection(.notOwner, in: shop) { try shop.initiatePayment(orderId, by: shop.customer(stranger)) }
        expectRejection(.orderNotFound, in: shop) { try shop.initiatePayment(shop.id(), by: shop.customer(buyer)) }
        expectRejection(.invalidInput, in: shop) { try shop.initiatePayment(orderId, by: shop.customer(buyer), provider: "") }
        let paymentId = try shop.initiatePayment(orderId, by: shop.customer(buyer))
        expectRejection(.paymentAlreadyExists, in: shop) {
            shop.commit(
                try Payments.initiate(
                    InitiatePayment(paymentId: paymentId, provider: "sandbox", at: shop.now), actor: shop.customer(buyer),
                    payment: shop.payment(paymentId), order: shop.order(orderId)))
        }
        shop.advance(seconds: shop.policy.orderExpirySeconds)
        expectRejection(.orderNotPayable, in: shop) { try shop.initiatePayment(orderId, by: shop.customer(buyer)) }
    }

    @Test func failuresMismatchesAndLateSuccesses() throws {
        let (shop, orderId, buyer) = try placed()
        let failed = try shop.initiatePayment(orderId, by: shop.customer(buyer))
        #expect(eventTypes(try shop.callback(failed, transaction: "tx-f", succeeded: false)) == ["payment:PaymentFailed"])
        let short = try shop.initiatePayment(orderId, by: shop.customer(buyer))
        #expect(eventTypes(try shop.callback(short, transaction: "tx-s", amount: Money(minorUnits: 1))) == ["payment:PaymentFailed"])
        expectRejection(.forbidden, in: shop) {
            shop.commit(
                try Payments.handle(
                    ProviderCallback(providerTransactionId: "x", succeeded: true, amount: .zero, at: shop.now),
                    actor: shop.customer(buyer), payment: shop.payment(short), order: shop.order(orderId)))
        }
        expectRejection(.paymentNotFound, in: shop) { try shop.callback(short, transaction: "tx-other", provider: "elsewhere") }
        let late = try shop.initiatePayment(orderId, by: shop.customer(buyer))
        shop.advance(seconds: shop.policy.orderExpirySeconds)
        try shop.orderCommand(.expire, orderId, by: .system)
        #expect(eventTypes(try shop.callback(late, transaction: "tx-late")) == ["payment:PaymentSucceeded", "payment:PaymentRefunded"])
        #expect(shop.order(orderId).status == .expired)
    }
}

@Suite struct PointsSpecs {
    @Test func pointsAreSpentAndExchangedWithinTheBalance() throws {
        let shop = Shop()
        let buyer = try shop.shopper()
        let stranger = try shop.shopper()
        shop.commit(
            {
                var d = Decision();
                d.append(.points(.earned(PointsEarned(orderId: shop.id(), points: 1_000, at: shop.now))), to: .points(buyer)); return d
            }())
        let me = shop.customer(buyer)
        #expect(
            eventTypes(
                try shop.commit(Points.redeem(100, reason: "gift", actor: me, owner: buyer, state: shop.points(buyer), at: shop.now))) == [
                    "points:PointsRedeemed"
                ])
        expectRejection(.insufficientPoints, in: shop) {
            shop.commit(try Points.redeem(901, reason: "gift", actor: me, owner: buyer, state: shop.points(buyer), at: shop.now))
        }
        expectRejection(.invalidInput, in: shop) {
            shop.commit(try Points.redeem(0, reason: "gift", actor: me, owner: buyer, state: shop.points(buyer), at: shop.now))
        }
        expectRejection(.notOwner, in: shop) {
            shop.commit(
                try Points.redeem(1, reason: "gift", actor: shop.customer(stranger), owner: buyer, state: shop.points(buyer), at: shop.now))
        }
        let couponId: CouponId = shop.id()
        let exchange = ExchangePoints(
            points: 500, couponId: couponId, code: "MY500", validUntil: shop.now.adding(seconds: 3_600), at: shop.now)
        let decision = try Points.exchange(
            exchange, actor: me, owner: buyer, state: shop.points(buyer), coupon: shop.state(.coupon(couponId)),
            code: shop.state(.couponCode("MY500")), policy: shop.policy)
        #expect(eventTypes(shop.commit(decision)) == ["coupon:CouponCreated", "couponcode:CouponCodeClaimed", "points:PointsExchanged"])
        #expect(shop.points(buyer).balance == 400)
        expectRejection(.couponNotFound, in: shop) { try shop.applyCoupon("MY500", owner: stranger) }
        try shop.applyCoupon("MY500", owner: buyer)
    }
}
