import Assembly
import Commerce
import Fixtures
import Foundation
import TestSupport
import Testing

@testable import CommandEngine
@testable import EventStore
@testable import History
@testable import ReadModels

/// A seeded demo shop plus goods with known titles, its projections folded.
final class ProjectedShop: @unchecked Sendable {
    let shop: Shop
    var directory: String { shop.directory.path }
    var log: EventLog { shop.log }
    var engine: Engine { shop.engine }
    let merchant: Actor
    let customer: Actor
    /// Goods listed by the test, by a short name.
    var named: [String: String] = [:]

    static let shared = Task { try await ProjectedShop() }

    init(seed: UInt64 = 11) async throws {
        let clock = SeedClock()
        var options = Shop.Options.seeded(
            seed, clock: clock, tokenSecret: Array(repeating: 1, count: 32), sandboxSecret: Array(repeating: 2, count: 32))
        options.log.durable = false
        options.log.initialMapSizeBytes = 32 << 20
        shop = try Shop(directory: ShopDirectory(temporaryDirectory("projected")), options: options)
        let engine = shop.engine
        var size = DemoShop.Size()
        size.goods = 48
        size.customers = 60
        size.orders = 240
        _ = try await DemoShop.seed(engine: engine, clock: clock, size: size, seed: seed)
        merchant = try await Self.register(engine, "search-merchant@test.emporium", role: .merchant)
        customer = try await Self.register(engine, "search-customer@test.emporium", role: .customer)
        let catalogue: [(String, String, String, String, [String], Int)] = [
            ("headphones", "Noise cancelling headphones 降噪耳机", "audio", "Sonic", ["wireless", "audio"], 19_900),
            ("charger", "Phone charger", "electronics", "Volt", ["usb-c"], 2_900),
            ("chargers", "Phone chargers twin pack", "electronics", "Volt", ["usb-c"], 4_900),
            ("longjing", "Organic Longjing green tea 明前西湖龙井绿茶", "tea", "Hangzhou", ["green", "organic"], 8_800),
            ("matcha", "Matcha green tea powder 抹茶粉", "tea", "Uji", ["green"], 5_600),
            ("cafe", "Café crème coffee beans", "coffee", "Crème", ["beans"], 3_300),
            ("teapot", "Clay teapot 紫砂壶", "home", "Yixing", ["tea", "gift"], 26_000),
            // More tags than a search keeps inline (one repeated).
            ("lamp", "Reading lamp", "home", "Lumen", ["gift", "led", "desk", "gift", "study", "warm"], 7_700),
        ]
        for (key, title, category, brand, tags, price) in catalogue {
            let details = GoodsDetails(
                title: title, description: "\(title) from \(brand)", category: category, brand: brand, tags: tags, lowStockThreshold: 5)
            named[key] = try await run(
                .listGoods(details, price: Money(minorUnits: Int64(price)), stock: key == "teapot" ? 3 : 50), as: merchant
            ).goodsId?.description
        }
    }

    static func register(_ engine: Engine, _ email: String, role: Role) async throws -> Actor {
        let outcome = try await engine.execute(
            .registerUser(email: email, password: "test-password", name: "Test", role: role),
            context: CommandContext(actor: .system, correlationId: UUID()))
        return .user(try #require(outcome.result.userId), role)
    }

    @discardableResult
    func run(_ command: Command, as actor: Actor?) async throws -> CommandResult {
        try await engine.execute(command, context: CommandContext(actor: actor, correlationId: UUID())).result
    }

    /// The id of the catalogue's goods named `key`.
    func goods(_ key: String) throws -> GoodsId {
        try #require(named[key].flatMap(GoodsId.init))
    }

    /// A projector over this shop in its own directory, caught up.
    func projector(batchEventsMax: Int = 50_000, longBatchEventsMin: Int? = nil, directory: String? = nil) throws -> Projector {
        var options = Projector.Options()
        options.batchEventsMax = batchEventsMax
        if let longBatchEventsMin { options.longBatchEventsMin = longBatchEventsMin }
        let projector = try Projector(directory: directory ?? temporaryDirectory("projections"), log: log, options: options)
        try projector.catchUp()
        return projector
    }
}
