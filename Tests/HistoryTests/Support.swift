import Commerce
import Fixtures
import Foundation
@_exported import TestSupport
import Testing
@testable import CommandEngine
@testable import EventStore
@testable import History


/// A data directory with the reference scenario played into it (log, keys, snapshots).
final class ReferenceShop: @unchecked Sendable {
    let directory: String
    let log: EventLog
    let vault: KeyVault
    let snapshots: SnapshotStore
    let engine: Engine
    let outcome: ReferenceScenario.Outcome
    /// Per command: the head after it, and whether a replay to that position, made right then, equalled the engine's state of every stream.
    let checks: [(position: UInt64, streams: Int, mismatches: [String])]

    init(snapshotInterval: UInt64 = 2) async throws {
        directory = temporaryDirectory("reference")
        let clock = SeedClock()
        var options = EventLog.Options()
        options.clock = clock
        options.initialMapSizeBytes = 16 << 20
        log = try EventLog(directory: directory + "/log", options: options)
        vault = try KeyVault(directory: directory + "/keys", randomBytes: ReferenceScenario.keyBytes())
        snapshots = try SnapshotStore(directory: directory + "/snapshots", interval: snapshotInterval)
        let engine = try Engine(log: log, vault: vault, snapshots: snapshots, configuration: ReferenceScenario.configuration(clock: clock))
        self.engine = engine
        var known: Set<String> = []
        var checks: [(UInt64, Int, [String])] = []
        let replayer = Replayer(log: log, cipher: vault, snapshots: snapshots)
        outcome = try await ReferenceScenario.run(engine: engine, clock: clock) { step in
            // Recorded during the run, while every key still exists: the replay
            // to this position against the engine's own state of every stream.
            known.formUnion(step.streams)
            let replayed = try replayer.shop(through: step.position)
            var mismatches: [String] = []
            var compared = 0
            for name in known.sorted() {
                guard let stream = StreamId(name: name) else { continue }  // email claims are named by pseudonym
                compared += 1
                if replayed.streams[name]?.state != (try engine.aggregate(stream)) { mismatches.append(name) }
            }
            checks.append((step.position, compared, mismatches))
        }
        self.checks = checks
    }

    func close() {
        log.close()
        vault.close()
        snapshots.close()
    }
}

/// Reads every byte of the files under a directory.
func allBytes(under directory: String) throws -> [UInt8] {
    var bytes: [UInt8] = []
    for name in try FileManager.default.subpathsOfDirectory(atPath: directory) {
        let path = directory + "/" + name
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
        bytes += Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }
    return bytes
}

extension Array where Element == UInt8 {
    func contains(bytesOf text: String) -> Bool {
        let needle = Array(text.utf8)
        guard needle.count <= count else { return false }
        return withUnsafeBufferPointer { haystack in
            var index = 0
            while index + needle.count <= haystack.count {
                if haystack[index] == needle[0], Array(haystack[index..<(index + needle.count)]) == needle { return true }
                index += 1
            }
            return false
        }
    }
}
