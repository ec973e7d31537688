import Commerce
import EventCodec
import EventStore
import Foundation

/// The kinds of aggregate in the shop, by the category of their stream name.
public enum AggregateKind: String, CaseIterable, Codable, Sendable {
    case emailClaim = "email"
    case user
    case goods
    case cart
    case coupon
    case couponCode = "couponcode"
    case order
    case orderNumbers = "ordernumbers"
    case payment
    case points
    case apiKey = "apikey"
    case skuClaim = "sku"
    case delivery
    case webhook
    case afterSale = "aftersale"
    case promotions
    case promotion

    /// The kind of a stream, or nil for the engine's own streams (idempotency records).
    public init?(stream: String) {
        guard let dash = stream.firstIndex(of: "-") else { return nil }
        self.init(rawValue: String(stream[..<dash]))
    }
}

/// One aggregate's state, whatever its kind: folded with the same `evolve`
/// functions the engine uses, so replay has no second copy of the rules.
public enum AnyAggregate: Hashable, Sendable, Encodable {
    case emailClaim(EmailClaimState)
    case user(UserState)
    case goods(GoodsState)
    case cart(CartState)
    case coupon(CouponState)
    case couponCode(CouponCodeState)
    case order(OrderState)
    case orderNumbers(OrderNumbersState)
    case payment(PaymentState)
    case points(PointsState)
    case apiKey(ApiKeyState)
    case skuClaim(SkuClaimState)
    case delivery(DeliveryState)
    case webhook(WebhookState)
    case afterSale(AfterSaleState)
    case promotions(PromotionDirectoryState)
    case promotion(PromotionState)

    public init(_ kind: AggregateKind) {
        switch kind {
        case .emailClaim: self = .emailClaim(EmailClaimState())
        case .user: self = .user(UserState())
        case .goods: self = .goods(GoodsState())
        case .cart: self = .cart(CartState())
        case .coupon: self = .coupon(CouponState())
        case .couponCode: self = .couponCode(CouponCodeState())
        case .order: self = .order(OrderState())
        case .orderNumbers: self = .orderNumbers(OrderNumbersState())
        case .payment: self = .payment(PaymentState())
        case .points: self = .points(PointsState())
        case .apiKey: self = .apiKey(ApiKeyState())
        case .skuClaim: self = .skuClaim(SkuClaimState())
        case .delivery: self = .delivery(DeliveryState())
        case .webhook: self = .webhook(WebhookState())
        case .afterSale: self = .afterSale(AfterSaleState())
        case .promotions: self = .promotions(PromotionDirectoryState())
        case .promotion: self = .promotion(PromotionState())
        }
    }

    public func evolve(_ event: DomainEvent) -> AnyAggregate {
        switch self {
        case .emailClaim(let state): return .emailClaim(state.evolve(event))
        case .user(let state): return .user(state.evolve(event))
        case .goods(let state): return .goods(state.evolve(event))
        case .cart(let state): return .cart(state.evolve(event))
        case .coupon(let state): return .coupon(state.evolve(event))
        case .couponCode(let state): return .couponCode(state.evolve(event))
        case .order(let state): return .order(state.evolve(event))
        case .orderNumbers(let state): return .orderNumbers(state.evolve(event))
        case .payment(let state): return .payment(state.evolve(event))
        case .points(let state): return .points(state.evolve(event))
        case .apiKey(let state): return .apiKey(state.evolve(event))
        case .skuClaim(let state): return .skuClaim(state.evolve(event))
        case .delivery(let state): return .delivery(state.evolve(event))
        case .webhook(let state): return .webhook(state.evolve(event))
        case .afterSale(let state): return .afterSale(state.evolve(event))
        case .promotions(let state): return .promotions(state.evolve(event))
        case .promotion(let state): return .promotion(state.evolve(event))
        }
    }

    public var state: any AggregateState {
        switch self {
        case .emailClaim(let state): return state
        case .user(let state): return state
        case .goods(let state): return state
        case .cart(let state): return state
        case .coupon(let state): return state
        case .couponCode(let state): return state
        case .order(let state): return state
        case .orderNumbers(let state): return state
        case .payment(let state): return state
        case .points(let state): return state
        case .apiKey(let state): return state
        case .skuClaim(let state): return state
        case .delivery(let state): return state
        case .webhook(let state): return state
        case .afterSale(let state): return state
        case .promotions(let state): return state
        case .promotion(let state): return state
        }
    }

