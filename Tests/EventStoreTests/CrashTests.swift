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

    /// Runs `emporium crash-child`, reads its acknowledgements, kills it; returns every complete ack line.
    func runAndKill(dataDirectory: String, seed: UInt64, afterMs: Int) async throws -> [(UInt64, UUID)] {
        let child = Process()
        child.executableURL = try emporiumExecutable()
        child.arguments = ["crash-child", "--data-dir", dataDirectory, "--seed", "\(seed)"]
        // A file, not a pipe: a full pipe would block the child in write(2) and the kill would never land mid-append.
        let ackPath = dataDirectory + "-acks.txt"
        #expect(FileManager.default.createFile(atPath: ackPath, contents: nil))
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: ackPath))
        child.standardOutput = output
        try child.run()
        try await Task.sleep(for: .milliseconds(afterMs))
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        #expect(child.terminationReason == .uncaughtSignal)
        try output.close()
        let text = try String(contentsOfFile: ackPath, encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 3, parts[0] == "ack", let position = UInt64(parts[1]), let id = UUID(uuidString: String(parts[2])) else {
                return nil
            }
            return (position, id)
        }
    }
}
