import Commerce
import Crypto
import EventCodec
import EventStore
import Foundation

/// The engine's front door: a typed command in, its outcome out. Each
/// command becomes a domain command (with the ids, salts and time only the
/// engine may give), and its aggregate's decider runs through `decide`:
/// load what it reads, decide, append, retry on a conflict.
extension Engine {
    /// Runs `command` for the caller in `context`. Who may send it is checked
    /// first (an anonymous caller, an API key's scopes); every failure is an
    /// `EngineError` with a code from a closed set.
    public func execute(_ command: Command, context: CommandContext) async throws(EngineError) -> CommandOutcome {
        try Self.admit(command.kind, context.actor)
        var context = context
        if context.idempotencyKey != nil, context.requestFingerprint == nil { context.requestFingerprint = Self.fingerprint(of: command) }
        do {
            return try await run(command, context: context)
        } catch let error as EngineError {
            throw error
        } catch let rejection as Rejection {
            throw EngineError(rejection)
        } catch let error as EventLogError {
            throw EngineError(error)
        } catch {
            throw EngineError(.internalError, "\(command.kind.rawValue) failed: \(error)")
        }
    }

    /// Whether `actor` may send commands of `kind` at all: checked before a
    /// command's data is judged (the HTTP edge calls it before decoding `data`).
    public static func admit(_ kind: CommandKind, _ actor: Actor?) throws(EngineError) {
        switch (kind.access, actor) {
        case (.anyone, .apiKey?):
            throw EngineError(.insufficientScope, "\(kind.rawValue) is not for API keys")
        case (.anyone, _): return
        case (.signedIn, nil), (.signedIn, .anonymous?):
            throw EngineError(.unauthenticated, "this request needs a bearer token (Authorization: Bearer <token>)")
        case (.signedIn(let scope), .apiKey(let key)?):
            guard let scope else { throw EngineError(.insufficientScope, "\(kind.rawValue) is not for API keys; sign in as a person") }
            guard key.allows(scope) else {
                throw EngineError(.insufficientScope, "this key lacks the \(scope.rawValue) scope", details: ["scope": scope.rawValue])
            }
        case (.signedIn, _?): return
        }
    }

    /// A typed command's fingerprint for its `Idempotency-Key` (the HTTP edge gives the request body's instead).
    static func fingerprint(of command: Command) -> String {
        SHA256Hex.of(String(reflecting: command))
    }

