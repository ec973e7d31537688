import Commerce
import EventCodec
import EventStore
import Foundation
import HeapModule
import Logging
import ServiceLifecycle
import Synchronization

/// The process manager that ends orders whose time is up. It follows the log (catching
/// up from the start, then live) to know which orders are still unpaid and when
/// they expire, and which wait for pre-ordered stock and until when; `sweep()` issues
/// `ExpireOrder` for every unpaid one that is due, and `CancelOrder` (which refunds a paid
/// order) for every pre-order whose stock did not arrive in time or whose pre-orders the
/// merchant called off. Time comes from the engine's injected clock, so tests move it by hand.
public final class OrderExpiry: Sendable {
    static let sweepBatchMax = 500

    private let engine: Engine
    /// Unpaid orders and when they expire, soonest first.
    private let pending = Mutex(Unpaid())
    /// Pre-order campaigns and their queued orders, by variant.
    private let preOrders = Mutex<[PreOrderCampaign.Key: PreOrderCampaign]>([:])
    private let followedThrough = Atomic<UInt64>(0)

    public init(engine: Engine) { self.engine = engine }

    /// The unpaid orders, by id and by deadline: a sweep looks at the orders that are due (and the deadlines of orders
    /// paid, cancelled or expired since, each once), not at every unpaid order; a shop with a million unpaid orders
    /// sweeps as cheaply as one with ten.
    struct Unpaid {
        private(set) var deadlines: [OrderId: Instant] = [:]
        /// Every deadline set, soonest first; one whose order left `deadlines` (or got another deadline) is dropped when it
        /// comes to the front.
        private var queue = Heap<Due>()
        /// Deadlines looked at by `next(dueBy:)` (for the tests: a sweep's work is the due orders', not every unpaid one's).
        private(set) var lookedAt = 0

        struct Due: Comparable {
            var deadline: Instant
            var orderId: OrderId
            static func < (a: Due, b: Due) -> Bool { (a.deadline, a.orderId) < (b.deadline, b.orderId) }
        }

        var count: Int { deadlines.count }

        mutating func set(_ orderId: OrderId, expiresAt deadline: Instant) {
            deadlines[orderId] = deadline
            queue.insert(Due(deadline: deadline, orderId: orderId))
        }

        mutating func remove(_ orderId: OrderId) {
            deadlines[orderId] = nil
            if queue.min?.orderId == orderId { queue.removeMin() }  // the one a sweep just tried
        }

        /// The unpaid order whose deadline is soonest, when it is `now` or before (it stays until removed).
        mutating func next(dueBy now: Instant) -> OrderId? {
            while let first = queue.min {
                lookedAt += 1
                guard deadlines[first.orderId] == first.deadline else {
                    queue.removeMin()
                    continue
                }
                return first.deadline <= now ? first.orderId : nil
            }
            return nil
        }
    }

    /// One variant's latest pre-order campaign as the log tells it.
    struct PreOrderCampaign {
        struct Key: Hashable { var goodsId: GoodsId, variantId: VariantId }
        var openedAt: UInt64 = 0
        var arrivesBy = Instant(millisecondsSinceEpoch: .max)
        /// The merchant's reason, once the campaign is called off.
        var cancelled: String?
        var queued: Set<OrderId> = []

        /// Why its queued orders are cancelled at `now`, or nil while they may still be filled.
        func cancellation(at now: Instant) -> String? {
            if let cancelled { return "pre-orders called off: \(cancelled.prefix(400))" }
            guard arrivesBy <= now else { return nil }
            return "the pre-ordered stock did not arrive by \(arrivesBy.millisecondsSinceEpoch)"
        }
    }

    /// Read in this order, so that within one window a placement or reservation comes before its end (positions tell a
    /// campaign's opening from a later calling off).
    static let followedTypes = [
        OrderPlaced.eventType, OrderPaid.eventType, OrderCancelled.eventType, OrderExpired.eventType, PreOrdersOpened.eventType,
        PreOrdersCancelled.eventType, PreOrderReserved.eventType, PreOrderFilled.eventType, PreOrderReleased.eventType,
    ]

