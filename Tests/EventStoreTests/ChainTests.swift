import Foundation
import Testing

@testable import EventStore

/// Streams, actors and types are chains with anchors every 64 events; these
/// reads cross many block boundaries and must match a brute-force scan.
@Suite struct ChainTests {
    static let eventCount = 700

    func interleavedLog() async throws -> (EventLog, [RecordedEvent]) {
        let log = try openLog()
        var random = SplitMix64(seed: 7)
        var remaining = Self.eventCount
        while remaining > 0 {
            let count = min(remaining, Int(random.next() % 5) + 1)
            let name = "stream-\(random.next() % 3)"
            let events = (0..<count).map { _ in
                event("Type\(random.next() % 3)", payload: "\(remaining)", actor: "user:\(random.next() % 2):customer")
            }
            _ = try await log.append(to: stream(name), expected: .any, events: events)
            remaining -= count
        }
        return (log, try log.read(from: 1))
    }

    @Test func streamReadsMatchABruteForceScan() async throws {
        let (log, all) = try await interleavedLog()
        var random = SplitMix64(seed: 99)
        for name in ["stream-0", "stream-1", "stream-2"] {
            let expected = all.filter { $0.stream.rawValue == name }
            #expect(try log.readStream(stream(name)) == expected)
            #expect(try log.readStream(stream(name), backward: true) == expected.reversed())
            #expect(try log.streamVersion(stream(name)) == UInt64(expected.count))
            for _ in 0..<40 {
                let from = random.next() % UInt64(expected.count + 2) + 1
                let limit = Int(random.next() % 150) + 1
                let forward = Array(expected.dropFirst(Int(from) - 1).prefix(limit))
                #expect(try log.readStream(stream(name), from: from, limit: limit) == forward, "\(name) from \(from) limit \(limit)")
                let backward = Array(expected.prefix(Int(min(from, UInt64(expected.count)))).reversed().prefix(limit))
                #expect(
                    try log.readStream(stream(name), from: from, backward: true, limit: limit) == backward,
                    "\(name) backward from \(from) limit \(limit)")
            }
        }
    }

    @Test func actorAndTypeReadsMatchABruteForceScan() async throws {
        let (log, all) = try await interleavedLog()
        var random = SplitMix64(seed: 5)
        for _ in 0..<60 {
            let from = random.next() % UInt64(Self.eventCount + 2) + 1
            let limit = Int(random.next() % 200) + 1
            let actor = "user:\(random.next() % 2):customer"
            let type = "Type\(random.next() % 3)"
            #expect(
                try log.events(byActor: actor, from: from, limit: limit)
                    == Array(all.filter { $0.metadata.actor == actor && $0.position >= from }.prefix(limit)), "\(actor) from \(from)")
            #expect(
                try log.events(ofType: type, from: from, limit: limit)
                    == Array(all.filter { $0.type == type && $0.position >= from }.prefix(limit)), "\(type) from \(from)")
        }
    }

    @Test func everyRecordPointsBackToItsPredecessors() async throws {
        let (log, all) = try await interleavedLog()
        var last: [String: UInt64] = [:]
        for event in all {
            #expect(event.links.stream == last["s" + event.stream.rawValue] ?? 0)
            #expect(event.links.actor == last["a" + event.metadata.actor] ?? 0)
            #expect(event.links.type == last["t" + event.type] ?? 0)
            last["s" + event.stream.rawValue] = event.position
            last["a" + event.metadata.actor] = event.position
            last["t" + event.type] = event.position
        }
        #expect(try log.verify().isHealthy)
    }
}
