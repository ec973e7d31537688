import Foundation
import Testing

@testable import Commerce
@testable import EventCodec

@Suite struct RegisterAndLoginSpecs {
    @Test func registeringClaimsTheEmailAndStoresOnlyASaltedHash() throws {
        let shop = Shop()
        let id = try shop.register(email: "  Li.Lei@Example.COM ", password: "correct horse")
        #expect(
            shop.events(.emailClaim("li.lei@example.com")) == [.emailClaim(.claimed(EmailClaimed(email: "li.lei@example.com", userId: id)))]
        )
        let user = shop.user(id)
        #expect(user.email == "li.lei@example.com")
        #expect(user.role == .customer)
        let hash = try #require(user.passwordHash)
        #expect(hash.algorithm == "scrypt")
        #expect(hash.hash != "correct horse" && !hash.hash.isEmpty)
        #expect(hash.matches("correct horse"))
        #expect(!hash.matches("correct horsE"))
        let encoded = EventCodec.encode(shop.events(.user(id))[0])
        #expect(!String(decoding: encoded.payload, as: UTF8.self).contains("correct horse"))
    }

    @Test func registrationRejections() throws {
        let shop = Shop()
        try shop.register(email: "taken@example.com")
        expectRejection(.emailTaken, in: shop) { try shop.register(email: "TAKEN@example.com") }
        expectRejection(.invalidInput, in: shop) { try shop.register(email: "not-an-email") }
        expectRejection(.invalidInput, in: shop) { try shop.register(email: "a@b.com", password: "short") }
        expectRejection(.invalidInput, in: shop) { try shop.register(email: "a@b.com", name: "") }
        expectRejection(.invalidInput, in: shop) { try shop.register(email: "a@b.com", name: String(repeating: "n", count: 101)) }
        expectRejection(.forbidden, in: shop) { try shop.register(email: "boss@example.com", role: .admin, actor: .paymentProvider("x")) }
        let existing = try shop.register(email: "first@example.com")
        expectRejection(.userAlreadyExists, in: shop) { try shop.register(email: "second@example.com", id: existing) }
    }

    @Test func aGoodLoginIsRecordedAndResetsFailures() throws {
        let shop = Shop()
        let id = try shop.register(email: "u@example.com")
        let failed = try shop.login(email: "u@example.com", password: "wrong password")
        #expect(failed.refusal?.code == .invalidCredentials)
        #expect(eventTypes(failed) == ["user:LoginFailed"])
        let good = try shop.login(email: "U@example.com", password: "correct horse")
        #expect(good.refusal == nil)
        #expect(eventTypes(good) == ["user:UserLoggedIn"])
        #expect(shop.user(id).consecutiveFailures == 0)
    }

    @Test func repeatedFailuresLockTheAccount() throws {
        let shop = Shop()
        _ = try shop.register(email: "u@example.com")
        for attempt in 1...shop.policy.lockoutFailures {
            let result = try shop.login(email: "u@example.com", password: "wrong password")
            let expected = attempt == shop.policy.lockoutFailures ? ["user:LoginFailed", "user:UserLockedOut"] : ["user:LoginFailed"]
            #expect(eventTypes(result) == expected)
        }
        expectRejection(.accountLocked, in: shop) { _ = try shop.login(email: "u@example.com", password: "correct horse") }
        shop.advance(seconds: shop.policy.lockoutSeconds)
        #expect(try shop.login(email: "u@example.com", password: "correct horse").refusal == nil)
    }

    @Test func unknownEmailsAreInvalidCredentials() {
        let shop = Shop()
        expectRejection(.invalidCredentials, in: shop) { _ = try shop.login(email: "nobody@example.com", password: "whatever1") }
    }
}

