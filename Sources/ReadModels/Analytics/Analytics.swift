import Commerce
import Foundation

/// Sales per day, the funnel, top goods, refunds, low stock, per merchant.
/// Days are UTC; money is in minor units. An order counts as a sale when it
/// is paid (GMV is paid money), and as a refund when the refund is made.
public final class AnalyticsProjection: Projection, @unchecked Sendable {
    public static let name = "analytics"
    /// 4: variants' stock counts in their goods' row; sales per variant; delivery fees. 5: exchanges' differences paid
    /// count as sales; a whole refund after partial ones counts only the units still unrefunded.
    public static let schemaVersion = 5
    public static let foldCostGuess = 3.0
    public static let eventTypes: Set<String> = [
        GoodsListed.eventType, GoodsUpdated.eventType, VariantAdded.eventType, PriceChanged.eventType, StockAdded.eventType,
        StockAdjusted.eventType,
        StockReserved.eventType,
        StockReleased.eventType, StockShipped.eventType, GoodsDelisted.eventType, GoodsRelisted.eventType,
        GoodsViewed.eventType, CartItemAdded.eventType,
        OrderPlaced.eventType, OrderPaid.eventType, OrderCancelled.eventType, OrderExpired.eventType, OrderRefunded.eventType,
        OrderShipped.eventType, RefundRequested.eventType, RefundRejected.eventType, OrderPartlyRefunded.eventType,
        OrderDifferencePaid.eventType, StockReturned.eventType,
    ]

    public struct Day: Codable, Equatable, Sendable, Hashable {
        public var day = ""
        public var views = 0
        public var cartAdds = 0
        public var ordersPlaced = 0
        public var placedAmount: Int64 = 0
        public var ordersPaid = 0
        /// Gross merchandise value: money paid that day.
        public var gmv: Int64 = 0
        public var ordersRefunded = 0
        public var refundedAmount: Int64 = 0
        public var ordersCancelled = 0
        public var ordersExpired = 0
        /// Delivery fees paid that day (part of `gmv`).
        public var deliveryFees: Int64 = 0
        public var averageOrderValue: Int64 { ordersPaid > 0 ? gmv / Int64(ordersPaid) : 0 }
    }

    public struct MerchantDay: Codable, Equatable, Sendable, Hashable {
        public var day = ""
        public var ordersPaid = 0
        public var unitsPaid = 0
        public var revenue: Int64 = 0
        public var unitsRefunded = 0
        public var refundedRevenue: Int64 = 0
    }

    public struct GoodsSales: Codable, Equatable, Sendable, Hashable {
        public var goodsId = ""
        public var merchantId = ""
        public var title = ""
        public var unitsPaid = 0
        public var revenue: Int64 = 0
        public var unitsRefunded = 0
        /// The same by variant, for goods sold in more than their default variant (in the order first sold).
        public var variants: [VariantSales] = []

        /// Adds a line's units, revenue and refunds to its variant's row (the default variant has none of its own).
        mutating func count(_ line: Line, paid: Int, revenue: Int64, refunded: Int) {
            guard let variantId = line.variantId else { return }
            if let index = variants.firstIndex(where: { $0.variantId == variantId }) {
                variants[index].unitsPaid += paid
                variants[index].revenue += revenue
                variants[index].unitsRefunded += refunded
            } else {
                variants.append(
                    VariantSales(variantId: variantId, variant: line.variant, unitsPaid: paid, revenue: revenue, unitsRefunded: refunded))
            }
        }
    }

    public struct VariantSales: Codable, Equatable, Sendable, Hashable {
        public var variantId: String
        /// "颜色: 红 / 尺码: M".
        public var variant: String
        public var unitsPaid: Int
        public var revenue: Int64
        public var unitsRefunded: Int
    }

    /// What the low-stock list needs of a goods (the whole `GoodsState` would be re-encoded with every stock move).
    public struct StockRow: Codable, Equatable, Sendable, Hashable {
        var goodsId: String
        var merchantId = ""
        var title = ""
        var onHand = 0
        var reserved = 0
        var threshold = 0
        var listed = false
        var price: Int64 = 0
        var available: Int { onHand - reserved }