    public func encode(to encoder: any Encoder) throws { try state.encode(to: encoder) }

    /// Canonical JSON of the state (sorted keys), personal fields as read.
    public var json: [UInt8] {
        (try? EventCodec.encodeValue(state, sealingFor: nil, with: nil)) ?? []  // plain encoding of value types does not fail
    }
}

/// A stream's state at a point, with the version it had there.
public struct StreamState: Hashable, Sendable, Encodable {
    public var version: UInt64
    public var lastPosition: UInt64
    public var state: AnyAggregate
}

/// The whole shop as of one position.
public struct ShopState: Sendable, Encodable {
    public var position: UInt64
    public var recordedAt: Timestamp?
    public var hash: String
    /// Every aggregate stream, by name.
    public var streams: [String: StreamState]
    /// Events of the engine's own streams (idempotency records), counted but not folded.
    public var engineEvents: Int

    /// How many streams of each kind exist at this point.
    public var counts: [AggregateKind: Int] {
        streams.keys.reduce(into: [:]) { counts, name in
            if let kind = AggregateKind(stream: name) { counts[kind, default: 0] += 1 }
        }
    }

    enum CodingKeys: String, CodingKey { case position, recordedAt, hash, streams, engineEvents }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(position, forKey: .position)
        try container.encode(recordedAt?.description, forKey: .recordedAt)
        try container.encode(hash, forKey: .hash)
        try container.encode(streams, forKey: .streams)
        try container.encode(engineEvents, forKey: .engineEvents)
    }
}

/// What changed in one stream between two points.
public struct StreamChange: Hashable, Sendable, Encodable {
    public enum Kind: String, Sendable, Encodable { case added, changed }
    public var stream: String
    public var kind: Kind
    public var fromVersion: UInt64
    public var toVersion: UInt64
    /// Top-level fields of the state whose values differ.
    public var fields: [String]
}

/// Where replay finds an aggregate's state saved at a version, so it folds
/// only the events after it (the engine's snapshot store).
public protocol SnapshotSource: Sendable {
    func latest<S: AggregateState>(
        _ stream: String, atOrBefore version: UInt64, as: S.Type,
        cipher: (any PersonalDataCipher)?
    ) throws -> (state: S, version: UInt64)?
}

/// Rebuilds past states from the log: the whole shop or one stream, as of a
/// position or a time.
public struct Replayer: Sendable {
    public let log: EventLog
    public let cipher: (any PersonalDataCipher)?
    public let snapshots: (any SnapshotSource)?

    public init(log: EventLog, cipher: (any PersonalDataCipher)?, snapshots: (any SnapshotSource)? = nil) {
        self.log = log
        self.cipher = cipher
        self.snapshots = snapshots
    }

    /// The last position recorded at or before `time` (0: before the first event).
    public func position(at time: Timestamp) throws -> UInt64 { try log.position(atOrBefore: time) }

    /// The whole shop as of `position` (clamped to the head). Streams are
    /// split among the cores by a hash of their name; each core scans the log
    /// itself, decodes only its own streams' records and folds them in
    /// position order, so nothing is shared until the shares are merged.
    public func shop(through position: UInt64, progress: ((UInt64, UInt64) -> Void)? = nil) throws -> ShopState {
        let end = min(position, try log.head().position)
        var shop = ShopState(position: end, recordedAt: nil, hash: Digest.zero.hex, streams: [:], engineEvents: 0)
        guard end > 0 else { return shop }
        let count = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let partitions = (0..<count).map { _ in Partition(cipher: cipher) }
        let reporter = UncheckedBox(progress)
        DispatchQueue.concurrentPerform(iterations: count) { index in
            let partition = partitions[index]
            let report: ((UInt64) -> Void)? = index == 0 ? reporter.value.map { report in { report($0, end) } } : nil
            do {
                try log.scanViews(
                    from: 1, through: end, selecting: { Self.partition(of: $0, among: count) == index },
                    progress: report
                ) { record in
                    try partition.fold(record)
                    return true
                }
            } catch {
                partition.failure = error
            }
        }
        for partition in partitions { if let error = partition.failure { throw error } }
        shop.streams.reserveCapacity(partitions.reduce(0) { $0 + $1.streams.count })
        for partition in partitions {
            shop.streams.merge(partition.streams) { first, _ in first }
            shop.engineEvents += partition.engineEvents
        }
        let last = try log.event(at: end)
        shop.recordedAt = last?.recordedAt
        shop.hash = last?.hash.hex ?? Digest.zero.hex
        return shop
    }

