import ArgumentParser
import EventStore
import Foundation
import History
import ReadModels

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Check the hash chain, gapless positions, stream versions, every index, that every event decodes, and that every read model equals a fresh rebuild.",
        discussion: """
            Exits 0 when the log and the read models are sound, 1 when a problem was found (the first is named).
            Each read model is folded afresh, in memory, up to its checkpoint and compared with the stored model byte for byte.
            """)

    @OptionGroup var data: DataOptions
    @Flag(help: "Print one JSON object (the result and every problem found) instead of text.") var json = false

    struct Output: Encodable {
        var ok: Bool
        var headPosition: UInt64
        var headHash: String
        var eventsChecked: UInt64
        var streams: Int
        var aggregatesFolded: Int
        var problems: [String]
        var readModels: [String: String]
        /// Records the redo file holds past the head, which the next writable open re-applies.
        var redoRecordsAhead = 0
    }

    func run() throws {
        let log: EventLog
        do {
            log = try data.openLog(readOnly: true)
        } catch let failure as CommandFailure where failure.code == .ioError {
            // A log too damaged to open (a truncated file) is a failed check, not a usage error.
            if json {
                try writeJSON(
                    Output(
                        ok: false, headPosition: 0, headHash: "", eventsChecked: 0, streams: 0, aggregatesFolded: 0,
                        problems: [failure.description], readModels: [:]), to: nil)
            } else {
                print("FAILED: \(failure)")
            }
            throw ExitCode(1)
        }
        defer { log.close() }
        if json { return try runJSON(log) }
        var bars: [String: ProgressBar] = [:]
        let report = try ShopVerifier(log: log).verify { stage, done, total in
            let bar = bars[stage] ?? ProgressBar(label: stage)
            bars[stage] = bar
            bar.update(done: done, total: total)
        }
        for bar in bars.values { bar.finish() }
        print("events checked: \(report.log.eventsChecked)   streams: \(report.log.streamsSeen)   aggregates folded: \(report.aggregates)")
        print("head: position \(report.log.head.position)   hash \(report.log.head.hash.hex)")
        if report.log.redoRecordsAhead > 0 {
            print(
                "redo file: \(report.log.redoRecordsAhead) record(s) past the head, committed before the machine stopped; "
                    + "the next writable open (emporium serve) re-applies them")
        }
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
    private func runJSON(_ log: EventLog) throws {
        let report = try ShopVerifier(log: log).verify { _, _, _ in }
        var problems = report.log.problems.map { "\($0)" }
        if let first = report.firstProblem, problems.isEmpty { problems.append("\(first)") }
        var models: [String: String] = [:]
        if problems.isEmpty, FileManager.default.fileExists(atPath: data.projectionsDirectory + "/data.mdb") {
            do {
                let projector = try data.openProjector(log: log, rebuildDamaged: false)
                defer { projector.close() }
                for name in projector.names {
                    let differences = try projector.differencesFromRebuild(name)
                    models[name] =
                        differences.isEmpty
                        ? "equals a fresh rebuild to position \(projector.checkpoint(name))"
                        : "differs from a fresh rebuild in \(differences.count) row(s)"
                    if !differences.isEmpty {
                        problems.append("read model \(name) differs from a fresh rebuild in \(differences.count) row(s)")
                    }
                }
            } catch {
                problems.append("the read models cannot be loaded: \(error)")
            }
        }
        let output = Output(
            ok: problems.isEmpty, headPosition: report.log.head.position, headHash: report.log.head.hash.hex,
            eventsChecked: UInt64(report.log.eventsChecked), streams: report.log.streamsSeen, aggregatesFolded: report.aggregates,
            problems: problems, readModels: models, redoRecordsAhead: report.log.redoRecordsAhead)
        try writeJSON(output, to: nil)
        if !problems.isEmpty { throw ExitCode(1) }
    }

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
                print(
                    "FAILED: read model \(name) differs from a fresh rebuild to position \(checkpoint) in \(differences.count) row(s), e.g. \(differences.prefix(3).joined(separator: ", "))"
                )
                print("  mend it with: emporium projections rebuild \(name)")
            }
        }
        if failed { throw ExitCode(1) }
    }
}

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the log's head, hash and size.")

    @OptionGroup var data: DataOptions
    @Flag(help: "Print JSON.") var json = false

    struct Output: Encodable {
        var headPosition: UInt64
        var headHash: String
        var lastRecordedAt: String?
        var storedBytes: Int
    }

    func run() throws {
        let log = try data.openLog(readOnly: true)
        defer { log.close() }
        let head = try log.head()
        if json {
            return try writeJSON(
                Output(
                    headPosition: head.position, headHash: head.hash.hex, lastRecordedAt: head.recordedAt?.description,
                    storedBytes: log.storedBytes), to: nil)
        }
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
    @Flag(help: "One JSON object per event (its header fields), instead of a table.") var json = false

    func validate() throws {
        guard (1...10_000).contains(count) else { throw ValidationError("--count must be between 1 and 10000") }
    }

    func run() throws {
        let log = try data.openLog(readOnly: true)
        defer { log.close() }
        let head = try log.head().position
        let from = head > UInt64(count) ? head - UInt64(count) + 1 : 1
        for event in try log.read(from: from, limit: count) {
            if json {
                var record = EventRecord(event)  // the header fields: payloads are for audit and export
                (record.payload, record.payloadBase64) = (nil, nil)
                FileHandle.standardOutput.write(Data(try record.jsonLine(data: nil) + [0x0A]))
                continue
            }
            print("\(event.position)\t\(event.recordedAt)\t\(event.stream)@\(event.version)\t\(event.type)\t\(event.metadata.actor)")
        }
    }
}