        /// The stock arithmetic of `GoodsState.evolve`, for these fields only.
        mutating func apply(_ change: GoodsEvent) {
            switch change {
            case .listed(let e):
                (merchantId, title, onHand, threshold, listed) = (e.merchantId.description, e.title, e.stock, e.lowStockThreshold, true)
                price = e.price.minorUnits
            case .updated(let e): (title, threshold) = (e.title, e.lowStockThreshold)
            case .stockAdded(let e): onHand += e.quantity
            case .stockReturned(let e): onHand += e.quantity
            case .stockAdjusted(let e): onHand += e.delta
            case .stockReserved(let e): reserved += e.quantity
            case .stockReleased(let e): reserved -= e.quantity
            case .stockShipped(let e): reserved -= e.quantity; onHand -= e.quantity
            case .delisted: listed = false
            case .relisted: listed = true
            case .priceChanged(let e): if e.variantId == nil { price = e.to.minorUnits }  // the default variant's price
            case .variantAdded(let e): onHand += e.stock
            case .lowStockDetected, .reviewPosted, .reviewModerated, .reviewReplied, .reviewEdited, .waitlistJoined, .waitlistLeft,
                .backInStockNotified, .preOrdersOpened, .preOrdersCancelled, .preOrderReserved, .preOrderFilled, .preOrderReleased,
                .optionsDefined, .variantUpdated,
                .variantDelisted, .variantRelisted, .attributesSet:
                break
            }
        }
    }

    public struct Line: Codable, Equatable, Sendable, Hashable {
        var goodsId: String
        var merchantId: String
        var quantity: Int
        var lineTotal: Int64
        /// The variant bought, when not the goods' default one, and its label.
        var variantId: String?
        var variant = ""
        /// Units refunded by after-sale requests so far (a whole refund counts only the rest).
        var refunded = 0

        /// What a refund of `units` of the line is worth (its total shared by units).
        func revenue(of units: Int) -> Int64 { lineTotal * Int64(units) / Int64(max(quantity, 1)) }
    }

    /// What analytics must remember of an order to book its payment and refund, and to list it while it waits.
    public struct Order: Codable, Equatable, Sendable, Hashable {
        var lines: [Line]
        var paid = false
        var number = ""
        var total: Int64 = 0
        var deliveryFee: Int64 = 0
    }

    /// An order waiting for its merchant: paid and not shipped (`ship`), or a refund requested (`refund`).
    public struct OrderToAct: Codable, Equatable, Sendable, Hashable {
        public var orderId: String
        public var number: String
        public var action: String
        /// Since when it waits (milliseconds since the epoch): when it was paid, or the refund requested.
        public var since: Int64
        public var total: Int64
        /// The merchants whose goods it holds.
        public var merchantIds: [String]
    }

    public let days = Table<Day>(prefix: 1)
    /// Keyed `merchant|day`.
    public let merchantDays = Table<MerchantDay>(prefix: 2)
    public let goodsSales = Table<GoodsSales>(prefix: 3)
    public let orders = Table<Order>(prefix: 4)
    public let stock = Table<StockRow>(prefix: 5)
    /// Orders that need their merchant now, keyed by order id.
    public let toAct = Table<OrderToAct>(prefix: 6)
    public var storedTables: [any StoredTable] { [days, merchantDays, goodsSales, orders, stock, toAct] }

    public init() {}

    public func apply(_ event: ProjectedEvent) {
        switch (event.stream, event.event) {
        case (.goods(let id), .goods(let change)):
            stock.update(id.description, default: StockRow(goodsId: id.description)) { $0.apply(change) }
        case (_, .user(.goodsViewed(let viewed))): bump(viewed.at) { $0.views += 1 }
        case (_, .cart(.itemAdded(let added))): bump(added.at) { $0.cartAdds += 1 }
        case (.order(let id), .order(let change)): applyOrder(id.description, change)
        default: break
        }
    }

    private func bump(_ at: Instant, _ change: (inout Day) -> Void) {
        let day = at.isoDay
        days.update(day, default: Day(day: day), change)
    }