    private func run(_ command: Command, context: CommandContext) async throws -> CommandOutcome {
        let type = command.kind.rawValue
        switch command {
        // Users and access.
        case let .registerUser(email, password, name, phone, role):
            let userId: UserId = newId()
            return try await decide(Users.self, type, context, answer: { _, _, _, result in result.userId = userId }) { _, at in
                .register(
                    RegisterUser(
                        userId: userId, email: email, password: password, name: name, phone: phone, role: role,
                        salt: self.configuration.randomBytes(PasswordHash.saltBytes), at: at))
            }
        case let .login(email, password):
            return try await decide(
                Users.self, type, context,
                answer: { _, loaded, decision, result in
                    // A token only for a login that succeeded (a refused one is appended, then thrown).
                    let claim: EmailClaimState = loaded[.emailClaim(Users.normalizedEmail(email))]
                    guard decision.refusal == nil, let userId = claim.owner else { return }
                    let user: UserState = loaded[.user(userId)]
                    result.userId = userId
                    result.role = user.role
                    result.token = self.tokens.issue(for: userId, role: user.role)
                }
            ) { _, at in .login(email: email, Login(password: password, at: at)) }
        case let .updateProfile(userId, name, phone):
            return try await onUser(userId, type, context) { .updateProfile(name: name, phone: phone) }
        case let .changePassword(oldPassword, newPassword):
            return try await onUser(nil, type, context) {
                .changePassword(old: oldPassword, new: newPassword, salt: self.configuration.randomBytes(PasswordHash.saltBytes))
            }
        case let .addAddress(address, makeDefault):
            let addressId: AddressId = newId()
            return try await onUser(nil, type, context, made: { $0.addressId = addressId }) {
                .addAddress(addressId, address, makeDefault: makeDefault)
            }
        case let .updateAddress(addressId, address): return try await onUser(nil, type, context) { .updateAddress(addressId, address) }
        case .removeAddress(let addressId): return try await onUser(nil, type, context) { .removeAddress(addressId) }
        case .setDefaultAddress(let addressId): return try await onUser(nil, type, context) { .setDefaultAddress(addressId) }
        case .addFavorite(let goodsId): return try await onUser(nil, type, context) { .addFavorite(goodsId) }
        case .removeFavorite(let goodsId): return try await onUser(nil, type, context) { .removeFavorite(goodsId) }
        case .recordView(let goodsId): return try await onUser(nil, type, context) { .recordView(goodsId) }
        case let .grantRole(userId, role): return try await onUser(userId, type, context) { .grantRole(role) }
        case .forgetUser(let userId): return try await onUser(userId, type, context) { .forget }
        case let .applyForMerchant(shopName, description):
            return try await onUser(nil, type, context) { .applyForMerchant(shopName: shopName, description: description) }
        case .approveMerchantApplication(let userId): return try await onUser(userId, type, context) { .approveMerchantApplication }
        case let .rejectMerchantApplication(userId, reason):
            return try await onUser(userId, type, context) { .rejectMerchantApplication(reason: reason) }
        case let .issueApiKey(name, scopes, expiresAt, ownerId):
            let keyId: ApiKeyId = newId()
            let secret = ApiKeySecret.make(keyId: keyId, randomBytes: configuration.randomBytes(ApiKeySecret.randomBytes))
            return try await decide(
                ApiKeys.self, type, context,
                answer: { command, _, _, result in
                    guard case .issue(let issue) = command else { return }
                    (result.keyId, result.secret, result.ownerId, result.scopes, result.expiresAt) = (
                        keyId, secret, issue.ownerId, scopes, expiresAt
                    )
                }
            ) { actor, at in
                guard let ownerId = ownerId ?? actor.userId else { throw EngineError(.missingField, "data.ownerId is required") }
                return .issue(
                    IssueApiKey(
                        keyId: keyId, ownerId: ownerId, name: name, scopes: scopes, expiresAt: expiresAt,
                        secretDigest: ApiKeySecret.digest(secret), at: at))
            }
        case let .revokeApiKey(keyId, reason):
            return try await decide(ApiKeys.self, type, context, answer: { _, _, _, result in result.keyId = keyId }) { _, _ in
                .revoke(keyId, reason: reason)
            }
        // Goods.
        case let .listGoods(details, price, stock):
            let goodsId: GoodsId = newId()
            return try await onGoods(goodsId, type, context) { .list(goodsId, details, price: price, stock: stock) }
        case let .listGoodsWithVariants(details, options, variants, attributes):
            let goodsId: GoodsId = newId()
            let ids: [VariantId] = variants.indices.map { $0 == 0 ? goodsId.defaultVariant : newId() }
            return try await onGoods(goodsId, type, context, variantIds: ids) {
                .listVariants(goodsId, details, options: options, variants: zip(ids, variants).map(NewVariant.init), attributes: attributes)
            }
        case let .updateGoods(goodsId, details): return try await onGoods(goodsId, type, context) { .update(details) }
        case let .changePrice(goodsId, price, variant):
            return try await onGoods(goodsId, type, context) { .changePrice(price, variant: variant) }
        case let .restock(goodsId, quantity, variant):
            return try await onGoods(goodsId, type, context) { .restock(quantity, variant: variant) }
        case let .adjustStock(goodsId, delta, reason, variant):
            return try await onGoods(goodsId, type, context) { .adjustStock(delta: delta, reason: reason, variant: variant) }
        case let .defineOptions(goodsId, options, values, sku):
            return try await onGoods(goodsId, type, context) { .defineOptions(options, values: values, sku: sku) }
        case let .addVariant(goodsId, terms):
            let variantId: VariantId = newId()
            return try await onGoods(goodsId, type, context, variantIds: [variantId]) { .addVariant(NewVariant(variantId, terms)) }
        case let .updateVariant(goodsId, variantId, threshold, weightGrams):
            return try await onGoods(goodsId, type, context, variantIds: [variantId]) {
                .updateVariant(variantId, lowStockThreshold: threshold, weightGrams: weightGrams)
            }
        case let .delistVariant(goodsId, variantId):
            return try await onGoods(goodsId, type, context, variantIds: [variantId]) { .delistVariant(variantId) }
        case let .relistVariant(goodsId, variantId):
            return try await onGoods(goodsId, type, context, variantIds: [variantId]) { .relistVariant(variantId) }
        case let .setAttributes(goodsId, attributes): return try await onGoods(goodsId, type, context) { .setAttributes(attributes) }
        case let .openPreOrders(goodsId, variant, cap, endsAt, arrivesBy):
            return try await onGoods(goodsId, type, context) {
                .preOrders(.open(variant: variant, cap: cap, endsAt: endsAt, arrivesBy: arrivesBy))
            }
        case let .cancelPreOrders(goodsId, variant, reason):
            return try await onGoods(goodsId, type, context) { .preOrders(.cancel(variant: variant, reason: reason)) }
        // Webhooks.
        case let .registerWebhook(url, eventTypes, from):
            let known = Set(EventCodec.eventTypes.map(\.type))
            if let unknown = eventTypes.first(where: { !known.contains($0) }) {
                throw EngineError(.invalidInput, "\(unknown) is not an event type", details: ["field": "eventTypes"])
            }
            let webhookId: WebhookId = newId()
            let start = min(from ?? log.headPosition, log.headPosition)
            return try await decide(
                Webhooks.self, type, context,
                answer: { _, _, _, result in (result.webhookId, result.secret) = (webhookId, self.webhookSecret(webhookId)) }
            ) { _, _ in Webhooks.Command(webhookId, .register(webhookId, url: url, eventTypes: eventTypes, from: start)) }
        case let .disableWebhook(webhookId, reason):
            return try await onWebhook(webhookId, type, context) { .disable(reason: reason) }
        case .replayWebhookDeadLetters(let webhookId): return try await onWebhook(webhookId, type, context) { .replayDeadLetters }
        case .delist(let goodsId): return try await onGoods(goodsId, type, context) { .delist }
        case .relist(let goodsId): return try await onGoods(goodsId, type, context) { .relist }
        case let .postReview(goodsId, orderId, rating, text):
            let reviewId: ReviewId = newId()
            return try await decide(Catalog.self, type, context, answer: { _, _, _, result in result.reviewId = reviewId }) { _, at in
                .review(PostReview(reviewId: reviewId, goodsId: goodsId, orderId: orderId, rating: rating, text: text, at: at))
            }
        case let .moderateReview(goodsId, reviewId, verdict, reason):
            return try await onReview(goodsId, reviewId, type, context) { .moderate(verdict, reason: reason) }
        case let .replyToReview(goodsId, reviewId, text):
            return try await onReview(goodsId, reviewId, type, context) { .reply(text: text) }
        case let .editReview(goodsId, reviewId, rating, text):
            return try await onReview(goodsId, reviewId, type, context) { .edit(rating: rating, text: text) }
        case let .joinWaitlist(goodsId, variant):
            return try await decide(Catalog.self, type, context, answer: { _, _, _, result in result.goodsId = goodsId }) { _, _ in
                .waitlist(goodsId, .join(variant: variant))
            }
        case let .leaveWaitlist(goodsId, variant):
            return try await decide(Catalog.self, type, context, answer: { _, _, _, result in result.goodsId = goodsId }) { _, _ in
                .waitlist(goodsId, .leave(variant: variant))
            }
        // Carts and coupons.
        case let .addToCart(goodsId, quantity, variant):
            return try await decide(Carts.self, type, context) { _, _ in .add(goodsId, quantity: quantity, variant: variant) }
        case let .changeQuantity(goodsId, quantity, variant):
            return try await decide(Carts.self, type, context) { _, _ in .changeQuantity(goodsId, quantity: quantity, variant: variant) }
        case let .removeFromCart(goodsId, variant):
            return try await decide(Carts.self, type, context) { _, _ in .remove(goodsId, variant: variant) }
        case .applyCoupon(let code): return try await decide(Carts.self, type, context) { _, _ in .applyCoupon(code: code) }
        case .removeCoupon: return try await decide(Carts.self, type, context) { _, _ in .removeCoupon }
        case .clearCart: return try await decide(Carts.self, type, context) { _, _ in .clear }
        case .createCoupon(let terms):
            let couponId: CouponId = newId()
            let code = Coupons.normalizedCode(terms.code)
            return try await decide(
                Coupons.self, type, context, answer: { _, _, _, result in (result.couponId, result.code) = (couponId, code) }
            ) { _, at in
                .create(
                    CreateCoupon(
                        couponId: couponId, code: terms.code, kind: terms.kind, value: terms.value, minimumSpend: terms.minimumSpend,
                        validFrom: terms.validFrom ?? at, validUntil: terms.validUntil, totalLimit: terms.totalLimit,
                        perUserLimit: terms.perUserLimit, at: at))
            }
        case .disableCoupon(let couponId):
            return try await decide(Coupons.self, type, context, answer: { _, _, _, result in result.couponId = couponId }) { _, _ in
                .disable(couponId)
            }
        case .createPromotion(let terms):
            let promotionId: PromotionId = newId()
            return try await decide(Promotions.self, type, context, answer: { _, _, _, result in result.promotionId = promotionId }) {
                _, at in
                .create(
                    CreatePromotion(
                        promotionId: promotionId, name: terms.name, rule: terms.rule, target: terms.target, budget: terms.budget,
                        validFrom: terms.validFrom ?? at, validUntil: terms.validUntil, at: at))
            }
        case let .endPromotion(promotionId, reason):
            return try await decide(Promotions.self, type, context, answer: { _, _, _, result in result.promotionId = promotionId }) {
                _, _ in .end(promotionId, reason: reason)
            }
        // Orders and payments.
        case let .defineDeliveryMethod(methodId, name, rule, merchantId):
            let methodId = methodId ?? newId()
            return try await decide(
                DeliveryMethods.self, type, context, answer: { _, _, _, result in result.deliveryMethodId = methodId }
            ) { _, _ in .onMethods(merchant: merchantId, .define(methodId, name: name, rule: rule)) }
        case let .retireDeliveryMethod(methodId, merchantId):
            return try await decide(
                DeliveryMethods.self, type, context, answer: { _, _, _, result in result.deliveryMethodId = methodId }
            ) { _, _ in .onMethods(merchant: merchantId, .retire(methodId)) }
        case let .placeOrder(addressId, pointsToUse, items, deliveryMethodId):
            let number = try await orderNumbers.number(at: now)
            let orderId: OrderId = newId()
            return try await decide(
                Orders.self, type, context,
                answer: { _, _, decision, result in
                    (result.orderId, result.number) = (orderId, number)
                    if case .order(.placed(let placed))? = decision.events(for: .order(orderId)).first { result.total = placed.total }
                }
            ) { _, at in
                .place(
                    PlaceOrder(
                        orderId: orderId, number: number, addressId: addressId, pointsToUse: pointsToUse, items: items,
                        deliveryMethodId: deliveryMethodId, at: at))
            }
        case let .payOrder(orderId, amount):
            let paymentId: PaymentId = newId()
            return try await onOrder(orderId, type, context) { .pay(paymentId, amount: amount) }
        case let .shipOrder(orderId, carrier, trackingNumber):
            return try await onOrder(orderId, type, context) { .ship(carrier: carrier, trackingNumber: trackingNumber) }
        case .confirmReceipt(let orderId): return try await onOrder(orderId, type, context) { .confirmReceipt }
        case let .cancelOrder(orderId, reason): return try await onOrder(orderId, type, context) { .cancel(reason: reason) }
        case let .requestRefund(orderId, reason): return try await onOrder(orderId, type, context) { .requestRefund(reason: reason) }
        case .approveRefund(let orderId): return try await onOrder(orderId, type, context) { .approveRefund }
        // After-sale.
        case let .requestAfterSale(orderId, kind, resolution, lines, reason):
            let afterSaleId: AfterSaleId = newId()
            return try await onAfterSale(afterSaleId, type, context) {
                .request(orderId: orderId, kind: kind, resolution: resolution, lines: lines, reason: reason)
            }
        case .approveAfterSale(let id): return try await onAfterSale(id, type, context) { .approve }
        case let .rejectAfterSale(id, reason): return try await onAfterSale(id, type, context) { .reject(reason: reason) }
        case let .receiveReturn(id, lines): return try await onAfterSale(id, type, context) { .receive(lines) }
        case let .shipReplacement(id, carrier, trackingNumber):
            return try await onAfterSale(id, type, context) { .shipReplacement(carrier: carrier, trackingNumber: trackingNumber) }
        case .refundExchange(let id): return try await onAfterSale(id, type, context) { .refundExchange }
        case let .rejectRefund(orderId, reason): return try await onOrder(orderId, type, context) { .rejectRefund(reason: reason) }
        case .expireOrder(let orderId): return try await onOrder(orderId, type, context) { .expire }
        case let .initiatePayment(orderId, provider, afterSaleId):
            let paymentId: PaymentId = newId()
            return try await decide(
                Payments.self, type, context,
                answer: { _, _, decision, result in
                    result.paymentId = paymentId
                    if case .payment(.initiated(let initiated))? = decision.allEvents.first { result.amount = initiated.amount }
                }
            ) { _, at in
                .initiate(orderId: orderId, InitiatePayment(paymentId: paymentId, provider: provider, at: at, afterSaleId: afterSaleId))
            }
        case let .refundPayment(paymentId, reason):
            return try await decide(Payments.self, type, context, answer: { _, _, _, result in result.paymentId = paymentId }) { _, _ in
                .refund(paymentId, reason: reason)
            }
        // Points.
        case let .redeemPoints(points, reason):
            return try await decide(Points.self, type, context) { _, _ in .redeem(points, reason: reason) }
        case let .exchangePoints(points, code, validDays):
            let couponId: CouponId = newId()
            let normalized = Coupons.normalizedCode(code ?? "PTS-\(couponId.description.suffix(8))")
            return try await decide(
                Points.self, type, context, answer: { _, _, _, result in (result.couponId, result.code) = (couponId, normalized) }
            ) { _, at in
                // checked before the days become seconds (that could overflow)
                guard (1...Limits.exchangedCouponDaysMax).contains(validDays) else {
                    throw Rejection(.invalidInput, "validDays must be between 1 and \(Limits.exchangedCouponDaysMax)", field: "validDays")
                }
                return .exchange(
                    ExchangePoints(
                        points: points, couponId: couponId, code: normalized,
                        validUntil: at.adding(seconds: Int64(validDays) * 86_400), at: at))
            }
        }
    }

