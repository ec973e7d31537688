import ArgumentParser
import Assembly
import EventStore
import Foundation
import Logging
import ReadModels

#if canImport(Glibc)
import Glibc
#endif

extension DataOptions {
    /// The read models of this data directory, loaded from disk (not yet caught up).
    func openProjector(
        log: EventLog, batchEventsMax: Int? = nil, rebuildDamaged: Bool = true,
        logger: Logger = Logger(label: "emporium.projections")
    ) throws -> Projector {
        var options = Projector.Options()
        options.rebuildDamaged = rebuildDamaged
        options.logger = logger
        if let batchEventsMax { (options.batchEventsMax, options.rebuildBatchEventsMax) = (batchEventsMax, batchEventsMax) }
        return try CommandFailure.opening { () throws(ShopOpenError) in try shop.openProjector(log: log, options: options) }
    }

    /// Runs `body` with the read models opened over the log, refusing (naming the HTTP request to make
    /// instead, `askInstead`) while a server holds them.
    func withStoppedServer(askInstead: String, batchEventsMax: Int? = nil, _ body: (Projector) throws -> Void) throws {
        guard let lock = try ServerLock(directory: projectionsDirectory) else {
            throw CommandFailure(.tempFail, "a server is running on \(dataDirectory); ask it instead: \(askInstead)")
        }
        defer { withExtendedLifetime(lock) {} }
        let log = try openLog(readOnly: true)
        defer { log.close() }
        let projector = try openProjector(log: log, batchEventsMax: batchEventsMax)
        defer { projector.close() }
        try body(projector)
    }
}

/// Held by `emporium serve` for as long as it runs, so that an offline
/// rebuild does not change models a server holds in memory.
final class ServerLock {
    private let descriptor: Int32

    /// Takes the lock, or returns nil when a server holds it.
    init?(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let descriptor = open(directory + "/server.lock", O_CREAT | O_RDWR, 0o640)
        guard descriptor >= 0 else {
            throw CommandFailure(.ioError, "cannot open \(directory)/server.lock: \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            return nil
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }  // closing releases the lock
}

struct ProjectionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projections",
        abstract: "Inspect and rebuild the read models (search, recommend, analytics, mypages).",
        subcommands: [ProjectionsStatus.self, ProjectionsRebuild.self])
}

struct ProjectionsStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Each read model's checkpoint, the head, the lag and the model's size.")

    @OptionGroup var data: DataOptions
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() throws {
        let log = try data.openLog(readOnly: true)
        defer { log.close() }
        let projector = try data.openProjector(log: log)
        defer { projector.close() }
        let status = try projector.status()
        if json {
            try writeJSON(status, to: nil)
            return
        }
        print("projection   checkpoint        head         lag       rows    model bytes  trained at  rebuild")
        for row in status {
            let rebuild = row.rebuild.map { "at \($0.checkpoint)/\($0.target)" } ?? "-"
            let trained = row.trainedAt.map { "\($0)" } ?? "-"
            let trainedAt = String(repeating: " ", count: max(0, 10 - trained.count)) + trained
            print(
                row.name.padding(toLength: 12, withPad: " ", startingAt: 0)
                    + String(
                        format: " %10llu  %10llu  %10llu  %9d  %13d  %@  %@", row.checkpoint, row.head, row.lag, row.rows, row.modelBytes,
                        trainedAt, rebuild))
        }
    }
}

struct ProjectionsRebuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Fold a read model again from position 0 (or bring every model up to the head).",
        discussion: """
            NAME is search, recommend, analytics, mypages or all. The old model stays in place until the new one has caught up.
            Stop the server first, or ask it to rebuild while serving: POST /v1/admin/projections/NAME/rebuild.
            """)

    @OptionGroup var data: DataOptions
    @Argument(help: "The read model to rebuild, or all.") var name: String
    @Option(help: "Events per transaction (default: 1000000 for a rebuild, 250000 for a catch-up).") var batchEvents: Int?
    @Flag(help: "Only fold new events into the current models (no rebuild).") var catchUpOnly = false

    func validate() throws {
        guard name == "all" || Projections.named(name) != nil else {
            throw ValidationError(
                "no read model \(LogLimits.shown(name)); one of: all, \(Projections.all.map { $0.name }.joined(separator: ", "))")
        }
        if let batchEvents, !(1...1_000_000).contains(batchEvents) { throw ValidationError("--batch-events must be 1…1000000") }
    }

    func run() throws {
        try data.withStoppedServer(askInstead: "POST /v1/admin/projections/\(name)/rebuild", batchEventsMax: batchEvents, rebuild)
    }

    func rebuild(_ projector: Projector) throws {
        let names = name == "all" ? projector.names : [name]
        let started = DispatchTime.now().uptimeNanoseconds
        if catchUpOnly {
            let bar = ProgressBar(label: "catch up")
            try projector.catchUp { bar.update(done: $0, total: $1) }
            bar.finish()
        } else {
            let bar = ProgressBar(label: "rebuild \(name)")
            try projector.rebuild(names) { bar.update(done: $0, total: $1) }  // together: one lane per core
            bar.finish()
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        for row in try projector.status() where names.contains(row.name) {
            print("\(row.name): checkpoint \(row.checkpoint), \(row.rows) rows, \(row.modelBytes) bytes")
        }
        print(String(format: "done in %.2f s", seconds))
    }
}

