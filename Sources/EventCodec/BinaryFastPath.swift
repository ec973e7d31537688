import Commerce
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

extension BinaryPayloadDecoder {
    /// The variant a version 3 variant event names last; a version 2 payload has no such field (the default variant).
    func variant() throws -> VariantId? { storedVersion == nil ? try optional { try id() } : nil }
}

extension CartItemAdded: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws {
        self.init(goodsId: try d.id(), quantity: try d.int(), at: try d.instant(), variantId: try d.variant())
    }
}

extension CartCheckedOut: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws { self.init(orderId: try d.id(), at: try d.instant()) }
}

extension StockReserved: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws {
        self.init(orderId: try d.id(), quantity: try d.int(), at: try d.instant(), variantId: try d.variant())
    }
}

extension StockShipped: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws {
        self.init(orderId: try d.id(), quantity: try d.int(), at: try d.instant(), variantId: try d.variant())
    }
}

extension PaymentInitiated: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws {
        self.init(
            paymentId: try d.id(), orderId: try d.id(), provider: try d.reader.string(), amount: try d.money(), at: try d.instant(),
            afterSaleId: (d.storedVersion ?? PaymentInitiated.schemaVersion) >= 3 ? try d.optional { try d.id() } : nil)
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
        self.init(
            goodsId: try d.id(), merchantId: try d.id(), title: try d.reader.string(), unitPrice: try d.money(),
            quantity: try d.int(), lineTotal: try d.money())
        guard (d.storedVersion ?? OrderPlaced.schemaVersion) >= 3 else { return }
        variantId = try d.optional { try d.id() }
        variant = try d.optional { try d.reader.string() }
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
        self.init(
            orderId: orderId, number: number, userId: userId, lines: lines, subtotal: try d.money(), discount: try d.money(),
            couponId: try d.optional { try d.id(CouponTag.self) }, pointsUsed: try d.reader.signed(), pointsValue: try d.money(),
            total: try d.money(), address: try d.decodeAddress(), at: try d.instant(), expiresAt: try d.instant())
        guard d.storedVersion == nil else { return }  // version 2 ends here: no delivery
        delivery = try d.optional { DeliveryChoice(methodId: try d.id(), name: try d.reader.string(), fee: try d.money()) }
    }
}

extension CartItemQuantityChanged: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws {
        self.init(goodsId: try d.id(), quantity: try d.int(), at: try d.instant(), variantId: try d.variant())
    }
}

extension CartItemRemoved: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws { self.init(goodsId: try d.id(), at: try d.instant(), variantId: try d.variant()) }
}

extension PriceChanged: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws {
        self.init(from: try d.money(), to: try d.money(), at: try d.instant(), variantId: try d.variant())
    }
}

extension StockAdded: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws { self.init(quantity: try d.int(), at: try d.instant(), variantId: try d.variant()) }
}

extension StockAdjusted: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws {
        self.init(delta: try d.int(), reason: try d.reader.string(), at: try d.instant(), variantId: try d.variant())
    }
}

extension LowStockDetected: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws {
        self.init(available: try d.int(), threshold: try d.int(), at: try d.instant(), variantId: try d.variant())
    }
}

extension GoodsViewed: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws { self.init(goodsId: try d.id(), at: try d.instant()) }
}

extension FavoriteAdded: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws { self.init(goodsId: try d.id(), at: try d.instant()) }
}

extension StockReleased: BinaryFastDecodable {
    init(binary d: BinaryPayloadDecoder) throws {
        self.init(orderId: try d.id(), quantity: try d.int(), at: try d.instant(), variantId: try d.variant())
    }
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
        self.init(
            goodsId: goodsId, merchantId: merchantId, title: title, description: description, category: category, brand: brand,
            tags: tags, price: try d.money(), stock: try d.int(), lowStockThreshold: try d.int(), at: try d.instant())
    }
}

// MARK: Encoding

