import ArgumentParser
import EventLog
import Foundation
import History

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the hash chain, gapless positions, stream versions, every index, and that every event decodes.",
        discussion: """
        Exits 0 when the log is sound, 1 when a problem was found (the first is named).
        Projections are not part of this release (see the projections issue); when they land, verify compares each with a fresh rebuild.
        """)

    @OptionGroup var data: DataOptions

    func run() throws {
        let log = try data.openLog(readOnly: true)
        defer { log.close() }
        var bars: [String: ProgressBar] = [:]
        let report = try ShopVerifier(log: log).verify { stage, done, total in
            let bar = bars[stage] ?? ProgressBar(label: stage)
            bars[stage] = bar
            bar.update(done: done, total: total)
        }
        for bar in bars.values { bar.finish() }
        print("events checked: \(report.log.eventsChecked)   streams: \(report.log.streamsSeen)   aggregates folded: \(report.aggregates)")
        print("head: position \(report.log.head.position)   hash \(report.log.head.hash.hex)")
        guard let first = report.firstProblem else {
            print("OK: the log is intact")
            return
        }
        print("FAILED: \(max(report.log.problems.count, 1)) problem(s); the first:")
        print("  \(first)")
        for problem in report.log.problems.dropFirst().prefix(9) { print("  \(problem)") }
        throw ExitCode(1)
    }
}

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the log's head, hash and size.")

    @OptionGroup var data: DataOptions

    func run() throws {
        let log = try data.openLog(readOnly: true)
        defer { log.close() }
        let head = try log.head()
        print("head position: \(head.position)")
        print("head hash:     \(head.hash.hex)")
        print("last recorded: \(head.recordedAt.map(\.description) ?? "-")")
        print("stored bytes:  \(log.storedBytes)")
    }
}

struct Tail: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the last events of the log.")

    @OptionGroup var data: DataOptions
    @Option(help: "How many events.") var count: Int = 20

    func validate() throws {
        guard (1...10_000).contains(count) else { throw ValidationError("--count must be between 1 and 10000") }
    }

    func run() throws {
        let log = try data.openLog(readOnly: true)
        defer { log.close() }
        let head = try log.head().position
        let from = head > UInt64(count) ? head - UInt64(count) + 1 : 1
        for event in try log.read(from: from, limit: count) {
            print("\(event.position)\t\(event.recordedAt)\t\(event.stream)@\(event.version)\t\(event.type)\t\(event.metadata.actor)")
        }
    }
}
