import Foundation
import Testing

@testable import Commerce

/// After-sale requests about a received order: returns refunded for what comes back (undamaged units back in stock),
/// claims refunded or replaced without a return, and never a unit or a fen refunded twice.
@Suite struct AfterSaleSpecs {
    typealias Spec = DeciderSpec<AfterSales>
    static func id(_ tail: String) -> UUID { UUID(uuidString: "0193a1f2-0000-7000-8000-\(tail)") ?? UUID() }
    static let seller = UserId(id("000000000001"))
    static let rival = UserId(id("000000000009"))
    static let buyer = UserId(id("000000000002"))
    static let kettle = GoodsId(id("0000000000a1"))
    static let teapot = GoodsId(id("0000000000a2"))
    static let orderId = OrderId(id("0000000000c1"))
    static let paymentId = PaymentId(id("0000000000d1"))
    static let afterSaleId = AfterSaleId(id("0000000000e1"))
    static let merchant = Actor.user(seller, .merchant)
    static let customer = Actor.user(buyer, .customer)
    static let now = Spec.now
    static let receivedAt = now.adding(seconds: -86_400)
    static let money = Money.init(minorUnits:)

    // Three kettles at ¥10 and a teapot at ¥20: ¥50, less a ¥5 coupon and 100 points (¥1), plus ¥8 delivery = ¥52 paid.
    static let placed = OrderPlaced(
        orderId: orderId, number: "20261203-000001", userId: buyer,
        lines: [
            OrderLine(goodsId: kettle, merchantId: seller, title: "电热水壶", unitPrice: money(1_000), quantity: 3, lineTotal: money(3_000)),
            OrderLine(goodsId: teapot, merchantId: seller, title: "紫砂壶", unitPrice: money(2_000), quantity: 1, lineTotal: money(2_000)),
        ], subtotal: money(5_000), discount: money(500), couponId: nil, pointsUsed: 100, pointsValue: money(100), total: money(5_200),
        address: Address(recipient: "王芳", phone: "13800000000", line1: "西湖区文三路 1 号", city: "杭州", postalCode: "310000", country: "中国"),
        at: now.adding(seconds: -5 * 86_400), expiresAt: now.adding(seconds: -5 * 86_400 + 1_800),
        delivery: DeliveryChoice(methodId: DeliveryMethodId(id("0000000000f1")), name: "顺丰", fee: money(800)))

    static func order(_ event: OrderEvent) -> (StreamId, DomainEvent) { (.order(orderId), .order(event)) }
    static func goods(_ goodsId: GoodsId, _ event: GoodsEvent) -> (StreamId, DomainEvent) { (.goods(goodsId), .goods(event)) }
    static func points(_ event: PointsEvent) -> (StreamId, DomainEvent) { (.points(buyer), .points(event)) }
    static func payment(_ event: PaymentEvent) -> (StreamId, DomainEvent) { (.payment(paymentId), .payment(event)) }
    static func afterSale(_ event: AfterSaleEvent) -> (StreamId, DomainEvent) { (.afterSale(afterSaleId), .afterSale(event)) }

    static func listed(_ goodsId: GoodsId, _ title: String, price: Int64) -> (StreamId, DomainEvent) {
        goods(
            goodsId,
            .listed(
                GoodsListed(
                    goodsId: goodsId, merchantId: seller, title: title, description: "", category: "茶具", brand: "", tags: [],
                    price: money(price), stock: 10, lowStockThreshold: 0, at: placed.at)))
    }

    /// The order received a day ago, paid through a provider; the buyer earned 52 points for it.
    static var received: Spec {
        Spec.given(
            listed(kettle, "电热水壶", price: 1_000), listed(teapot, "紫砂壶", price: 2_000),
            goods(kettle, .stockReserved(StockReserved(orderId: orderId, quantity: 3, at: placed.at))),
            goods(teapot, .stockReserved(StockReserved(orderId: orderId, quantity: 1, at: placed.at))),
            points(.earned(PointsEarned(orderId: OrderId(id("0000000000c0")), points: 200, at: placed.at))),
            points(.redeemed(PointsRedeemed(orderId: orderId, points: 100, reason: "order", at: placed.at))),
            order(.placed(placed)),
            payment(
                .initiated(
                    PaymentInitiated(paymentId: paymentId, orderId: orderId, provider: "sandbox", amount: money(5_200), at: placed.at))),
            payment(.succeeded(PaymentSucceeded(providerTransactionId: "t1", amount: money(5_200), at: placed.at))),
            order(.paid(OrderPaid(paymentId: paymentId, amount: money(5_200), at: placed.at))),
            order(.shipped(OrderShipped(carrier: "顺丰", trackingNumber: "SF1", at: placed.at))),
            goods(kettle, .stockShipped(StockShipped(orderId: orderId, quantity: 3, at: placed.at))),
            goods(teapot, .stockShipped(StockShipped(orderId: orderId, quantity: 1, at: placed.at))),
            order(.received(OrderReceived(at: receivedAt))),
            points(.earned(PointsEarned(orderId: orderId, points: 52, at: receivedAt))))
    }