    /// FNV-1a of the name's bytes: a stream's partition, the same in every pass.
    static func partition(of stream: UnsafeRawBufferPointer, among count: Int) -> Int {
        guard count > 1 else { return 0 }
        return Int(FNV1a.hash(stream) % UInt64(count))
    }

    /// One core's share of a replay: its streams, folded by it alone.
    final class Partition: @unchecked Sendable {
        var streams: [String: StreamState] = [:]
        var engineEvents = 0
        var failure: (any Error)?
        /// A decoder per thread: JSONDecoder reads its options under a lock, so a shared one serialises the threads.
        let decoder: JSONDecoder

        init(cipher: (any PersonalDataCipher)?) { decoder = EventCodec.decoder(opening: cipher) }

        func fold(_ record: RecordView) throws {
            let stream = record.stream  // made from the record's bytes: once
            let event: DomainEvent
            if let index = streams.index(forKey: stream) {
                event = try decode(record, in: stream)
                streams.values[index].state = streams.values[index].state.evolve(event)
                streams.values[index].version = record.version
                streams.values[index].lastPosition = record.position
            } else if let kind = AggregateKind(stream: stream) {
                event = try decode(record, in: stream)
                streams[stream] = StreamState(
                    version: record.version, lastPosition: record.position, state: AnyAggregate(kind).evolve(event))
            } else {
                engineEvents += 1  // the engine's own streams (idempotency records) are not aggregates
            }
        }

        private func decode(_ record: RecordView, in stream: String) throws -> DomainEvent {
            try Replayer.decode(
                type: record.type, schemaVersion: record.schemaVersion, payload: record.payload,
                at: record.position, in: stream, using: decoder)
        }
    }

    /// A stored event in its domain form, or nil when it is not a domain event.
    public func decode(_ recorded: RecordedEvent) throws -> DomainEvent? {
        try decode(recorded, using: EventCodec.decoder(opening: cipher))
    }

    func decode(_ recorded: RecordedEvent, using decoder: JSONDecoder) throws -> DomainEvent? {
        guard AggregateKind(stream: recorded.stream.rawValue) != nil else { return nil }
        return try recorded.payload.withUnsafeBytes { payload in
            try Self.decode(
                type: recorded.type, schemaVersion: recorded.schemaVersion, payload: payload,
                at: recorded.position, in: recorded.stream.rawValue, using: decoder)
        }
    }

    /// A domain event from its stored parts; an error names where it is.
    static func decode(
        type: String, schemaVersion: UInt32, payload: UnsafeRawBufferPointer, at position: UInt64, in stream: String,
        using decoder: JSONDecoder
    ) throws -> DomainEvent {
        do {
            return try EventCodec.decode(type: type, schemaVersion: Int(schemaVersion), payload: payload, using: decoder)
        } catch {
            throw ReplayError("event at position \(position) (\(type) in \(stream)) does not decode: \(error)")
        }
    }

    // MARK: One stream

    /// One stream as of `position`: its state, the events that built it, and
    /// the snapshot version it started from (when a snapshot was used). `observe`, when given, sees each event folded with
    /// the state it produced.
    public struct StreamReplay: Sendable {
        public var stream: String
        public var version: UInt64
        public var state: AnyAggregate
        public var events: [RecordedEvent]
        public var fromSnapshot: UInt64?
    }