    /// Reads the order events appended since the last call, through the log's
    /// type chains: only the types that matter are read, not the whole log.
    public func catchUp() throws {
        let from = followedThrough.load(ordering: .acquiring) + 1
        let head = engine.log.headPosition
        guard head >= from else { return }
        for type in Self.followedTypes {
            var next = from
            while next <= head {
                let events = try engine.log.events(ofType: type, from: next, limit: LogLimits.readPageEventsMax).filter {
                    $0.position <= head
                }
                for recorded in events { track(recorded) }
                guard let last = events.last, events.count == LogLimits.readPageEventsMax else { break }
                next = last.position + 1
            }
        }
        followedThrough.store(head, ordering: .releasing)
    }

    /// Placed orders join the unpaid set; paid, cancelled and expired ones leave
    /// it (types are read in that order, so one window's placement and end cancel out).
    private func track(_ recorded: RecordedEvent) {
        switch recorded.type {
        case PreOrdersOpened.eventType, PreOrdersCancelled.eventType, PreOrderReserved.eventType, PreOrderFilled.eventType,
            PreOrderReleased.eventType:
            trackPreOrder(recorded)
        case OrderPlaced.eventType:
            // Without a cipher: only the id and the deadline are needed, and opening the sealed address (AES-GCM) was most of the cost.
            guard
                case .order(.placed(let placed))? = try? EventCodec.decode(
                    type: recorded.type, schemaVersion: Int(recorded.schemaVersion),
                    payload: recorded.payload)
            else { return }
            pending.withLock { $0.set(placed.orderId, expiresAt: placed.expiresAt) }
        default:
            guard case .order(let id)? = StreamId(name: recorded.stream.rawValue) else { return }
            pending.withLock { $0.remove(id) }
        }
    }

    private func trackPreOrder(_ recorded: RecordedEvent) {
        guard case .goods(let goodsId)? = StreamId(name: recorded.stream.rawValue),
            case .goods(let event)? = try? EventCodec.decode(
                type: recorded.type, schemaVersion: Int(recorded.schemaVersion), payload: recorded.payload)
        else { return }
        func key(_ variant: VariantId?) -> PreOrderCampaign.Key {
            PreOrderCampaign.Key(goodsId: goodsId, variantId: variant ?? goodsId.defaultVariant)
        }
        preOrders.withLock { campaigns in
            switch event {
            case .preOrdersOpened(let opened):
                let queued = campaigns[key(opened.variantId)]?.queued ?? []
                campaigns[key(opened.variantId)] = PreOrderCampaign(
                    openedAt: recorded.position, arrivesBy: opened.arrivesBy, cancelled: nil, queued: queued)
            case .preOrdersCancelled(let cancelled):
                if let campaign = campaigns[key(cancelled.variantId)], campaign.openedAt < recorded.position {
                    campaigns[key(cancelled.variantId)]?.cancelled = cancelled.reason
                }
            case .preOrderReserved(let reserved):
                campaigns[key(reserved.variantId), default: PreOrderCampaign()].queued.insert(reserved.orderId)
            case .preOrderFilled(let filled): campaigns[key(filled.variantId)]?.queued.remove(filled.orderId)
            case .preOrderReleased(let released): campaigns[key(released.variantId)]?.queued.remove(released.orderId)
            default: break
            }
        }
    }

    public var unpaidCount: Int { pending.withLock { $0.count } }
    /// Deadlines the sweeps have looked at so far.
    package var deadlinesLookedAt: Int { pending.withLock { $0.lookedAt } }
    /// Orders waiting for pre-ordered stock.
    public var preOrderedCount: Int { preOrders.withLock { $0.values.reduce(0) { $0 + $1.queued.count } } }

    /// Expires every unpaid order whose time has come; returns how many it expired.
    @discardableResult
    public func sweep() async throws -> Int {
        try catchUp()
        let now = engine.now
        var expired = 0
        // Soonest first, at most a batch a sweep; each leaves the unpaid orders once tried (expired, or refused because it
        // was paid or cancelled meanwhile), so the next one comes to the front.
        for _ in 0..<Self.sweepBatchMax {
            guard let orderId = pending.withLock({ $0.next(dueBy: now) }) else { break }
            do {
                _ = try await engine.execute(
                    .expireOrder(orderId), context: CommandContext(actor: .system, correlationId: UUIDv7Generator.shared.next()))
                expired += 1
            } catch {
                // Paid or cancelled meanwhile (a refusal): the log will say so on the next catch-up.
                guard error.kind == .rejected else { throw error }
            }
            pending.withLock { $0.remove(orderId) }
        }
        return expired + (try await cancelUnfilledPreOrders(now: now))
    }

