import Commerce
import EventCodec
import EventStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The process manager that expires unpaid orders. It follows the log (catching
/// up from the start, then live) to know which orders are still unpaid and when
/// they expire; `sweep()` issues `ExpireOrder` for every one that is due.
/// Time comes from the engine's injected clock, so tests move it by hand.
public final class OrderExpiry: Sendable {
    static let sweepBatchMax = 500

    private let engine: Engine
    /// Unpaid orders and when they expire.
    private let pending = Mutex<[OrderId: Instant]>([:])
    private let followedThrough = Atomic<UInt64>(0)

    public init(engine: Engine) { self.engine = engine }

    static let followedTypes = [OrderPlaced.eventType, OrderPaid.eventType, OrderCancelled.eventType, OrderExpired.eventType]

    /// Reads the order events appended since the last call, through the log's
    /// type chains: only the four types that matter are read, not the whole log.
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
        case OrderPlaced.eventType:
            // Without a cipher: only the id and the deadline are needed, and opening the sealed address (AES-GCM) was most of the cost.
            guard
                case .order(.placed(let placed))? = try? EventCodec.decode(
                    type: recorded.type, schemaVersion: Int(recorded.schemaVersion),
                    payload: recorded.payload)
            else { return }
            pending.withLock { $0[placed.orderId] = placed.expiresAt }
        default:
            guard case .order(let id)? = StreamId(name: recorded.stream.rawValue) else { return }
            pending.withLock { _ = $0.removeValue(forKey: id) }
        }
    }

    public var unpaidCount: Int { pending.withLock { $0.count } }

    /// Expires every unpaid order whose time has come; returns how many it expired.
    @discardableResult
    public func sweep() async throws -> Int {
        try catchUp()
        let now = engine.now
        let due = pending.withLock { orders in orders.filter { $0.value <= now }.keys.sorted().prefix(Self.sweepBatchMax) }
        var expired = 0
        for orderId in due {
            do {
                _ = try await engine.execute(
                    .expireOrder(orderId), context: CommandContext(actor: .system, correlationId: UUIDv7Generator.shared.next()))
                expired += 1
            } catch {
                // Paid or cancelled meanwhile (a refusal): the log will say so on the next catch-up.
                guard error.kind == .rejected else { throw error }
            }
            pending.withLock { _ = $0.removeValue(forKey: orderId) }
        }
        return expired
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
        guard let lease else {
            logger.info("sweeping for unpaid orders to expire", metadata: ["interval.seconds": "\(interval)"])
            await cancelWhenGracefulShutdown { await expiry.run(every: interval, logger: logger) }
            return
        }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let held = try await lease.whileHeld {
                        logger.info("this node holds the expiry lease: sweeping", metadata: ["interval.seconds": "\(interval)"])
                        await expiry.run(every: interval, logger: logger)
                    }
                    if held, !Task.isCancelled { logger.warning("the expiry lease was lost") }
                } catch {
                    logger.warning("could not take the expiry lease", metadata: ["error": "\(error)"])
                }
                do { try await Task.sleep(for: interval) } catch { return }  // cancelled: the server is stopping
            }
        }
    }
}