    static func request(
        _ kind: AfterSaleKind = .return, _ resolution: AfterSaleResolution = .refund,
        lines: [AfterSaleLine] = [AfterSaleLine(line: 0, quantity: 1)],
        reason: String = "壶盖有裂纹", id: AfterSaleId = afterSaleId
    ) -> AfterSales.Command {
        AfterSales.Command(id, .request(orderId: orderId, kind: kind, resolution: resolution, lines: lines, reason: reason))
    }

    static func requested(
        _ kind: AfterSaleKind = .return, _ resolution: AfterSaleResolution = .refund,
        lines: [AfterSaleLine] = [AfterSaleLine(line: 0, quantity: 1)]
    ) -> [(StreamId, DomainEvent)] {
        [
            afterSale(
                .requested(
                    AfterSaleRequested(
                        afterSaleId: afterSaleId, orderId: orderId, orderVersion: 5, kind: kind, resolution: resolution, lines: lines,
                        reason: "壶盖有裂纹", at: now))),
            order(.afterSaleOpened(AfterSaleOpened(afterSaleId: afterSaleId, kind: kind, lines: lines, at: now))),
        ]
    }

    static func given(_ spec: Spec, _ events: [(StreamId, DomainEvent)]) -> Spec { events.reduce(spec) { $0.and($1.0, $1.1) } }
    static func on(_ command: AfterSaleCommand) -> AfterSales.Command { AfterSales.Command(afterSaleId, command) }
    static let approved = afterSale(.approved(AfterSaleApproved(orderVersion: 5, at: now)))

    @Test func theBuyerAsksToReturnPartOfAReceivedOrder() {
        let spec = Self.received
        spec.when(Self.request(), by: Self.customer).then(Self.requested()[0], Self.requested()[1])
    }

    @Test func askingIsRefusedWhereItMustBe() {
        let spec = Self.received
        spec.when(Self.request(), by: .user(Self.rival, .customer)).thenRejects(.notOwner)
        spec.when(
            AfterSales.Command(
                Self.afterSaleId, .request(orderId: OrderId(UUID()), kind: .return, resolution: .refund, lines: [], reason: "")),
            by: Self.customer
        )
        .thenRejects(.orderNotFound)
        spec.when(Self.request(.return, .replace), by: Self.customer).thenRejects(.invalidInput)
        spec.when(Self.request(lines: []), by: Self.customer).thenRejects(.invalidInput)
        spec.when(Self.request(lines: [AfterSaleLine(line: 2, quantity: 1)]), by: Self.customer).thenRejects(.invalidInput)
        spec.when(Self.request(lines: [AfterSaleLine(line: 0, quantity: 1), AfterSaleLine(line: 0, quantity: 1)]), by: Self.customer)
            .thenRejects(.invalidInput)
        spec.when(Self.request(lines: [AfterSaleLine(line: 0, quantity: 4)]), by: Self.customer).thenRejects(.quantityNotReturnable)
        spec.when(Self.request(lines: [AfterSaleLine(line: 0, quantity: 0)]), by: Self.customer).thenRejects(.quantityNotReturnable)
        spec.when(Self.request(reason: String(repeating: "坏", count: Limits.reasonCharactersMax + 1)), by: Self.customer).thenRejects(
            .invalidInput)
        spec.when(Self.request(), by: Self.customer, at: Self.receivedAt.adding(seconds: spec.policy.refundWindowSeconds))
            .thenRejects(.refundWindowClosed)
        // The same request twice; units another request holds.
        let open = Self.given(spec, Self.requested(lines: [AfterSaleLine(line: 0, quantity: 2)]))
        open.when(Self.request(), by: Self.customer).thenRejects(.afterSaleExists)
        open.when(Self.request(lines: [AfterSaleLine(line: 0, quantity: 2)], id: AfterSaleId(UUID())), by: Self.customer)
            .thenRejects(.quantityNotReturnable)
        // An order not received yet.
        Spec.given(Self.order(.placed(Self.placed))).when(Self.request(), by: Self.customer).thenRejects(.orderNotRefundable)
    }

