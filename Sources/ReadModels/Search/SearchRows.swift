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
        w.strings(options)
        w.array(variants) { $1.encode(binary: &$0) }
        w.array(attributes) { $1.encode(binary: &$0) }
        w.bool(isListed)
        w.array(reviewedOrders.elements.sorted()) { $0.id($1) }
        w.array(reviews) { $1.encode(binary: &$0) }
        w.array(waitlist) { $1.encode(binary: &$0) }
        w.int(ratingTotal)
        w.int(ratingCount)
        w.optional(listedAt) { $0.instant($1) }
    }
}

extension VariantState: BinaryFastEncodable {
    public func encode(binary w: inout BinaryWriter) {
        w.id(variantId)
        w.string(sku)
        w.strings(values)
        w.money(price)
        w.int(onHand)
        w.int(reserved)
        w.int(lowStockThreshold)
        w.optional(weightGrams) { $0.int($1) }
        w.bool(isListed)
        w.int(sold)
        w.optional(preOrder) { $1.encode(binary: &$0) }
        w.array(preOrders) { $1.encode(binary: &$0) }
    }
}

extension PreOrderTerms: BinaryFastEncodable {
    public func encode(binary w: inout BinaryWriter) {
        w.int(cap)
        w.instant(endsAt)
        w.instant(arrivesBy)
        w.int(taken)
        w.bool(isCancelled)
    }
}

extension PreOrderHold: BinaryFastEncodable {
    public func encode(binary w: inout BinaryWriter) {
        w.id(orderId)
        w.int(quantity)
        w.instant(since)
    }
}

extension GoodsAttribute: BinaryFastEncodable {
    public func encode(binary w: inout BinaryWriter) {
        w.string(name)
        w.string(kind.rawValue)
        w.string(value)
        w.string(unit)
        w.strings(choices)
    }
}

extension ReviewMark: BinaryFastEncodable {
    public func encode(binary w: inout BinaryWriter) {
        w.id(reviewId)
        w.id(userId)
        w.int(rating)
        w.string(status.rawValue)
        w.bool(replied)
    }
}

extension WaitlistEntry: BinaryFastEncodable {
    public func encode(binary w: inout BinaryWriter) {
        w.id(userId)
        w.id(variantId)
        w.instant(since)
    }
}