    private func applyOrder(_ id: String, _ change: OrderEvent) {
        switch change {
        case .placed(let placed):
            orders[id] = Order(
                lines: placed.lines.map {
                    Line(
                        goodsId: $0.goodsId.description, merchantId: $0.merchantId.description,
                        quantity: $0.quantity, lineTotal: $0.lineTotal.minorUnits, variantId: $0.variantId?.description,
                        variant: $0.variant ?? "")
                }, number: placed.number, total: placed.total.minorUnits, deliveryFee: placed.delivery?.fee.minorUnits ?? 0)
            bump(placed.at) {
                $0.ordersPlaced += 1; $0.placedAmount += placed.total.minorUnits
            }
            for line in placed.lines {
                goodsSales.update(line.goodsId.description, default: GoodsSales(goodsId: line.goodsId.description)) {
                    $0.merchantId = line.merchantId.description
                    $0.title = line.title
                }
            }
        case .paid(let paid):
            guard let order = orders[id], !order.paid else { return }
            orders[id]?.paid = true
            waits(id, order, for: "ship", since: paid.at)
            let day = paid.at.isoDay
            bump(paid.at) {
                $0.ordersPaid += 1; $0.gmv += paid.amount.minorUnits; $0.deliveryFees += order.deliveryFee
            }
            for (merchant, lines) in Dictionary(grouping: order.lines, by: \.merchantId) {
                merchantDays.update("\(merchant)|\(day)", default: MerchantDay(day: day)) { row in
                    row.ordersPaid += 1
                    for line in lines { row.unitsPaid += line.quantity; row.revenue += line.lineTotal }
                }
            }
            for line in order.lines {
                goodsSales.update(line.goodsId, default: GoodsSales(goodsId: line.goodsId, merchantId: line.merchantId)) {
                    $0.unitsPaid += line.quantity
                    $0.revenue += line.lineTotal
                    $0.count(line, paid: line.quantity, revenue: line.lineTotal, refunded: 0)
                }
            }
        case .refunded(let refunded):
            toAct[id] = nil
            bump(refunded.at) {
                $0.ordersRefunded += 1; $0.refundedAmount += refunded.amount.minorUnits
            }
            guard let order = orders[id] else { return }
            let day = refunded.at.isoDay
            // Units after-sale requests refunded before are counted there already: the rest, at what they are worth.
            for (merchant, lines) in Dictionary(grouping: order.lines, by: \.merchantId) {
                merchantDays.update("\(merchant)|\(day)", default: MerchantDay(day: day)) { row in
                    for line in lines {
                        row.unitsRefunded += line.quantity - line.refunded
                        row.refundedRevenue += line.lineTotal - line.revenue(of: line.refunded)
                    }
                }
            }
            for line in order.lines where line.quantity > line.refunded {
                goodsSales.update(line.goodsId, default: GoodsSales(goodsId: line.goodsId)) {
                    $0.unitsRefunded += line.quantity - line.refunded
                    $0.count(line, paid: 0, revenue: 0, refunded: line.quantity - line.refunded)
                }
            }
        case .cancelled(let cancelled):
            toAct[id] = nil
            bump(cancelled.at) { $0.ordersCancelled += 1 }
            let refund = cancelled.refundAmount.minorUnits
            if refund > 0 {
                bump(cancelled.at) {
                    $0.ordersRefunded += 1; $0.refundedAmount += refund
                }
            }
        case .expired(let expired): bump(expired.at) { $0.ordersExpired += 1 }
        case .differencePaid(let paid):
            // What an exchange's dearer replacements cost beyond the goods returned: sales by value, as a partial refund is.
            bump(paid.at) { $0.gmv += paid.amount.minorUnits }
        case .partlyRefunded(let refunded):
            // A partial refund counts by value (and its units), not as a refunded order.
            bump(refunded.at) { $0.refundedAmount += refunded.amount.minorUnits }
            guard let order = orders[id] else { return }
            let day = refunded.at.isoDay
            for part in refunded.lines where order.lines.indices.contains(part.line) {
                let line = order.lines[part.line]
                orders[id]?.lines[part.line].refunded += part.quantity
                // Worth the line's share of the units refunded so far less what those before were worth.
                let revenue = line.revenue(of: line.refunded + part.quantity) - line.revenue(of: line.refunded)
                merchantDays.update("\(line.merchantId)|\(day)", default: MerchantDay(day: day)) { row in
                    row.unitsRefunded += part.quantity; row.refundedRevenue += revenue
                }
                goodsSales.update(line.goodsId, default: GoodsSales(goodsId: line.goodsId)) {
                    $0.unitsRefunded += part.quantity
                    $0.count(line, paid: 0, revenue: 0, refunded: part.quantity)
                }
            }
        case .shipped, .refundRejected: toAct[id] = nil
        case .refundRequested(let requested): if let order = orders[id] { waits(id, order, for: "refund", since: requested.at) }
        case .received, .refundApproved, .afterSaleOpened, .afterSaleClosed, .promotionsApplied: break
        }
    }

