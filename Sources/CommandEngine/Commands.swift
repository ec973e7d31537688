import Commerce
import EventStore
import Foundation

/// The command catalog: every command the engine takes, by the name clients
/// send (`{"type": "PlaceOrder", "data": {…}}`), with the streams it loads.
extension Engine {
    /// One command type: how its `data` is read, and how it runs.
    struct Handler: Sendable {
        /// Reads the command's input from the decoder positioned at `data`.
        let decode: @Sendable (any Decoder) throws -> any Sendable
        let run: @Sendable (Engine, any Sendable, CommandContext) async throws -> CommandResult
        /// Who may send it at all, checked before its data is read.
        let access: CommandAccess
    }

    /// Every command type the engine knows, sorted.
    public static let commandTypes: [String] = handlers.keys.sorted()

    /// Whether `type` names a command the engine knows.
    public static func knows(_ type: String) -> Bool { handlers[type] != nil }

    /// Who may send `type`: anonymous callers, API keys with which scope.
    public static func access(ofCommand type: String) -> CommandAccess? { handlers[type]?.access }

    /// Decodes and executes one command whose `data` is given apart.
    public func execute(type: String, data: Data, context: CommandContext) async throws -> CommandResult {
        try await execute(DecodedCommand(type: type, data: data), context: context)
    }

    /// Executes a command decoded from a request body (`DecodedCommand(envelope:)`).
    /// Unknown types and invalid data are thrown here, after the caller was authenticated.
    public func execute(_ command: DecodedCommand, context: CommandContext) async throws -> CommandResult {
        if let access = Self.handlers[command.type]?.access { try access.admits(context.actor, commandType: command.type) }
        let (handler, input) = try command.decoded.get()
        var context = context
        if context.idempotencyKey != nil { context.requestFingerprint = command.fingerprint }
        do {
            return try await handler.run(self, input, context)
        } catch let rejection as Rejection {
            throw EngineError(rejection)
        } catch let error as EventLogError {
            throw EngineError(error)
        }
    }

    private struct AnyKey: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// A handler whose input is `D`.
    private static func handler<D: Decodable & Sendable>(_ name: String, _ type: D.Type, _ access: CommandAccess = .signedIn(scope: nil),
                                                          _ run: @escaping @Sendable (Engine, D, CommandContext) async throws -> CommandResult) -> (String, Handler) {
        (name, Handler(decode: { decoder in
            _ = try decoder.container(keyedBy: AnyKey.self)  // `data` is an object, even for inputs without fields
            return try D(from: decoder)
        }, run: { engine, input, context in
            guard let input = input as? D else { preconditionFailure("\(name) was handed another command's input") }
            return try await run(engine, input, context)
        }, access: access))
    }

    /// A handler that decodes `D` and decides with it, retried on conflicts.
    private static func command<D: Decodable & Sendable>(_ name: String, _ type: D.Type, _ access: CommandAccess = .signedIn(scope: nil),
                                                          _ body: @escaping @Sendable (D, inout Execution) throws -> (Decision, [String: String])) -> (String, Handler) {
        handler(name, D.self, access) { engine, input, context in
            try await engine.run(context, commandType: name) { execution in try body(input, &execution) }
        }
    }

    static let handlers: [String: Handler] = Dictionary(uniqueKeysWithValues: userCommands + goodsCommands + cartCommands + orderCommands + pointsCommands + accessCommands)

    // MARK: Users