    // MARK: Running a decider

    /// A command on a user's record (`userId` nil: the caller's own); the answer names the user.
    private func onUser(
        _ userId: UserId?, _ type: String, _ context: CommandContext, made: (inout CommandResult) -> Void = { _ in },
        _ make: () throws -> UserCommand
    ) async throws -> CommandOutcome {
        try await decide(
            Users.self, type, context,
            answer: { command, _, _, result in
                made(&result)
                if case .onUser(let id, _) = command { result.userId = id }
            }
        ) { actor, _ in
            guard let id = userId ?? actor.userId else { throw EngineError(.missingField, "data.userId is required") }
            return .onUser(id, try make())
        }
    }

    private func onGoods(
        _ goodsId: GoodsId, _ type: String, _ context: CommandContext, variantIds: [VariantId]? = nil, _ make: () -> GoodsCommand
    ) async throws -> CommandOutcome {
        try await decide(
            Catalog.self, type, context, answer: { _, _, _, result in (result.goodsId, result.variantIds) = (goodsId, variantIds) }
        ) { _, _ in .goods(goodsId, make()) }
    }

    private func onReview(
        _ goodsId: GoodsId, _ reviewId: ReviewId, _ type: String, _ context: CommandContext, _ make: () -> ReviewCommand
    ) async throws -> CommandOutcome {
        try await decide(
            Catalog.self, type, context, answer: { _, _, _, result in (result.goodsId, result.reviewId) = (goodsId, reviewId) }
        ) { _, _ in .reviewAction(goodsId, reviewId, make()) }
    }