    @Test func theMerchantApprovesOrRejects() {
        let open = Self.given(Self.received, Self.requested())
        open.when(Self.on(.approve), by: Self.merchant).then(Self.approved)
        open.when(Self.on(.reject(reason: "超过七天")), by: Self.merchant)
            .then(
                Self.afterSale(.rejected(AfterSaleRejected(orderVersion: 6, reason: "超过七天", at: Self.now))),
                Self.order(.afterSaleClosed(AfterSaleClosed(afterSaleId: Self.afterSaleId, replaced: [], at: Self.now))))
        open.when(Self.on(.approve), by: Self.customer).thenRejects(.notOwner)
        open.when(Self.on(.approve), by: .user(Self.rival, .merchant)).thenRejects(.notOwner)
        open.when(Self.on(.receive([ReturnedLine(line: 0, received: 1)])), by: Self.merchant).thenRejects(.afterSaleNotOpen)
        open.when(Self.on(.reject(reason: String(repeating: "x", count: Limits.reasonCharactersMax + 1))), by: Self.merchant)
            .thenRejects(.invalidInput)
        Self.given(open, [Self.approved]).when(Self.on(.approve), by: Self.merchant).thenRejects(.afterSaleNotOpen)
        // An approved return whose parcel never came may still be turned down; one that came back may not.
        Self.given(open, [Self.approved]).when(Self.on(.reject(reason: "迟了")), by: Self.merchant)
            .then(
                Self.afterSale(.rejected(AfterSaleRejected(orderVersion: 6, reason: "迟了", at: Self.now))),
                Self.order(.afterSaleClosed(AfterSaleClosed(afterSaleId: Self.afterSaleId, replaced: [], at: Self.now))))
        Self.given(
            open,
            [
                Self.approved,
                Self.afterSale(.returnReceived(ReturnReceived(orderVersion: 5, lines: [ReturnedLine(line: 0, received: 1)], at: Self.now))),
            ]
        )
        .when(Self.on(.reject(reason: "迟了")), by: Self.merchant).thenRejects(.afterSaleNotOpen)
        Self.received.when(Self.on(.approve), by: Self.merchant).thenRejects(.afterSaleNotFound)
    }

    /// Two kettles come back, one damaged: one goes back in stock, both are refunded at their net price.
    @Test func receivedGoodsAreRestockedUndamagedAndRefundedInProportion() {
        let lines = [AfterSaleLine(line: 0, quantity: 2)]
        let approved = Self.given(Self.received, Self.requested(lines: lines) + [Self.approved])
        // The kettles' net price: ¥30 less their share of the coupon (¥3) and of the points' value (¥0.60) = ¥26.40;
        // two of three: ¥17.60. Points used back: 60 × 2/3 = 40; points earned taken: 52 × 1760/5200 = 17.
        approved.when(Self.on(.receive([ReturnedLine(line: 0, received: 2, damaged: 1)])), by: Self.merchant)
            .then(
                // (A decision lists each stream's events together, streams in the order first appended to.)
                Self.afterSale(
                    .returnReceived(ReturnReceived(orderVersion: 6, lines: [ReturnedLine(line: 0, received: 2, damaged: 1)], at: Self.now))),
                Self.afterSale(
                    .refunded(AfterSaleRefunded(orderVersion: 6, lines: lines, amount: Self.money(1_760), points: 40, at: Self.now))),
                Self.goods(Self.kettle, .stockReturned(StockReturned(orderId: Self.orderId, quantity: 1, at: Self.now))),
                Self.order(
                    .partlyRefunded(
                        OrderPartlyRefunded(
                            afterSaleId: Self.afterSaleId, lines: lines, amount: Self.money(1_760), points: 40, at: Self.now))),
                Self.payment(.refunded(PaymentRefunded(amount: Self.money(1_760), reason: "after-sale \(Self.afterSaleId)", at: Self.now))),
                Self.points(.refunded(PointsRefunded(orderId: Self.orderId, points: 40, at: Self.now))),
                Self.points(.revoked(PointsRevoked(orderId: Self.orderId, points: 17, at: Self.now))))
        // Units that never came back are not refunded.
        approved.when(Self.on(.receive([ReturnedLine(line: 0, received: 0)])), by: Self.merchant)
            .then(
                Self.afterSale(.returnReceived(ReturnReceived(orderVersion: 6, lines: [ReturnedLine(line: 0, received: 0)], at: Self.now))),
                Self.afterSale(.refunded(AfterSaleRefunded(orderVersion: 6, lines: [], amount: .zero, points: 0, at: Self.now))),
                Self.order(
                    .partlyRefunded(OrderPartlyRefunded(afterSaleId: Self.afterSaleId, lines: [], amount: .zero, points: 0, at: Self.now))))
        for wrong in [
            [ReturnedLine(line: 0, received: 3)], [ReturnedLine(line: 0, received: 1, damaged: 2)], [ReturnedLine(line: 1, received: 1)],
            [ReturnedLine(line: 0, received: -1)], [],
        ] {
            approved.when(Self.on(.receive(wrong)), by: Self.merchant).thenRejects(.invalidInput)
        }
    }

