import Commerce
import Foundation

/// "My" pages: orders by status, points ledger, favorites, footprints and
/// waitlists, per user (reviews: `ReviewsProjection`). Personal fields (names, addresses) are not copied
/// here: they are sealed in the log and must vanish when a user is
/// forgotten, so pages that show them read the aggregate.
public final class MyPagesProjection: Projection, @unchecked Sendable {
    public static let name = "mypages"
    // 2: footprints and favorites keep goods ids as 16 bytes; 3: the variant bought; 4: reviews moved to their own model,
    // waitlists
    public static let schemaVersion = 4
    public static let foldCostGuess = 1.0
    public static let eventTypes: Set<String> = [
        OrderPlaced.eventType, OrderPaid.eventType, OrderShipped.eventType, OrderReceived.eventType, OrderCancelled.eventType,
        RefundRequested.eventType, RefundApproved.eventType, RefundRejected.eventType, OrderRefunded.eventType, OrderExpired.eventType,
        PointsEarned.eventType, PointsRedeemed.eventType, PointsRefunded.eventType, PointsRevoked.eventType, PointsExchanged.eventType,
        FavoriteAdded.eventType, FavoriteRemoved.eventType, GoodsViewed.eventType, UserForgotten.eventType,
        WaitlistJoined.eventType, WaitlistLeft.eventType, BackInStockNotified.eventType,
    ]

    public struct OrderSummary: Codable, Equatable, Sendable, Hashable {
        public var orderId: String
        public var userId: String
        public var number: String
        public var status: OrderStatus
        public var total: Int64
        public var placedAt: Int64
        public var updatedAt: Int64
        public var lineCount: Int
        public var firstTitle: String
        /// The first line's variant ("颜色: 红 / 尺码: M"), when it names one.
        public var firstVariant: String
        public var goodsIds: [String]
    }

    public struct LedgerEntry: Codable, Equatable, Sendable, Hashable {
        public var type: String
        public var points: Int64
        public var orderId: String?
        public var at: Int64
    }

    public struct PointsPage: Codable, Equatable, Sendable, Hashable {
        public var balance: Int64 = 0
        /// Newest first, at most `ledgerEntriesKept`.
        public var ledger: [LedgerEntry] = []
    }

    /// A variant the user waits for, or was told is back (`notifiedAt`, with the units available then).
    public struct Waiting: Codable, Equatable, Sendable, Hashable {
        public var goodsId: String
        public var variantId: String
        public var since: Int64
        public var notifiedAt: Int64?
        public var available: Int?
    }

    public struct Footprint: Codable, Equatable, Sendable, Hashable {
        /// An id, not its text: lists are searched on every view, and 16 bytes compare without a pointer chase.
        public var goodsId: GoodsId
        public var at: Int64
    }

    public static let ledgerEntriesKept = 500

    /// Keyed `order id`.
    public let orders = Table<OrderSummary>(prefix: 1)
    public let points = Table<PointsPage>(prefix: 2)
    public let favorites = Table<[Footprint]>(prefix: 3)
    public let footprints = Table<[Footprint]>(prefix: 4)
    /// Newest first; notified entries stay (at most `waitlistKept` in all) so the user sees what came back.
    public let waitlists = Table<[Waiting]>(prefix: 6)
    public static let waitlistKept = 100
    public var storedTables: [any StoredTable] { [orders, points, favorites, footprints, waitlists] }
    /// user → their order ids (derived from `orders`).
    private var ordersByUser: [String: [String]] = [:]

    public init() {}

    public func didLoad() {
        ordersByUser = [:]
        for (id, order) in orders.rows { ordersByUser[order.userId, default: []].append(id) }
    }

    public func apply(_ event: ProjectedEvent) {
        switch (event.stream, event.event) {
        case (.order(let id), .order(let change)): applyOrder(id.description, change)
        case (.points(let user), .points(let change)): applyPoints(user.description, change)
        case (.user(let user), .user(let change)): applyUser(user.description, change)
        case (.goods(let goods), .goods(let change)): applyWaitlist(goods, change)
        default: break
        }
    }

    private func applyOrder(_ id: String, _ change: OrderEvent) {
        if case .placed(let placed) = change {
            let user = placed.userId.description
            orders[id] = OrderSummary(
                orderId: id, userId: user, number: placed.number, status: .placed, total: placed.total.minorUnits,
                placedAt: placed.at.millisecondsSinceEpoch, updatedAt: placed.at.millisecondsSinceEpoch,
                lineCount: placed.lines.count, firstTitle: placed.lines.first?.title ?? "", firstVariant: placed.lines.first?.variant ?? "",
                goodsIds: placed.lines.map(\.goodsId.description))
            ordersByUser[user, default: []].append(id)
            return
        }
        orders.update(
            id,
            default: OrderSummary(
                orderId: id, userId: "", number: "", status: .placed, total: 0, placedAt: 0, updatedAt: 0,
                lineCount: 0, firstTitle: "", firstVariant: "", goodsIds: [])
        ) { summary in
            var state = OrderState()
            state.status = summary.status
            summary.status = state.evolve(change).status  // the domain's own status rules
            summary.updatedAt = Self.time(of: change) ?? summary.updatedAt
        }
    }