    private func waits(_ id: String, _ order: Order, for action: String, since: Instant) {
        var merchants: [String] = []
        for line in order.lines where !merchants.contains(line.merchantId) { merchants.append(line.merchantId) }
        toAct[id] = OrderToAct(
            orderId: id, number: order.number, action: action, since: since.millisecondsSinceEpoch, total: order.total,
            merchantIds: merchants)
    }

    // MARK: Queries

    public static let daysMax = 366
    public static let topGoodsMax = 100

    public struct Funnel: Codable, Sendable, Hashable {
        public var views: Int
        public var cartAdds: Int
        public var ordersPlaced: Int
        public var ordersPaid: Int
        /// Each step over the one before (0 when the one before is 0).
        public var viewToCart: Double
        public var cartToOrder: Double
        public var orderToPaid: Double
    }

    public struct Refunds: Codable, Sendable, Hashable {
        public var ordersPaid: Int
        public var ordersRefunded: Int
        public var refundedAmount: Int64
        /// Orders refunded whole (or cancelled with a refund) over orders paid.
        public var refundRate: Double
        /// Money paid in the period, and the part of it refunded (partial refunds included): refunded over paid.
        public var paidAmount: Int64
        public var refundRateByValue: Double
    }

    public struct SalesDay: Codable, Sendable, Hashable {
        public var day: String
        public var orders: Int
        public var gmv: Int64
        public var averageOrderValue: Int64
        public var units: Int?
        /// The whole shop's delivery fees paid that day (part of `gmv`); a merchant's rows count its lines only.
        public var deliveryFees: Int64?
    }

    /// Days from `from` through `to` (`YYYY-MM-DD`), inclusive.
    func dayRows(from: String, to: String) -> [Day] {
        days.rows.values.filter { $0.day >= from && $0.day <= to }.sorted { $0.day < $1.day }.suffix(Self.daysMax).map { $0 }
    }

    /// Sales per day: the whole shop, or one merchant's lines only.
    public func sales(from: String, to: String, merchant: UserId?) -> [SalesDay] {
        guard let merchant else {
            return dayRows(from: from, to: to).map {
                SalesDay(
                    day: $0.day, orders: $0.ordersPaid, gmv: $0.gmv, averageOrderValue: $0.averageOrderValue, units: nil,
                    deliveryFees: $0.deliveryFees)
            }
        }
        let prefix = merchant.description + "|"
        return merchantDays.rows.filter { $0.key.hasPrefix(prefix) && $0.value.day >= from && $0.value.day <= to }
            .map(\.value).sorted { $0.day < $1.day }.suffix(Self.daysMax)
            .map {
                SalesDay(
                    day: $0.day, orders: $0.ordersPaid, gmv: $0.revenue,
                    averageOrderValue: $0.ordersPaid > 0 ? $0.revenue / Int64($0.ordersPaid) : 0, units: $0.unitsPaid, deliveryFees: nil)
            }
    }

