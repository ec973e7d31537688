// Review moderation, as a shop on Taobao or JD runs it: a buyer's review of a received order waits for a moderator
// when the shop moderates (`ShopPolicy.reviewsAwaitModeration`, the default); an admin or the goods' merchant
// approves, rejects or flags it, and only approved reviews count in the rating and in search ranking. The merchant (or
// an admin) replies once, publicly; the author may edit a review still pending or rejected, which sends it back to the queue.
// Every step is an event on the goods' stream, so the rating is folded where the goods are.

/// Where a review stands.
public enum ReviewStatus: String, Codable, Sendable, Hashable, CaseIterable {
    /// Waiting for a moderator.
    case pending
    /// Shown, and counted in the rating.
    case approved
    /// Not shown; the author sees why and may edit it.
    case rejected
    /// Taken out of the rating for another look (a complaint, a suspicion); approved or rejected next.
    case flagged
}

/// A moderator's verdict.
public enum ReviewVerdict: String, Codable, Sendable, Hashable, CaseIterable {
    case approve, reject, flag

    public var status: ReviewStatus {
        switch self {
        case .approve: return .approved
        case .reject: return .rejected
        case .flag: return .flagged
        }
    }
}

/// What the goods remembers of each of its reviews: enough to moderate it and keep the rating (the text lives in the
/// events and in the reviews read model).
public struct ReviewMark: Hashable, Codable, Sendable {
    public var reviewId: ReviewId
    public var userId: UserId
    public var rating: Int
    public var status: ReviewStatus
    public var replied: Bool

    public init(reviewId: ReviewId, userId: UserId, rating: Int, status: ReviewStatus, replied: Bool = false) {
        self.reviewId = reviewId
        self.userId = userId
        self.rating = rating
        self.status = status
        self.replied = replied
    }
}

/// A command on one review of one goods.
public enum ReviewCommand: Hashable, Sendable {
    /// An admin or the goods' merchant; `reason` is required to reject or flag.
    case moderate(ReviewVerdict, reason: String)
    /// The goods' merchant (or an admin), once.
    case reply(text: String)
    /// The author, while the review is pending or rejected.
    case edit(rating: Int, text: String)
}

extension GoodsState {
    /// Folds a review event: the rating counts approved reviews only.
    mutating func applyReview(_ event: GoodsEvent) {
        switch event {
        case .reviewPosted(let review):
            reviewedOrders.insert(review.orderId)
            let status: ReviewStatus = review.awaitingModeration == true ? .pending : .approved
            reviews.append(ReviewMark(reviewId: review.reviewId, userId: review.userId, rating: review.rating, status: status))
            if status == .approved { count(review.rating, by: 1) }
        case .reviewModerated(let moderated): changeReview(moderated.reviewId) { $0.status = moderated.verdict.status }
        case .reviewReplied(let replied): changeReview(replied.reviewId) { $0.replied = true }
        case .reviewEdited(let edited):
            changeReview(edited.reviewId) {
                $0.rating = edited.rating
                $0.status = .pending
            }
        default: break
        }
    }

    public func review(_ id: ReviewId) -> ReviewMark? { reviewIndex(id).map { reviews[$0] } }

    private func reviewIndex(_ id: ReviewId) -> Int? { reviews.lastIndex { $0.reviewId == id } }

    private mutating func changeReview(_ id: ReviewId, _ change: (inout ReviewMark) -> Void) {
        guard let index = reviewIndex(id) else { return }
        let before = reviews[index]
        change(&reviews[index])
        let after = reviews[index]
        if before.status == .approved { count(before.rating, by: -1) }
        if after.status == .approved { count(after.rating, by: 1) }
    }

    private mutating func count(_ rating: Int, by sign: Int) {
        ratingTotal += sign * rating
        ratingCount += sign
    }
}

