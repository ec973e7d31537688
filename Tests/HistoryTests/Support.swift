import Assembly
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
    let shop: Shop
    var directory: String { shop.directory.path }
    var log: EventLog { shop.log }
    var vault: KeyVault { shop.vault }
    let snapshots: SnapshotStore
    var engine: Engine { shop.engine }
    let outcome: ReferenceScenario.Outcome
    /// Per command: the head after it, and whether a replay to that position, made right then, equalled the engine's state of every stream.
    let checks: [(position: UInt64, streams: Int, mismatches: [String])]

    init(snapshotInterval: UInt64 = 2) async throws {
        let clock = SeedClock()
        var options = Shop.Options.reference(clock: clock)
        options.log.initialMapSizeBytes = 16 << 20
        options.snapshots = true
        options.snapshotInterval = snapshotInterval
        shop = try Shop(directory: ShopDirectory(temporaryDirectory("reference")), options: options)
        snapshots = try #require(shop.snapshots)
        let (log, vault, engine, snapshots) = (shop.log, shop.vault, shop.engine, snapshots)
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

    func close() { shop.close() }
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