    private func applyPoints(_ user: String, _ change: PointsEvent) {
        let entry: LedgerEntry
        switch change {
        case .earned(let e):
            entry = LedgerEntry(
                type: PointsEarned.eventType, points: e.points, orderId: e.orderId.description, at: e.at.millisecondsSinceEpoch)
        case .redeemed(let e):
            entry = LedgerEntry(
                type: PointsRedeemed.eventType, points: -e.points, orderId: e.orderId?.description, at: e.at.millisecondsSinceEpoch)
        case .refunded(let e):
            entry = LedgerEntry(
                type: PointsRefunded.eventType, points: e.points, orderId: e.orderId.description, at: e.at.millisecondsSinceEpoch)
        case .revoked(let e):
            entry = LedgerEntry(
                type: PointsRevoked.eventType, points: -e.points, orderId: e.orderId.description, at: e.at.millisecondsSinceEpoch)
        case .exchanged(let e):
            entry = LedgerEntry(type: PointsExchanged.eventType, points: -e.points, orderId: nil, at: e.at.millisecondsSinceEpoch)
        }
        points.update(user, default: PointsPage()) { page in
            page.balance += entry.points
            page.ledger.prepend(entry, keepingAtMost: Self.ledgerEntriesKept)
        }
    }

    private func applyUser(_ user: String, _ change: UserEvent) {
        switch change {
        case .favoriteAdded(let added):
            let goods = added.goodsId
            favorites.update(user, default: []) { list in
                list.moveToFront(Footprint(goodsId: goods, at: added.at.millisecondsSinceEpoch), keepingAtMost: Limits.favoritesPerUserMax)
                { $0.goodsId == goods }
            }
        case .favoriteRemoved(let removed):
            let goods = removed.goodsId
            favorites.update(user, default: []) { list in list.removeAll { $0.goodsId == goods } }
            if favorites[user]?.isEmpty == true { favorites[user] = nil }
        case .goodsViewed(let viewed):
            let goods = viewed.goodsId
            footprints.update(user, default: []) { list in
                list.moveToFront(Footprint(goodsId: goods, at: viewed.at.millisecondsSinceEpoch), keepingAtMost: Limits.footprintsKept) {
                    $0.goodsId == goods
                }
            }
        case .forgotten:
            // What the user browsed and liked goes with them; orders and points stay for the books.
            favorites[user] = nil
            footprints[user] = nil
        default: break
        }
    }

    private func applyWaitlist(_ goods: GoodsId, _ change: GoodsEvent) {
        let goodsId = goods.description
        switch change {
        case .waitlistJoined(let joined):
            let variant = (joined.variantId ?? goods.defaultVariant).description
            let entry = Waiting(
                goodsId: goodsId, variantId: variant, since: joined.at.millisecondsSinceEpoch, notifiedAt: nil, available: nil)
            waitlists.update(joined.userId.description, default: []) { list in
                list.moveToFront(entry, keepingAtMost: Self.waitlistKept) { $0.goodsId == goodsId && $0.variantId == variant }
            }
        case .waitlistLeft(let left):
            let variant = (left.variantId ?? goods.defaultVariant).description
            waitlists.update(left.userId.description, default: []) { list in
                list.removeAll { $0.goodsId == goodsId && $0.variantId == variant }
            }
            if waitlists[left.userId.description]?.isEmpty == true { waitlists[left.userId.description] = nil }
        case .backInStockNotified(let notified):
            let variant = (notified.variantId ?? goods.defaultVariant).description
            waitlists.update(notified.userId.description, default: []) { list in
                guard let index = list.firstIndex(where: { $0.goodsId == goodsId && $0.variantId == variant }) else { return }
                list[index].notifiedAt = notified.at.millisecondsSinceEpoch
                list[index].available = notified.available
            }
        default: break
        }
    }

    static func time(of change: OrderEvent) -> Int64? {
        switch change {
        case .placed(let e): return e.at.millisecondsSinceEpoch
        case .paid(let e): return e.at.millisecondsSinceEpoch
        case .shipped(let e): return e.at.millisecondsSinceEpoch
        case .received(let e): return e.at.millisecondsSinceEpoch
        case .cancelled(let e): return e.at.millisecondsSinceEpoch
        case .refundRequested(let e): return e.at.millisecondsSinceEpoch
        case .refundApproved(let e): return e.at.millisecondsSinceEpoch
        case .refundRejected(let e): return e.at.millisecondsSinceEpoch
        case .refunded(let e): return e.at.millisecondsSinceEpoch
        case .expired(let e): return e.at.millisecondsSinceEpoch
        case .afterSaleOpened(let e): return e.at.millisecondsSinceEpoch
        case .afterSaleClosed(let e): return e.at.millisecondsSinceEpoch
        case .partlyRefunded(let e): return e.at.millisecondsSinceEpoch
        case .differencePaid(let e): return e.at.millisecondsSinceEpoch
        case .promotionsApplied: return nil  // appended with OrderPlaced, at its time
        }
    }

    // MARK: Queries

    public static let ordersPageMax = 100

    /// A user's orders, newest first, optionally of one status.
    public func orders(of user: UserId, status: OrderStatus?, limit: Int) -> [OrderSummary] {
        let ids = ordersByUser[user.description] ?? []
        return ids.compactMap { orders[$0] }
            .filter { status == nil || $0.status == status }
            .sorted { ($0.placedAt, $0.orderId) > ($1.placedAt, $1.orderId) }
            .prefix(min(max(limit, 1), Self.ordersPageMax)).map { $0 }
    }

    public func points(of user: UserId) -> PointsPage { points[user.description] ?? PointsPage() }
    public func favorites(of user: UserId) -> [Footprint] { favorites[user.description] ?? [] }
    public func footprints(of user: UserId) -> [Footprint] { footprints[user.description] ?? [] }
    public func waitlist(of user: UserId) -> [Waiting] { waitlists[user.description] ?? [] }
}
