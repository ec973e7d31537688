import Commerce
import Foundation

/// Turns domain events into (type, schema version, payload bytes) for the log
/// and back, locked by the golden files in `Snapshots/events/`.
///
/// - Schema version 1 (the first shipped form): JSON with sorted keys and no whitespace.
/// - Schema version 2 (written now): the same fields in `BinaryPayload`'s
///   positional form. Measured over a million events, JSON decoding was most
///   of a full replay; v2 decodes several times faster.
///
/// - Schema version 3 (variants, delivery): the price, stock and cart line
///   events add an optional `variantId` at the end; `OrderPlaced` an optional
///   variant and label in each line and the delivery chosen at the end. An
///   event that uses none of these is still written in version 2, byte for
///   byte as before; a version 2 payload reads as naming none, the goods'
///   default variant and no delivery (the upcast).
///
/// All are read, into the same structs. When an event's fields change, its
/// type gets a new version and a decoder for the older versions that fills the
/// new shape (an upcaster); shipped versions are never edited.
public enum EventCodec {
    public struct Encoded: Hashable, Sendable {
        public var type: String
        public var schemaVersion: Int
        public var payload: [UInt8]
    }

    public enum Failure: Error, Hashable, Sendable, CustomStringConvertible {
        case unknownType(String)
        case unknownSchemaVersion(type: String, version: Int)
        case undecodable(type: String, reason: String)

        public var description: String {
            switch self {
            case .unknownType(let type): return "unknown event type \(type)"
            case let .unknownSchemaVersion(type, version): return "\(type) has no schema version \(version)"
            case let .undecodable(type, reason): return "\(type) does not decode: \(reason)"
            }
        }
    }

    /// The plain encoding (personal fields in clear): golden files and tests.
    public static func encode(_ event: DomainEvent) -> Encoded {
        do {
            return try encode(event, sealingFor: nil, with: nil)
        } catch {
            preconditionFailure("a plain event payload failed to encode: \(error)")  // plain value types always encode
        }
    }

    /// The stored encoding (v2, binary): personal fields sealed for `owner` when a cipher is given.
    public static func encode(_ event: DomainEvent, sealingFor owner: UserId?, with cipher: (any PersonalDataCipher)?) throws -> Encoded {
        if let fast = try fastEncoded(event, sealingFor: owner, with: cipher) { return fast }
        return try codableEncoded(event, sealingFor: owner, with: cipher)
    }

    /// The version an event is written at: the oldest whose fields hold it, so an event that uses no field a later
    /// version added is written exactly as before (a variant event naming no variant, an order naming none).
    static func writtenVersion(_ event: DomainEvent) -> Int {
        let payload = event.payload
        return (payload as? any EvolvedEventPayload)?.writtenVersion ?? type(of: payload).schemaVersion
    }

    /// The encoding through `Codable` (what the hand-written encoders must match).
    static func codableEncoded(_ event: DomainEvent, sealingFor owner: UserId?, with cipher: (any PersonalDataCipher)?) throws -> Encoded {
        let payload = event.payload
        let version = writtenVersion(event)
        var userInfo: [CodingUserInfoKey: any Sendable] = [.eventSchemaVersion: version]
        if let cipher {
            userInfo[.personalDataCipher] = cipher
            if let owner { userInfo[.personalDataOwner] = owner }
        }
        var bytes = try BinaryPayload.encode(payload, userInfo: userInfo)
        if payload is any EvolvedEventPayload, version < type(of: payload).schemaVersion {
            // The presence byte of the absent field the latest version added last (the variant, the delivery, awaiting
            // moderation): the version before ends before it.
            precondition(bytes.last == 0, "the last field is the optional one version 3 added")
            bytes.removeLast()
        }
        return Encoded(type: type(of: payload).eventType, schemaVersion: version, payload: bytes)
    }

    /// The first shipped encoding (v1, canonical JSON), still read; golden files lock it.
    public static func encodeVersion1(_ event: DomainEvent) -> Encoded {
        let payload = event.payload
        do {
            return Encoded(
                type: type(of: payload).eventType, schemaVersion: 1, payload: try encodeValue(payload, sealingFor: nil, with: nil))
        } catch {
            preconditionFailure("a plain event payload failed to encode: \(error)")  // plain value types always encode
        }
    }

    /// The event's fields as canonical JSON, personal fields as they are in the value: for people (audit, export, feeds).
    /// `redactingSecrets`: password hashes and key digests read as `Secrets.redacted`.
    public static func json(_ event: DomainEvent, redactingSecrets: Bool = false) -> [UInt8] {
        guard redactingSecrets else { return encodeVersion1(event).payload }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.userInfo[.redactingSecrets] = true
        do {
            return Array(try encoder.encode(event.payload))
        } catch {
            preconditionFailure("a plain event payload failed to encode: \(error)")  // plain value types always encode
        }
    }

