import ArgumentParser
import BenchSupport
import CommandEngine
import Commerce
import EventCodec
import EventStore
import Foundation
import History
import ReadModels

/// The read models over a large shop: a full rebuild of every projection,
/// then search, suggest and recommendation latencies over mixed query sets.
/// `tools/bench-projections.sh` runs it beside PostgreSQL full-text search.
@main
struct ProjectionBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emporium-projection-bench",
        abstract: "Measure projection rebuilds and read-model queries over a generated shop.")

    @Option(name: .customLong("data-dir"), help: "Where the generated shop lives (kept between runs; regenerated when smaller than asked).")
    var dataDirectory = "./.bench/projections"
    @Option(help: "Goods in the catalogue.") var goods = 100_000
    @Option(help: "Events in the shop.") var events = 1_000_000
    @Option(help: "Customers placing orders concurrently while generating.") var workers = 32
    @Option(help: "Samples per latency measurement.") var samples = 3_000
    @Option(help: "Write the goods and the search queries for the peer to this directory.") var peerInputs: String?
    @Flag(help: "Only the full rebuild (for profiling).") var rebuildOnly = false
    @Option(help: "Events per projector batch (one write transaction each) for the serving models' catch-up.") var batchEvents =
        Projector.Options().batchEventsMax
    @Option(help: "Events per batch of the rebuild.") var rebuildBatchEvents = Projector.Options().rebuildBatchEventsMax
    @Option(help: "Rebuild only these projections (comma-separated names; for profiling).") var only: String?
    @Option(help: "Search only this text, repeated (for profiling one query).") var searchText: String?
    @Flag(help: "Reuse the models of the last run instead of rebuilding them (for profiling queries).") var queriesOnly = false

    static let adjectives = [
        "organic", "wireless", "classic", "premium", "portable", "vintage", "smart", "handmade", "compact", "deluxe",
        "bamboo", "ceramic", "leather", "stainless", "waterproof", "ergonomic", "foldable", "rechargeable", "silk", "wooden",
    ]
    static let nouns = [
        "teapot", "earbuds", "keyboard", "charger", "blanket", "backpack", "notebook", "lamp", "speaker", "tumbler",
        "jacket", "sneakers", "wallet", "umbrella", "headphones", "kettle", "mug", "pillow", "watch", "camera",
        "scarf", "candle", "mirror", "bottle", "helmet", "glasses", "towel", "basket", "cushion", "sweater",
    ]
    static let chinese = [
        "茶壶", "耳机", "键盘", "充电器", "毛毯", "背包", "笔记本", "台灯", "音箱", "杯子", "夹克", "运动鞋", "钱包", "雨伞", "水壶",
        "枕头", "手表", "相机", "围巾", "蜡烛", "镜子", "水瓶", "头盔", "眼镜", "毛巾", "篮子", "靠垫", "毛衣", "绿茶", "丝绸",
    ]
    static let categories = [
        "tea", "audio", "computing", "home", "outdoor", "fashion", "kitchen", "beauty", "sports", "office",
        "toys", "garden", "travel", "pets", "books", "bedding", "lighting", "gifts", "baby", "tools",
    ]
    static let tags = [
        "gift", "eco", "new", "sale", "bestseller", "limited", "premium", "travel", "family", "handmade", "usb-c", "wireless",
    ]

    func run() async throws {
        let log = try await generate()
        defer { log.close() }
        let head = log.headPosition
        print("# emporium projection bench: \(head) events, \(goods) goods in \(dataDirectory)")

        // Full rebuild of every projection from position 0.
        let directory = dataDirectory + "/projections-bench"
        if !queriesOnly { try? FileManager.default.removeItem(atPath: directory) }
        var options = Projector.Options()
        options.batchEventsMax = batchEvents
        options.rebuildBatchEventsMax = rebuildBatchEvents
        let chosen =
            try only.map {
                try $0.split(separator: ",").map { name in
                    guard let type = Projections.named(String(name)) else { throw ValidationError("no projection named \(name)") }
                    return type
                }
            } ?? Projections.all
        let projector = try Projector(directory: directory, log: log, projections: chosen, options: options)
        // An empty store first: the serving models catch up from 0 (what a server does on a fresh data directory).
        try timed("catch_up_empty") { try projector.catchUp() }
        if !queriesOnly {
            // Then `emporium projections rebuild all`: every model folded again beside the serving one, which it replaces.
            try timed("rebuild_all") { try projector.rebuild(projector.names) }
        }
        func timed(_ label: String, _ work: () throws -> Void) throws {
            let before = projector.phaseNanoseconds
            let started = DispatchTime.now().uptimeNanoseconds
            try work()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            guard !queriesOnly else { return }
            print(String(format: "%@ events=%llu seconds=%.3f events_per_second=%.0f", label, head, seconds, Double(head) / seconds))
            let phases = projector.phaseNanoseconds
            let (folding, committing, encoding, background) = (
                phases.folding - before.folding, phases.committing - before.committing, phases.encoding - before.encoding,
                phases.background - before.background
            )
            // The last store (after the background work) encodes outside a commit: the wait is what is left, if anything.
            let waiting = committing > encoding ? committing - encoding : 0
            print(
                String(
                    format: "%@_phases fold_s=%.3f commit_s=%.3f (encode_s=%.3f, write_wait_s=%.3f) background_s=%.3f", label,
                    Double(folding) / 1e9, Double(committing) / 1e9, Double(encoding) / 1e9, Double(waiting) / 1e9, Double(background) / 1e9
                ))
        }
        for row in try projector.status() { print("model \(row.name) rows=\(row.rows) bytes=\(row.modelBytes)") }
        if rebuildOnly { return }

        var random = SplitMix64(seed: 7)
        let queries = (0..<samples).map { _ in searchText.map { SearchQuery(text: $0) } ?? Self.query(&random) }
        var latencies: [Double] = []
        var totals = 0
        for query in queries {
            let begun = DispatchTime.now().uptimeNanoseconds
            let results = try projector.read(SearchProjection.self) { try $0.search(query) }
            latencies.append(Double(DispatchTime.now().uptimeNanoseconds - begun) / 1e6)
            totals += results.total
            // as the HTTP route does, so suggest has popular queries to find
            if results.total > 0 { projector.searchLog.record(query.text) }
        }
        report("search", latencies, extra: String(format: "mean_hits=%.0f", Double(totals) / Double(queries.count)))
        for (sample, (latency, query)) in zip(latencies, queries).enumerated().sorted(by: { $0.1.0 > $1.1.0 }).prefix(5) {
            print(
                String(format: "slow_search sample=%d ms=%.2f", sample, latency)
                    + " q=\"\(query.text)\" category=\(query.category ?? "-") maxPrice=\(query.maxPrice.map(String.init) ?? "-") inStock=\(query.inStock) sort=\(query.sort.rawValue)"
            )
        }

        latencies.removeAll()
        var prefixes: [String] = []
        for query in queries {
            let prefix = String(query.text.prefix(1 + Int(random.next() % 6)))
            let begun = DispatchTime.now().uptimeNanoseconds
            _ = try projector.read(SearchProjection.self) { try $0.suggest(prefix, searchLog: projector.searchLog) }
            latencies.append(Double(DispatchTime.now().uptimeNanoseconds - begun) / 1e6)
            prefixes.append(prefix)
        }
        report("suggest", latencies)
        for (sample, (latency, prefix)) in zip(latencies, prefixes).enumerated().sorted(by: { $0.1.0 > $1.1.0 }).prefix(5) {
            print(String(format: "slow_suggest sample=%d ms=%.2f", sample, latency) + " q=\"\(prefix)\"")
        }

        let ids = try projector.read(RecommendProjection.self) { Array($0.items.rows.keys).sorted() }
        let users = try projector.read(MyPagesProjection.self) {
            Array(Set($0.orders.rows.values.map(\.userId))).sorted().compactMap(UserId.init)
        }
        latencies.removeAll()
        for index in 0..<samples {
            let goods = ids[Int(random.next() % UInt64(ids.count))]
            let user = users.isEmpty ? UserId(UUID()) : users[Int(random.next() % UInt64(users.count))]
            let begun = DispatchTime.now().uptimeNanoseconds
            _ = try projector.read(RecommendProjection.self) { recommend in
                switch index % 4 {
                case 0: recommend.feed(for: user, limit: 10)
                case 1: recommend.similar(to: goods, limit: 10)
                case 2: recommend.alsoBought(with: goods, limit: 10)
                default: recommend.hot(limit: 10)
                }
            }
            latencies.append(Double(DispatchTime.now().uptimeNanoseconds - begun) / 1e6)
        }
        report("recommend", latencies, extra: "mix=feed,similar,also-bought,hot")
        for (kind, name) in ["feed", "similar", "also-bought", "hot"].enumerated() {
            report("recommend_\(name)", latencies.indices.filter { $0 % 4 == kind }.map { latencies[$0] })
        }
        projector.close()

        if let peerInputs {
            try FileManager.default.createDirectory(atPath: peerInputs, withIntermediateDirectories: true)
            try writeGoods(log, to: peerInputs + "/goods.tsv")
            let lines = queries.filter { !$0.text.isEmpty }.map { $0.text.replacingOccurrences(of: "\t", with: " ") }
            try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: peerInputs + "/queries.txt"))
        }
    }

    /// A mixed query: one or two words, Chinese, a typo, a prefix being typed, sometimes only filters; some with filters and a sort.
    static func query(_ random: inout SplitMix64) -> SearchQuery {
        func pick(_ words: [String]) -> String { words[Int(random.next() % UInt64(words.count))] }
        var query = SearchQuery()
        switch random.next() % 6 {
        case 0: query.text = pick(nouns) + " "
        case 1: query.text = pick(adjectives) + " " + pick(nouns) + " "
        case 2: query.text = pick(chinese)
        case 3:
            var word = Array(pick(nouns))
            if word.count >= 5 { word[word.count / 2] = "x" }
            query.text = String(word) + " "
        case 4: query.text = String(pick(adjectives).prefix(4))
        default: query.text = ""
        }
        if random.next() % 3 == 0 { query.category = pick(categories) }
        if random.next() % 4 == 0 { query.maxPrice = 5_000 + Int64(random.next() % 20_000) }
        if random.next() % 4 == 0 { query.inStock = true }
        if random.next() % 4 == 0 { query.sort = [.priceAscending, .sales, .newest, .rating][Int(random.next() % 4)] }
        return query
    }

    func report(_ name: String, _ milliseconds: [Double], extra: String = "") {
        let sorted = milliseconds.sorted()
        func at(_ quantile: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * quantile))] }
        print(
            String(
                format: "%@ samples=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f %@", name, sorted.count, at(0.5), at(0.99), sorted.last ?? 0,
                extra))
    }

    /// Every listed goods as TSV for PostgreSQL's COPY: id, title, description, category, brand, tags, price.
    func writeGoods(_ log: EventLog, to path: String) throws {
        var rows: [String] = []
        try log.scan { event in
            guard event.type == GoodsListed.eventType else { return true }
            guard
                case .goods(.listed(let listed)) = try EventCodec.decode(
                    type: event.type, schemaVersion: Int(event.schemaVersion), payload: event.payload, opening: nil)
            else { return true }
            rows.append(
                [
                    listed.goodsId.description, listed.title, listed.description, listed.category, listed.brand,
                    listed.tags.joined(separator: " "),
                    String(listed.price.minorUnits),
                ].joined(separator: "\t"))
            return true
        }
        try Data(rows.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: path))
    }

    // MARK: Generating the shop

    func generate() async throws -> EventLog {
        if let existing = BenchShop.existing(in: dataDirectory, atLeast: events) { return existing }
        let shop = try BenchShop(emptyIn: dataDirectory)
        let merchantCount = max(2, min(50, goods / 2_000))
        var merchants: [Actor] = []
        for index in 0..<merchantCount { merchants.append(try await shop.user("merchant\(index)@bench.emporium", .merchant)) }
        let sellers = merchants
        let total = goods
        let started = Date()
        // The catalogue, listed concurrently: every goods gets a title from the vocabularies, a category, a brand and tags.
        let catalog = try await withThrowingTaskGroup(of: [(GoodsId, Int)].self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var listed: [(GoodsId, Int)] = []
                    var random = SplitMix64(seed: UInt64(worker) + 100)
                    for index in stride(from: worker, to: total, by: workers) {
                        func pick(_ words: [String]) -> String { words[Int(random.next() % UInt64(words.count))] }
                        let merchant = index % sellers.count
                        let noun = Int(random.next() % UInt64(Self.nouns.count))
                        let title = "\(pick(Self.adjectives).capitalized) \(Self.nouns[noun]) \(Self.chinese[noun]) M\(index % 997)"
                        let details = GoodsDetails(
                            title: title, description: "\(title) — \(pick(Self.adjectives)) \(pick(Self.nouns)) for every day",
                            category: Self.categories[noun % Self.categories.count], brand: "Brand\(merchant)",
                            tags: [pick(Self.tags), pick(Self.tags)], lowStockThreshold: 5)
                        let price = Money(minorUnits: 500 + Int64(random.next() % 50_000))
                        guard
                            let id = try await shop.run(.listGoods(details, price: price, stock: 1_000_000), as: sellers[merchant]).goodsId
                        else {
                            throw EngineError(.internalError, "listing bench goods returned no id")
                        }
                        listed.append((id, merchant))
                        if worker == 0, index % 2_000 == 0 {
                            shop.report(String(format: "listing goods: %d / %d", index, total))
                        }
                    }
                    return listed
                }
            }
            var all: [(GoodsId, Int)] = []
            for try await part in group { all += part }
            return all.sorted { $0.0.description < $1.0.description }
        }
        let target = UInt64(events)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var random = SplitMix64(seed: UInt64(worker) + 1)
                    let customers = try await shop.customers(worker: worker, count: 40)
                    while shop.log.headPosition < target {
                        let customer = customers[Int(random.next() % UInt64(customers.count))]
                        // Popular goods are bought far more often (a skewed pick), and in pairs of neighbours.
                        let slot = Int(random.next() % UInt64(catalog.count)) % max(1, catalog.count >> Int(random.next() % 6))
                        let (pick, merchantIndex) = catalog[slot]
                        try await shop.run(.recordView(pick), as: customer)
                        try await shop.run(.addToCart(pick, quantity: 1), as: customer)
                        if random.next() % 2 == 0 { try await shop.run(.addToCart(catalog[slot ^ 1].0, quantity: 1), as: customer) }
                        guard let orderId = try await shop.run(.placeOrder(), as: customer).orderId,
                            try await shop.pay(orderId, as: customer)
                        else { continue }
                        if random.next() % 2 == 0 {
                            // A pair may span two merchants: shipping by one of them is then refused, and that is fine here.
                            _ = try? await shop.run(
                                .shipOrder(orderId, carrier: "SF", trackingNumber: "SF\(random.next() % 1_000_000_000)"),
                                as: sellers[merchantIndex])
                        }
                        if worker == 0, shop.log.headPosition % 1_000 < 20 {
                            let rate = Double(shop.log.headPosition) / Date().timeIntervalSince(started)
                            shop.report(String(format: "generating: %llu / %llu events (%.0f/s)", shop.log.headPosition, target, rate))
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        return try shop.finish()
    }
}
