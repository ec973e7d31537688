import Commerce
import EventCodec
import LMDB

// Rows encoded by hand (see `BinaryFastEncodable`): the model's stored form.

extension MyPagesProjection.OrderSummary: BinaryFastEncodable {
    public func encode(binary w: inout BinaryWriter) {
        w.string(orderId)
        w.string(userId)
        w.string(number)
        w.string(status.rawValue)
        w.int64(total)
        w.int64(placedAt)
        w.int64(updatedAt)
        w.int(lineCount)
        w.string(firstTitle)
        w.string(firstVariant)
        w.strings(goodsIds)
    }
}

extension MyPagesProjection.LedgerEntry: BinaryFastEncodable {
    public func encode(binary w: inout BinaryWriter) {
        w.string(type)
        w.int64(points)
        w.optional(orderId) { $0.string($1) }
        w.int64(at)
    }
}

extension MyPagesProjection.PointsPage: BinaryFastEncodable {
    public func encode(binary w: inout BinaryWriter) {
        w.int64(balance)
        w.array(ledger) { $1.encode(binary: &$0) }
    }
}

extension MyPagesProjection.Waiting: BinaryFastEncodable {
    public func encode(binary w: inout BinaryWriter) {
        w.string(goodsId)
        w.string(variantId)
        w.int64(since)
        w.optional(notifiedAt) { $0.int64($1) }
        w.optional(available) { $0.int($1) }
    }
}

extension MyPagesProjection.Footprint: BinaryFastEncodable {
    public func encode(binary w: inout BinaryWriter) {
        w.id(goodsId)
        w.int64(at)
    }
}