struct RecommendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recommend", abstract: "Recommendation tools.", subcommands: [RecommendTrain.self, RecommendEvaluate.self])
}

struct RecommendTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the recommender's factor model now, on the log as it is (folding new events first), and store it.",
        discussion: """
            A serving shop trains it by itself in the background once enough has been bought since the last training \
            (a tenth more purchases, at least 100, or a forgotten customer); a rebuild trains it at its end. \
            Stop the server first, or ask it: POST /v1/admin/recommendations/train.
            """)

    @OptionGroup var data: DataOptions

    func run() throws {
        try data.withStoppedServer(askInstead: "POST /v1/admin/recommendations/train", train)
    }

    func train(_ projector: Projector) throws {
        let started = DispatchTime.now().uptimeNanoseconds
        let bar = ProgressBar(label: "catch up")
        try projector.catchUp { bar.update(done: $0, total: $1) }  // trains when a training is due
        bar.finish()
        try projector.doBackgroundWork(RecommendProjection.name)  // and when not, unless it is trained at the head already
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        guard let training = try projector.read(RecommendProjection.self, { $0.training }) else {
            print("nothing to train on: fewer than \(RecommendProjection.trainingPurchasesMin) purchases")
            return
        }
        print(
            "trained at position \(training.position) on \(training.customers) customers' \(training.purchases) purchases"
                + String(format: " (catching up and training took %.2f s)", seconds))
    }
}

struct RecommendEvaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Leave-last-order-out evaluation of each recommender: HR@10, NDCG@10, coverage and time per call.",
        discussion: """
            Runs over the shop's log (the seeded demo shop, or an imported order history), or over an outside \
            interaction file given with --interactions: one line per purchase, "user, item, timestamp[, basket]" \
            (tabs or commas; Unix seconds; a header line is read; RecBole's .inter files work as they are). Lines \
            of one basket make one order; without baskets each line is an order.

            --split test hides each customer's last order; --split validation leaves the last one out and hides \
            the one before (tune on this one). --tune scores the feed's weightings on the validation split.
            """)

    @OptionGroup var data: DataOptions
    @Option(help: "An interaction file to evaluate instead of the shop's log.") var interactions: String?
    @Option(help: "test or validation.") var split: RecommenderEvaluation.Split = .test
    @Flag(help: "Score the feed's weightings on the validation split, best first.") var tune = false
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() throws {
        let file = try interactions.map { path in
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw ValidationError("\(path): cannot be read as UTF-8 text (\(error.localizedDescription))")
            }
            do {
                return try RecommenderEvaluation.interactions(text)
            } catch let error as RecommenderEvaluation.InteractionFileError {
                throw ValidationError("\(path): \(error)")
            }
        }
        if tune {
            let scored = try file.map(RecommenderEvaluation.tune(interactions:)) ?? withLog(RecommenderEvaluation.tune(log:))
            if json { return try writeJSON(scored.map { TunedRow(setting: $0.setting, feed: $0.feed) }, to: nil) }
            print("feed on the validation split, best first")
            for (setting, feed) in scored { print(String(format: "HR@10 %.4f  NDCG@10 %.4f   %@", feed.hitRate, feed.ndcg, setting)) }
            return
        }
        let report: RecommenderEvaluation.Report
        if let file {
            report = RecommenderEvaluation.run(interactions: file, split: split)
        } else {
            let bar = ProgressBar(label: "evaluate")
            report = try withLog { try RecommenderEvaluation.run(log: $0, split: split) { bar.update(done: $0, total: $1) } }
            bar.finish()
        }
        if json { return try writeJSON(report, to: nil) }
        let hidden = split == .test ? "the last order hidden" : "the last order left out, the one before hidden"
        print("customers evaluated: \(report.users) (\(hidden))   goods: \(report.goods)   events: \(report.events)")
        print("recommender     HR@\(report.cutoff)   NDCG@\(report.cutoff)   vs popular (HR)   coverage   mean µs   p99 µs")
        let baseline = report.rows.first { $0.recommender == "popular" }?.hitRate ?? 0
        for row in report.rows {
            let lift = baseline > 0 ? String(format: "%.2f×", row.hitRate / baseline) : "-"
            print(
                row.recommender.padding(toLength: 14, withPad: " ", startingAt: 0)
                    + String(
                        format: "  %.4f  %.4f   %@             %.3f    %7.1f  %7.1f", row.hitRate, row.ndcg,
                        lift.padding(toLength: 5, withPad: " ", startingAt: 0), row.coverage, row.meanMicros, row.p99Micros))
        }
    }

    private func withLog<T>(_ body: (EventLog) throws -> T) throws -> T {
        let log = try data.openLog(readOnly: true)
        defer { log.close() }
        return try body(log)
    }

    struct TunedRow: Encodable {
        var setting: String
        var feed: RecommenderEvaluation.Row
    }
}

extension RecommenderEvaluation.Split: ExpressibleByArgument {}