    /// An after-sale step; the result names the request, its order and what it refunded.
    func onAfterSale(
        _ id: AfterSaleId, _ type: String, _ context: CommandContext, _ make: () -> AfterSaleCommand
    ) async throws -> CommandOutcome {
        try await decide(
            AfterSales.self, type, context,
            answer: { _, loaded, decision, result in
                result.afterSaleId = id
                let afterSale: AfterSaleState = loaded[.afterSale(id)]
                result.orderId = afterSale.requested?.orderId
                for case .afterSale(.requested(let requested)) in decision.allEvents { result.orderId = requested.orderId }
                for case .afterSale(.refunded(let refunded)) in decision.allEvents { result.amount = refunded.amount }
            }
        ) { _, _ in AfterSales.Command(id, make()) }
    }

    func onWebhook(
        _ webhookId: WebhookId, _ type: String, _ context: CommandContext, _ make: () -> WebhookCommand
    ) async throws -> CommandOutcome {
        try await decide(Webhooks.self, type, context, answer: { _, _, _, result in result.webhookId = webhookId }) { _, _ in
            Webhooks.Command(webhookId, make())
        }
    }

    private func onOrder(
        _ orderId: OrderId, _ type: String, _ context: CommandContext, _ make: () -> OrderCommand
    ) async throws -> CommandOutcome {
        try await decide(Orders.self, type, context, answer: { _, _, _, result in result.orderId = orderId }) { _, _ in
            .onOrder(orderId, make())
        }
    }