    private static let userCommands: [(String, Handler)] = [
        command("RegisterUser", RegisterUserInput.self, .anyone) { input, execution in
            let engine = execution.engine
            let userId: UserId = engine.newId()
            let email = Users.normalizedEmail(input.email)
            let command = RegisterUser(userId: userId, email: input.email, password: input.password, name: input.name, phone: input.phone ?? "",
                                       role: input.role ?? .customer, salt: execution.engine.configuration.randomBytes(PasswordHash.saltBytes), at: execution.at)
            // An anonymous caller stays anonymous (it registers customers only); a signed-in one acts with the role their record has now.
            let actor = execution.context.actor == nil ? nil : try execution.requireActor()
            let decision = try Users.register(command, actor: actor, claim: try execution.load(.emailClaim(email)),
                                              user: try execution.load(.user(userId)), policy: engine.policy)
            return (decision, ["userId": userId.description])
        },
        handler("Login", LoginInput.self, .anyone) { engine, input, context in
            var rejection: Rejection?
            let answer = try await engine.run(context, commandType: "Login") { execution in
                let claim: EmailClaimState = try execution.load(.emailClaim(Users.normalizedEmail(input.email)))
                let user: UserState = try claim.owner.map { try execution.load(.user($0)) } ?? UserState()
                let result = try Users.login(Login(password: input.password, at: execution.at), user: user, policy: engine.policy)
                rejection = result.rejection
                guard result.rejection == nil, let userId = user.userId else { return (result.decision, [:]) }
                return (result.decision, ["userId": userId.description, "role": user.role.rawValue,
                                          "token": engine.tokens.issue(for: userId, role: user.role)])
            }
            if let rejection { throw EngineError(rejection) }
            return answer
        },
        command("UpdateProfile", ProfileInput.self) { input, execution in
            try userCommand(.updateProfile(name: input.name, phone: input.phone ?? ""), target: input.userId, &execution)
        },
        command("ChangePassword", ChangePasswordInput.self) { input, execution in
            try userCommand(.changePassword(old: input.oldPassword, new: input.newPassword, salt: execution.engine.configuration.randomBytes(PasswordHash.saltBytes)), target: nil, &execution)
        },
        command("AddAddress", AddAddressInput.self) { input, execution in
            let addressId: AddressId = execution.engine.newId()
            var (decision, values) = try userCommand(.addAddress(addressId, input.address.address, makeDefault: input.makeDefault ?? false), target: nil, &execution)
            values["addressId"] = addressId.description
            return (decision, values)
        },
        command("UpdateAddress", AddressInput.self) { input, execution in
            try userCommand(.updateAddress(input.addressId, input.address?.address ?? Address(recipient: "", phone: "", line1: "", city: "", postalCode: "", country: "")), target: nil, &execution)
        },
        command("RemoveAddress", AddressInput.self) { input, execution in try userCommand(.removeAddress(input.addressId), target: nil, &execution) },
        command("SetDefaultAddress", AddressInput.self) { input, execution in try userCommand(.setDefaultAddress(input.addressId), target: nil, &execution) },
        command("AddFavorite", GoodsRef.self) { input, execution in try userCommand(.addFavorite(input.goodsId), target: nil, &execution) },
        command("RemoveFavorite", GoodsRef.self) { input, execution in try userCommand(.removeFavorite(input.goodsId), target: nil, &execution) },
        command("RecordView", GoodsRef.self) { input, execution in try userCommand(.recordView(input.goodsId), target: nil, &execution) },
        command("GrantRole", GrantRoleInput.self) { input, execution in try userCommand(.grantRole(input.role), target: input.userId, &execution) },
        command("ForgetUser", UserRef.self) { input, execution in try userCommand(.forget, target: input.userId, &execution) },
        command("ApplyForMerchant", MerchantApplicationInput.self) { input, execution in
            try userCommand(.applyForMerchant(shopName: input.shopName, description: input.description ?? ""), target: nil, &execution)
        },
        command("ApproveMerchantApplication", TargetUserInput.self) { input, execution in
            try userCommand(.approveMerchantApplication, target: input.userId, &execution)
        },
        command("RejectMerchantApplication", RejectApplicationInput.self) { input, execution in
            try userCommand(.rejectMerchantApplication(reason: input.reason), target: input.userId, &execution)
        },
    ]

    /// The caller's own user id (customers, merchants and admins are users).
    static func caller(_ execution: inout Execution) throws -> UserId {
        guard let id = try execution.requireActor().userId else { throw EngineError(.forbidden, "this command is for users") }
        return id
    }

