import Foundation
import Testing

@testable import Commerce
@testable import EventCodec

/// One canonical sample of every event type at its current schema version.
/// `Snapshots/events/<Type>.v<N>.json` holds its encoding; a change to a
/// shipped encoding fails here. Regenerate on purpose only:
/// `EMPORIUM_REGENERATE_SNAPSHOTS=1 swift test --filter GoldenEncodingTests`,
/// then review the diff like code.
enum Samples {
    static let at = Instant(millisecondsSinceEpoch: 1_790_000_000_000)
    static let user = UserId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000001") ?? UUID())
    static let merchant = UserId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000002") ?? UUID())
    static let goods = GoodsId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000003") ?? UUID())
    static let order = OrderId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000004") ?? UUID())
    static let coupon = CouponId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000005") ?? UUID())
    static let payment = PaymentId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000006") ?? UUID())
    static let address = AddressId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000007") ?? UUID())
    static let review = ReviewId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000008") ?? UUID())
    static let apiKey = ApiKeyId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000009") ?? UUID())
    static let money = Money(minorUnits: 3_998)
    static let hash = PasswordHash(
        algorithm: "scrypt", parameters: .production, salt: "c2FsdHNhbHRzYWx0c2FsdA==",
        hash: "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=")
    static let line = OrderLine(
        goodsId: goods, merchantId: merchant, title: "Green tea 绿茶", unitPrice: Money(minorUnits: 1_999),
        quantity: 2, lineTotal: money)

    /// Event types first shipped in the binary form: they have no `.v1.json` golden file.
    static let bornAtVersion2: Set<String> = [
        MerchantApplicationSubmitted.eventType, MerchantApplicationApproved.eventType, MerchantApplicationRejected.eventType,
        ApiKeyIssued.eventType, ApiKeyRevoked.eventType, GoodsOptionsDefined.eventType, VariantAdded.eventType,
        VariantUpdated.eventType, VariantDelisted.eventType, VariantRelisted.eventType, GoodsAttributesSet.eventType,
        SkuClaimed.eventType, DeliveryMethodDefined.eventType, DeliveryMethodRetired.eventType, ReviewModerated.eventType,
        ReviewReplied.eventType, ReviewEdited.eventType, WaitlistJoined.eventType, WaitlistLeft.eventType,
        BackInStockNotified.eventType, PreOrdersOpened.eventType, PreOrdersCancelled.eventType, PreOrderReserved.eventType,
        PreOrderFilled.eventType, PreOrderReleased.eventType, WebhookRegistered.eventType, WebhookDisabled.eventType,
        WebhookCheckpointed.eventType, WebhookDeadLettered.eventType, WebhookDeadLettersReplayed.eventType, WebhookRedelivered.eventType,
        StockReturned.eventType, AfterSaleOpened.eventType, AfterSaleClosed.eventType, OrderPartlyRefunded.eventType,
        AfterSaleRequested.eventType, AfterSaleApproved.eventType, AfterSaleRejected.eventType, ReturnReceived.eventType,
        AfterSaleRefunded.eventType, ReplacementShipped.eventType, PromotionCreated.eventType, PromotionEnded.eventType,
        PromotionApplied.eventType, PromotionReleased.eventType, PromotionsApplied.eventType, ExchangeDifferenceDue.eventType,
        ExchangeDifferencePaid.eventType, OrderDifferencePaid.eventType,
    ]

    static let afterSale = AfterSaleId(UUID(uuidString: "0193a1f2-0000-7000-8000-0000000000e2") ?? UUID())
    static let promotion = PromotionId(UUID(uuidString: "0193a1f2-0000-7000-8000-0000000000f3") ?? UUID())
    static let deliveryMethod = DeliveryMethodId(UUID(uuidString: "0193a1f2-0000-7000-8000-00000000000b") ?? UUID())

    static let variant = VariantId(UUID(uuidString: "0193a1f2-0000-7000-8000-00000000000a") ?? UUID())