    /// The last kettle returned refunds what the first two left of the line's net price: ¥26.40 in all, to the fen.
    @Test func returningALineUnitByUnitRefundsExactlyItsNetPrice() {
        let (first, second) = (AfterSaleId(UUID()), AfterSaleId(UUID()))
        let line = [AfterSaleLine(line: 0, quantity: 1)]
        let settled = Self.received
            .and(
                .order(Self.orderId),
                .order(.afterSaleOpened(AfterSaleOpened(afterSaleId: first, kind: .return, lines: line, at: Self.now)))
            )
            .and(
                .order(Self.orderId),
                .order(
                    .partlyRefunded(OrderPartlyRefunded(afterSaleId: first, lines: line, amount: Self.money(880), points: 20, at: Self.now))
                )
            )
            .and(
                .order(Self.orderId),
                .order(.afterSaleOpened(AfterSaleOpened(afterSaleId: second, kind: .return, lines: line, at: Self.now)))
            )
            .and(
                .order(Self.orderId),
                .order(
                    .partlyRefunded(
                        OrderPartlyRefunded(afterSaleId: second, lines: line, amount: Self.money(880), points: 20, at: Self.now))))
        var order = OrderState()
        order.placed = Self.placed
        var total: Int64 = 0
        for _ in 0..<3 {
            let share = AfterSales.refund(of: line, order: order)
            total += share.amount
            order.afterSales.refundedUnits[0, default: 0] += 1
        }
        #expect(total == 2_640)
        // A third request may ask only for the one kettle left.
        settled.when(Self.request(lines: [AfterSaleLine(line: 0, quantity: 2)]), by: Self.customer).thenRejects(.quantityNotReturnable)
    }

    /// A missing teapot: refunded as soon as the claim is approved, nothing to send back.
    @Test func aClaimIsRefundedWithoutAReturn() {
        let lines = [AfterSaleLine(line: 1, quantity: 1)]
        let open = Self.given(Self.received, Self.requested(.claim, lines: lines))
        // The teapot's net: ¥20 less ¥2 coupon, less ¥0.40 of points' value = ¥17.60; 40 points back; 52 × 1760/5200 = 17 taken.
        open.when(Self.on(.approve), by: Self.merchant)
            .then(
                Self.approved,
                Self.afterSale(
                    .refunded(AfterSaleRefunded(orderVersion: 6, lines: lines, amount: Self.money(1_760), points: 40, at: Self.now))),
                Self.order(
                    .partlyRefunded(
                        OrderPartlyRefunded(
                            afterSaleId: Self.afterSaleId, lines: lines, amount: Self.money(1_760), points: 40, at: Self.now))),
                Self.payment(.refunded(PaymentRefunded(amount: Self.money(1_760), reason: "after-sale \(Self.afterSaleId)", at: Self.now))),
                Self.points(.refunded(PointsRefunded(orderId: Self.orderId, points: 40, at: Self.now))),
                Self.points(.revoked(PointsRevoked(orderId: Self.orderId, points: 17, at: Self.now))))
        Self.given(open, [Self.approved]).when(Self.on(.receive([ReturnedLine(line: 1, received: 1)])), by: Self.merchant)
            .thenRejects(.afterSaleNotOpen)
    }