    /// A user command on `target` (default: the caller), with the goods it names loaded.
    static func userCommand(_ command: UserCommand, target: UserId?, _ execution: inout Execution) throws -> (Decision, [String: String]) {
        let actor = try execution.requireActor()
        guard let userId = target ?? actor.userId else { throw EngineError(.invalidInput, code: "missing_field", "data.userId is required") }
        var goods: GoodsState?
        switch command {
        case .addFavorite(let id), .removeFavorite(let id), .recordView(let id): goods = try execution.load(.goods(id))
        default: goods = nil
        }
        let user: UserState = try execution.load(.user(userId))
        if case .forget = command, !user.email.isEmpty {
            _ = try execution.load(.emailClaim(user.email), as: EmailClaimState.self)  // ForgetUser releases the claim
        }
        let decision = try Users.decide(command, actor: actor, user: user, goods: goods, at: execution.at, policy: execution.engine.policy)
        return (decision, ["userId": userId.description])
    }

    // MARK: Goods

    private static let goodsCommands: [(String, Handler)] = [
        command("ListGoods", ListGoodsInput.self, .signedIn(scope: .goodsWrite)) { input, execution in
            let goodsId: GoodsId = execution.engine.newId()
            let decision = try Catalog.decide(.list(goodsId, input.fields.details, price: Money(minorUnits: input.price), stock: input.stock),
                                              actor: try execution.requireActor(), goods: try execution.load(.goods(goodsId)), at: execution.at)
            return (decision, ["goodsId": goodsId.description])
        },
        command("UpdateGoods", UpdateGoodsInput.self, .signedIn(scope: .goodsWrite)) { input, execution in try goodsCommand(.update(input.fields.details), input.goodsId, &execution) },
        command("ChangePrice", ChangePriceInput.self, .signedIn(scope: .goodsWrite)) { input, execution in try goodsCommand(.changePrice(Money(minorUnits: input.price)), input.goodsId, &execution) },
        command("Restock", QuantityInput.self, .signedIn(scope: .goodsWrite)) { input, execution in try goodsCommand(.restock(input.quantity), input.goodsId, &execution) },
        command("AdjustStock", AdjustStockInput.self, .signedIn(scope: .goodsWrite)) { input, execution in
            try goodsCommand(.adjustStock(delta: input.delta, reason: input.reason), input.goodsId, &execution)
        },
        command("Delist", GoodsRef.self, .signedIn(scope: .goodsWrite)) { input, execution in try goodsCommand(.delist, input.goodsId, &execution) },
        command("Relist", GoodsRef.self, .signedIn(scope: .goodsWrite)) { input, execution in try goodsCommand(.relist, input.goodsId, &execution) },
        command("PostReview", ReviewInput.self) { input, execution in
            let reviewId: ReviewId = execution.engine.newId()
            let decision = try Catalog.review(PostReview(reviewId: reviewId, goodsId: input.goodsId, orderId: input.orderId, rating: input.rating,
                                                         text: input.text ?? "", at: execution.at),
                                              actor: try execution.requireActor(), goods: try execution.load(.goods(input.goodsId)),
                                              order: try execution.load(.order(input.orderId)))
            return (decision, ["reviewId": reviewId.description])
        },
    ]

    static func goodsCommand(_ command: GoodsCommand, _ goodsId: GoodsId, _ execution: inout Execution) throws -> (Decision, [String: String]) {
        let decision = try Catalog.decide(command, actor: try execution.requireActor(), goods: try execution.load(.goods(goodsId)), at: execution.at)
        return (decision, ["goodsId": goodsId.description])
    }

    // MARK: Carts and coupons

