import ArgumentParser
import EventLog
import Foundation
import Projections
import History

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the hash chain, gapless positions, stream versions, every index, that every event decodes, and that every read model equals a fresh rebuild.",
        discussion: """
        Exits 0 when the log and the read models are sound, 1 when a problem was found (the first is named).
        Each read model is folded afresh, in memory, up to its checkpoint and compared with the stored model byte for byte.
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
            try verifyReadModels(log)
            return
        }
        print("FAILED: \(max(report.log.problems.count, 1)) problem(s); the first:")
        print("  \(first)")
        for problem in report.log.problems.dropFirst().prefix(9) { print("  \(problem)") }
        throw ExitCode(1)
    }
}

extension Verify {
    /// Every read model equals a fresh fold of the log up to its checkpoint.
    func verifyReadModels(_ log: EventLog) throws {
        guard FileManager.default.fileExists(atPath: data.projectionsDirectory + "/data.mdb") else {
            print("read models: none stored yet (they are built by emporium serve or emporium projections rebuild all)")
            return
        }
        let projector: Projector
        do {
            projector = try data.openProjector(log: log, rebuildDamaged: false)
        } catch {
            print("FAILED: the read models cannot be loaded: \(error)")
            print("  mend them with: emporium projections rebuild all")
            throw ExitCode(1)
        }
        defer { projector.close() }
        var failed = false
        for name in projector.names {
            let differences = try projector.differencesFromRebuild(name)
            let checkpoint = projector.checkpoint(name)
            if differences.isEmpty {
                print("read model \(name): equals a fresh rebuild to position \(checkpoint)")
            } else {
                failed = true
                print("FAILED: read model \(name) differs from a fresh rebuild to position \(checkpoint) in \(differences.count) row(s), e.g. \(differences.prefix(3).joined(separator: ", "))")
                print("  mend it with: emporium projections rebuild \(name)")
            }
        }
        if failed { throw ExitCode(1) }
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
