import EventStore
import Foundation
import TestSupport
import Testing

@testable import ReadModels

@Suite struct ProjectionCrashTests {
    /// A child process folds the read models in one-event batches and is killed
    /// at a random moment; each stored model must then be exactly the fold
    /// of the log up to its stored checkpoint, and folding on must finish the job.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func aKillBetweenBatchesLeavesModelAndCheckpointConsistent(seed: UInt64) async throws {
        let shop = try await ProjectedShop.shared.value
        let data = temporaryDirectory("crash-\(seed)")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: data + "/log", withDestinationPath: shop.directory + "/log")
        let child = ChildProcess()
        child.executableURL = try emporiumExecutable()
        child.arguments = ["projections", "rebuild", "all", "--data-dir", data, "--batch-events", "1"]
        child.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        child.standardError = errors
        try child.run()
        var random = SplitMix64(seed: seed)
        // Killed from a thread of its own: the test pool's threads may all be busy with other suites, but wall time is what counts.
        let pid = child.processIdentifier
        let delay = useconds_t(60_000 + random.next() % 300_000)
        Thread.detachNewThread {
            usleep(delay)
            kill(pid, SIGKILL)
        }
        try await offThePool { child.waitUntilExit() }
        #expect(
            child.terminationReason == .uncaughtSignal,
            "the child finished before it was killed: \(String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))"
        )

        // Checked off the pool, reported here: an expectation recorded on a detached thread has no test to belong to.
        let log = shop.log
        let directory = data + "/projections"
        let (checkpoints, problems) = try await offThePool { () -> ([String: UInt64], [String]) in
            let projector = try Projector(directory: directory, log: log)
            defer { projector.close() }
            var checkpoints: [String: UInt64] = [:]
            var problems: [String] = []
            for name in projector.names {
                checkpoints[name] = projector.checkpoint(name)
                let differences = try projector.differencesFromRebuild(name)
                if !differences.isEmpty { problems.append("\(name) at \(projector.checkpoint(name)): \(differences)") }
            }
            try projector.catchUp()
            for name in projector.names {
                if projector.checkpoint(name) != log.headPosition {
                    problems.append("\(name) caught up to \(projector.checkpoint(name)), not \(log.headPosition)")
                }
                let differences = try projector.differencesFromRebuild(name)
                if !differences.isEmpty { problems.append("\(name) after catching up: \(differences)") }
            }
            return (checkpoints, problems)
        }
        #expect(problems.isEmpty, "seed \(seed): \(problems)")
        print("crash seed \(seed): checkpoints when killed \(checkpoints.sorted { $0.key < $1.key })")
    }
}