@Suite struct ProfileSpecs {
    @Test func profileAndPassword() throws {
        let shop = Shop()
        let id = try shop.register(email: "u@example.com")
        let other = try shop.register(email: "o@example.com")
        let updated = try shop.userCommand(.updateProfile(name: "韩梅梅", phone: "123"), on: id, by: shop.customer(id))
        #expect(eventTypes(updated) == ["user:ProfileUpdated"])
        expectRejection(.nothingChanged, in: shop) {
            try shop.userCommand(.updateProfile(name: "韩梅梅", phone: "123"), on: id, by: shop.customer(id))
        }
        expectRejection(.notOwner, in: shop) {
            try shop.userCommand(.updateProfile(name: "x", phone: ""), on: id, by: shop.customer(other))
        }
        expectRejection(.userNotFound, in: shop) { try shop.userCommand(.updateProfile(name: "x", phone: ""), on: shop.id(), by: .system) }
        expectRejection(.invalidCredentials, in: shop) {
            try shop.userCommand(.changePassword(old: "wrong one!", new: "new password", salt: shop.salt()), on: id, by: shop.customer(id))
        }
        expectRejection(.invalidInput, in: shop) {
            try shop.userCommand(.changePassword(old: "correct horse", new: "short", salt: shop.salt()), on: id, by: shop.customer(id))
        }
        try shop.userCommand(.changePassword(old: "correct horse", new: "new password", salt: shop.salt()), on: id, by: shop.customer(id))
        #expect(try shop.login(email: "u@example.com", password: "new password").refusal == nil)
        #expect(try shop.login(email: "u@example.com", password: "correct horse").refusal?.code == .invalidCredentials)
    }

    @Test func addresses() throws {
        let shop = Shop()
        let id = try shop.register(email: "u@example.com")
        let me = shop.customer(id)
        let home: AddressId = shop.id()
        let work: AddressId = shop.id()
        try shop.userCommand(.addAddress(home, sampleAddress, makeDefault: true), on: id, by: me)
        try shop.userCommand(.addAddress(work, sampleAddress, makeDefault: false), on: id, by: me)
        #expect(shop.user(id).defaultAddress == home)
        try shop.userCommand(.setDefaultAddress(work), on: id, by: me)
        #expect(shop.user(id).defaultAddress == work)
        var moved = sampleAddress
        moved.city = "Shanghai"
        try shop.userCommand(.updateAddress(home, moved), on: id, by: me)
        #expect(shop.user(id).address(home)?.city == "Shanghai")
        try shop.userCommand(.removeAddress(work), on: id, by: me)
        #expect(shop.user(id).defaultAddress == home)
        let missing: AddressId = shop.id()
        expectRejection(.addressNotFound, in: shop) { try shop.userCommand(.removeAddress(missing), on: id, by: me) }
        expectRejection(.addressNotFound, in: shop) { try shop.userCommand(.updateAddress(missing, sampleAddress), on: id, by: me) }
        expectRejection(.addressNotFound, in: shop) { try shop.userCommand(.setDefaultAddress(missing), on: id, by: me) }
        var blank = sampleAddress
        blank.line1 = " "
        expectRejection(.invalidInput, in: shop) { try shop.userCommand(.addAddress(shop.id(), blank, makeDefault: false), on: id, by: me) }
        for _ in 1..<Limits.addressesPerUserMax {
            try shop.userCommand(.addAddress(shop.id(), sampleAddress, makeDefault: false), on: id, by: me)
        }
        expectRejection(.addressLimitReached, in: shop) {
            try shop.userCommand(.addAddress(shop.id(), sampleAddress, makeDefault: false), on: id, by: me)
        }
    }

    @Test func favoritesAndFootprints() throws {
        let shop = Shop()
        let id = try shop.register(email: "u@example.com")
        let me = shop.customer(id)
        let seller = try shop.merchant()
        let tea = try shop.list(by: seller)
        try shop.userCommand(.addFavorite(tea), on: id, by: me)
        expectRejection(.alreadyFavorite, in: shop) { try shop.userCommand(.addFavorite(tea), on: id, by: me) }
        expectRejection(.goodsNotFound, in: shop) { try shop.userCommand(.addFavorite(shop.id()), on: id, by: me) }
        try shop.userCommand(.removeFavorite(tea), on: id, by: me)
        expectRejection(.notFavorite, in: shop) { try shop.userCommand(.removeFavorite(tea), on: id, by: me) }
        let many = try (0..<(Limits.footprintsKept + 5)).map { _ in try shop.list(by: seller) }
        for goodsId in many { try shop.userCommand(.recordView(goodsId), on: id, by: me) }
        try shop.userCommand(.recordView(many[10]), on: id, by: me)
        let footprints = shop.user(id).footprints
        #expect(footprints.count == Limits.footprintsKept)
        #expect(footprints.last == many[10])
        #expect(footprints.filter { $0 == many[10] }.count == 1)
        expectRejection(.goodsNotFound, in: shop) { try shop.userCommand(.recordView(shop.id()), on: id, by: me) }
    }