    /// A wrong teapot: the right one is sent from stock, and the claim is settled without money.
    @Test func aClaimIsReplacedFromStock() {
        let lines = [AfterSaleLine(line: 1, quantity: 1)]
        let approved = Self.given(Self.received, Self.requested(.claim, .replace, lines: lines) + [Self.approved])
        approved.when(Self.on(.shipReplacement(carrier: "顺丰", trackingNumber: "SF2")), by: Self.merchant)
            .then(
                Self.goods(Self.teapot, .stockReserved(StockReserved(orderId: Self.orderId, quantity: 1, at: Self.now))),
                Self.goods(Self.teapot, .stockShipped(StockShipped(orderId: Self.orderId, quantity: 1, at: Self.now))),
                Self.afterSale(
                    .replacementShipped(ReplacementShipped(orderVersion: 6, carrier: "顺丰", trackingNumber: "SF2", at: Self.now))),
                Self.order(.afterSaleClosed(AfterSaleClosed(afterSaleId: Self.afterSaleId, replaced: lines, at: Self.now))))
        // Nothing left to send.
        approved.and(.goods(Self.teapot), .goods(.stockAdjusted(StockAdjusted(delta: -9, reason: "盘点", at: Self.now))))
            .when(Self.on(.shipReplacement(carrier: "顺丰", trackingNumber: "SF2")), by: Self.merchant).thenRejects(.insufficientStock)
        approved.when(Self.on(.shipReplacement(carrier: "", trackingNumber: String(repeating: "9", count: 200))), by: Self.merchant)
            .thenRejects(.invalidInput)
        // A refunded claim or a return ships nothing.
        Self.given(Self.received, Self.requested(lines: lines) + [Self.approved])
            .when(Self.on(.shipReplacement(carrier: "顺丰", trackingNumber: "SF2")), by: Self.merchant).thenRejects(.afterSaleNotOpen)
        Self.given(Self.received, Self.requested(.claim, .replace, lines: lines))
            .when(Self.on(.shipReplacement(carrier: "顺丰", trackingNumber: "SF2")), by: Self.merchant).thenRejects(.afterSaleNotOpen)
    }

    /// The received order with the kettle's price changed to `price`, and an exchange of one kettle for the same one as
    /// asked and as the request prices it (checked: asking appends exactly the request and its hold on the order).
    static func kettleExchange(repricedTo price: Int64) -> (Spec, asked: [AfterSaleLine], priced: [AfterSaleLine]) {
        let repriced = received.and(
            .goods(kettle), .goods(.priceChanged(PriceChanged(from: money(1_000), to: money(price), at: now))))
        let variant = kettle.defaultVariant
        let asked = [AfterSaleLine(line: 0, quantity: 1, replacement: variant)]
        let priced = [AfterSaleLine(line: 0, quantity: 1, replacement: variant, replacementPrice: money(price))]
        let requested = requested(.exchange, .replace, lines: priced)
        repriced.when(request(.exchange, .replace, lines: asked), by: customer).then(requested[0], requested[1])
        return (repriced, asked, priced)
    }

