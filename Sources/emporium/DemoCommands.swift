import ArgumentParser
import EventLog
import Foundation

/// Writes a small, deterministic stream of shop events so a new user can see
/// the log working before the domain and server exist on top of it.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Append a deterministic burst of demo shop events, then verify the log.")

    @OptionGroup var data: DataOptions
    @Option(help: "Orders to place (each touches an order, a goods and a user stream).") var orders: Int = 5_000
    @Option(help: "Appending tasks running at once.") var concurrency: Int = 32

    func validate() throws {
        guard (1...1_000_000).contains(orders) else { throw ValidationError("--orders must be between 1 and 1000000") }
        guard (1...1_024).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 1024") }
    }

    func run() async throws {
        let log = try data.openLog(readOnly: false)
        defer { log.close() }
        let run = UUIDv7Generator.shared.next()
        let start = try log.head().position
        let bar = ProgressBar(label: "demo")
        let started = Date()
        let orders = self.orders
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    for order in stride(from: worker, to: orders, by: concurrency) {
                        _ = try await log.append(Self.placeOrder(order, run: run))
                    }
                }
            }
            var reported = 0
            while try await group.next() != nil || reported == 0 {
                reported += 1
                bar.update(done: log.headPosition - start, total: UInt64(orders * 3))
            }
        }
        bar.finish()
        let seconds = Date().timeIntervalSince(started)
        let written = log.headPosition - start
        print("appended \(written) events in \(String(format: "%.2f", seconds)) s (\(Int(Double(written) / seconds)) durable events/s)")
        let report = try log.verify()
        print("verify: \(report.isHealthy ? "OK" : "FAILED: \(report.firstProblem?.description ?? "")")  head \(report.head.position)  hash \(report.head.hash.hex)")
        print("try: emporium tail --data-dir \(data.dataDirectory)")
    }

    static func placeOrder(_ index: Int, run: UUID) throws -> [StreamAppend] {
        let order = try StreamName("order-\(run.uuidString.prefix(8).lowercased())-\(index)")
        let goods = try StreamName("goods-\(index % 97)")
        let user = try StreamName("user-\(index % 331)")
        let actor = "user:\(index % 331):customer"
        func make(_ type: String, _ json: String) -> ProposedEvent {
            ProposedEvent(eventId: UUIDv7Generator.shared.next(), type: type, payload: Array(json.utf8),
                          metadata: EventMetadata(actor: actor, correlationId: run))
        }
        let quantity = index % 3 + 1
        return [
            StreamAppend(stream: order, expected: .noStream,
                         events: [make("OrderPlaced", #"{"goods":"\#(goods)","quantity":\#(quantity),"total":\#(quantity * 1999)}"#)]),
            StreamAppend(stream: goods, expected: .any, events: [make("StockReserved", #"{"order":"\#(order)","quantity":\#(quantity)}"#)]),
            StreamAppend(stream: user, expected: .any, events: [make("PointsRedeemed", #"{"order":"\#(order)","points":0}"#)]),
        ]
    }
}

/// Used by the crash test: appends forever from several tasks and prints
/// `ack <position> <eventId>` for each event only after its append returned.
struct CrashChild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "crash-child", shouldDisplay: false)

    @OptionGroup var data: DataOptions
    @Option var seed: UInt64 = 1
    @Option var appenders: Int = 4

    func run() async throws {
        let log = try data.openLog(readOnly: false)
        let seed = self.seed
        try await withThrowingTaskGroup(of: Void.self) { group in
            for appender in 0..<appenders {
                group.addTask {
                    var random = SplitMix64(seed: seed &* 1_000 &+ UInt64(appender))
                    while true {
                        let events = (0..<(random.next() % 4 + 1)).map { _ in
                            ProposedEvent(eventId: UUIDv7Generator.shared.next(), type: "CrashTested", payload: Array(repeating: UInt8(truncatingIfNeeded: random.next()), count: Int(random.next() % 400)),
                                          metadata: EventMetadata(actor: "system", correlationId: UUIDv7Generator.shared.next()))
                        }
                        let result = try await log.append(to: try StreamName("crash-\(random.next() % 50)"), expected: .any, events: events)
                        var lines = ""
                        for (position, event) in zip(result.positions, events) { lines += "ack \(position) \(event.eventId.uuidString)\n" }
                        writeAtomically(lines)
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}

/// One `write(2)` per call, so lines from several tasks never interleave.
func writeAtomically(_ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeMutableBytes { write(STDOUT_FILENO, $0.baseAddress?.advanced(by: offset), $0.count - offset) }
        guard written > 0 else { return }
        offset += written
    }
}
