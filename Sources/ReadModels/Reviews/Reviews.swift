import Commerce
import Foundation

/// Reviews as people read them: each goods' published reviews (approved only) with the merchant's reply and its
/// rating summary, each author's own reviews with where they stand, and the moderation queue of an admin (every
/// goods) or a merchant (their goods), oldest first.
public final class ReviewsProjection: Projection, @unchecked Sendable {
    public static let name = "reviews"
    public static let schemaVersion = 1
    public static let foldCostGuess = 0.2
    public static let eventTypes: Set<String> = [
        GoodsListed.eventType, ReviewPosted.eventType, ReviewModerated.eventType, ReviewReplied.eventType, ReviewEdited.eventType,
    ]

    public struct Review: Codable, Equatable, Sendable, Hashable {
        public var reviewId: String
        public var goodsId: String
        public var userId: String
        public var orderId: String
        /// Every review is by the buyer of a received order that contains the goods (the order is `orderId`).
        public var verifiedPurchase: Bool
        public var rating: Int
        public var text: String
        public var status: ReviewStatus
        /// The moderator's reason for the last rejection or flag ("" otherwise).
        public var reason: String
        /// The merchant's public reply, if any.
        public var reply: String?
        public var repliedAt: Int64?
        public var postedAt: Int64
        /// When it was last edited or moderated.
        public var updatedAt: Int64
    }

    /// A goods' published reviews and what they add up to.
    public struct GoodsReviews: Codable, Equatable, Sendable, Hashable {
        /// Approved reviews.
        public var count: Int
        /// Their mean rating (0 when there is none).
        public var averageRating: Double
        /// How many approved reviews gave 1, 2, 3, 4 and 5 stars.
        public var ratings: [Int]
        /// Newest first.
        public var reviews: [Review]
    }

    public static let pageMax = 100

    /// Keyed by review id.
    public let reviews = Table<Review>(prefix: 1)
    /// goods id → its merchant's id (who moderates its reviews).
    public let merchants = Table<String>(prefix: 2)
    public var storedTables: [any StoredTable] { [reviews, merchants] }
    /// goods → its review ids, user → theirs, in the order posted (derived from `reviews`).
    private var byGoods: [String: [String]] = [:]
    private var byUser: [String: [String]] = [:]

    public init() {}

    public func didLoad() {
        byGoods = [:]
        byUser = [:]
        for review in reviews.rows.values.sorted(by: { ($0.postedAt, $0.reviewId) < ($1.postedAt, $1.reviewId) }) {
            byGoods[review.goodsId, default: []].append(review.reviewId)
            byUser[review.userId, default: []].append(review.reviewId)
        }
    }

    public func apply(_ event: ProjectedEvent) {
        guard case .goods(let goodsId) = event.stream, case .goods(let change) = event.event else { return }
        let goods = goodsId.description
        switch change {
        case .listed(let listed): merchants[goods] = listed.merchantId.description
        case .reviewPosted(let posted):
            let id = posted.reviewId.description
            let at = posted.at.millisecondsSinceEpoch
            reviews[id] = Review(
                reviewId: id, goodsId: goods, userId: posted.userId.description, orderId: posted.orderId.description,
                verifiedPurchase: true, rating: posted.rating, text: posted.text,
                status: posted.awaitingModeration == true ? .pending : .approved, reason: "", reply: nil, repliedAt: nil,
                postedAt: at, updatedAt: at)
            byGoods[goods, default: []].append(id)
            byUser[posted.userId.description, default: []].append(id)
        case .reviewModerated(let moderated):
            changeReview(moderated.reviewId) {
                $0.status = moderated.verdict.status
                $0.reason = moderated.verdict == .approve ? "" : moderated.reason
                $0.updatedAt = moderated.at.millisecondsSinceEpoch
            }
        case .reviewReplied(let replied):
            changeReview(replied.reviewId) {
                $0.reply = replied.text
                $0.repliedAt = replied.at.millisecondsSinceEpoch
            }
        case .reviewEdited(let edited):
            changeReview(edited.reviewId) {
                $0.rating = edited.rating
                $0.text = edited.text
                $0.status = .pending
                $0.updatedAt = edited.at.millisecondsSinceEpoch
            }
        default: break
        }
    }

    private func changeReview(_ id: ReviewId, _ body: (inout Review) -> Void) {
        let key = id.description
        guard var review = reviews[key] else { return }
        body(&review)
        reviews[key] = review
    }

    // MARK: Queries

    /// A goods' approved reviews, newest first, and the summary over all of them.
    public func published(of goods: GoodsId, limit: Int) -> GoodsReviews {
        var ratings = [0, 0, 0, 0, 0]
        var newestFirst: [Review] = []
        for id in (byGoods[goods.description] ?? []).reversed() {
            guard let review = reviews[id], review.status == .approved else { continue }
            ratings[review.rating - 1] += 1
            if newestFirst.count < Self.bounded(limit) { newestFirst.append(review) }
        }
        let count = ratings.reduce(0, +)
        let total = ratings.enumerated().reduce(0) { $0 + ($1.offset + 1) * $1.element }
        return GoodsReviews(
            count: count, averageRating: count == 0 ? 0 : Double(total) / Double(count), ratings: ratings, reviews: newestFirst)
    }

    /// An author's reviews in every status, newest first.
    public func written(by user: UserId, limit: Int) -> [Review] {
        (byUser[user.description] ?? []).reversed().prefix(Self.bounded(limit)).compactMap { reviews[$0] }
    }

    /// Reviews waiting in `status` (pending or flagged, say), oldest first: every goods' for an admin (`merchant`
    /// nil), else the merchant's goods' only.
    public func queue(status: ReviewStatus, merchant: UserId?, limit: Int) -> [Review] {
        let wanted = merchant?.description
        return reviews.rows.values
            .filter { $0.status == status && (wanted == nil || merchants[$0.goodsId] == wanted) }
            .sorted { ($0.updatedAt, $0.reviewId) < ($1.updatedAt, $1.reviewId) }
            .prefix(Self.bounded(limit)).map { $0 }
    }

    static func bounded(_ limit: Int) -> Int { min(max(limit, 1), pageMax) }
}