    /// The events whose version 3 names a variant (or holds a review for moderation), doing so: written as version 3
    /// (the samples in `all` do not and are written as version 2, byte for byte as before).
    static let atVersion3: [DomainEvent] = [
        .payment(
            .initiated(
                PaymentInitiated(
                    paymentId: payment, orderId: order, provider: "sandbox", amount: Money(minorUnits: 200), at: at, afterSaleId: afterSale)
            )),
        .goods(
            .reviewPosted(
                ReviewPosted(
                    reviewId: review, orderId: order, userId: user, rating: 4, text: "回甘明显 — a sweet finish", at: at,
                    awaitingModeration: true))),
        .goods(.priceChanged(PriceChanged(from: Money(minorUnits: 1_999), to: Money(minorUnits: 1_799), at: at, variantId: variant))),
        .goods(.stockAdded(StockAdded(quantity: 50, at: at, variantId: variant))),
        .goods(.stockAdjusted(StockAdjusted(delta: -2, reason: "breakage", at: at, variantId: variant))),
        .goods(.stockReserved(StockReserved(orderId: order, quantity: 2, at: at, variantId: variant))),
        .goods(.stockReleased(StockReleased(orderId: order, quantity: 2, at: at, variantId: variant))),
        .goods(.stockShipped(StockShipped(orderId: order, quantity: 2, at: at, variantId: variant))),
        .goods(.lowStockDetected(LowStockDetected(available: 9, threshold: 10, at: at, variantId: variant))),
        .cart(.itemAdded(CartItemAdded(goodsId: goods, quantity: 2, at: at, variantId: variant))),
        .cart(.quantityChanged(CartItemQuantityChanged(goodsId: goods, quantity: 3, at: at, variantId: variant))),
        .cart(.itemRemoved(CartItemRemoved(goodsId: goods, at: at, variantId: variant))),
        .order(
            .placed(
                OrderPlaced(
                    orderId: order, number: "20260921-000043", userId: user,
                    lines: [
                        line,
                        OrderLine(
                            goodsId: goods, merchantId: merchant, title: "T-shirt T恤", unitPrice: Money(minorUnits: 9_900), quantity: 1,
                            lineTotal: Money(minorUnits: 9_900), variantId: variant, variant: "颜色: 红 / 尺码: M"),
                    ],
                    subtotal: Money(minorUnits: 13_898), discount: .zero, couponId: nil, pointsUsed: 0, pointsValue: .zero,
                    total: Money(minorUnits: 14_698), address: sampleAddress, at: at,
                    expiresAt: Instant(millisecondsSinceEpoch: 1_790_001_800_000),
                    delivery: DeliveryChoice(methodId: deliveryMethod, name: "顺丰 SF Express", fee: Money(minorUnits: 800))))),
    ]

    /// Every sample: each type at the version it is written at, and the variant events at version 3.
    static var everyVersion: [DomainEvent] { all + atVersion3 }