    /// A kettle exchanged for the same one, now cheaper: it comes back first, then the replacement ships and the
    /// difference between what the returned unit was worth and the replacement's price is refunded.
    @Test func anExchangeShipsTheReplacementOnceTheGoodsAreBackAndRefundsACheaperOnesDifference() {
        let (cheaper, asked, priced) = Self.kettleExchange(repricedTo: 800)
        cheaper.when(Self.request(.exchange, .refund, lines: asked), by: Self.customer).thenRejects(.invalidInput)
        cheaper.when(Self.request(.return, .refund, lines: asked), by: Self.customer).thenRejects(.invalidInput)
        cheaper.when(
            Self.request(.exchange, .replace, lines: [AfterSaleLine(line: 0, quantity: 1, replacement: VariantId(UUID()))]),
            by: Self.customer
        )
        .thenRejects(.variantNotFound)

        let approved = Self.given(Self.received, Self.requested(.exchange, .replace, lines: priced) + [Self.approved])
        let ship = Self.on(.shipReplacement(carrier: "顺丰", trackingNumber: "SF3"))
        approved.when(ship, by: Self.merchant).thenRejects(.afterSaleNotOpen)
        // The receipt changes only the request (and the stock): the order changes when the replacement ships.
        let back = [ReturnedLine(line: 0, received: 1)]
        approved.when(Self.on(.receive(back)), by: Self.merchant)
            .then(
                Self.afterSale(.returnReceived(ReturnReceived(orderVersion: 5, lines: back, at: Self.now))),
                Self.goods(Self.kettle, .stockReturned(StockReturned(orderId: Self.orderId, quantity: 1, at: Self.now))))
        let received = approved.and(
            .afterSale(Self.afterSaleId), .afterSale(.returnReceived(ReturnReceived(orderVersion: 5, lines: back, at: Self.now))))
        received.when(Self.on(.receive(back)), by: Self.merchant).thenRejects(.afterSaleNotOpen)
        // Worth ¥8.80 (its net price), the replacement ¥8.00: ¥0.80 back.
        received.when(ship, by: Self.merchant)
            .then(
                Self.afterSale(.refunded(AfterSaleRefunded(orderVersion: 6, lines: [], amount: Self.money(80), points: 0, at: Self.now))),
                Self.afterSale(
                    .replacementShipped(ReplacementShipped(orderVersion: 6, carrier: "顺丰", trackingNumber: "SF3", at: Self.now))),
                Self.order(
                    .partlyRefunded(
                        OrderPartlyRefunded(afterSaleId: Self.afterSaleId, lines: [], amount: Self.money(80), points: 0, at: Self.now))),
                Self.order(.afterSaleClosed(AfterSaleClosed(afterSaleId: Self.afterSaleId, replaced: priced, at: Self.now))),
                Self.payment(.refunded(PaymentRefunded(amount: Self.money(80), reason: "after-sale \(Self.afterSaleId)", at: Self.now))),
                Self.goods(Self.kettle, .stockReserved(StockReserved(orderId: Self.orderId, quantity: 1, at: Self.now))),
                Self.goods(Self.kettle, .stockShipped(StockShipped(orderId: Self.orderId, quantity: 1, at: Self.now))))
    }

    static let diffPaymentId = PaymentId(id("0000000000d2"))

