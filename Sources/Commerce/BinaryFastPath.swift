import Foundation

/// Hand-written v2 decoders for the events a shop writes most (one of each per
/// order's life) and the values inside them. They read exactly what
/// `BinaryPayload` writes through the synthesized `Encodable` conformances,
/// field by field in declaration order, without `Codable`'s generic
/// containers, which were most of a replay's decoding time. The golden tests
/// decode every event type's v2 file, so a decoder that drifts from its
/// struct fails there.
protocol BinaryFastDecodable: Sendable {
    init(binary decoder: BinaryPayloadDecoder) throws
}

extension BinaryPayloadDecoder {
    func id<Tag>(_: Tag.Type = Tag.self) throws -> EntityId<Tag> { EntityId(try reader.uuid()) }
    func instant() throws -> Instant { Instant(millisecondsSinceEpoch: try reader.signed()) }
    func money() throws -> Money { Money(minorUnits: try reader.signed()) }
    func int() throws -> Int { try reader.integer(Int.self) }

    func optional<T>(_ read: () throws -> T) throws -> T? {
        switch try reader.byte() {
        case 0: return nil
        case 1: return try read()
        default: throw ByteReader.corrupt("a presence byte is 0 or 1")
        }
    }
}

extension CartItemAdded: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws { self.init(goodsId: try d.id(), quantity: try d.int(), at: try d.instant()) }
}

extension CartCheckedOut: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws { self.init(orderId: try d.id(), at: try d.instant()) }
}

extension StockReserved: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws { self.init(orderId: try d.id(), quantity: try d.int(), at: try d.instant()) }
}

extension StockShipped: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws { self.init(orderId: try d.id(), quantity: try d.int(), at: try d.instant()) }
}

extension PaymentInitiated: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws {
        self.init(paymentId: try d.id(), orderId: try d.id(), provider: try d.reader.string(), amount: try d.money(), at: try d.instant())
    }
}

extension PaymentSucceeded: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws {
        self.init(providerTransactionId: try d.reader.string(), amount: try d.money(), at: try d.instant())
    }
}

extension OrderPaid: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws { self.init(paymentId: try d.id(), amount: try d.money(), at: try d.instant()) }
}

extension OrderShipped: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws {
        self.init(carrier: try d.reader.string(), trackingNumber: try d.reader.string(), at: try d.instant())
    }
}

extension OrderReceived: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws { self.init(at: try d.instant()) }
}

extension PointsEarned: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws { self.init(orderId: try d.id(), points: try d.reader.signed(), at: try d.instant()) }
}

extension OrderLine: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws {
        self.init(goodsId: try d.id(), merchantId: try d.id(), title: try d.reader.string(), unitPrice: try d.money(),
                  quantity: try d.int(), lineTotal: try d.money())
    }
}

extension OrderPlaced: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws {
        let orderId: OrderId = try d.id()
        let number = try d.reader.string()
        let userId: UserId = try d.id()
        let count = try d.reader.count()
        var lines: [OrderLine] = []
        lines.reserveCapacity(count)
        for _ in 0..<count { lines.append(try OrderLine(binary: d)) }
        self.init(orderId: orderId, number: number, userId: userId, lines: lines, subtotal: try d.money(), discount: try d.money(),
                  couponId: try d.optional { try d.id(CouponTag.self) }, pointsUsed: try d.reader.signed(), pointsValue: try d.money(),
                  total: try d.money(), address: try Address(from: d), at: try d.instant(), expiresAt: try d.instant())
    }
}

extension GoodsViewed: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws { self.init(goodsId: try d.id(), at: try d.instant()) }
}

extension FavoriteAdded: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws { self.init(goodsId: try d.id(), at: try d.instant()) }
}

extension StockReleased: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws { self.init(orderId: try d.id(), quantity: try d.int(), at: try d.instant()) }
}

extension GoodsListed: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws {
        let goodsId: GoodsId = try d.id()
        let merchantId: UserId = try d.id()
        let title = try d.reader.string()
        let description = try d.reader.string()
        let category = try d.reader.string()
        let brand = try d.reader.string()
        let count = try d.reader.count()
        var tags: [String] = []
        tags.reserveCapacity(count)
        for _ in 0..<count { tags.append(try d.reader.string()) }
        self.init(goodsId: goodsId, merchantId: merchantId, title: title, description: description, category: category, brand: brand,
                  tags: tags, price: try d.money(), stock: try d.int(), lowStockThreshold: try d.int(), at: try d.instant())
    }
}