    public func funnel(from: String, to: String) -> Funnel {
        let rows = dayRows(from: from, to: to)
        let views = rows.reduce(0) { $0 + $1.views }
        let carts = rows.reduce(0) { $0 + $1.cartAdds }
        let placed = rows.reduce(0) { $0 + $1.ordersPlaced }
        let paid = rows.reduce(0) { $0 + $1.ordersPaid }
        func ratio(_ a: Int, _ b: Int) -> Double { b > 0 ? Double(a) / Double(b) : 0 }
        return Funnel(
            views: views, cartAdds: carts, ordersPlaced: placed, ordersPaid: paid,
            viewToCart: ratio(carts, views), cartToOrder: ratio(placed, carts), orderToPaid: ratio(paid, placed))
    }

    public func refunds(from: String, to: String) -> Refunds {
        let rows = dayRows(from: from, to: to)
        let paid = rows.reduce(0) { $0 + $1.ordersPaid }
        let refunded = rows.reduce(0) { $0 + $1.ordersRefunded }
        let refundedAmount = rows.reduce(0) { $0 + $1.refundedAmount }
        let paidAmount = rows.reduce(0) { $0 + $1.gmv }
        return Refunds(
            ordersPaid: paid, ordersRefunded: refunded, refundedAmount: refundedAmount,
            refundRate: paid > 0 ? Double(refunded) / Double(paid) : 0, paidAmount: paidAmount,
            refundRateByValue: paidAmount > 0 ? Double(refundedAmount) / Double(paidAmount) : 0)
    }

    /// Best sellers by paid revenue (all time), optionally one merchant's.
    public func topGoods(merchant: UserId?, limit: Int) -> [GoodsSales] {
        goodsSales.rows.values.filter { merchant == nil || $0.merchantId == merchant?.description }
            .sorted { ($0.revenue, $1.goodsId) > ($1.revenue, $0.goodsId) }
            .prefix(min(max(limit, 1), Self.topGoodsMax)).map { $0 }
    }

    /// Orders waiting for a merchant (one merchant's, or all), the longest waiting first.
    public func ordersToAct(merchant: UserId?, limit: Int) -> [OrderToAct] {
        toAct.rows.values.filter { merchant == nil || $0.merchantIds.contains(merchant?.description ?? "") }
            .sorted { ($0.since, $0.orderId) < ($1.since, $1.orderId) }
            .prefix(min(max(limit, 1), Self.topGoodsMax)).map { $0 }
    }

    /// A goods' price and stock now.
    public struct GoodsStock: Codable, Sendable, Hashable {
        public var goodsId: String
        public var merchantId: String
        public var title: String
        public var price: Int64
        public var onHand: Int
        public var reserved: Int
        public var available: Int
        public var threshold: Int
        public var listed: Bool
    }

    /// Goods (one merchant's, or all) with their price and stock, by title.
    public func stockList(merchant: UserId?, limit: Int) -> [GoodsStock] {
        stock.rows.values.filter { merchant == nil || $0.merchantId == merchant?.description }
            .sorted { ($0.title, $0.goodsId) < ($1.title, $1.goodsId) }
            .prefix(min(max(limit, 1), Self.stockListMax))
            .map {
                GoodsStock(
                    goodsId: $0.goodsId, merchantId: $0.merchantId, title: $0.title, price: $0.price, onHand: $0.onHand,
                    reserved: $0.reserved, available: $0.available, threshold: $0.threshold, listed: $0.listed)
            }
    }

    public static let stockListMax = 500

    public struct LowStock: Codable, Sendable, Hashable {
        public var goodsId: String
        public var merchantId: String
        public var title: String
        public var available: Int
        public var threshold: Int
    }

    /// Listed goods at or below their low-stock threshold, emptiest first.
    public func lowStock(merchant: UserId?, limit: Int) -> [LowStock] {
        stock.rows.values.filter { goods in
            goods.listed && goods.available <= goods.threshold && (merchant == nil || goods.merchantId == merchant?.description)
        }
        .map { LowStock(goodsId: $0.goodsId, merchantId: $0.merchantId, title: $0.title, available: $0.available, threshold: $0.threshold) }
        .sorted { ($0.available, $0.goodsId) < ($1.available, $1.goodsId) }
        .prefix(min(max(limit, 1), Self.topGoodsMax)).map { $0 }
    }
}