extension Catalog {
    /// A review by the buyer of a received order that contains the goods; one per order line. It waits for a
    /// moderator when the shop moderates reviews.
    public static func review(
        _ command: PostReview, actor: Actor, goods: GoodsState, order: OrderState, policy: ShopPolicy
    ) throws(Rejection) -> Decision {
        guard let goodsId = goods.goodsId else { throw Rejection(.goodsNotFound, "no such goods") }
        try checkRating(command.rating, command.text)
        guard let placed = order.placed else { throw Rejection(.orderNotFound, "no such order") }
        guard actor.userId == placed.userId else { throw Rejection(.notOwner, "only the buyer reviews") }
        guard order.status == .received, placed.lines.contains(where: { $0.goodsId == goodsId }) else {
            throw Rejection(.reviewNotAllowed, "a review needs a received order containing these goods")
        }
        guard !goods.reviewedOrders.contains(placed.orderId) else { throw Rejection(.alreadyReviewed, "this order line is reviewed") }
        var decision = Decision()
        decision.append(
            .goods(
                .reviewPosted(
                    ReviewPosted(
                        reviewId: command.reviewId, orderId: placed.orderId, userId: placed.userId, rating: command.rating,
                        text: command.text, at: command.at, awaitingModeration: policy.reviewsAwaitModeration ? true : nil))),
            to: .goods(goodsId))
        return decision
    }

    /// Moderation, the merchant's reply and the author's edit of one review.
    public static func decide(
        _ command: ReviewCommand, on reviewId: ReviewId, actor: Actor, goods: GoodsState, at: Instant
    ) throws(Rejection) -> Decision {
        guard let goodsId = goods.goodsId else { throw Rejection(.goodsNotFound, "no such goods") }
        guard let review = goods.review(reviewId) else { throw Rejection(.reviewNotFound, "no such review of these goods") }
        let event: GoodsEvent
        switch command {
        case let .moderate(verdict, reason):
            guard actor.isAdmin || (actor.userId != nil && actor.userId == goods.merchantId) else {
                throw Rejection(.forbidden, "only an admin or the goods' merchant moderates its reviews")
            }
            try Limits.text(reason, "reason", max: Limits.reasonCharactersMax, allowEmpty: verdict == .approve)
            guard review.status != verdict.status else {
                throw Rejection(.nothingChanged, "the review is already \(review.status.rawValue)")
            }
            guard !(verdict == .flag && review.status == .rejected) else {
                throw Rejection(.nothingChanged, "a rejected review is already out of the rating")
            }
            guard let moderator = actor.userId else { throw Rejection(.forbidden, "a moderator is a user") }
            event = .reviewModerated(ReviewModerated(reviewId: reviewId, verdict: verdict, reason: reason, moderatorId: moderator, at: at))
        case .reply(let text):
            guard let replier = actor.userId, actor.isAdmin || replier == goods.merchantId else {
                throw Rejection(.forbidden, "only the goods' merchant (or an admin) replies to its reviews")
            }
            try Limits.text(text, "text", max: Limits.reviewCharactersMax)
            guard !review.replied else { throw Rejection(.alreadyReplied, "the shop has replied to this review") }
            event = .reviewReplied(ReviewReplied(reviewId: reviewId, text: text, replierId: replier, at: at))
        case let .edit(rating, text):
            guard actor.userId == review.userId else { throw Rejection(.notOwner, "only the author edits a review") }
            guard review.status == .pending || review.status == .rejected else {
                throw Rejection(
                    .reviewNotEditable, "only a review pending or rejected can be edited (this one is \(review.status.rawValue))")
            }
            try checkRating(rating, text)
            event = .reviewEdited(ReviewEdited(reviewId: reviewId, rating: rating, text: text, at: at))
        }
        var decision = Decision()
        decision.append(.goods(event), to: .goods(goodsId))
        return decision
    }

    private static func checkRating(_ rating: Int, _ text: String) throws(Rejection) {
        guard (1...5).contains(rating) else { throw Rejection(.ratingOutOfRange, "rating must be 1 to 5", field: "rating") }
        try Limits.text(text, "text", max: Limits.reviewCharactersMax, allowEmpty: true)
    }
}