    /// Cancels (and so refunds) every queued pre-order whose campaign was called off or whose stock did not arrive in time.
    private func cancelUnfilledPreOrders(now: Instant) async throws -> Int {
        let due = preOrders.withLock { campaigns in
            campaigns.compactMap { key, campaign in campaign.cancellation(at: now).map { (key, campaign.queued.sorted(), $0) } }
        }
        var cancelled = 0
        for (key, orders, reason) in due {
            for orderId in orders.prefix(Self.sweepBatchMax - min(cancelled, Self.sweepBatchMax)) {
                do {
                    _ = try await engine.execute(
                        .cancelOrder(orderId, reason: reason),
                        context: CommandContext(actor: .system, correlationId: UUIDv7Generator.shared.next()))
                    cancelled += 1
                } catch {
                    // Filled, cancelled or expired meanwhile (a refusal): the log will say so on the next catch-up.
                    guard error.kind == .rejected else { throw error }
                }
                preOrders.withLock { _ = $0[key]?.queued.remove(orderId) }
            }
            // A campaign with nothing left queued owes nothing more: forget it once it is over.
            preOrders.withLock { campaigns in
                if campaigns[key]?.queued.isEmpty == true { campaigns[key] = nil }
            }
        }
        return cancelled
    }

    /// Sweeps every `interval` until the task is cancelled. A failed sweep is
    /// logged and tried again after a pause that doubles with each failure in
    /// a row (up to `retryPauseMax`); it never ends the loop.
    public func run(every interval: Duration, logger: Logger, retryPauseMax: Duration = .seconds(60)) async {
        var pause = interval
        while !Task.isCancelled {
            do {
                let expired = try await sweep()
                if expired > 0 { logger.info("expired unpaid orders", metadata: ["orders.expired": "\(expired)"]) }
                pause = interval
            } catch {
                pause = min(pause * 2, max(retryPauseMax, interval))
                logger.error(
                    "the expiry sweep failed; trying again",
                    metadata: ["error": "\(error)", "retry.seconds": "\(pause.components.seconds)"])
            }
            do { try await Task.sleep(for: pause) } catch { return }
        }
    }
}

/// Work that must run on one node of a cluster at a time (a PostgreSQL advisory lock, held on a connection).
public protocol SingleRunnerLease: Sendable {
    /// Runs `body` while this node holds the lease and returns true; returns false at once when another node holds it.
    /// `body` is cancelled when the lease is lost.
    func whileHeld(_ body: @escaping @Sendable () async -> Void) async throws -> Bool
}

/// Order expiry as a service of the server's group: it sweeps until the group shuts down. With a lease (a cluster), only
/// the node holding it sweeps; the others try again every interval, and one takes over when the holder dies.
public struct OrderExpiryService: Service {
    public let expiry: OrderExpiry
    public let interval: Duration
    public let logger: Logger
    public let lease: (any SingleRunnerLease)?

    public init(expiry: OrderExpiry, interval: Duration, logger: Logger, lease: (any SingleRunnerLease)? = nil) {
        self.expiry = expiry
        self.interval = interval
        self.logger = logger
        self.lease = lease
    }

    public func run() async throws {
        let (expiry, interval, logger) = (expiry, interval, logger)
        try await runHoldingLease(lease, name: "expiry", interval: interval, logger: logger) {
            await expiry.run(every: interval, logger: logger)
        }
    }
}

/// Runs `work` until the server's group shuts down; with a lease, only while this node holds it (the others try again
/// every interval, and one takes over when the holder dies).
public func runHoldingLease(
    _ lease: (any SingleRunnerLease)?, name: String, interval: Duration, logger: Logger, _ work: @escaping @Sendable () async -> Void
) async throws {
    guard let lease else {
        logger.info("running the \(name) work", metadata: ["interval.seconds": "\(interval)"])
        await cancelWhenGracefulShutdown { await work() }
        return
    }
    await cancelWhenGracefulShutdown {
        while !Task.isCancelled {
            do {
                let held = try await lease.whileHeld {
                    logger.info("this node holds the \(name) lease", metadata: ["interval.seconds": "\(interval)"])
                    await work()
                }
                if held, !Task.isCancelled { logger.warning("the \(name) lease was lost") }
            } catch {
                logger.warning("could not take the \(name) lease", metadata: ["error": "\(error)"])
            }
            do { try await Task.sleep(for: interval) } catch { return }  // cancelled: the server is stopping
        }
    }
}