    private static let cartCommands: [(String, Handler)] = [
        command("AddToCart", CartLineInput.self) { input, execution in try cartCommand(.add(input.goodsId, quantity: input.quantity), &execution) },
        command("ChangeQuantity", CartLineInput.self) { input, execution in
            try cartCommand(.changeQuantity(input.goodsId, quantity: input.quantity), &execution)
        },
        command("RemoveFromCart", GoodsRef.self) { input, execution in try cartCommand(.remove(input.goodsId), &execution) },
        command("ApplyCoupon", CouponCodeInput.self) { input, execution in
            let holder: CouponCodeState = try execution.load(.couponCode(Coupons.normalizedCode(input.code)))
            guard let couponId = holder.couponId else { throw Rejection(.couponNotFound, "no coupon \(input.code)") }
            return try cartCommand(.applyCoupon(couponId, code: input.code), &execution)
        },
        command("RemoveCoupon", Empty.self) { _, execution in try cartCommand(.removeCoupon, &execution) },
        command("ClearCart", Empty.self) { _, execution in try cartCommand(.clear, &execution) },
        command("CreateCoupon", CreateCouponInput.self, .signedIn(scope: .couponsWrite)) { input, execution in
            let couponId: CouponId = execution.engine.newId()
            let code = Coupons.normalizedCode(input.code)
            let command = CreateCoupon(couponId: couponId, code: input.code, kind: input.kind, value: input.value,
                                       minimumSpend: Money(minorUnits: input.minimumSpend ?? 0),
                                       validFrom: input.validFrom.map { Instant(millisecondsSinceEpoch: $0) } ?? execution.at,
                                       validUntil: Instant(millisecondsSinceEpoch: input.validUntil), totalLimit: input.totalLimit,
                                       perUserLimit: input.perUserLimit ?? 1, at: execution.at)
            let decision = try Coupons.create(command, actor: try execution.requireActor(), coupon: try execution.load(.coupon(couponId)),
                                              code: try execution.load(.couponCode(code)))
            return (decision, ["couponId": couponId.description, "code": code])
        },
        command("DisableCoupon", CouponRef.self, .signedIn(scope: .couponsWrite)) { input, execution in
            (try Coupons.disable(actor: try execution.requireActor(), coupon: try execution.load(.coupon(input.couponId)), at: execution.at),
             ["couponId": input.couponId.description])
        },
    ]

    static func cartCommand(_ command: CartCommand, _ execution: inout Execution) throws -> (Decision, [String: String]) {
        let actor = try execution.requireActor()
        let owner = try caller(&execution)
        var goods: GoodsState?
        var coupon: CouponState?
        switch command {
        case .add(let id, _), .changeQuantity(let id, _): goods = try execution.load(.goods(id))
        case .applyCoupon(let id, _): coupon = try execution.load(.coupon(id))
        case .remove, .removeCoupon, .clear: break
        }
        let decision = try Carts.decide(command, actor: actor, owner: owner, cart: try execution.load(.cart(owner)), goods: goods, coupon: coupon, at: execution.at)
        return (decision, [:])
    }

    // MARK: Orders and payments