    static let all: [DomainEvent] = [
        .emailClaim(.claimed(EmailClaimed(email: "li.lei@example.com", userId: user))),
        .emailClaim(.released(EmailReleased(email: "li.lei@example.com", userId: user))),
        .user(
            .registered(
                UserRegistered(
                    userId: user, email: "li.lei@example.com", name: "李雷", phone: "+86 138 0000 0000",
                    role: .customer, passwordHash: hash, at: at))),
        .user(.loggedIn(UserLoggedIn(at: at))),
        .user(.loginFailed(LoginFailed(consecutiveFailures: 2, at: at))),
        .user(.lockedOut(UserLockedOut(until: Instant(millisecondsSinceEpoch: 1_790_000_900_000), at: at))),
        .user(.profileUpdated(ProfileUpdated(name: "Li Lei", phone: "", at: at))),
        .user(.passwordChanged(PasswordChanged(passwordHash: hash, at: at))),
        .user(.addressAdded(AddressAdded(addressId: address, address: sampleAddress, at: at))),
        .user(.addressUpdated(AddressUpdated(addressId: address, address: sampleAddress, at: at))),
        .user(.addressRemoved(AddressRemoved(addressId: address, at: at))),
        .user(.defaultAddressSet(DefaultAddressSet(addressId: address, at: at))),
        .user(.favoriteAdded(FavoriteAdded(goodsId: goods, at: at))),
        .user(.favoriteRemoved(FavoriteRemoved(goodsId: goods, at: at))),
        .user(.goodsViewed(GoodsViewed(goodsId: goods, at: at))),
        .user(.roleGranted(RoleGranted(role: .merchant, grantedBy: "system", at: at))),
        .user(.forgotten(UserForgotten(at: at))),
        .goods(
            .listed(
                GoodsListed(
                    goodsId: goods, merchantId: merchant, title: "Green tea 绿茶", description: "明前龙井, spring harvest",
                    category: "tea", brand: "West Lake", tags: ["green", "龙井"], price: Money(minorUnits: 1_999),
                    stock: 120, lowStockThreshold: 10, at: at))),
        .goods(
            .updated(GoodsUpdated(title: "Green tea", description: "", category: "tea", brand: "", tags: [], lowStockThreshold: 5, at: at))),
        .goods(.priceChanged(PriceChanged(from: Money(minorUnits: 1_999), to: Money(minorUnits: 1_799), at: at))),
        .goods(.stockAdded(StockAdded(quantity: 50, at: at))),
        .goods(.stockAdjusted(StockAdjusted(delta: -2, reason: "breakage", at: at))),
        .goods(.stockReserved(StockReserved(orderId: order, quantity: 2, at: at))),
        .goods(.stockReleased(StockReleased(orderId: order, quantity: 2, at: at))),
        .goods(.stockShipped(StockShipped(orderId: order, quantity: 2, at: at))),
        .goods(.lowStockDetected(LowStockDetected(available: 9, threshold: 10, at: at))),
        .goods(.delisted(GoodsDelisted(at: at))),
        .goods(.relisted(GoodsRelisted(at: at))),
        .goods(.reviewPosted(ReviewPosted(reviewId: review, orderId: order, userId: user, rating: 5, text: "很好喝 — lovely", at: at))),
        .goods(
            .reviewModerated(ReviewModerated(reviewId: review, verdict: .reject, reason: "含广告 advertising", moderatorId: merchant, at: at))),
        .goods(.reviewReplied(ReviewReplied(reviewId: review, text: "谢谢惠顾 — thank you", replierId: merchant, at: at))),
        .goods(.reviewEdited(ReviewEdited(reviewId: review, rating: 3, text: "口感一般 — so-so", at: at))),
        .goods(.waitlistJoined(WaitlistJoined(userId: user, variantId: variant, at: at))),
        .goods(.waitlistLeft(WaitlistLeft(userId: user, variantId: nil, at: at))),
        .goods(.backInStockNotified(BackInStockNotified(userId: user, variantId: variant, available: 12, at: at))),
        .goods(
            .preOrdersOpened(
                PreOrdersOpened(
                    variantId: variant, cap: 500, endsAt: at.adding(seconds: 86_400), arrivesBy: at.adding(seconds: 7 * 86_400), at: at))),
        .goods(.preOrdersCancelled(PreOrdersCancelled(variantId: nil, reason: "供应商停产 supplier stopped", at: at))),
        .goods(.preOrderReserved(PreOrderReserved(orderId: order, quantity: 2, variantId: variant, at: at))),
        .goods(.preOrderFilled(PreOrderFilled(orderId: order, quantity: 2, variantId: variant, at: at))),
        .goods(.preOrderReleased(PreOrderReleased(orderId: order, quantity: 1, variantId: nil, at: at))),
        .webhook(
            .registered(
                WebhookRegistered(
                    webhookId: WebhookId(UUID(uuidString: "0193a1f2-0000-7000-8000-0000000000e1") ?? UUID()),
                    url: "https://erp.example.com/hook", eventTypes: ["OrderPaid", "OrderShipped"], from: 1_024, registeredBy: user,
                    at: at))),
        .webhook(.disabled(WebhookDisabled(reason: "endpoint retired 停用", at: at))),
        .webhook(.checkpointed(WebhookCheckpointed(through: 2_048, delivered: 17, at: at))),
        .webhook(
            .deadLettered(
                WebhookDeadLettered(
                    letter: DeadLetter(position: 1_500, eventType: "OrderPaid", stream: "order-x", attempts: 8, error: "HTTP 503", at: at)))
        ),
        .webhook(.deadLettersReplayed(WebhookDeadLettersReplayed(positions: [1_500, 1_501], at: at))),
        .webhook(.redelivered(WebhookRedelivered(position: 1_500, at: at))),
        .goods(.stockReturned(StockReturned(orderId: order, quantity: 1, variantId: variant, at: at))),
        .order(
            .afterSaleOpened(AfterSaleOpened(afterSaleId: afterSale, kind: .return, lines: [AfterSaleLine(line: 0, quantity: 2)], at: at))),
        .order(.afterSaleClosed(AfterSaleClosed(afterSaleId: afterSale, replaced: [AfterSaleLine(line: 1, quantity: 1)], at: at))),
        .order(
            .partlyRefunded(
                OrderPartlyRefunded(
                    afterSaleId: afterSale, lines: [AfterSaleLine(line: 0, quantity: 2)], amount: Money(minorUnits: 1_760), points: 40,
                    at: at))),
        .afterSale(
            .requested(
                AfterSaleRequested(
                    afterSaleId: afterSale, orderId: order, orderVersion: 5, kind: .exchange, resolution: .replace,
                    lines: [AfterSaleLine(line: 1, quantity: 1, replacement: variant, replacementPrice: Money(minorUnits: 1_799))],
                    reason: "换大一号 one size up", at: at))),
        .afterSale(.approved(AfterSaleApproved(orderVersion: 5, at: at))),
        .afterSale(.rejected(AfterSaleRejected(orderVersion: 6, reason: "超过七天", at: at))),
        .afterSale(.returnReceived(ReturnReceived(orderVersion: 6, lines: [ReturnedLine(line: 0, received: 2, damaged: 1)], at: at))),
        .afterSale(
            .refunded(
                AfterSaleRefunded(
                    orderVersion: 6, lines: [AfterSaleLine(line: 0, quantity: 2)], amount: Money(minorUnits: 1_760), points: 40, at: at))),
        .afterSale(.replacementShipped(ReplacementShipped(orderVersion: 6, carrier: "顺丰", trackingNumber: "SF2", at: at))),
        .afterSale(.differenceDue(ExchangeDifferenceDue(orderVersion: 6, amount: Money(minorUnits: 200), at: at))),
        .afterSale(.differencePaid(ExchangeDifferencePaid(orderVersion: 7, paymentId: payment, amount: Money(minorUnits: 200), at: at))),
        .order(.differencePaid(OrderDifferencePaid(afterSaleId: afterSale, paymentId: payment, amount: Money(minorUnits: 200), at: at))),
        .promotions(
            .created(
                PromotionCreated(
                    promotionId: promotion, name: "满300减50",
                    rule: .spendAndSave([
                        PromotionTier(threshold: Money(minorUnits: 30_000), amountOff: Money(minorUnits: 5_000), repeating: true),
                        PromotionTier(threshold: Money(minorUnits: 100_000), percent: 20),
                    ]), target: PromotionTarget(goodsIds: [goods], categories: ["茶叶"], brands: ["西湖"]),
                    budget: PromotionBudget(discountMax: Money(minorUnits: 1_000_000), usesMax: nil), validFrom: at,
                    validUntil: Instant(millisecondsSinceEpoch: 1_790_086_400_000), merchantId: merchant,
                    createdBy: "user:\(merchant):merchant",
                    at: at))),
        .promotions(.ended(PromotionEnded(promotionId: promotion, reason: "预算用完", at: at))),
        .promotion(.applied(PromotionApplied(orderId: order, amount: Money(minorUnits: 5_000), at: at))),
        .promotion(.released(PromotionReleased(orderId: order, amount: Money(minorUnits: 5_000), at: at))),
        .order(
            .promotionsApplied(
                PromotionsApplied(discounts: [
                    PromotionDiscount(
                        promotionId: promotion, name: "买二送一", kind: .buyXGetY,
                        lines: [Money(minorUnits: 1_999)], budgeted: false)
                ]))),
        .cart(.itemAdded(CartItemAdded(goodsId: goods, quantity: 2, at: at))),
        .cart(.quantityChanged(CartItemQuantityChanged(goodsId: goods, quantity: 3, at: at))),
        .cart(.itemRemoved(CartItemRemoved(goodsId: goods, at: at))),
        .cart(.couponApplied(CartCouponApplied(couponId: coupon, code: "SPRING10", at: at))),
        .cart(.couponRemoved(CartCouponRemoved(at: at))),
        .cart(.cleared(CartCleared(at: at))),
        .cart(.checkedOut(CartCheckedOut(orderId: order, at: at))),
        .coupon(
            .created(
                CouponCreated(
                    couponId: coupon, code: "SPRING10", kind: .percent, value: 10, minimumSpend: Money(minorUnits: 5_000),
                    validFrom: at, validUntil: Instant(millisecondsSinceEpoch: 1_792_000_000_000), totalLimit: 1_000,
                    perUserLimit: 1, restrictedTo: nil, createdBy: "system", at: at))),
        .coupon(.redeemed(CouponRedeemed(orderId: order, userId: user, at: at))),
        .coupon(.released(CouponReleased(orderId: order, userId: user, at: at))),
        .coupon(.disabled(CouponDisabled(at: at))),
        .couponCode(.claimed(CouponCodeClaimed(code: "SPRING10", couponId: coupon))),
        .orderNumber(.reserved(OrderNumbersReserved(day: "20260921", first: 101, count: 100))),
        .order(
            .placed(
                OrderPlaced(
                    orderId: order, number: "20260921-000042", userId: user, lines: [line], subtotal: money,
                    discount: Money(minorUnits: 399), couponId: coupon, pointsUsed: 100, pointsValue: Money(minorUnits: 100),
                    total: Money(minorUnits: 3_499), address: sampleAddress, at: at,
                    expiresAt: Instant(millisecondsSinceEpoch: 1_790_001_800_000)))),
        .order(.paid(OrderPaid(paymentId: payment, amount: Money(minorUnits: 3_499), at: at))),
        .order(.shipped(OrderShipped(carrier: "SF Express", trackingNumber: "SF1234567890", at: at))),
        .order(.received(OrderReceived(at: at))),
        .order(.cancelled(OrderCancelled(reason: "changed my mind", refundAmount: Money(minorUnits: 3_499), at: at))),
        .order(.refundRequested(RefundRequested(reason: "arrived broken", at: at))),
        .order(.refundApproved(RefundApproved(at: at))),
        .order(.refundRejected(RefundRejected(reason: "opened and used", at: at))),
        .order(.refunded(OrderRefunded(amount: Money(minorUnits: 3_499), at: at))),
        .order(.expired(OrderExpired(at: at))),
        .payment(
            .initiated(PaymentInitiated(paymentId: payment, orderId: order, provider: "sandbox", amount: Money(minorUnits: 3_499), at: at))),
        .payment(.succeeded(PaymentSucceeded(providerTransactionId: "sbx_0001", amount: Money(minorUnits: 3_499), at: at))),
        .payment(.failed(PaymentFailed(providerTransactionId: "sbx_0002", reason: "card_declined", at: at))),
        .payment(.refunded(PaymentRefunded(amount: Money(minorUnits: 3_499), reason: "refund approved", at: at))),
        .points(.earned(PointsEarned(orderId: order, points: 34, at: at))),
        .points(.redeemed(PointsRedeemed(orderId: order, points: 100, reason: "order", at: at))),
        .points(.refunded(PointsRefunded(orderId: order, points: 100, at: at))),
        .points(.revoked(PointsRevoked(orderId: order, points: 34, at: at))),
        .points(.exchanged(PointsExchanged(points: 500, couponId: coupon, at: at))),
        .user(
            .merchantApplicationSubmitted(
                MerchantApplicationSubmitted(shopName: "西湖茶庄 West Lake Teas", description: "Green tea from Hangzhou", at: at))),
        .user(
            .merchantApplicationApproved(MerchantApplicationApproved(approvedBy: "user:0193a1f2-0000-7000-8000-000000000002:admin", at: at))
        ),
        .user(.merchantApplicationRejected(MerchantApplicationRejected(reason: "no business licence", rejectedBy: "system", at: at))),
        .apiKey(
            .issued(
                ApiKeyIssued(
                    keyId: apiKey, ownerId: merchant, name: "warehouse sync", scopes: [.goodsWrite, .ordersRead],
                    expiresAt: Instant(millisecondsSinceEpoch: 1_820_000_000_000),
                    secretDigest: SecretDigest(hex: "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"),
                    issuedBy: "user:0193a1f2-0000-7000-8000-000000000002:admin", at: at))),
        .apiKey(.revoked(ApiKeyRevoked(reason: "leaked in a log", revokedBy: "user:0193a1f2-0000-7000-8000-000000000002:admin", at: at))),
        .goods(
            .optionsDefined(GoodsOptionsDefined(options: ["颜色", "Size"], values: ["红", "M"], sku: "TEE-RED-M", weightGrams: 180, at: at))),
        .goods(
            .variantAdded(
                VariantAdded(
                    variantId: variant, sku: "TEE-RED-L", values: ["红", "L"], price: Money(minorUnits: 9_900), stock: 30,
                    lowStockThreshold: 3, weightGrams: nil, at: at))),
        .goods(.variantUpdated(VariantUpdated(variantId: variant, lowStockThreshold: 4, weightGrams: 200, at: at))),
        .goods(.variantDelisted(VariantDelisted(variantId: variant, at: at))),
        .goods(.variantRelisted(VariantRelisted(variantId: variant, at: at))),
        .goods(
            .attributesSet(
                GoodsAttributesSet(
                    attributes: [
                        .text("材质 Material", "纯棉 cotton"), .number("Capacity", "1.5", unit: "l"),
                        .choice("产地 Origin", "杭州", of: ["杭州", "上海"]),
                    ], at: at))),
        .skuClaim(.claimed(SkuClaimed(merchantId: merchant, sku: "TEE-RED-L", goodsId: goods, variantId: variant))),
        .delivery(
            .defined(
                DeliveryMethodDefined(
                    methodId: deliveryMethod, name: "顺丰 SF Express",
                    rule: DeliveryRule(
                        flatFee: Money(minorUnits: 1_200), perKilogram: Money(minorUnits: 300), freeAbove: Money(minorUnits: 9_900),
                        areas: [DeliveryArea(area: "浙江", fee: Money(minorUnits: 800)), DeliveryArea(area: "CN")]), at: at))),
        .delivery(.retired(DeliveryMethodRetired(methodId: deliveryMethod, at: at))),
    ]
}

