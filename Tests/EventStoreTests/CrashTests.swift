import Foundation
import Testing

@testable import EventStore

@Suite(.serialized) struct CrashTests {
    /// A child process appends and acknowledges; SIGKILL lands at a seeded
    /// random moment; every acknowledged event must survive and verify must pass.
    @Test(arguments: [11, 23, 37, 41, 59] as [UInt64])
    func acknowledgedEventsSurviveSIGKILL(seed: UInt64) async throws {
        var random = SplitMix64(seed: seed)
        let dataDirectory = temporaryDirectory("crash\(seed)")
        let killAfterMs = 150 + Int(random.next() % 600)
        let acknowledged = try await runAndKill(dataDirectory: dataDirectory, seed: seed, afterMs: killAfterMs)
        #expect(acknowledged.count > 0, "seed \(seed): the child acknowledged nothing in \(killAfterMs) ms")

        let log = try openLog(dataDirectory + "/log")
        defer { log.close() }
        let report = try log.verify()
        #expect(report.isHealthy, "seed \(seed): \(report.problems)")
        for (position, id) in acknowledged {
            let stored = try log.event(at: position)
            #expect(stored?.eventId == id, "seed \(seed): acknowledged event \(id) at \(position) is missing")
        }
        // The log takes appends again after the crash, continuing the chain.
        let next = try await log.append(to: stream("crash-after"), expected: .noStream, events: [event()])
        #expect(next.positions == [report.head.position + 1])
        print("crash seed \(seed): killed after \(killAfterMs) ms, \(acknowledged.count) acknowledged, \(report.head.position) stored")
    }

    /// The child stops itself with SIGKILL at a seeded commit, at each stage around the two flushes: with the redo entry
    /// handed to the kernel but nothing committed in LMDB, with LMDB committed but the redo flush maybe in flight, and
    /// with both durable but nobody answered. Whatever LMDB lacks comes back from the redo file: the log holds exactly the
    /// commit the child was making, every acknowledged event, and a chain that verifies.
    @Test(arguments: [(CommitStage.redoBegun, 13), (.lmdbCommitted, 29), (.durable, 43), (.redoBegun, 71)] as [(CommitStage, UInt64)])
    func aKillAroundTheFlushesLosesNoAcknowledgedEvent(stage: CommitStage, seed: UInt64) async throws {
        var random = SplitMix64(seed: seed)
        let dataDirectory = temporaryDirectory("crash-\(stage.rawValue)-\(seed)")
        let commit = 20 + Int(random.next() % 60)
        let lines = try await runAndKill(dataDirectory: dataDirectory, seed: seed, killAt: "\(stage.rawValue):\(commit)")
        let acknowledged = Self.acknowledgements(lines)
        let killed = lines.compactMap { line -> UInt64? in
            let parts = line.split(separator: " ")
            return parts.count == 3 && parts[0] == "killed" ? UInt64(parts[2]) : nil
        }
        #expect(killed.count == 1, "stage \(stage.rawValue): the child did not stop itself at commit \(commit)")
        #expect(acknowledged.count > 0)

        let log = try openLog(dataDirectory + "/log")
        defer { log.close() }
        let report = try log.verify()
        #expect(report.isHealthy, "\(report.problems)")
        #expect(report.head.position == killed.first, "the commit being made when the child died is the log's last")
        if stage == .redoBegun { #expect(log.recoveredFromRedo > 0, "LMDB never committed it: it came from the redo file") }
        for (position, id) in acknowledged {
            #expect(try log.event(at: position)?.eventId == id, "acknowledged event \(id) at \(position) is missing")
        }
        let next = try await log.append(to: stream("crash-after"), expected: .noStream, events: [event()])
        #expect(next.positions == [report.head.position + 1])
    }

    static func acknowledgements(_ lines: [Substring]) -> [(UInt64, UUID)] {
        lines.compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 3, parts[0] == "ack", let position = UInt64(parts[1]), let id = UUID(uuidString: String(parts[2])) else {
                return nil
            }
            return (position, id)
        }
    }

    /// Runs `emporium crash-child`, reads its acknowledgements, kills it; returns every complete ack line.
    func runAndKill(dataDirectory: String, seed: UInt64, afterMs: Int) async throws -> [(UInt64, UUID)] {
        Self.acknowledgements(try await runAndKill(dataDirectory: dataDirectory, seed: seed, afterMs: afterMs, killAt: nil))
    }

    /// Runs `emporium crash-child` until it stops itself at `killAt` (or 60 s pass); returns its complete lines.
    func runAndKill(dataDirectory: String, seed: UInt64, killAt: String) async throws -> [Substring] {
        try await runAndKill(dataDirectory: dataDirectory, seed: seed, afterMs: 60_000, killAt: killAt)
    }

    /// Runs `emporium crash-child` and kills it after `afterMs` unless it died first; returns its complete output lines.
    func runAndKill(dataDirectory: String, seed: UInt64, afterMs: Int, killAt: String?) async throws -> [Substring] {
        let child = ChildProcess()
        child.executableURL = try emporiumExecutable()
        child.arguments = ["crash-child", "--data-dir", dataDirectory, "--seed", "\(seed)"] + (killAt.map { ["--kill-at", $0] } ?? [])
        // A file, not a pipe: a full pipe would block the child in write(2) and the kill would never land mid-append.
        let ackPath = dataDirectory + "-acks.txt"
        #expect(FileManager.default.createFile(atPath: ackPath, contents: nil))
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: ackPath))
        child.standardOutput = output
        try child.run()
        if killAt == nil {
            // The kill lands when the seed says, from a thread of its own: a sleep on the test's cooperative pool, starved by
            // the suite's other tests, once let the child run for seconds instead of milliseconds.
            // The moment is counted from the child's first acknowledgement, not from its start, which a loaded machine delays.
            let killer = Thread {
                let started = ContinuousClock.now
                while child.isRunning, ContinuousClock.now - started < .seconds(30),
                    ((try? FileManager.default.attributesOfItem(atPath: ackPath)[.size] as? Int) ?? 0) == 0
                {
                    usleep(5_000)
                }
                usleep(UInt32(afterMs) * 1_000)
                if child.isRunning { kill(child.processIdentifier, SIGKILL) }
            }
            killer.start()
        } else {
            let deadline = ContinuousClock.now + .milliseconds(afterMs)
            while child.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            if child.isRunning { kill(child.processIdentifier, SIGKILL) }
        }
        child.waitUntilExit()
        #expect(child.terminationReason == .uncaughtSignal)
        try output.close()
        let text = try String(contentsOfFile: ackPath, encoding: .utf8)
        // A line cut off by the kill has no newline: only complete lines count.
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        lines.removeLast()
        return lines
    }
}
