import Foundation
import Testing

@testable import Commerce

/// Review moderation: reviews wait for a moderator when the shop moderates, an admin or the goods' merchant approves,
/// rejects or flags them, only approved reviews count in the rating, the merchant replies once, and the author may
/// edit a review still pending or rejected (back to the queue).
@Suite struct ReviewSpecs {
    typealias Spec = DeciderSpec<Catalog>
    static let seller = UserId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000001") ?? UUID())
    static let buyer = UserId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000002") ?? UUID())
    static let otherSeller = UserId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000003") ?? UUID())
    static let adminId = UserId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000004") ?? UUID())
    static let tea = GoodsId(UUID(uuidString: "0193a1f2-0000-7000-8000-0000000000a1") ?? UUID())
    static let order = OrderId(UUID(uuidString: "0193a1f2-0000-7000-8000-0000000000d1") ?? UUID())
    static let review = ReviewId(UUID(uuidString: "0193a1f2-0000-7000-8000-0000000000e1") ?? UUID())
    static let merchant = Actor.user(seller, .merchant)
    static let author = Actor.user(buyer, .customer)
    static let admin = Actor.user(adminId, .admin)
    static let now = Spec.now
    // Written for these tests.
    static let text = "茶香很浓，回甘明显，包装也很用心。冲了三泡还有味道，下次还会再买。"
    static let edited = "第二次喝觉得略苦，但整体还是不错的，适合早上提神。"

    static var listed: (StreamId, DomainEvent) {
        (
            .goods(tea),
            .goods(
                .listed(
                    GoodsListed(
                        goodsId: tea, merchantId: seller, title: "Longjing 龙井", description: "", category: "tea", brand: "",
                        tags: [], price: Money(minorUnits: 12_800), stock: 10, lowStockThreshold: 2, at: now)))
        )
    }

    static func goods(_ event: GoodsEvent) -> (StreamId, DomainEvent) { (.goods(tea), .goods(event)) }

    static func posted(rating: Int = 5, awaiting: Bool? = true) -> (StreamId, DomainEvent) {
        goods(
            .reviewPosted(
                ReviewPosted(
                    reviewId: review, orderId: order, userId: buyer, rating: rating, text: text, at: now, awaitingModeration: awaiting)))
    }

    static func moderated(_ verdict: ReviewVerdict, reason: String = "", by moderator: UserId = seller) -> (StreamId, DomainEvent) {
        goods(.reviewModerated(ReviewModerated(reviewId: review, verdict: verdict, reason: reason, moderatorId: moderator, at: now)))
    }

    static func given(_ extra: (StreamId, DomainEvent)...) -> Spec {
        var spec = Spec.given(listed)
        for (stream, event) in extra { spec = spec.and(stream, event) }
        return spec
    }

    static func on(_ command: ReviewCommand, review id: ReviewId = review, goods: GoodsId = tea) -> Catalog.Command {
        .reviewAction(goods, id, command)
    }

    // MARK: Moderation

    @Test func theMerchantApprovesAPendingReview() {
        Self.given(Self.posted()).when(Self.on(.moderate(.approve, reason: "")), by: Self.merchant).then(Self.moderated(.approve))
    }

    @Test func anAdminRejectsWithAReason() {
        Self.given(Self.posted()).when(Self.on(.moderate(.reject, reason: "广告 advertising")), by: Self.admin)
            .then(Self.moderated(.reject, reason: "广告 advertising", by: Self.adminId))
    }

    @Test func anApprovedReviewIsFlaggedForAnotherLook() {
        Self.given(Self.posted(), Self.moderated(.approve)).when(Self.on(.moderate(.flag, reason: "买家投诉 complaint")), by: Self.merchant)
            .then(Self.moderated(.flag, reason: "买家投诉 complaint"))
    }

    @Test func aRejectedReviewMayBeApprovedAfterAll() {
        Self.given(Self.posted(), Self.moderated(.reject, reason: "x")).when(Self.on(.moderate(.approve, reason: "")), by: Self.admin)
            .then(Self.moderated(.approve, by: Self.adminId))
    }

    @Test func moderationIsRefusedWhereItMustBe() {
        let pending = Self.given(Self.posted())
        pending.when(Self.on(.moderate(.approve, reason: "")), by: Self.author).thenRejects(.forbidden)
        pending.when(Self.on(.moderate(.approve, reason: "")), by: .user(Self.otherSeller, .merchant)).thenRejects(.forbidden)
        pending.when(Self.on(.moderate(.reject, reason: "")), by: Self.merchant).thenRejects(.invalidInput)
        pending.when(Self.on(.moderate(.flag, reason: "  ")), by: Self.merchant).thenRejects(.invalidInput)
        pending.when(Self.on(.moderate(.approve, reason: ""), review: ReviewId(UUID())), by: Self.merchant).thenRejects(.reviewNotFound)
        pending.when(Self.on(.moderate(.approve, reason: ""), goods: GoodsId(UUID())), by: Self.admin).thenRejects(.goodsNotFound)
        Self.given(Self.posted(), Self.moderated(.approve)).when(Self.on(.moderate(.approve, reason: "")), by: Self.merchant)
            .thenRejects(.nothingChanged)
        Self.given(Self.posted(), Self.moderated(.reject, reason: "x")).when(Self.on(.moderate(.flag, reason: "y")), by: Self.merchant)
            .thenRejects(.nothingChanged)
    }

    // MARK: Replies and edits

