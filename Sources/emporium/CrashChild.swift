import ArgumentParser
import EventStore
import Foundation

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