    /// A kettle exchanged for the same one, now dearer (¥12, the unit was ¥10): once it is back the buyer owes ¥2 at list
    /// prices (the coupon and points the unit had stay theirs), pays it through a payment naming the request, and only
    /// then does the replacement ship; a whole refund of the order later gives back that payment too.
    @Test func aDearerExchangeIsPaidForBeforeTheReplacementShips() {
        let (dearer, _, priced) = Self.kettleExchange(repricedTo: 1_200)
        let approved = Self.given(dearer, Self.requested(.exchange, .replace, lines: priced) + [Self.approved])
        let back = [ReturnedLine(line: 0, received: 1)]
        let due = Self.afterSale(.differenceDue(ExchangeDifferenceDue(orderVersion: 5, amount: Self.money(200), at: Self.now)))
        approved.when(Self.on(.receive(back)), by: Self.merchant)
            .then(
                Self.afterSale(.returnReceived(ReturnReceived(orderVersion: 5, lines: back, at: Self.now))), due,
                Self.goods(Self.kettle, .stockReturned(StockReturned(orderId: Self.orderId, quantity: 1, at: Self.now))))
        // Nothing came back: nothing owed, nothing due.
        approved.when(Self.on(.receive([ReturnedLine(line: 0, received: 0)])), by: Self.merchant)
            .then(
                Self.afterSale(.returnReceived(ReturnReceived(orderVersion: 5, lines: [ReturnedLine(line: 0, received: 0)], at: Self.now))))
        let owing = Self.given(
            approved, [Self.afterSale(.returnReceived(ReturnReceived(orderVersion: 5, lines: back, at: Self.now))), due])
        let ship = Self.on(.shipReplacement(carrier: "顺丰", trackingNumber: "SF4"))
        owing.when(ship, by: Self.merchant).thenRejects(.exchangeDifferenceUnpaid)

        // Paying it: only what is owed, only once it is owed, only by the buyer.
        func pay(_ spec: Spec, afterSale: AfterSaleId = Self.afterSaleId, by actor: Actor = Self.customer) -> DeciderSpec<Payments>.Outcome
        {
            spec.when(
                .initiate(
                    orderId: Self.orderId,
                    InitiatePayment(paymentId: Self.diffPaymentId, provider: "sandbox", at: Self.now, afterSaleId: afterSale)),
                by: actor, as: Payments.self)
        }
        /// The sandbox provider reports `payment` paid (its `transaction`).
        func succeeded(_ spec: Spec, _ transaction: String, of payment: PaymentId = Self.diffPaymentId) -> DeciderSpec<Payments>.Outcome {
            spec.when(
                .callback(
                    payment, ProviderCallback(providerTransactionId: transaction, succeeded: true, amount: Self.money(200), at: Self.now)),
                by: .paymentProvider("sandbox"), as: Payments.self)
        }
        let initiated = PaymentInitiated(
            paymentId: Self.diffPaymentId, orderId: Self.orderId, provider: "sandbox", amount: Self.money(200), at: Self.now,
            afterSaleId: Self.afterSaleId)
        pay(owing).then((.payment(Self.diffPaymentId), .payment(.initiated(initiated))))
        pay(approved).thenRejects(.afterSaleNotPayable)
        pay(owing, afterSale: AfterSaleId(UUID())).thenRejects(.afterSaleNotFound)
        pay(owing, by: .user(Self.rival, .customer)).thenRejects(.notOwner)
        let paying = owing.and(.payment(Self.diffPaymentId), .payment(.initiated(initiated)))
        let success = PaymentSucceeded(providerTransactionId: "t2", amount: Self.money(200), at: Self.now)
        let paid = ExchangeDifferencePaid(orderVersion: 6, paymentId: Self.diffPaymentId, amount: Self.money(200), at: Self.now)
        let ledger = OrderDifferencePaid(
            afterSaleId: Self.afterSaleId, paymentId: Self.diffPaymentId, amount: Self.money(200), at: Self.now)
        succeeded(paying, "t2")
            .then(
                (.payment(Self.diffPaymentId), .payment(.succeeded(success))), Self.afterSale(.differencePaid(paid)),
                Self.order(.differencePaid(ledger)))
        let settled = paying.and(.payment(Self.diffPaymentId), .payment(.succeeded(success)))
            .and(.afterSale(Self.afterSaleId), .afterSale(.differencePaid(paid))).and(.order(Self.orderId), .order(.differencePaid(ledger)))
        // A second payment started while it was owed, paid after the first: captured and given back at once.
        let second = PaymentId(Self.id("0000000000d3"))
        var started = initiated
        started.paymentId = second
        succeeded(settled.and(.payment(second), .payment(.initiated(started))), "t4", of: second)
            .then(
                (
                    .payment(second),
                    .payment(.succeeded(PaymentSucceeded(providerTransactionId: "t4", amount: Self.money(200), at: Self.now)))
                ),
                (
                    .payment(second),
                    .payment(.refunded(PaymentRefunded(amount: Self.money(200), reason: "exchange not payable", at: Self.now)))
                ))
        // The same payment's second transaction is refused; the paid one is the order's to refund, not an admin's alone.
        succeeded(settled, "t3").thenRejects(.paymentNotPending)
        pay(settled).thenRejects(.paymentAlreadyExists)
        settled.when(.refund(Self.diffPaymentId, reason: "oops"), by: .user(UserId(UUID()), .admin), as: Payments.self).thenRejects(
            .orderNotRefundable)

        // No L left to send: the merchant refunds the exchange instead — the kettle as a return refunds it, the ¥2 to its payment.
        let refundInstead = Self.on(.refundExchange)
        let kettleBack = OrderPartlyRefunded(
            afterSaleId: Self.afterSaleId, lines: [AfterSaleLine(line: 0, quantity: 1)], amount: Self.money(880), points: 20, at: Self.now)
        settled.when(refundInstead, by: Self.merchant)
            .then(
                Self.afterSale(
                    .refunded(
                        AfterSaleRefunded(orderVersion: 7, lines: kettleBack.lines, amount: kettleBack.amount, points: 20, at: Self.now))),
                Self.order(.partlyRefunded(kettleBack)),
                Self.payment(.refunded(PaymentRefunded(amount: Self.money(880), reason: "after-sale \(Self.afterSaleId)", at: Self.now))),
                Self.points(.refunded(PointsRefunded(orderId: Self.orderId, points: 20, at: Self.now))),
                Self.points(.revoked(PointsRevoked(orderId: Self.orderId, points: 8, at: Self.now))),
                (
                    .payment(Self.diffPaymentId),
                    .payment(
                        .refunded(PaymentRefunded(amount: Self.money(200), reason: "after-sale \(Self.afterSaleId) refunded", at: Self.now))
                    )
                ))
        // The difference given back is no longer the order's: a whole refund afterwards refunds only the rest of the ¥52.
        Self.given(
            settled,
            [
                Self.order(.partlyRefunded(kettleBack)),
                Self.payment(.refunded(PaymentRefunded(amount: Self.money(880), reason: "after-sale", at: Self.now))),
                (
                    .payment(Self.diffPaymentId),
                    .payment(.refunded(PaymentRefunded(amount: Self.money(200), reason: "after-sale", at: Self.now)))
                ),
                Self.order(.refundRequested(RefundRequested(reason: "都不要了", at: Self.now))),
            ]
        )
        .when(.onOrder(Self.orderId, .approveRefund), by: Self.merchant, as: Orders.self)
        .then(
            Self.order(.refundApproved(RefundApproved(at: Self.now))),
            Self.order(.refunded(OrderRefunded(amount: Self.money(4_320), at: Self.now))),
            Self.payment(.refunded(PaymentRefunded(amount: Self.money(4_320), reason: "refund approved", at: Self.now))),
            Self.points(.refunded(PointsRefunded(orderId: Self.orderId, points: 80, at: Self.now))),
            Self.points(.revoked(PointsRevoked(orderId: Self.orderId, points: 52, at: Self.now))))
        settled.when(refundInstead, by: Self.customer).thenRejects(.notOwner)
        approved.when(refundInstead, by: Self.merchant).thenRejects(.afterSaleNotOpen)
        Self.given(Self.received, Self.requested() + [Self.approved]).when(refundInstead, by: Self.merchant).thenRejects(.afterSaleNotOpen)

        // Paid: the replacement ships, nothing refunded.
        settled.when(ship, by: Self.merchant)
            .then(
                Self.goods(Self.kettle, .stockReserved(StockReserved(orderId: Self.orderId, quantity: 1, at: Self.now))),
                Self.goods(Self.kettle, .stockShipped(StockShipped(orderId: Self.orderId, quantity: 1, at: Self.now))),
                Self.afterSale(
                    .replacementShipped(ReplacementShipped(orderVersion: 7, carrier: "顺丰", trackingNumber: "SF4", at: Self.now))),
                Self.order(.afterSaleClosed(AfterSaleClosed(afterSaleId: Self.afterSaleId, replaced: priced, at: Self.now))))

        // The whole order refunded afterwards: ¥52 and the ¥2 difference, each to its payment.
        let shipped = settled.and(
            .afterSale(Self.afterSaleId),
            .afterSale(.replacementShipped(ReplacementShipped(orderVersion: 7, carrier: "顺丰", trackingNumber: "SF4", at: Self.now)))
        )
        .and(.order(Self.orderId), .order(.afterSaleClosed(AfterSaleClosed(afterSaleId: Self.afterSaleId, replaced: priced, at: Self.now))))
        .and(.order(Self.orderId), .order(.refundRequested(RefundRequested(reason: "都不要了", at: Self.now))))
        shipped.when(.onOrder(Self.orderId, .approveRefund), by: Self.merchant, as: Orders.self)
            .then(
                Self.order(.refundApproved(RefundApproved(at: Self.now))),
                Self.order(.refunded(OrderRefunded(amount: Self.money(5_400), at: Self.now))),
                Self.payment(.refunded(PaymentRefunded(amount: Self.money(5_200), reason: "refund approved", at: Self.now))),
                (
                    .payment(Self.diffPaymentId),
                    .payment(.refunded(PaymentRefunded(amount: Self.money(200), reason: "refund approved", at: Self.now)))
                ),
                Self.points(.refunded(PointsRefunded(orderId: Self.orderId, points: 100, at: Self.now))),
                Self.points(.revoked(PointsRevoked(orderId: Self.orderId, points: 52, at: Self.now))))
    }
}