    private static let orderCommands: [(String, Handler)] = [
        handler("PlaceOrder", PlaceOrderInput.self) { engine, input, context in
            let number = try await engine.orderNumbers.number(at: engine.now)
            let orderId: OrderId = engine.newId()
            return try await engine.run(context, commandType: "PlaceOrder") { execution in
                let buyer = try caller(&execution)
                let items = input.items?.map { CartLine(goodsId: $0.goodsId, quantity: $0.quantity) }
                // Buy now neither reads nor changes the cart, so it does not contend with the buyer's cart edits.
                let cart: CartState = items == nil ? try execution.load(.cart(buyer)) : CartState()
                var goods: [GoodsId: GoodsState] = [:]
                for line in items?.prefix(Limits.cartLinesMax) ?? cart.lines[...] { goods[line.goodsId] = try execution.load(.goods(line.goodsId)) }
                let states = CheckoutStates(user: try execution.load(.user(buyer)), cart: cart, goods: goods,
                                            coupon: try cart.couponId.map { try execution.load(.coupon($0)) },
                                            points: try execution.load(.points(buyer)), order: try execution.load(.order(orderId)))
                let decision = try Orders.place(PlaceOrder(orderId: orderId, number: number, addressId: input.addressId,
                                                           pointsToUse: input.pointsToUse ?? 0, items: items, at: execution.at),
                                                actor: try execution.requireActor(), states: states, policy: engine.policy)
                var values = ["orderId": orderId.description, "number": number]
                if case .order(.placed(let placed)) = decision.events(for: .order(orderId)).first { values["total"] = String(placed.total.minorUnits) }
                return (decision, values)
            }
        },
        command("PayOrder", PayOrderInput.self) { input, execution in
            try orderCommand(.pay(execution.engine.newId(), amount: Money(minorUnits: input.amount)), input.orderId, &execution)
        },
        command("ShipOrder", ShipOrderInput.self, .signedIn(scope: .ordersWrite)) { input, execution in
            try orderCommand(.ship(carrier: input.carrier, trackingNumber: input.trackingNumber), input.orderId, &execution)
        },
        command("ConfirmReceipt", OrderRef.self) { input, execution in try orderCommand(.confirmReceipt, input.orderId, &execution) },
        command("CancelOrder", OrderReasonInput.self, .signedIn(scope: .ordersWrite)) { input, execution in try orderCommand(.cancel(reason: input.reason ?? "cancelled"), input.orderId, &execution) },
        command("RequestRefund", OrderReasonInput.self) { input, execution in
            try orderCommand(.requestRefund(reason: input.reason ?? ""), input.orderId, &execution)
        },
        command("ApproveRefund", OrderRef.self, .signedIn(scope: .ordersWrite)) { input, execution in try orderCommand(.approveRefund, input.orderId, &execution) },
        command("RejectRefund", OrderReasonInput.self, .signedIn(scope: .ordersWrite)) { input, execution in try orderCommand(.rejectRefund(reason: input.reason ?? ""), input.orderId, &execution) },
        command("ExpireOrder", OrderRef.self) { input, execution in try orderCommand(.expire, input.orderId, &execution) },
        command("InitiatePayment", InitiatePaymentInput.self) { input, execution in
            let paymentId: PaymentId = execution.engine.newId()
            let decision = try Payments.initiate(InitiatePayment(paymentId: paymentId, provider: input.provider ?? "sandbox", at: execution.at),
                                                 actor: try execution.requireActor(), payment: try execution.load(.payment(paymentId)),
                                                 order: try execution.load(.order(input.orderId)))
            var values = ["paymentId": paymentId.description]
            if case .payment(.initiated(let initiated)) = decision.allEvents.first { values["amount"] = String(initiated.amount.minorUnits) }
            return (decision, values)
        },
        command("RefundPayment", RefundPaymentInput.self, .signedIn(scope: .ordersWrite)) { input, execution in
            let payment: PaymentState = try execution.load(.payment(input.paymentId))
            let order: OrderState = try payment.initiated.map { try execution.load(.order($0.orderId)) } ?? OrderState()
            return (try Payments.refund(actor: try execution.requireActor(), payment: payment, order: order, reason: input.reason ?? "refund", at: execution.at),
                    ["paymentId": input.paymentId.description])
        },
    ]

    /// Loads the order and everything the command may touch: its goods, coupon, buyer's points, payment.
    static func orderCommand(_ command: OrderCommand, _ orderId: OrderId, _ execution: inout Execution) throws -> (Decision, [String: String]) {
        let actor = try execution.requireActor()
        let order: OrderState = try execution.load(.order(orderId))
        var context = OrderContext()
        if let placed = order.placed {
            for line in placed.lines { context.goods[line.goodsId] = try execution.load(.goods(line.goodsId)) }
            context.coupon = try placed.couponId.map { try execution.load(.coupon($0)) }
            context.points = try execution.load(.points(placed.userId))
            context.payment = try order.paymentId.map { try execution.load(.payment($0)) }
        }
        let decision = try Orders.decide(command, actor: actor, order: order, context: context, at: execution.at, policy: execution.engine.policy)
        return (decision, ["orderId": orderId.description])
    }

    // MARK: Points