    /// `stream` as of `position`. With `useSnapshots`, folding starts from the
    /// newest snapshot at or before the stream's version there; the events
    /// listed are then the tail after it.
    public func stream(
        _ name: String, through position: UInt64, useSnapshots: Bool = true, observe: ((RecordedEvent, AnyAggregate) -> Void)? = nil
    ) throws -> StreamReplay {
        guard let kind = AggregateKind(stream: name) else { throw ReplayError("\(LogLimits.shown(name)) is not an aggregate stream") }
        let streamName: StreamName
        do { streamName = try StreamName(name) } catch { throw ReplayError("\(LogLimits.shown(name)) is not a stream name: \(error)") }
        let version = try log.version(of: streamName, at: position)
        var replay = StreamReplay(stream: name, version: version, state: AnyAggregate(kind), events: [], fromSnapshot: nil)
        guard version > 0 else { return replay }
        if useSnapshots, let snapshots, let (state, at) = try snapshotState(kind, name, atOrBefore: version, snapshots) {
            replay.state = state
            replay.fromSnapshot = at
        }
        var next = (replay.fromSnapshot ?? 0) + 1
        let decoder = EventCodec.decoder(opening: cipher)
        while next <= version {
            let page = try log.readStream(streamName, from: next, limit: Int(min(UInt64(LogLimits.readPageEventsMax), version - next + 1)))
            guard !page.isEmpty else { break }
            for recorded in page {
                if let event = try decode(recorded, using: decoder) { replay.state = replay.state.evolve(event) }
                observe?(recorded, replay.state)
                replay.events.append(recorded)
            }
            next = (page.last?.version ?? version) + 1
        }
        return replay
    }

    private func snapshotState(
        _ kind: AggregateKind, _ name: String, atOrBefore version: UInt64,
        _ snapshots: any SnapshotSource
    ) throws -> (AnyAggregate, UInt64)? {
        func load<S: AggregateState>(_ type: S.Type, _ wrap: (S) -> AnyAggregate) throws -> (AnyAggregate, UInt64)? {
            try snapshots.latest(name, atOrBefore: version, as: S.self, cipher: cipher).map { (wrap($0.state), $0.version) }
        }
        switch kind {
        case .emailClaim: return try load(EmailClaimState.self, AnyAggregate.emailClaim)
        case .user: return try load(UserState.self, AnyAggregate.user)
        case .goods: return try load(GoodsState.self, AnyAggregate.goods)
        case .cart: return try load(CartState.self, AnyAggregate.cart)
        case .coupon: return try load(CouponState.self, AnyAggregate.coupon)
        case .couponCode: return try load(CouponCodeState.self, AnyAggregate.couponCode)
        case .order: return try load(OrderState.self, AnyAggregate.order)
        case .orderNumbers: return try load(OrderNumbersState.self, AnyAggregate.orderNumbers)
        case .payment: return try load(PaymentState.self, AnyAggregate.payment)
        case .points: return try load(PointsState.self, AnyAggregate.points)
        case .apiKey: return try load(ApiKeyState.self, AnyAggregate.apiKey)
        case .skuClaim: return try load(SkuClaimState.self, AnyAggregate.skuClaim)
        case .delivery: return try load(DeliveryState.self, AnyAggregate.delivery)
        case .webhook: return try load(WebhookState.self, AnyAggregate.webhook)
        case .afterSale: return try load(AfterSaleState.self, AnyAggregate.afterSale)
        case .promotions: return try load(PromotionDirectoryState.self, AnyAggregate.promotions)
        case .promotion: return try load(PromotionState.self, AnyAggregate.promotion)
        }
    }

    // MARK: Diff

    /// Streams added or changed from `before` to `after`, by name.
    public static func diff(_ before: ShopState, _ after: ShopState) -> [StreamChange] {
        var changes: [StreamChange] = []
        for name in after.streams.keys.sorted() {
            guard let new = after.streams[name] else { continue }
            guard let old = before.streams[name] else {
                changes.append(StreamChange(stream: name, kind: .added, fromVersion: 0, toVersion: new.version, fields: []))
                continue
            }
            guard old.version != new.version || old.state != new.state else { continue }
            changes.append(
                StreamChange(
                    stream: name, kind: .changed, fromVersion: old.version, toVersion: new.version,
                    fields: changedFields(old.state.json, new.state.json)))
        }
        return changes
    }

    private static func canonical(_ value: Any) -> Data? {
        try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys, .fragmentsAllowed])
    }

    static func changedFields(_ old: [UInt8], _ new: [UInt8]) -> [String] {
        let before = (try? JSONSerialization.jsonObject(with: Data(old))) as? [String: Any] ?? [:]
        let after = (try? JSONSerialization.jsonObject(with: Data(new))) as? [String: Any] ?? [:]
        return Set(before.keys).union(after.keys).sorted().filter { key in
            switch (before[key], after[key]) {
            case (nil, nil): return false
            case let (left?, right?): return canonical(left) != canonical(right)
            default: return true
            }
        }
    }
}

/// Hands a non-Sendable value (a progress callback called from one thread only) to a parallel loop.
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

public struct ReplayError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
