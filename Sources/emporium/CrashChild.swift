import ArgumentParser
import EventStore
import Foundation
import Synchronization

/// Used by the crash test: appends forever from several tasks and prints
/// `ack <position> <eventId>` for each event only after its append returned.
/// With `--kill-at STAGE:N` it stops itself with SIGKILL at that stage of its Nth commit, after printing
/// `killed <stage> <head>` (the head the commit would leave).
struct CrashChild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "crash-child", shouldDisplay: false)

    @OptionGroup var data: DataOptions
    @Option var seed: UInt64 = 1
    @Option var appenders: Int = 4
    @Option(help: "STAGE:N — redo-begun, lmdb-committed or durable, and the commit to stop at.") var killAt: String?

    func run() async throws {
        var options = EventLog.Options()
        if let killAt {
            let parts = killAt.split(separator: ":")
            guard parts.count == 2, let stage = CommitStage(rawValue: String(parts[0])), let commit = Int(parts[1]) else {
                throw ValidationError("--kill-at is STAGE:N, e.g. redo-begun:40")
            }
            options.commitProbe = Self.killer(at: stage, commit: commit)
        }
        let log = try data.openLog(options)
        let seed = self.seed
        try await withThrowingTaskGroup(of: Void.self) { group in
            for appender in 0..<appenders {
                group.addTask {
                    var random = SplitMix64(seed: seed &* 1_000 &+ UInt64(appender))
                    while true {
                        let events = (0..<(random.next() % 4 + 1)).map { _ in
                            ProposedEvent(
                                eventId: UUIDv7Generator.shared.next(), type: "CrashTested",
                                payload: Array(repeating: UInt8(truncatingIfNeeded: random.next()), count: Int(random.next() % 400)),
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

extension CrashChild {
    /// Counts commits as they reach `redo-begun` and stops the process at `stage` of the `commit`th one. At `redo-begun`
    /// it first gives the redo thread time to hand the entry to the kernel: the process dies, the page cache does not.
    static func killer(at stage: CommitStage, commit: Int) -> @Sendable (CommitStage, UInt64) -> Void {
        let commits = Atomic<Int>(0)
        return { reached, head in
            let count = reached == .redoBegun ? commits.add(1, ordering: .relaxed).newValue : commits.load(ordering: .relaxed)
            guard reached == stage, count == commit else { return }
            if stage == .redoBegun { usleep(200_000) }
            writeAtomically("killed \(stage.rawValue) \(head)\n")
            kill(getpid(), SIGKILL)
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