    /// The event types whose stored payload holds a secret (a password hash
    /// and its salt, an API key's digest): shown to people, their decoded
    /// fields are redacted and their stored bytes left out. A test keeps
    /// this list equal to the types whose redacted JSON differs.
    public static let secretBearingTypes: Set<String> = [UserRegistered.eventType, PasswordChanged.eventType, ApiKeyIssued.eventType]

    /// Canonical JSON (sorted keys, no whitespace) of any value with personal fields, sealed when a cipher is given.
    public static func encodeValue(
        _ value: some Encodable, sealingFor owner: UserId?, with cipher: (any PersonalDataCipher)?
    ) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if let cipher {
            encoder.userInfo[.personalDataCipher] = cipher
            if let owner { encoder.userInfo[.personalDataOwner] = owner }
        }
        return Array(try encoder.encode(value))
    }

    /// A decoder for stored payloads: sealed personal fields are opened with `cipher`, or read as erased.
    public static func decoder(opening cipher: (any PersonalDataCipher)?) -> JSONDecoder {
        let decoder = JSONDecoder()
        if let cipher { decoder.userInfo[.personalDataCipher] = cipher }
        return decoder
    }

    public static func decode(
        type: String, schemaVersion: Int, payload: [UInt8],
        opening cipher: (any PersonalDataCipher)? = nil
    ) throws(Failure) -> DomainEvent {
        try decode(type: type, schemaVersion: schemaVersion, payload: payload, using: cipher.map { decoder(opening: $0) } ?? plainDecoder)
    }

    /// One shared decoder for payloads read without a cipher (decoding does not mutate it).
    static let plainDecoder = JSONDecoder()

    /// Decodes with a decoder made once by `decoder(opening:)`: the form for loops over many events.
    public static func decode(type: String, schemaVersion: Int, payload: [UInt8], using decoder: JSONDecoder) throws(Failure) -> DomainEvent
    {
        do {
            return try payload.withUnsafeBytes { bytes throws(Failure) in
                try decode(type: type, schemaVersion: schemaVersion, payload: bytes, using: decoder)
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw .undecodable(type: type, reason: "\(error)")
        }
    }

    /// Decodes from memory it does not copy (a record read in place from the log).
    public static func decode(
        type: String, schemaVersion: Int, payload: UnsafeRawBufferPointer, using decoder: JSONDecoder
    ) throws(Failure) -> DomainEvent {
        guard let entry = registry[type] else { throw .unknownType(type) }
        guard schemaVersion >= 1, schemaVersion <= entry.version else {
            throw .unknownSchemaVersion(type: type, version: schemaVersion)
        }
        do {
            return try entry.decode(payload, schemaVersion, decoder)
        } catch {
            throw .undecodable(type: type, reason: "\(error)")
        }
    }

    /// Every event type the shop knows, with its current schema version.
    public static var eventTypes: [(type: String, schemaVersion: Int)] {
        registry.map { ($0.key, $0.value.version) }.sorted { $0.type < $1.type }
    }

    struct Entry: Sendable {
        let version: Int
        /// Payload, its schema version, and a JSON decoder whose `userInfo` (the cipher) serves both forms.
        let decode: @Sendable (UnsafeRawBufferPointer, Int, JSONDecoder) throws -> DomainEvent
    }

    private static func entry<P: EventPayload>(_ type: P.Type, _ wrap: @escaping @Sendable (P) -> DomainEvent) -> (String, Entry) {
        let fast = (P.self as? any BinaryFastDecodable.Type).map { fastDecoder($0, as: P.self) }
        return (
            P.eventType,
            Entry(version: P.schemaVersion) { payload, version, decoder in
                if version == 1 { return wrap(try decoder.decode(P.self, from: Data(payload))) }  // JSON: copied once
                let older = version < P.schemaVersion ? version : nil  // its later optional fields read as absent
                if let fast { return wrap(try fast(payload, decoder.userInfo, older)) }
                return wrap(try BinaryPayload.decode(P.self, from: payload, userInfo: decoder.userInfo, storedVersion: older))
            }
        )
    }

    /// The hand-written decoder of `P`, found once per type (`F` is `P`, opened from the conformance check).
    private static func fastDecoder<F: BinaryFastDecodable, P>(
        _ fast: F.Type, as _: P.Type
    )
        -> @Sendable (UnsafeRawBufferPointer, [CodingUserInfoKey: any Sendable], Int?) throws -> P
    {
        precondition(F.self == P.self, "a fast decoder for another type")
        return { payload, userInfo, storedVersion in
            unsafeBitCast(try BinaryPayload.decodeFast(F.self, from: payload, userInfo: userInfo, storedVersion: storedVersion), to: P.self)
        }
    }

    static let registry: [String: Entry] = Dictionary(uniqueKeysWithValues: [
        entry(EmailClaimed.self) { .emailClaim(.claimed($0)) },
        entry(EmailReleased.self) { .emailClaim(.released($0)) },
        entry(UserRegistered.self) { .user(.registered($0)) },
        entry(UserLoggedIn.self) { .user(.loggedIn($0)) },
        entry(LoginFailed.self) { .user(.loginFailed($0)) },
        entry(UserLockedOut.self) { .user(.lockedOut($0)) },
        entry(ProfileUpdated.self) { .user(.profileUpdated($0)) },
        entry(PasswordChanged.self) { .user(.passwordChanged($0)) },
        entry(AddressAdded.self) { .user(.addressAdded($0)) },
        entry(AddressUpdated.self) { .user(.addressUpdated($0)) },
        entry(AddressRemoved.self) { .user(.addressRemoved($0)) },
        entry(DefaultAddressSet.self) { .user(.defaultAddressSet($0)) },
        entry(FavoriteAdded.self) { .user(.favoriteAdded($0)) },
        entry(FavoriteRemoved.self) { .user(.favoriteRemoved($0)) },
        entry(GoodsViewed.self) { .user(.goodsViewed($0)) },
        entry(RoleGranted.self) { .user(.roleGranted($0)) },
        entry(UserForgotten.self) { .user(.forgotten($0)) },
        entry(MerchantApplicationSubmitted.self) { .user(.merchantApplicationSubmitted($0)) },
        entry(MerchantApplicationApproved.self) { .user(.merchantApplicationApproved($0)) },
        entry(MerchantApplicationRejected.self) { .user(.merchantApplicationRejected($0)) },
        entry(GoodsListed.self) { .goods(.listed($0)) },
        entry(GoodsUpdated.self) { .goods(.updated($0)) },
        entry(PriceChanged.self) { .goods(.priceChanged($0)) },
        entry(StockAdded.self) { .goods(.stockAdded($0)) },
        entry(StockReturned.self) { .goods(.stockReturned($0)) },
        entry(StockAdjusted.self) { .goods(.stockAdjusted($0)) },
        entry(StockReserved.self) { .goods(.stockReserved($0)) },
        entry(StockReleased.self) { .goods(.stockReleased($0)) },
        entry(StockShipped.self) { .goods(.stockShipped($0)) },
        entry(LowStockDetected.self) { .goods(.lowStockDetected($0)) },
        entry(GoodsDelisted.self) { .goods(.delisted($0)) },
        entry(GoodsRelisted.self) { .goods(.relisted($0)) },
        entry(ReviewPosted.self) { .goods(.reviewPosted($0)) },
        entry(ReviewModerated.self) { .goods(.reviewModerated($0)) },
        entry(ReviewReplied.self) { .goods(.reviewReplied($0)) },
        entry(ReviewEdited.self) { .goods(.reviewEdited($0)) },
        entry(WaitlistJoined.self) { .goods(.waitlistJoined($0)) },
        entry(WaitlistLeft.self) { .goods(.waitlistLeft($0)) },
        entry(BackInStockNotified.self) { .goods(.backInStockNotified($0)) },
        entry(PreOrdersOpened.self) { .goods(.preOrdersOpened($0)) },
        entry(PreOrdersCancelled.self) { .goods(.preOrdersCancelled($0)) },
        entry(PreOrderReserved.self) { .goods(.preOrderReserved($0)) },
        entry(PreOrderFilled.self) { .goods(.preOrderFilled($0)) },
        entry(PreOrderReleased.self) { .goods(.preOrderReleased($0)) },
        entry(GoodsOptionsDefined.self) { .goods(.optionsDefined($0)) },
        entry(VariantAdded.self) { .goods(.variantAdded($0)) },
        entry(VariantUpdated.self) { .goods(.variantUpdated($0)) },
        entry(VariantDelisted.self) { .goods(.variantDelisted($0)) },
        entry(VariantRelisted.self) { .goods(.variantRelisted($0)) },
        entry(GoodsAttributesSet.self) { .goods(.attributesSet($0)) },
        entry(SkuClaimed.self) { .skuClaim(.claimed($0)) },
        entry(DeliveryMethodDefined.self) { .delivery(.defined($0)) },
        entry(DeliveryMethodRetired.self) { .delivery(.retired($0)) },
        entry(WebhookRegistered.self) { .webhook(.registered($0)) },
        entry(WebhookDisabled.self) { .webhook(.disabled($0)) },
        entry(WebhookCheckpointed.self) { .webhook(.checkpointed($0)) },
        entry(WebhookDeadLettered.self) { .webhook(.deadLettered($0)) },
        entry(WebhookDeadLettersReplayed.self) { .webhook(.deadLettersReplayed($0)) },
        entry(WebhookRedelivered.self) { .webhook(.redelivered($0)) },
        entry(CartItemAdded.self) { .cart(.itemAdded($0)) },
        entry(CartItemQuantityChanged.self) { .cart(.quantityChanged($0)) },
        entry(CartItemRemoved.self) { .cart(.itemRemoved($0)) },
        entry(CartCouponApplied.self) { .cart(.couponApplied($0)) },
        entry(CartCouponRemoved.self) { .cart(.couponRemoved($0)) },
        entry(CartCleared.self) { .cart(.cleared($0)) },
        entry(CartCheckedOut.self) { .cart(.checkedOut($0)) },
        entry(CouponCreated.self) { .coupon(.created($0)) },
        entry(CouponRedeemed.self) { .coupon(.redeemed($0)) },
        entry(CouponReleased.self) { .coupon(.released($0)) },
        entry(CouponDisabled.self) { .coupon(.disabled($0)) },
        entry(CouponCodeClaimed.self) { .couponCode(.claimed($0)) },
        entry(OrderNumbersReserved.self) { .orderNumber(.reserved($0)) },
        entry(OrderPlaced.self) { .order(.placed($0)) },
        entry(OrderPaid.self) { .order(.paid($0)) },
        entry(OrderShipped.self) { .order(.shipped($0)) },
        entry(OrderReceived.self) { .order(.received($0)) },
        entry(OrderCancelled.self) { .order(.cancelled($0)) },
        entry(RefundRequested.self) { .order(.refundRequested($0)) },
        entry(RefundApproved.self) { .order(.refundApproved($0)) },
        entry(RefundRejected.self) { .order(.refundRejected($0)) },
        entry(OrderRefunded.self) { .order(.refunded($0)) },
        entry(AfterSaleOpened.self) { .order(.afterSaleOpened($0)) },
        entry(AfterSaleClosed.self) { .order(.afterSaleClosed($0)) },
        entry(OrderPartlyRefunded.self) { .order(.partlyRefunded($0)) },
        entry(OrderDifferencePaid.self) { .order(.differencePaid($0)) },
        entry(PromotionsApplied.self) { .order(.promotionsApplied($0)) },
        entry(PromotionCreated.self) { .promotions(.created($0)) },
        entry(PromotionEnded.self) { .promotions(.ended($0)) },
        entry(PromotionApplied.self) { .promotion(.applied($0)) },
        entry(PromotionReleased.self) { .promotion(.released($0)) },
        entry(AfterSaleRequested.self) { .afterSale(.requested($0)) },
        entry(AfterSaleApproved.self) { .afterSale(.approved($0)) },
        entry(AfterSaleRejected.self) { .afterSale(.rejected($0)) },
        entry(ReturnReceived.self) { .afterSale(.returnReceived($0)) },
        entry(AfterSaleRefunded.self) { .afterSale(.refunded($0)) },
        entry(ReplacementShipped.self) { .afterSale(.replacementShipped($0)) },
        entry(ExchangeDifferenceDue.self) { .afterSale(.differenceDue($0)) },
        entry(ExchangeDifferencePaid.self) { .afterSale(.differencePaid($0)) },
        entry(OrderExpired.self) { .order(.expired($0)) },
        entry(PaymentInitiated.self) { .payment(.initiated($0)) },
        entry(PaymentSucceeded.self) { .payment(.succeeded($0)) },
        entry(PaymentFailed.self) { .payment(.failed($0)) },
        entry(PaymentRefunded.self) { .payment(.refunded($0)) },
        entry(PointsEarned.self) { .points(.earned($0)) },
        entry(PointsRedeemed.self) { .points(.redeemed($0)) },
        entry(PointsRefunded.self) { .points(.refunded($0)) },
        entry(PointsRevoked.self) { .points(.revoked($0)) },
        entry(PointsExchanged.self) { .points(.exchanged($0)) },
        entry(ApiKeyIssued.self) { .apiKey(.issued($0)) },
        entry(ApiKeyRevoked.self) { .apiKey(.revoked($0)) },
    ])
}
