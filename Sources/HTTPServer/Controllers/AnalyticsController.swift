import CommandAPI
import CommandEngine
import Commerce
import Hummingbird
import ReadModels

/// Sales, the funnel, best sellers, refunds and low stock. Admins see the
/// whole shop (or one merchant with `merchantId`); a merchant only their own
/// goods; customers nothing.
struct AnalyticsController: Sendable {
    let reads: ReadModelReads

    /// What one analytics request asks: the merchant it is narrowed to, a day range and a limit.
    struct Scope {
        var merchant: UserId?
        var from: String
        var to: String
        var limit: Int
    }

    func register(on endpoints: Endpoints) {
        let merchants = Access.role(.merchant, scope: .analyticsRead)
        let admins = Access.role(.admin, scope: .analyticsRead)
        let merchantId = Parameter.query("merchantId", .string(format: "uuid"), "admins: one merchant's (merchants always see their own)")
        let days: [Parameter] = [.day("from"), .day("to"), .after]
        let limit = Parameter.limit(default: 20, max: AnalyticsProjection.topGoodsMax)
        endpoints.get(
            "/v1/analytics/sales", "analyticsSales",
            "Sales per day (from, to as YYYY-MM-DD; merchantId for admins); merchants see their own",
            access: merchants, parameters: days + [merchantId], answer: .of([Priced<AnalyticsProjection.SalesDay>].self)
        ) { request, context in
            let scope = try Self.scope(request, context)
            return try await reads.json(AnalyticsProjection.self, request) {
                Priced.each($0.sales(from: scope.from, to: scope.to, merchant: scope.merchant), currency: reads.currency)
            }
        }
        endpoints.get(
            "/v1/analytics/funnel", "analyticsFunnel", "Admins: views → carts → orders → paid (from, to)", access: admins,
            parameters: days, answer: .of(AnalyticsProjection.Funnel.self)
        ) {
            request, context in
            let scope = try Self.scope(request, context)
            return try await reads.json(AnalyticsProjection.self, request) { $0.funnel(from: scope.from, to: scope.to) }
        }
        endpoints.get(
            "/v1/analytics/top-goods", "analyticsTopGoods", "Best sellers by paid revenue (limit; merchants see their own)",
            access: merchants, parameters: [limit, merchantId, .after], answer: .of([Priced<AnalyticsProjection.GoodsSales>].self)
        ) { request, context in
            let scope = try Self.scope(request, context)
            return try await reads.json(AnalyticsProjection.self, request) {
                Priced.each($0.topGoods(merchant: scope.merchant, limit: scope.limit), currency: reads.currency)
            }
        }
        endpoints.get(
            "/v1/analytics/refunds", "analyticsRefunds", "Admins: refund rate (from, to)", access: admins, parameters: days,
            answer: .of(Priced<AnalyticsProjection.Refunds>.self)
        ) { request, context in
            let scope = try Self.scope(request, context)
            return try await reads.json(AnalyticsProjection.self, request) {
                Priced($0.refunds(from: scope.from, to: scope.to), currency: reads.currency)
            }
        }
        endpoints.get(
            "/v1/analytics/orders-to-act", "analyticsOrdersToAct",
            "Orders waiting for their merchant, the longest waiting first: paid and not shipped (ship), refund requested (refund)",
            access: merchants, parameters: [limit, merchantId, .after], answer: .of([Priced<AnalyticsProjection.OrderToAct>].self)
        ) { request, context in
            let scope = try Self.scope(request, context)
            return try await reads.json(AnalyticsProjection.self, request) {
                Priced.each($0.ordersToAct(merchant: scope.merchant, limit: scope.limit), currency: reads.currency)
            }
        }
        endpoints.get(
            "/v1/analytics/stock", "analyticsStock", "Goods with their price and stock, by title (merchants see their own)",
            access: merchants, parameters: [.limit(default: 100, max: AnalyticsProjection.stockListMax), merchantId, .after],
            answer: .of([Priced<AnalyticsProjection.GoodsStock>].self)
        ) { request, context in
            let scope = try Self.scope(request, context, limit: 100, max: AnalyticsProjection.stockListMax)
            return try await reads.json(AnalyticsProjection.self, request) {
                Priced.each($0.stockList(merchant: scope.merchant, limit: scope.limit), currency: reads.currency)
            }
        }
        endpoints.get(
            "/v1/analytics/low-stock", "analyticsLowStock", "Listed goods at or below their threshold (merchants see their own)",
            access: merchants, parameters: [limit, merchantId, .after], answer: .of([AnalyticsProjection.LowStock].self)
        ) { request, context in
            let scope = try Self.scope(request, context)
            return try await reads.json(AnalyticsProjection.self, request) { $0.lowStock(merchant: scope.merchant, limit: scope.limit) }
        }
    }

    static func scope(
        _ request: Request, _ context: AppRequestContext, limit limitDefault: Int = 20, max limitMax: Int = AnalyticsProjection.topGoodsMax
    ) throws -> Scope {
        let parameters = request.uri.queryParameters
        let caller = context.caller
        var merchant: UserId?
        if caller?.isAdmin == true {
            merchant = try parameters.get("merchantId").map { text in
                guard let id = UserId(text) else { throw Responses.badQuery("merchantId", "must be a user id") }
                return id
            }
        } else if caller?.role == .merchant, let id = caller?.userId {
            merchant = id  // the route admits merchants to their own sales, best sellers and low stock only
        } else {
            throw EngineError(.forbidden, "analytics are for merchants and admins")
        }
        let from = try day(parameters.get("from") ?? "0000-01-01", "from")
        let to = try day(parameters.get("to") ?? "9999-12-31", "to")
        guard from <= to else { throw Responses.badQuery("from", "must not be after to") }  // same-width days: text order is time order
        let limit = try ReadModelReads.limit(parameters, default: limitDefault, max: limitMax)
        return Scope(merchant: merchant, from: from, to: to, limit: limit)
    }

    /// A calendar day as `YYYY-MM-DD` (ASCII digits, a month that exists, a day that month has).
    static func day(_ text: String, _ field: String) throws -> String {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            parts.allSatisfy({ $0.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } }),
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            (1...12).contains(month), (1...days(inMonth: month, of: year)).contains(day)
        else {
            throw Responses.badQuery(field, "must be a day, YYYY-MM-DD")
        }
        return text
    }

    static func days(inMonth month: Int, of year: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