    @Test func theMerchantRepliesOncePublicly() {
        let reply = "感谢您的认可，我们会继续用心选茶！"
        Self.given(Self.posted(awaiting: nil)).when(Self.on(.reply(text: reply)), by: Self.merchant)
            .then(Self.goods(.reviewReplied(ReviewReplied(reviewId: Self.review, text: reply, replierId: Self.seller, at: Self.now))))
        let replied = Self.goods(.reviewReplied(ReviewReplied(reviewId: Self.review, text: reply, replierId: Self.seller, at: Self.now)))
        Self.given(Self.posted(awaiting: nil), replied).when(Self.on(.reply(text: "再次感谢")), by: Self.merchant).thenRejects(.alreadyReplied)
        Self.given(Self.posted()).when(Self.on(.reply(text: reply)), by: Self.admin)
            .then(Self.goods(.reviewReplied(ReviewReplied(reviewId: Self.review, text: reply, replierId: Self.adminId, at: Self.now))))
        Self.given(Self.posted()).when(Self.on(.reply(text: reply)), by: .user(Self.otherSeller, .merchant)).thenRejects(.forbidden)
        Self.given(Self.posted()).when(Self.on(.reply(text: reply)), by: Self.author).thenRejects(.forbidden)
        Self.given(Self.posted()).when(Self.on(.reply(text: "")), by: Self.merchant).thenRejects(.invalidInput)
    }

    @Test func theAuthorEditsARejectedReviewAndItAwaitsModerationAgain() {
        Self.given(Self.posted(), Self.moderated(.reject, reason: "含联系方式 contact details"))
            .when(Self.on(.edit(rating: 4, text: Self.edited)), by: Self.author)
            .then(Self.goods(.reviewEdited(ReviewEdited(reviewId: Self.review, rating: 4, text: Self.edited, at: Self.now))))
        let state = GoodsState(
            events: [
                Self.listed.1, Self.posted().1, Self.moderated(.reject, reason: "x").1,
                Self.goods(.reviewEdited(ReviewEdited(reviewId: Self.review, rating: 4, text: Self.edited, at: Self.now))).1,
            ])
        #expect(state.review(Self.review)?.status == .pending)
        #expect(state.review(Self.review)?.rating == 4)
    }

    @Test func editsAreRefusedWhereTheyMustBe() {
        Self.given(Self.posted(), Self.moderated(.approve)).when(Self.on(.edit(rating: 4, text: "")), by: Self.author)
            .thenRejects(.reviewNotEditable)
        Self.given(Self.posted()).when(Self.on(.edit(rating: 4, text: "")), by: .user(Self.otherSeller, .customer)).thenRejects(.notOwner)
        Self.given(Self.posted()).when(Self.on(.edit(rating: 0, text: "")), by: Self.author).thenRejects(.ratingOutOfRange)
        Self.given(Self.posted()).when(Self.on(.edit(rating: 3, text: String(repeating: "长", count: 2_001))), by: Self.author)
            .thenRejects(.invalidInput)
    }

    // MARK: The rating counts approved reviews only

    @Test func onlyApprovedReviewsCountInTheRating() {
        var events = [Self.listed.1, Self.posted(rating: 4).1]
        func rating() -> (Int, Int) {
            let state = GoodsState(events: events)
            return (state.ratingTotal, state.ratingCount)
        }
        #expect(rating() == (0, 0))  // pending
        events.append(Self.moderated(.approve).1)
        #expect(rating() == (4, 1))
        events.append(Self.moderated(.flag, reason: "x").1)
        #expect(rating() == (0, 0))
        events.append(Self.moderated(.approve).1)
        events.append(Self.moderated(.reject, reason: "x").1)
        #expect(rating() == (0, 0))
        events.append(Self.goods(.reviewEdited(ReviewEdited(reviewId: Self.review, rating: 2, text: "", at: Self.now))).1)
        events.append(Self.moderated(.approve).1)
        #expect(rating() == (2, 1))
        // A review from before moderation (version 2, no `awaitingModeration`) counted at once, and still does.
        #expect(GoodsState(events: [Self.listed.1, Self.posted(rating: 5, awaiting: nil).1]).ratingCount == 1)
    }

    // MARK: Posting

    @Test func aReviewAwaitsModerationWhenTheShopModerates() throws {
        let shop = Shop()
        let seller = try shop.merchant()
        let buyer = try shop.shopper()
        let tea = try shop.list(by: seller)
        let order = try shop.receivedOrder(buyer: buyer, merchant: seller, goodsId: tea)
        let decision = try shop.review(tea, order: order, rating: 4, by: shop.customer(buyer))
        guard case .goods(.reviewPosted(let posted)) = decision.changes.first?.events.first else {
            Issue.record("no review posted")
            return
        }
        #expect(posted.awaitingModeration == true)
        #expect(shop.goods(tea).review(posted.reviewId)?.status == .pending)
        #expect(shop.goods(tea).ratingCount == 0)
        try shop.run(Catalog.self, .reviewAction(tea, posted.reviewId, .moderate(.approve, reason: "")), by: shop.customer(seller))
        #expect(shop.goods(tea).ratingCount == 1 && shop.goods(tea).ratingTotal == 4)
    }

    @Test func aShopThatDoesNotModeratePublishesAtOnce() throws {
        let shop = Shop()
        shop.policy.reviewsAwaitModeration = false
        let seller = try shop.merchant()
        let buyer = try shop.shopper()
        let tea = try shop.list(by: seller)
        let order = try shop.receivedOrder(buyer: buyer, merchant: seller, goodsId: tea)
        let decision = try shop.review(tea, order: order, rating: 4, by: shop.customer(buyer))
        guard case .goods(.reviewPosted(let posted)) = decision.changes.first?.events.first else {
            Issue.record("no review posted")
            return
        }
        #expect(posted.awaitingModeration == nil)
        #expect(shop.goods(tea).ratingCount == 1 && shop.goods(tea).ratingTotal == 4)
    }
}