@Suite struct GoldenEncodingTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Snapshots/events")
    static let regenerate = ProcessInfo.processInfo.environment["EMPORIUM_REGENERATE_SNAPSHOTS"] == "1"

    @Test func everyEventTypeHasASample() {
        let sampled = Set(Samples.all.map { EventCodec.encode($0).type })
        let registered = Set(EventCodec.eventTypes.map(\.type))
        #expect(sampled == registered, "missing samples: \(registered.subtracting(sampled).sorted())")
        #expect(Samples.all.count == registered.count)
        // Each type's stored name is its Swift name (a constant now; it was `String(describing:)`).
        for sample in Samples.all { #expect(type(of: sample.payload).eventType == String(describing: type(of: sample.payload))) }
    }

    /// Exactly the types whose fields hold a secret are listed as such, so
    /// audit answers leave their stored bytes out: a new event with a password
    /// hash or a key digest that is not listed fails here.
    @Test func theSecretBearingTypesAreThoseWithSecrets() {
        var bearing: Set<String> = []
        for sample in Samples.all {
            let plain = String(decoding: EventCodec.json(sample), as: UTF8.self)
            let redacted = String(decoding: EventCodec.json(sample, redactingSecrets: true), as: UTF8.self)
            if plain != redacted {
                bearing.insert(sample.eventType)
                #expect(redacted.contains(Secrets.redacted))
                #expect(
                    !redacted.contains(Samples.hash.salt) && !redacted.contains(Samples.hash.hash) && !redacted.contains("5e884898da28"))
            }
        }
        #expect(bearing == EventCodec.secretBearingTypes)
    }

    /// The binary encodings (v2, and v3 for events naming a variant) are stored as hex, 32 bytes a line, so a diff is readable.
    @Test(arguments: Samples.everyVersion)
    func theEncodingIsTheShippedOne(_ sample: DomainEvent) throws {
        let encoded = EventCodec.encode(sample)
        #expect(encoded.schemaVersion == (Samples.atVersion3.contains(sample) ? 3 : 2))
        let file = Self.directory.appendingPathComponent("\(encoded.type).v\(encoded.schemaVersion).hex")
        let hex =
            stride(from: 0, to: encoded.payload.count, by: 32).map { start in
                encoded.payload[start..<min(start + 32, encoded.payload.count)].map { String(format: "%02x", $0) }.joined()
            }.joined(separator: "\n") + "\n"
        if Self.regenerate {
            try FileManager.default.createDirectory(at: Self.directory, withIntermediateDirectories: true)
            try Data(hex.utf8).write(to: file)
        }
        let stored = String(decoding: try Data(contentsOf: file), as: UTF8.self)
        #expect(stored == hex, "\(file.lastPathComponent) changed: give the type a new schema version and an upcaster")
        let digits = Array(stored.replacingOccurrences(of: "\n", with: ""))
        let bytes = try stride(from: 0, to: digits.count, by: 2).map { try #require(UInt8(String(digits[$0...$0 + 1]), radix: 16)) }
        #expect(try EventCodec.decode(type: encoded.type, schemaVersion: encoded.schemaVersion, payload: bytes) == sample)
    }

    /// Version 3 of a variant event is version 2 with the variant last: a v2 payload reads as naming the default
    /// variant, and a v3 payload naming none is never written (nor would a v2 reader take its extra byte).
    @Test(arguments: Samples.atVersion3)
    func aVersion2PayloadReadsAsTheDefaultVariant(_ sample: DomainEvent) throws {
        let withVariant = EventCodec.encode(sample)
        var unnamed = sample
        switch sample {
        case .goods(.priceChanged(var e)): e.variantId = nil; unnamed = .goods(.priceChanged(e))
        case .goods(.stockAdded(var e)): e.variantId = nil; unnamed = .goods(.stockAdded(e))
        case .goods(.stockAdjusted(var e)): e.variantId = nil; unnamed = .goods(.stockAdjusted(e))
        case .goods(.stockReserved(var e)): e.variantId = nil; unnamed = .goods(.stockReserved(e))
        case .goods(.stockReleased(var e)): e.variantId = nil; unnamed = .goods(.stockReleased(e))
        case .goods(.stockShipped(var e)): e.variantId = nil; unnamed = .goods(.stockShipped(e))
        case .goods(.lowStockDetected(var e)): e.variantId = nil; unnamed = .goods(.lowStockDetected(e))
        case .cart(.itemAdded(var e)): e.variantId = nil; unnamed = .cart(.itemAdded(e))
        case .cart(.quantityChanged(var e)): e.variantId = nil; unnamed = .cart(.quantityChanged(e))
        case .cart(.itemRemoved(var e)): e.variantId = nil; unnamed = .cart(.itemRemoved(e))
        case .goods(.reviewPosted(var e)): e.awaitingModeration = nil; unnamed = .goods(.reviewPosted(e))
        case .payment(.initiated(var e)): e.afterSaleId = nil; unnamed = .payment(.initiated(e))
        case .order(.placed(var e)):
            for index in e.lines.indices { (e.lines[index].variantId, e.lines[index].variant) = (nil, nil) }
            e.delivery = nil
            unnamed = .order(.placed(e))
        default: Issue.record("\(sample.eventType) is not a variant event")
        }
        let written = EventCodec.encode(unnamed)
        #expect(written.schemaVersion == 2)
        #expect(try EventCodec.decode(type: written.type, schemaVersion: 2, payload: written.payload) == unnamed)
        if case .order = sample {
            #expect(withVariant.payload.count > written.payload.count)
        } else {
            // The same fields, then the variant's presence byte and its 16 bytes (the flag's presence byte and its byte).
            #expect(Array(withVariant.payload.prefix(written.payload.count)) == written.payload)
            #expect(withVariant.payload.count == written.payload.count + (sample.eventType == ReviewPosted.eventType ? 2 : 17))
        }
        #expect(throws: EventCodec.Failure.self) {
            try EventCodec.decode(type: written.type, schemaVersion: 2, payload: withVariant.payload)
        }
    }

    /// Version 1 (JSON) shipped first: its golden files still decode to the same events.
    /// Types added after version 2 became the stored form never had a version 1.
    @Test(arguments: Samples.all.filter { !Samples.bornAtVersion2.contains($0.eventType) })
    func theFirstShippedEncodingStillDecodes(_ sample: DomainEvent) throws {
        let encoded = EventCodec.encodeVersion1(sample)
        let file = Self.directory.appendingPathComponent("\(encoded.type).v1.json")
        let stored = try Data(contentsOf: file)
        #expect(Array(stored.dropLast()) == encoded.payload, "\(file.lastPathComponent) is a shipped encoding: never edit it")
        #expect(try EventCodec.decode(type: encoded.type, schemaVersion: 1, payload: Array(stored.dropLast())) == sample)
    }

    /// Damaged binary payloads are clear errors, never crashes.
    @Test(arguments: Samples.everyVersion)
    func aDamagedBinaryPayloadIsAnError(_ sample: DomainEvent) throws {
        let encoded = EventCodec.encode(sample)
        for cut in [0, 1, encoded.payload.count / 2, encoded.payload.count - 1] where cut < encoded.payload.count {
            #expect(throws: EventCodec.Failure.self) {
                try EventCodec.decode(type: encoded.type, schemaVersion: encoded.schemaVersion, payload: Array(encoded.payload.prefix(cut)))
            }
        }
        #expect(throws: EventCodec.Failure.self) {
            try EventCodec.decode(type: encoded.type, schemaVersion: encoded.schemaVersion, payload: encoded.payload + [0])
        }
    }

    @Test func unknownTypesAndVersionsAreClearErrors() {
        #expect(throws: EventCodec.Failure.unknownType("Nope")) { try EventCodec.decode(type: "Nope", schemaVersion: 1, payload: []) }
        #expect(throws: EventCodec.Failure.unknownSchemaVersion(type: "OrderPaid", version: 9)) {
            try EventCodec.decode(type: "OrderPaid", schemaVersion: 9, payload: [])
        }
        #expect(throws: EventCodec.Failure.self) { try EventCodec.decode(type: "OrderPaid", schemaVersion: 1, payload: Array("{}".utf8)) }
    }
}

