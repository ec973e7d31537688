import CommandAPI
import CommandEngine
import Commerce
import Hummingbird
import ReadModels

/// Reviews from the reviews model: a goods' published reviews for anyone, an author's own, and the moderation queue
/// of an admin (every goods) or a merchant (their own goods).
struct ReviewsController: Sendable {
    let reads: ReadModelReads

    func register(on endpoints: Endpoints) {
        endpoints.get(
            "/v1/goods/:goodsId/reviews", "goodsReviews",
            "The goods' approved reviews, newest first, with the merchant's replies, and the rating over all of them",
            parameters: [.limit(default: 20, max: ReviewsProjection.pageMax), .after], answer: .of(ReviewsProjection.GoodsReviews.self)
        ) { request, context in
            guard let goods = context.parameters.get("goodsId").flatMap(GoodsId.init) else {
                throw EngineError(.domain(.goodsNotFound), "no such goods")
            }
            let limit = try ReadModelReads.limit(request.uri.queryParameters, default: 20, max: ReviewsProjection.pageMax)
            return try await reads.json(ReviewsProjection.self, request) { $0.published(of: goods, limit: limit) }
        }
        endpoints.get(
            "/v1/me/reviews", "reviews", "My reviews in every status (pending, approved, rejected with the reason, flagged), newest first",
            access: .signedIn, parameters: [.limit(default: 20, max: ReviewsProjection.pageMax), .after],
            answer: .of([ReviewsProjection.Review].self)
        ) { request, context in
            let user = try ReadModelReads.signedInUser(context)
            let limit = try ReadModelReads.limit(request.uri.queryParameters, default: 20, max: ReviewsProjection.pageMax)
            return try await reads.json(ReviewsProjection.self, request, waitingForHead: true) { $0.written(by: user, limit: limit) }
        }
        endpoints.get(
            "/v1/reviews", "reviewQueue",
            "The moderation queue, oldest first: reviews in one status (pending unless asked) of every goods for an admin, of "
                + "the merchant's own goods for a merchant",
            access: .role(.merchant, scope: .goodsWrite),
            parameters: [
                .query("status", .oneOf(ReviewStatus.allCases.map(\.rawValue)), "pending (the default), flagged, rejected or approved"),
                .limit(default: 20, max: ReviewsProjection.pageMax), .after,
            ], answer: .of([ReviewsProjection.Review].self)
        ) { request, context in
            let parameters = request.uri.queryParameters
            let status = try parameters.get("status").map { text in
                guard let status = ReviewStatus(rawValue: text) else {
                    throw Responses.badQuery("status", "one of \(ReviewStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return status
            }
            let limit = try ReadModelReads.limit(parameters, default: 20, max: ReviewsProjection.pageMax)
            let merchant = context.caller?.isAdmin == true ? nil : try ReadModelReads.signedInUser(context)
            return try await reads.json(ReviewsProjection.self, request, waitingForHead: true) {
                $0.queue(status: status ?? .pending, merchant: merchant, limit: limit)
            }
        }
    }
}