    @Test func rolesAreGrantedByAdminsOnly() throws {
        let shop = Shop()
        let id = try shop.register(email: "u@example.com")
        expectRejection(.forbidden, in: shop) { try shop.userCommand(.grantRole(.merchant), on: id, by: shop.customer(id)) }
        let granted = try shop.userCommand(.grantRole(.merchant), on: id, by: .system)
        #expect(eventTypes(granted) == ["user:RoleGranted"])
        #expect(shop.user(id).role == .merchant)
        expectRejection(.nothingChanged, in: shop) { try shop.userCommand(.grantRole(.merchant), on: id, by: .system) }
    }

    @Test func forgettingErasesPersonalDataAndFreesTheEmail() throws {
        let shop = Shop()
        let id = try shop.register(email: "u@example.com")
        try shop.userCommand(.addAddress(shop.id(), sampleAddress, makeDefault: true), on: id, by: shop.customer(id))
        let forgotten = try shop.userCommand(.forget, on: id, by: shop.customer(id))
        #expect(eventTypes(forgotten) == ["user:UserForgotten", "email:EmailReleased"])
        let state = shop.user(id)
        #expect(state.isForgotten && state.email.isEmpty && state.name.isEmpty && state.addresses.isEmpty && state.passwordHash == nil)
        expectRejection(.userForgotten, in: shop) {
            try shop.userCommand(.updateProfile(name: "x", phone: ""), on: id, by: shop.customer(id))
        }
        expectRejection(.invalidCredentials, in: shop) { _ = try shop.login(email: "u@example.com", password: "correct horse") }
        _ = try shop.register(email: "u@example.com")  // the address is free again
    }
}

@Suite struct GoodsSpecs {
    @Test func reviewsComeFromBuyersOfReceivedOrdersOncePerLine() throws {
        let shop = Shop()
        let seller = try shop.merchant()
        let buyer = try shop.shopper()
        let stranger = try shop.shopper()
        let tea = try shop.list(by: seller)
        let other = try shop.list(by: seller)
        let unreceived = try shop.paidOrder(buyer: buyer, goodsId: tea)
        expectRejection(.reviewNotAllowed, in: shop) { try shop.review(tea, order: unreceived, by: shop.customer(buyer)) }
        let order = try shop.receivedOrder(buyer: buyer, merchant: seller, goodsId: tea)
        expectRejection(.ratingOutOfRange, in: shop) { try shop.review(tea, order: order, rating: 6, by: shop.customer(buyer)) }
        expectRejection(.notOwner, in: shop) { try shop.review(tea, order: order, by: shop.customer(stranger)) }
        expectRejection(.reviewNotAllowed, in: shop) { try shop.review(other, order: order, by: shop.customer(buyer)) }
        expectRejection(.orderNotFound, in: shop) { try shop.review(tea, order: shop.id(), by: shop.customer(buyer)) }
        #expect(eventTypes(try shop.review(tea, order: order, rating: 4, by: shop.customer(buyer))) == ["goods:ReviewPosted"])
        expectRejection(.alreadyReviewed, in: shop) { try shop.review(tea, order: order, by: shop.customer(buyer)) }
        #expect(shop.goods(tea).ratingCount == 0, "pending: it counts once approved (ReviewSpecs)")
        #expect(shop.goods(tea).reviews.map(\.status) == [.pending])
    }
}