/// A reversible stand-in for the key vault: deterministic, so sealed payloads can be compared byte for byte.
private struct ReversibleCipher: PersonalDataCipher {
    func seal(_ text: String, owner: UserId) throws -> String {
        PersonalData.sealedPrefix + owner.description + ":" + Data(text.utf8).base64EncodedString()
    }
    func open(_ sealed: String) -> String? {
        guard sealed.hasPrefix(PersonalData.sealedPrefix),
            let data = sealed.split(separator: ":").last.flatMap({ Data(base64Encoded: String($0)) })
        else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}

@Suite struct FastEventEncodingTests {
    /// Every hand-written event encoder writes what the `Encodable` path writes, plain and sealed.
    @Test(arguments: Samples.everyVersion)
    func theFastEncoderWritesTheCodableBytes(_ sample: DomainEvent) throws {
        let owner = UserId(UUID(uuidString: "0195c0de-0000-7000-8000-0000000000aa") ?? UUID())
        guard let plain = try EventCodec.fastEncoded(sample, sealingFor: nil, with: nil) else { return }
        let codable = try EventCodec.codableEncoded(sample, sealingFor: nil, with: nil)
        #expect(plain == codable)
        let cipher = ReversibleCipher()
        let sealed = try EventCodec.fastEncoded(sample, sealingFor: owner, with: cipher)
        #expect(sealed == (try EventCodec.codableEncoded(sample, sealingFor: owner, with: cipher)))
        if let sealed {
            #expect(
                try EventCodec.decode(type: sample.eventType, schemaVersion: sealed.schemaVersion, payload: sealed.payload, opening: cipher)
                    == sample)
        }
    }

    @Test func theHotEventsHaveFastEncoders() throws {
        let fast = try Samples.all.filter { try EventCodec.fastEncoded($0, sealingFor: nil, with: nil) != nil }.map(\.eventType)
        for type in ["CartItemAdded", "CartCheckedOut", "StockReserved", "OrderPlaced", "OrderPaid", "PointsEarned"] {
            #expect(fast.contains(type), "\(type) lost its fast encoder")
        }
    }
}
