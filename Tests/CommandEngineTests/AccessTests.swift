import Commerce
import Foundation
import History
import ShopTestSupport
import TestSupport
import Testing

@testable import CommandEngine
@testable import EventStore

@Suite struct SelfGrantedRoleTests {
    /// The hole the access issue opened with: an anonymous RegisterUser with
    /// `"role": "admin"` made an admin, because the engine ran it as `.system`.
    @Test func anAnonymousCallerRegistersCustomersOnly() async throws {
        let shop = try TestShop()
        for role in [Role.admin, .merchant] {
            await expectEngineError("forbidden", shop) {
                try await shop.run(.registerUser(email: "root-\(role)@x.example", password: "rootroot1", name: "root", role: role), as: nil)
            }
        }
        let customer = try await shop.run(
            .registerUser(email: "plain@x.example", password: "rootroot1", name: "Plain", role: .customer), as: nil)
        let id = try #require(customer.result.userId)
        let state: UserState = try shop.engine.state(.user(id))
        #expect(state.role == .customer)
        // The actor a request carries is never the system: the log says who registered.
        #expect(try shop.log.events(ofType: "UserRegistered").last?.metadata.actor == "anonymous")
    }

    @Test func onlyAnAdminAsTheirRecordSaysNowCreatesMerchantsAndAdmins() async throws {
        let shop = try TestShop()
        let admin = try await shop.register("admin@x.example", role: .admin)
        let customer = try await shop.register("c@x.example")
        await expectEngineError("forbidden", shop) {
            try await shop.run(.registerUser(email: "m1@x.example", password: "correct horse", name: "M", role: .merchant), as: customer)
        }
        try await shop.run(.registerUser(email: "m2@x.example", password: "correct horse", name: "M", role: .merchant), as: admin)
        // A demoted admin whose token still says admin: the record decides.
        let other = try await shop.register("admin2@x.example", role: .admin)
        try await shop.run(.grantRole(userId: try #require(admin.userId), role: .customer), as: other)
        await expectEngineError("forbidden", shop) {
            try await shop.run(.registerUser(email: "a3@x.example", password: "correct horse", name: "A", role: .admin), as: admin)
        }
    }

    @Test func aCustomerAppliesAndAnAdminApprovesOrRejects() async throws {
        let shop = try TestShop()
        let admin = try await shop.register("admin@x.example", role: .admin)
        let customer = try await shop.register("c@x.example")
        let customerId = try #require(customer.userId)
        await expectEngineError("no_pending_application", shop) {
            try await shop.run(.approveMerchantApplication(userId: customerId), as: admin)
        }
        try await shop.run(.applyForMerchant(shopName: "西湖茶庄", description: "tea from Hangzhou"), as: customer)
        await expectEngineError("application_pending", shop) { try await shop.run(.applyForMerchant(shopName: "again"), as: customer) }
        await expectEngineError("forbidden", shop) { try await shop.run(.approveMerchantApplication(userId: customerId), as: customer) }
        try await shop.run(.rejectMerchantApplication(userId: customerId, reason: "no business licence"), as: admin)
        var pending = try shop.engine.merchantApplications(status: .pending)
        #expect(pending.isEmpty)
        #expect(try shop.engine.merchantApplications(status: .rejected).first?.reason == "no business licence")
        try await shop.run(.applyForMerchant(shopName: "西湖茶庄"), as: customer)
        pending = try shop.engine.merchantApplications(status: .pending)
        #expect(pending.map(\.userId) == [customerId.description])
        let approved = try await shop.run(.approveMerchantApplication(userId: customerId), as: admin)
        #expect(approved.events.map(\.type) == ["MerchantApplicationApproved", "RoleGranted"])
        let state: UserState = try shop.engine.state(.user(try #require(customer.userId)))
        #expect(state.role == .merchant && state.merchantApplication?.status == .approved)
        _ = try await shop.listGoods(by: .user(try #require(customer.userId), .merchant))
        await expectEngineError("already_merchant", shop) { try await shop.run(.applyForMerchant(shopName: "more"), as: customer) }
    }
}

@Suite struct ApiKeyTests {
    @discardableResult
    static func issue(
        _ shop: TestShop, by admin: Actor, scopes: [Scope], owner: Actor? = nil, expiresAt: Int64? = nil,
        key: String? = nil
    ) async throws -> CommandOutcome {
        try await shop.run(
            .issueApiKey(
                name: "warehouse", scopes: scopes, expiresAt: expiresAt.map(Instant.init(millisecondsSinceEpoch:)), ownerId: owner?.userId),
            as: admin, key: key)
    }

    @Test func aKeyIsShownOnceKeptAsItsDigestAndActsForItsOwnerWithinItsScopes() async throws {
        let shop = try TestShop()
        let admin = try await shop.register("admin@x.example", role: .admin)
        let merchant = try await shop.register("m@x.example", role: .merchant)
        let goodsId = try await shop.listGoods(by: merchant)
        let issued = try await Self.issue(shop, by: admin, scopes: [.goodsWrite], owner: merchant)
        let secret = try #require(issued.result.secret)
        #expect(secret.hasPrefix("emp_") && issued.events.map(\.type) == ["ApiKeyIssued"])
        // The log holds the digest, never the secret.
        let everything = try shop.log.read(from: 1).flatMap(\.payload)
        #expect(!Self.contains(everything, secret) && !Self.contains(everything, String(secret.suffix(20))))
        let actor = try shop.engine.authenticate(bearer: secret)
        guard case .apiKey(let credential) = actor else { Issue.record("not a key: \(actor)"); return }
        #expect(credential.owner == merchant.userId && credential.role == .merchant && credential.scopes == [.goodsWrite])
        // Within its scope it acts as its owner; the log names the key.
        let restocked = try await shop.run(.restock(goodsId, quantity: 5), as: actor)
        #expect(try shop.log.event(at: try #require(restocked.events.first).position)?.metadata.actor == "apikey:\(credential.keyId)")
        let coupon = CouponTerms(
            code: "K", kind: .fixed, value: 1, validUntil: Instant(millisecondsSinceEpoch: 4_102_444_800_000), totalLimit: 1)
        await expectEngineError("insufficient_scope", shop) { try await shop.run(.createCoupon(coupon), as: actor) }
        await expectEngineError("insufficient_scope", shop) { try await Self.issue(shop, by: actor, scopes: [.goodsWrite]) }
        await expectEngineError("insufficient_scope", shop) {
            try await shop.run(.login(email: "m@x.example", password: "correct horse"), as: actor)
        }
        // A forged secret for the same key id is refused.
        var forged = Array(secret)
        forged[forged.count - 1] = forged[forged.count - 1] == "A" ? "B" : "A"
        #expect(throws: EngineError.self) { try shop.engine.authenticate(bearer: String(forged)) }
        // The owner loses the role: the key loses it too.
        try await shop.run(.grantRole(userId: try #require(merchant.userId), role: .customer), as: admin)
        await expectEngineError("forbidden", shop) {
            try await shop.run(.restock(goodsId, quantity: 5), as: try shop.engine.authenticate(bearer: secret))
        }
    }

    @Test func aRevokedOrExpiredKeyStopsAtOnce() async throws {
        let clock = ManualClock.startingNow()
        let shop = try TestShop(clock: clock)
        let admin = try await shop.register("admin@x.example", role: .admin)
        let now = shop.engine.now.millisecondsSinceEpoch
        let expiring = try #require(try await Self.issue(shop, by: admin, scopes: [.eventsRead], expiresAt: now + 60_000).result.secret)
        let revocable = try await Self.issue(shop, by: admin, scopes: [.auditRead])
        let revocableSecret = try #require(revocable.result.secret)
        let revocableId = try #require(revocable.result.keyId)
        _ = try shop.engine.authenticate(bearer: revocableSecret)
        try await shop.run(.revokeApiKey(revocableId, reason: "leaked"), as: admin)
        #expect(throws: EngineError(.apiKeyRevoked, "the API key was revoked")) {
            try shop.engine.authenticate(bearer: revocableSecret)
        }
        await expectEngineError("api_key_revoked", shop) { try await shop.run(.revokeApiKey(revocableId), as: admin) }
        _ = try shop.engine.authenticate(bearer: expiring)
        clock.advance(seconds: 61)
        #expect { try shop.engine.authenticate(bearer: expiring) } throws: { ($0 as? EngineError)?.code == .apiKeyExpired }
        let listed = try shop.engine.apiKeys()
        #expect(Set(listed.map(\.status)) == ["revoked", "expired"])
    }

    @Test func scopesNeverExceedTheOwnersRoleAndOnlyAnAdminIssues() async throws {
        let shop = try TestShop()
        let admin = try await shop.register("admin@x.example", role: .admin)
        let merchant = try await shop.register("m@x.example", role: .merchant)
        let customer = try await shop.register("c@x.example")
        await expectEngineError("scope_not_allowed", shop) { try await Self.issue(shop, by: admin, scopes: [.auditRead], owner: merchant) }
        await expectEngineError("scope_not_allowed", shop) { try await Self.issue(shop, by: admin, scopes: [.ordersRead], owner: customer) }
        await expectEngineError("forbidden", shop) { try await Self.issue(shop, by: merchant, scopes: [.ordersRead]) }
        await expectEngineError("invalid_input", shop) { try await Self.issue(shop, by: admin, scopes: []) }
        await expectEngineError("invalid_input", shop) { try await Self.issue(shop, by: admin, scopes: [.ordersRead], expiresAt: 1) }
    }

    /// Credentials in an answer are never stored with its idempotency record: the log holds none, and a replay comes without them.
    @Test func aReplayedAnswerCarriesNoCredential() async throws {
        let shop = try TestShop()
        let admin = try await shop.register("admin@x.example", role: .admin)
        let first = try await Self.issue(shop, by: admin, scopes: [.eventsRead], key: "issue-once")
        let again = try await Self.issue(shop, by: admin, scopes: [.eventsRead], key: "issue-once")
        #expect(first.result.secret != nil && again.replayed && again.result.secret == nil && again.result.keyId == first.result.keyId)
        let login = try await shop.run(.login(email: "admin@x.example", password: "correct horse"), as: nil, key: "login-once")
        let token = try #require(login.result.token)
        let everything = try shop.log.read(from: 1).flatMap(\.payload)
        #expect(!Self.contains(everything, try #require(first.result.secret)) && !Self.contains(everything, token))
    }

    static func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
        let needle = Array(needle.utf8)
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { start in haystack[start..<(start + needle.count)].elementsEqual(needle) }
    }
}

@Suite struct BackgroundServiceTests {
    /// The expiry sweeper outlives its failures: each is logged and tried again after a growing pause; only cancellation ends it.
    @Test func aFailingSweepIsLoggedAndTriedAgainUntilCancelled() async throws {
        let shop = try TestShop()
        let capture = LogCapture()
        let merchant = try await shop.register("m@x.example", role: .merchant)
        _ = try await shop.listGoods(by: merchant)
        let expiry = OrderExpiry(engine: shop.engine)
        shop.log.close()  // every read of what it has not followed yet now fails
        let sweeper = Task { await expiry.run(every: .milliseconds(10), logger: capture.logger(), retryPauseMax: .milliseconds(40)) }
        // Generous: under the whole suite's load the pool this test and the sweeper share can stall for seconds.
        let deadline = ContinuousClock.now + .seconds(60)
        while capture.lines.filter({ $0.contains("the expiry sweep failed") }).count < 3, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let failures = capture.lines.filter { $0.contains("the expiry sweep failed") }
        #expect(failures.count >= 3, "\(capture.lines)")
        #expect(failures.allSatisfy { $0.hasPrefix("error ") && $0.contains("retry.seconds=") })
        sweeper.cancel()
        await sweeper.value
    }
}