    /// Runs decider `D` on the command `make` builds for the caller (afresh on each attempt, with the
    /// attempt's time): loads what `D.reads` names, decides, appends; retried on a conflict. `answer`
    /// fills the result from the command, the states it read and its decision.
    func decide<D: Decider>(
        _ decider: D.Type, _ type: String, _ context: CommandContext,
        answer: (D.Command, Loaded, Decision, inout CommandResult) -> Void = { _, _, _, _ in },
        _ make: (Actor, Instant) throws -> D.Command
    ) async throws -> CommandOutcome {
        try await run(context, commandType: type) { execution in
            let actor = try execution.caller()
            let command = try make(actor, execution.at)
            let loaded = try D.load(command, actor: actor) { stream in try execution.loadAny(stream) }
            let decision = try D.decide(command, actor: actor, loaded: loaded, at: execution.at, policy: self.policy)
            var result = CommandResult()
            answer(command, loaded, decision, &result)
            return (decision, result)
        }
    }
}

enum SHA256Hex {
    static func of(_ text: String) -> String { SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined() }
}

/// Who may send a command, checked before its data is read: an anonymous
/// caller reaches only the commands that need no account, and an API key
/// only the commands its scopes name.
public enum CommandAccess: Sendable, Hashable {
    /// Anyone, signed in or not (RegisterUser, Login); never an API key.
    case anyone
    /// A signed-in user; an API key too when it holds `scope` (nil: keys never).
    case signedIn(scope: Scope?)

    /// The scope an API key needs for the command, or nil when keys may not send it.
    public var scope: Scope? {
        if case .signedIn(let scope) = self { return scope }
        return nil
    }
}
