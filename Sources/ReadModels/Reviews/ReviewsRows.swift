import Commerce
import EventCodec
import LMDB

// The reviews model's stored rows, encoded by hand (see `BinaryFastEncodable`).

extension ReviewsProjection.Review: BinaryFastEncodable {
    public func encode(binary w: inout BinaryWriter) {
        w.string(reviewId)
        w.string(goodsId)
        w.string(userId)
        w.string(orderId)
        w.bool(verifiedPurchase)
        w.int(rating)
        w.string(text)
        w.string(status.rawValue)
        w.string(reason)
        w.optional(reply) { $0.string($1) }
        w.optional(repliedAt) { $0.int64($1) }
        w.int64(postedAt)
        w.int64(updatedAt)
    }
}
