import ArgumentParser
import BenchSupport
import CommandEngine
import Commerce
import EventStore
import Foundation
import History

/// Replay and audit over a large log: full replay throughput, the state of
/// one order at a past time, and the first page of an audit query by actor.
/// `tools/bench-history.sh` runs it and the PostgreSQL peer queries.
@main
struct HistoryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emporium-history-bench",
        abstract: "Measure replay and audit queries over a generated shop of N events.")

    @Option(
        name: .customLong("data-dir"), help: "Where the generated shop lives (kept between runs; regenerated when smaller than --events).")
    var dataDirectory = "./.bench/history"
    @Option(help: "Events in the shop.") var events = 1_000_000
    @Option(help: "Customers placing orders concurrently while generating.") var workers = 32
    @Option(help: "Samples per latency measurement.") var samples = 2_000
    @Flag(help: "Replay without the key vault (personal fields read as erased): shows what decryption costs.") var withoutKeys = false
    @Flag(help: "Only the full replay.") var replayOnly = false
    @Option(help: "Write the actors, streams and positions the peer queries use to this directory.") var peerInputs: String?

    func run() async throws {
        let log = try await generate()
        defer { log.close() }
        let vault = try KeyVault(directory: dataDirectory + "/keys", readOnly: true)
        defer { vault.close() }
        let head = try log.head()
        print("# emporium history bench: \(head.position) events in \(dataDirectory)")
        let replayer = Replayer(log: log, cipher: withoutKeys ? nil : vault)
        var best = Double.infinity
        var shopSize = 0
        for _ in 0..<3 {
            let started = DispatchTime.now().uptimeNanoseconds
            let shop = try replayer.shop(through: head.position)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
            shopSize = shop.streams.count
        }
        print(
            String(
                format: "replay_full events=%llu aggregates=%d seconds=%.3f events_per_second=%.0f", head.position, shopSize, best,
                Double(head.position) / best))
        // The replay really opened personal data: every order's address reads in clear.
        let check = try replayer.shop(through: head.position)
        let addresses = check.streams.values.compactMap { stream -> Address? in
            if case .order(let order) = stream.state { order.placed?.address } else { nil }
        }
        let opened = addresses.filter { $0.city != PersonalData.erased }.count
        guard withoutKeys || opened == addresses.count else {
            throw ReplayError("\(addresses.count - opened) order addresses did not open")
        }
        print("replay_check orders=\(addresses.count) addresses_opened=\(opened)")
        if replayOnly { return }

        // The state of one order at a past time: a time inside the order's life, then the fold up to the last event at or before it.
        var random = SplitMix64(seed: 17)
        var orders: [StreamName] = []
        var from: UInt64 = 1
        while orders.count < 50_000 {
            let page = try log.events(ofType: OrderPlaced.eventType, from: from, limit: LogLimits.readPageEventsMax)
            orders += page.map(\.stream)
            guard let last = page.last, page.count == LogLimits.readPageEventsMax else { break }
            from = last.position + 1
        }
        guard !orders.isEmpty else { throw ReplayError("the generated shop has no orders; ask for more --events") }
        var latencies: [Double] = []
        var pointsInTime: [(String, UInt64)] = []
        for _ in 0..<samples {
            let stream = orders[Int(random.next() % UInt64(orders.count))]
            let history = try log.readStream(stream)
            guard let first = history.first, let last = history.last else { continue }
            let span = last.recordedAt.nanosecondsSinceEpoch - first.recordedAt.nanosecondsSinceEpoch
            let time = Timestamp(
                nanosecondsSinceEpoch: first.recordedAt.nanosecondsSinceEpoch + Int64(random.next() % UInt64(max(span, 1))))
            let started = DispatchTime.now().uptimeNanoseconds
            let position = try replayer.position(at: time)
            let replay = try replayer.stream(stream.rawValue, through: position)
            latencies.append(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6)
            guard replay.version >= 1 else { throw ReplayError("an order replayed inside its life has no events") }
            pointsInTime.append((stream.rawValue, position))
        }
        report("order_at_time", latencies)

        // The first page (100 events) of an audit query by actor.
        var actors: [String] = []
        try log.scan(through: min(head.position, 200_000)) { event in
            if event.metadata.actor.hasPrefix("user:") { actors.append(event.metadata.actor) }
            return true
        }
        let distinctActors = Array(Set(actors)).sorted()
        let auditor = Auditor(log: log)
        latencies.removeAll()
        var pageSizes = 0
        for _ in 0..<samples {
            var query = AuditQuery()
            query.actor = distinctActors[Int(random.next() % UInt64(distinctActors.count))]
            query.limit = 100
            let started = DispatchTime.now().uptimeNanoseconds
            let page = try auditor.query(query)
            latencies.append(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6)
            pageSizes += page.events.count
        }
        report(
            "audit_actor_first_page", latencies,
            extra: String(format: "mean_events=%.1f actors=%d", Double(pageSizes) / Double(samples), distinctActors.count))

        if let peerInputs {
            try FileManager.default.createDirectory(atPath: peerInputs, withIntermediateDirectories: true)
            try writeEventsCSV(log, presenter: EventPresenter(cipher: nil), to: peerInputs + "/events.csv")
            try Data(distinctActors.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: peerInputs + "/actors.txt"))
            try Data(pointsInTime.map { "\($0.0)\t\($0.1)" }.joined(separator: "\n").utf8).write(
                to: URL(fileURLWithPath: peerInputs + "/orders.tsv"))
        }
    }

    /// The log as CSV for PostgreSQL's COPY: position, stream, version, type, actor, recorded_at (ns), payload
    /// (the event as JSON; personal fields read as erased, as without the keys).
    func writeEventsCSV(_ log: EventLog, presenter: EventPresenter, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw ReplayError("cannot write \(path)")
        }
        defer { try? handle.close() }
        var buffer: [UInt8] = []
        func quoted(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        try log.scan { event in
            let payload = String(decoding: presenter.data(event), as: UTF8.self)
            let row =
                "\(event.position),\(quoted(event.stream.rawValue)),\(event.version),\(quoted(event.type)),\(quoted(event.metadata.actor)),"
                + "\(event.recordedAt.nanosecondsSinceEpoch),\(quoted(payload))\n"
            buffer += Array(row.utf8)
            if buffer.count > 1 << 22 {
                handle.write(Data(buffer))
                buffer.removeAll(keepingCapacity: true)
            }
            return true
        }
        handle.write(Data(buffer))
    }

    func report(_ name: String, _ milliseconds: [Double], extra: String = "") {
        let sorted = milliseconds.sorted()
        func at(_ quantile: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * quantile))] }
        print(
            String(
                format: "%@ samples=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f %@", name, sorted.count, at(0.5), at(0.99), sorted.last ?? 0,
                extra))
    }

    // MARK: Generating the shop

    /// Opens the shop, first generating it through the engine when it is missing or smaller than asked.
    func generate() async throws -> EventLog {
        if let existing = BenchShop.existing(in: dataDirectory, atLeast: events) { return existing }
        let shop = try BenchShop(emptyIn: dataDirectory, withSnapshots: true)
        // A full-size shop has 20 merchants × 50 goods and 40 customers per worker; a small one (smoke runs) a tenth.
        let small = events < 100_000
        let merchantCount = small ? 2 : 20
        let goodsPerMerchant = small ? 5 : 50
        let customersPerWorker = small ? 4 : 40
        var merchants: [Actor] = []
        var goods: [(GoodsId, Int)] = []
        for index in 0..<merchantCount {
            let merchant = try await shop.user("merchant\(index)@bench.emporium", .merchant)
            merchants.append(merchant)
            for item in 0..<goodsPerMerchant {
                let details = GoodsDetails(
                    title: "Bench goods \(index)-\(item) 商品", description: "generated", category: "bench", brand: "B\(index)",
                    tags: ["t\(item % 7)"], lowStockThreshold: 1)
                let listed = try await shop.run(
                    .listGoods(details, price: Money(minorUnits: Int64(990 + item * 100)), stock: 1_000_000), as: merchant)
                guard let id = listed.goodsId else { throw EngineError(.internalError, "listing bench goods returned no id") }
                goods.append((id, index))
            }
        }
        let catalog = goods
        let sellers = merchants
        let workers = small ? min(self.workers, 4) : self.workers
        let target = UInt64(events)
        let started = Date()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    var random = SplitMix64(seed: UInt64(worker) + 1)
                    let customers = try await shop.customers(worker: worker, count: customersPerWorker)
                    while shop.log.headPosition < target {
                        let customer = customers[Int(random.next() % UInt64(customers.count))]
                        let (pick, merchantIndex) = catalog[Int(random.next() % UInt64(catalog.count))]
                        try await shop.run(.addToCart(pick, quantity: 1 + Int(random.next() % 2)), as: customer)
                        guard let orderId = try await shop.run(.placeOrder(), as: customer).orderId,
                            try await shop.pay(orderId, as: customer)
                        else { continue }
                        try await shop.run(
                            .shipOrder(orderId, carrier: "SF", trackingNumber: "SF\(random.next() % 1_000_000_000)"),
                            as: sellers[merchantIndex])
                        try await shop.run(.confirmReceipt(orderId), as: customer)
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