    private static let pointsCommands: [(String, Handler)] = [
        command("RedeemPoints", RedeemPointsInput.self) { input, execution in
            let owner = try caller(&execution)
            return (try Points.redeem(input.points, reason: input.reason ?? "redeemed", actor: try execution.requireActor(), owner: owner,
                                      state: try execution.load(.points(owner)), at: execution.at), [:])
        },
        command("ExchangePoints", ExchangePointsInput.self) { input, execution in
            let owner = try caller(&execution)
            let couponId: CouponId = execution.engine.newId()
            let code = Coupons.normalizedCode(input.code ?? "PTS-\(couponId.description.suffix(8))")
            let validDays = input.validDays ?? 30
            guard (1...Limits.exchangedCouponDaysMax).contains(validDays) else {  // checked before the days become seconds (that could overflow)
                throw Rejection(.invalidInput, "validDays must be between 1 and \(Limits.exchangedCouponDaysMax)", field: "validDays")
            }
            let command = ExchangePoints(points: input.points, couponId: couponId, code: code,
                                         validUntil: execution.at.adding(seconds: Int64(validDays) * 86_400), at: execution.at)
            let decision = try Points.exchange(command, actor: try execution.requireActor(), owner: owner, state: try execution.load(.points(owner)),
                                               coupon: try execution.load(.coupon(couponId)), code: try execution.load(.couponCode(code)),
                                               policy: execution.engine.policy)
            return (decision, ["couponId": couponId.description, "code": code])
        },
    ]

    // MARK: Access

    private static let accessCommands: [(String, Handler)] = [
        command("IssueApiKey", IssueApiKeyInput.self) { input, execution in
            let engine = execution.engine
            let keyId: ApiKeyId = engine.newId()
            let actor = try execution.requireActor()
            guard let ownerId = input.ownerId ?? actor.userId else { throw EngineError(.invalidInput, code: "missing_field", "data.ownerId is required") }
            let secret = ApiKeySecret.make(keyId: keyId, randomBytes: engine.configuration.randomBytes(ApiKeySecret.randomBytes))
            let command = IssueApiKey(keyId: keyId, ownerId: ownerId, name: input.name, scopes: input.scopes,
                                      expiresAt: input.expiresAt.map { Instant(millisecondsSinceEpoch: $0) }, secretDigest: ApiKeySecret.digest(secret),
                                      at: execution.at)
            let decision = try ApiKeys.issue(command, actor: actor, key: try execution.load(.apiKey(keyId)), owner: try execution.load(.user(ownerId)))
            var values = ["keyId": keyId.description, "secret": secret, "ownerId": ownerId.description,
                          "scopes": input.scopes.map(\.rawValue).sorted().joined(separator: " ")]
            if let expiresAt = input.expiresAt { values["expiresAt"] = String(expiresAt) }
            return (decision, values)
        },
        command("RevokeApiKey", RevokeApiKeyInput.self) { input, execution in
            (try ApiKeys.revoke(reason: input.reason ?? "", actor: try execution.requireActor(), key: try execution.load(.apiKey(input.keyId)),
                                at: execution.at), ["keyId": input.keyId.description])
        },
    ]
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

    func admits(_ actor: Actor?, commandType: String) throws(EngineError) {
        switch (self, actor) {
        case (.anyone, .apiKey?):
            throw EngineError(.forbidden, code: "insufficient_scope", "\(LogLimits.shown(commandType)) is not for API keys")
        case (.anyone, _): return
        case (.signedIn, nil):
            throw EngineError(.unauthenticated, "this request needs a bearer token (Authorization: Bearer <token>)")
        case (.signedIn(let scope), .apiKey(let key)?):
            guard let scope else {
                throw EngineError(.forbidden, code: "insufficient_scope", "\(LogLimits.shown(commandType)) is not for API keys; sign in as a person")
            }
            guard key.allows(scope) else {
                throw EngineError(.forbidden, code: "insufficient_scope", "this key lacks the \(scope.rawValue) scope", details: ["scope": scope.rawValue])
            }
        case (.signedIn, _?): return
        }
    }
}
