import Commerce
import EventCodec

// The search model's stored rows: each goods as the domain folds it, encoded by hand (see `BinaryFastEncodable`).
extension GoodsState: BinaryFastEncodable {
    public func encode(binary w: inout BinaryWriter) {
        w.optional(goodsId) { $0.id($1) }
        w.optional(merchantId) { $0.id($1) }
        w.string(title)
        w.string(description)
        w.string(category)
        w.string(brand)
        w.strings(tags)
        w.money(price)
        w.int(onHand)
        w.int(reserved)
        w.int(lowStockThreshold)
        w.bool(isListed)
        w.int(sold)
        w.array(reviewedOrders.elements.sorted()) { $0.id($1) }
        w.int(ratingTotal)
        w.int(ratingCount)
        w.optional(listedAt) { $0.instant($1) }
    }
}
