import Commerce
import EventCodec
import LMDB

// Rows encoded by hand (see `BinaryFastEncodable`): the model's stored form.

extension AnalyticsProjection.Day: BinaryFastEncodable {
    public func encode(binary w: inout BinaryWriter) {
        w.string(day)
        w.int(views)
        w.int(cartAdds)
        w.int(ordersPlaced)
        w.int64(placedAmount)
        w.int(ordersPaid)
        w.int64(gmv)
        w.int(ordersRefunded)
        w.int64(refundedAmount)
        w.int(ordersCancelled)
        w.int(ordersExpired)
        w.int64(deliveryFees)
    }
}

extension AnalyticsProjection.MerchantDay: BinaryFastEncodable {
    public func encode(binary w: inout BinaryWriter) {
        w.string(day)
        w.int(ordersPaid)
        w.int(unitsPaid)
        w.int64(revenue)
        w.int(unitsRefunded)
        w.int64(refundedRevenue)
    }
}

extension AnalyticsProjection.GoodsSales: BinaryFastEncodable {
    public func encode(binary w: inout BinaryWriter) {
        w.string(goodsId)
        w.string(merchantId)
        w.string(title)
        w.int(unitsPaid)
        w.int64(revenue)
        w.int(unitsRefunded)
        w.array(variants) { w, variant in
            w.string(variant.variantId)
            w.string(variant.variant)
            w.int(variant.unitsPaid)
            w.int64(variant.revenue)
            w.int(variant.unitsRefunded)
        }
    }
}

extension AnalyticsProjection.StockRow: BinaryFastEncodable {
    public func encode(binary w: inout BinaryWriter) {
        w.string(goodsId)
        w.string(merchantId)
        w.string(title)
        w.int(onHand)
        w.int(reserved)
        w.int(threshold)
        w.bool(listed)
        w.int64(price)
    }
}

extension AnalyticsProjection.Order: BinaryFastEncodable {
    public func encode(binary w: inout BinaryWriter) {
        w.array(lines) { w, line in
            w.string(line.goodsId)
            w.string(line.merchantId)
            w.int(line.quantity)
            w.int64(line.lineTotal)
            w.optional(line.variantId) { $0.string($1) }
            w.string(line.variant)
            w.int(line.refunded)
        }
        w.bool(paid)
        w.string(number)
        w.int64(total)
        w.int64(deliveryFee)
    }
}

extension AnalyticsProjection.OrderToAct: BinaryFastEncodable {
    public func encode(binary w: inout BinaryWriter) {
        w.string(orderId)
        w.string(number)
        w.string(action)
        w.int64(since)
        w.int64(total)
        w.array(merchantIds) { w, merchant in w.string(merchant) }
    }
}