/// Hand-written v2 encoders for the events every cart and checkout appends,
/// byte for byte what the `Encodable` path writes (the golden files hold the
/// plain form; a test compares a sealed order's fields after opening).
extension EventCodec {
    /// The event written without `Codable`, or nil for events without a fast encoder. Each case names
    /// its payload's type statically (`DomainEvent.payload` boxes the payload to read its name).
    static func fastEncoded(_ event: DomainEvent, sealingFor owner: UserId?, with cipher: (any PersonalDataCipher)?) throws -> Encoded? {
        var w = BinaryWriter()
        func done<P: EventPayload>(_: P) -> Encoded { Encoded(type: P.eventType, schemaVersion: P.schemaVersion, payload: w.bytes) }
        /// A variant event: version 2 when it names no variant, else version 3 with the variant last.
        func done<P: VariantEvent>(_ event: P) -> Encoded {
            guard let variantId = event.variantId else { return Encoded(type: P.eventType, schemaVersion: 2, payload: w.bytes) }
            w.optional(variantId) { $0.id($1) }
            return Encoded(type: P.eventType, schemaVersion: P.schemaVersion, payload: w.bytes)
        }
        switch event {
        case .cart(.itemAdded(let e)): w.id(e.goodsId); w.int(e.quantity); w.instant(e.at); return done(e)
        case .cart(.quantityChanged(let e)): w.id(e.goodsId); w.int(e.quantity); w.instant(e.at); return done(e)
        case .cart(.itemRemoved(let e)): w.id(e.goodsId); w.instant(e.at); return done(e)
        case .cart(.cleared(let e)): w.instant(e.at); return done(e)
        case .cart(.checkedOut(let e)): w.id(e.orderId); w.instant(e.at); return done(e)
        case .goods(.stockReserved(let e)): w.id(e.orderId); w.int(e.quantity); w.instant(e.at); return done(e)
        case .goods(.stockReleased(let e)): w.id(e.orderId); w.int(e.quantity); w.instant(e.at); return done(e)
        case .goods(.stockShipped(let e)): w.id(e.orderId); w.int(e.quantity); w.instant(e.at); return done(e)
        case .goods(.lowStockDetected(let e)): w.int(e.available); w.int(e.threshold); w.instant(e.at); return done(e)
        case .coupon(.redeemed(let e)): w.id(e.orderId); w.id(e.userId); w.instant(e.at); return done(e)
        case .coupon(.released(let e)): w.id(e.orderId); w.id(e.userId); w.instant(e.at); return done(e)
        case .points(.redeemed(let e)):
            w.optional(e.orderId) { $0.id($1) }; w.int64(e.points); w.string(e.reason); w.instant(e.at); return done(e)
        case .points(.earned(let e)): w.id(e.orderId); w.int64(e.points); w.instant(e.at); return done(e)
        case .order(.paid(let e)): w.id(e.paymentId); w.money(e.amount); w.instant(e.at); return done(e)
        case .order(.placed(let e)):
            w.id(e.orderId)
            w.string(e.number)
            w.id(e.userId)
            let version = e.needsVersion3 ? OrderPlaced.schemaVersion : 2
            w.array(e.lines) { w, line in
                w.id(line.goodsId); w.id(line.merchantId); w.string(line.title); w.money(line.unitPrice); w.int(line.quantity);
                w.money(line.lineTotal)
                if version >= 3 {
                    w.optional(line.variantId) { $0.id($1) }
                    w.optional(line.variant) { $0.string($1) }
                }
            }
            w.money(e.subtotal)
            w.money(e.discount)
            w.optional(e.couponId) { $0.id($1) }
            w.int64(e.pointsUsed)
            w.money(e.pointsValue)
            w.money(e.total)
            try e.address.encode(binary: &w, sealingFor: owner, with: cipher)
            w.instant(e.at)
            w.instant(e.expiresAt)
            if version >= 3 {
                w.optional(e.delivery) { w, delivery in
                    w.id(delivery.methodId); w.string(delivery.name); w.money(delivery.fee)
                }
            }
            return Encoded(type: OrderPlaced.eventType, schemaVersion: version, payload: w.bytes)
        default: return nil
        }
    }
}

extension Address {
    /// The binary form (`encode(to:)` writes it through this too): 0 and the eight fields, or 1 and them sealed as one value.
    func encode(binary w: inout BinaryWriter, sealingFor owner: UserId?, with cipher: (any PersonalDataCipher)?) throws {
        var plain = BinaryWriter(capacity: 96)
        plain.bool(false)
        for field in fields { plain.string(field) }
        guard let cipher else {
            w.append(plain.bytes)
            return
        }
        guard let owner else {
            throw EncodingError.invalidValue(self, .init(codingPath: [], debugDescription: "an address has no owner to seal it for"))
        }
        w.bool(true)
        w.string(try cipher.seal(Data(plain.bytes).base64EncodedString(), owner: owner))
    }
}
