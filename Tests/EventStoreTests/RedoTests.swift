import Foundation
import Testing

@testable import EventStore

/// The one-flush commit's recovery, checked on the states a power loss can leave: the files are put together from
/// copies taken after each acknowledged commit (a power loss keeps what was flushed, and what was written but not yet
/// flushed may or may not be there), then the log is opened on them.
@Suite struct RedoTests {
    /// A log directory's files as they stood after one commit, and what had been acknowledged by then.
    struct Snapshot {
        var data: [UInt8]
        var slots: [[UInt8]?]
        var head: LogHead
        var acknowledged: [(position: UInt64, eventId: UUID)]
    }

    static let commits = 7
    static let pageBytes = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// Appends `commits` commits of one to three events, copying the files after each.
    static func history(seed: UInt64 = 5) async throws -> [Snapshot] {
        let directory = temporaryDirectory("redo-history")
        let log = try openLog(directory)
        defer { log.close() }
        var random = SplitMix64(seed: seed)
        var acknowledged: [(UInt64, UUID)] = []
        var snapshots = [try snapshot(directory, head: try log.head(), acknowledged: [])]
        for commit in 1...commits {
            let events = (0..<(1 + random.next() % 3)).map { _ in event(payload: #"{"commit":\#(commit)}"#) }
            let result = try await log.append(to: stream("redo-\(random.next() % 3)"), expected: .any, events: events)
            acknowledged += zip(result.positions, events.map(\.eventId)).map { ($0, $1) }
            snapshots.append(try snapshot(directory, head: try log.head(), acknowledged: acknowledged))
        }
        return snapshots
    }

    static func snapshot(_ directory: String, head: LogHead, acknowledged: [(UInt64, UUID)]) throws -> Snapshot {
        func bytes(_ name: String) -> [UInt8]? { FileManager.default.contents(atPath: directory + "/" + name).map { [UInt8]($0) } }
        guard let data = bytes("data.mdb") else { throw CocoaError(.fileNoSuchFile) }
        return Snapshot(data: data, slots: RedoLog.slotFileNames.map(bytes), head: head, acknowledged: acknowledged)
    }

    /// Writes a log directory: `data` (with the meta pages of `metas` when given: the newest meta page never reached
    /// the disk) and the slot files.
    static func assemble(data: [UInt8], metas: [UInt8]? = nil, slots: [[UInt8]?]) throws -> String {
        let directory = temporaryDirectory("redo-state")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var data = data
        if let metas { data.replaceSubrange(0..<2 * pageBytes, with: metas[0..<2 * pageBytes]) }
        #expect(FileManager.default.createFile(atPath: directory + "/data.mdb", contents: Data(data)))
        for (name, slot) in zip(RedoLog.slotFileNames, slots) {
            if let slot { #expect(FileManager.default.createFile(atPath: directory + "/" + name, contents: Data(slot))) }
        }
        return directory
    }

    /// The slot file commit `k` wrote (its entry's first position is the position after the head before it).
    static func slot(of k: Int, in snapshots: [Snapshot]) -> Int {
        let first = snapshots[k - 1].head.position + 1
        for index in RedoLog.slotFileNames.indices {
            if let bytes = snapshots[k].slots[index], RedoLog.parse(bytes, slot: index)?.firstPosition == first { return index }
        }
        preconditionFailure("commit \(k) wrote no redo entry")
    }

    /// Opens the assembled log and checks it holds exactly `expected`'s commits, the same records, a verifying chain,
    /// and takes the next append.
    static func expectRecovered(_ directory: String, to expected: Snapshot, _ state: String) async throws {
        let log = try openLog(directory)
        defer { log.close() }
        let head = try log.head()
        #expect(head == expected.head, "\(state): head \(head.position), expected \(expected.head.position)")
        let report = try log.verify()
        #expect(report.isHealthy, "\(state): \(report.problems)")
        for (position, id) in expected.acknowledged {
            #expect(try log.event(at: position)?.eventId == id, "\(state): acknowledged event at \(position) is missing")
        }
        let next = try await log.append(to: stream("after"), expected: .any, events: [event()])
        #expect(next.positions == [expected.head.position + 1], "\(state)")
    }

    @Test func eachCommitsRecordsAreInTheRedoFileAndTheTwoSlotsHoldTheNewestTwo() async throws {
        let snapshots = try await Self.history()
        for k in 2...Self.commits {
            let entries = RedoLog.slotFileNames.indices.compactMap { index in
                snapshots[k].slots[index].flatMap { RedoLog.parse($0, slot: index) }
            }
            #expect(
                Set(entries.map(\.firstPosition)) == [snapshots[k - 2].head.position + 1, snapshots[k - 1].head.position + 1],
                "after commit \(k)")
            #expect(entries.map(\.lastPosition).max() == snapshots[k].head.position)
        }
    }

    /// Commit k is acknowledged and commit k+1 is being made: k+1's data pages may be on the disk, k's meta page may be
    /// missing (k−1's was flushed with k's data pages), and k+1's redo entry may be whole, torn, or not yet written (its
    /// slot still holding k−1's entry). Every acknowledged commit is there after the open, and k+1 only when its entry is
    /// whole.
    @Test func aPowerLossKeepsExactlyTheAcknowledgedCommits() async throws {
        let snapshots = try await Self.history()
        for k in 2..<Self.commits {
            let inFlight = Self.slot(of: k + 1, in: snapshots)
            var torn = snapshots[k + 1].slots[inFlight] ?? []
            #expect(RedoLog.parse(torn, slot: inFlight) != nil)
            let bodyBytes = torn[20..<28].reduce(0) { $0 << 8 | Int($1) }  // the header's body bytes (see RedoLog)
            torn[RedoLog.headerBytes + bodyBytes / 2] ^= 0xFF  // half of the entry reached the disk
            #expect(RedoLog.parse(torn, slot: inFlight) == nil)
            let redoVariants: [(String, [UInt8]?, Snapshot)] = [
                ("whole", snapshots[k + 1].slots[inFlight], snapshots[k + 1]),
                ("torn", torn, snapshots[k]),
                ("not yet written", snapshots[k].slots[inFlight], snapshots[k]),
            ]
            let lmdbVariants: [(String, [UInt8]?)] = [
                ("LMDB at k, k+1's pages written", snapshots[k].data),
                ("LMDB at k−1 (k's meta lost), k+1's pages written", snapshots[k - 1].data),
            ]
            for (lmdb, metas) in lmdbVariants {
                for (redo, slotBytes, expected) in redoVariants {
                    var slots = snapshots[k].slots
                    slots[inFlight] = slotBytes
                    let directory = try Self.assemble(data: snapshots[k + 1].data, metas: metas, slots: slots)
                    try await Self.expectRecovered(directory, to: expected, "commit \(k): \(lmdb), redo \(redo)")
                }
            }
            // Commit k acknowledged and nothing after it: its meta page lost, its entry whole.
            let directory = try Self.assemble(data: snapshots[k].data, metas: snapshots[k - 1].data, slots: snapshots[k].slots)
            try await Self.expectRecovered(directory, to: snapshots[k], "commit \(k): its meta lost")
        }
    }

    @Test func withoutRedoFilesTheLogOpensAtLMDBsHead() async throws {
        let snapshots = try await Self.history()
        let directory = try Self.assemble(data: snapshots[4].data, slots: [nil, nil])
        try await Self.expectRecovered(directory, to: snapshots[4], "no redo files")
    }

    @Test func aRedoEntryThatDoesNotContinueTheLogIsAClearErrorAndVerifyNamesIt() async throws {
        let ours = try await Self.history(seed: 5)
        let theirs = try await Self.history(seed: 9)  // another shop's history: same positions, other records
        let k = 4
        var slots = ours[k].slots
        let newest = Self.slot(of: Self.commits, in: theirs)
        slots[Self.slot(of: k, in: ours)] = theirs[Self.commits].slots[newest]
        #expect(
            (theirs[Self.commits].slots[newest].flatMap { RedoLog.parse($0, slot: newest) }?.lastPosition ?? 0) > ours[k - 1].head.position)
        // LMDB lost commit k's meta: the entry reaching past its head is another log's.
        let foreign = try Self.assemble(data: ours[k].data, metas: ours[k - 1].data, slots: slots)
        #expect(throws: EventLogError.self) { try openLog(foreign) }
        do {
            _ = try openLog(foreign)
        } catch let error as EventLogError {
            #expect(error.code == "redo_unusable", "\(error)")
        }
        var options = EventLog.Options()
        options.readOnly = true
        let readOnly = try EventLog(directory: foreign, options: options)
        defer { readOnly.close() }
        let report = try readOnly.verify()
        #expect(report.problems.map(\.kind).contains(.redoMismatch), "\(report.problems)")

        // A gap: LMDB two commits behind, the redo holding only the newest.
        var gapSlots = ours[k].slots
        gapSlots[1 - Self.slot(of: k, in: ours)] = nil
        let gap = try Self.assemble(data: ours[k - 2].data, slots: gapSlots)
        do {
            _ = try openLog(gap)
            Issue.record("a redo entry past a gap was applied")
        } catch let error as EventLogError {
            #expect(error.code == "redo_unusable", "\(error)")
        }
    }

    @Test func verifyComparesTheRedoEntriesWithTheLog() async throws {
        let snapshots = try await Self.history()
        let log = try openLog(try Self.assemble(data: snapshots[5].data, slots: snapshots[5].slots))
        defer { log.close() }
        let report = try log.verify()
        #expect(report.isHealthy && report.redoRecordsAhead == 0, "\(report.problems)")

        // A read-only open of a log whose newest meta page was lost: verify counts what the next writable open re-applies.
        var options = EventLog.Options()
        options.readOnly = true
        let behind = try EventLog(
            directory: try Self.assemble(data: snapshots[5].data, metas: snapshots[4].data, slots: snapshots[5].slots), options: options)
        defer { behind.close() }
        let pending = try behind.verify()
        #expect(pending.isHealthy, "\(pending.problems)")
        #expect(pending.redoRecordsAhead == Int(snapshots[5].head.position - snapshots[4].head.position))
    }

    /// Two writers taking turns in the same slots could overwrite each other's newest entry: the second is refused, and
    /// the log opens again the moment the first is closed.
    @Test func aSecondWriterOfTheSameLogIsRefusedUntilTheFirstCloses() async throws {
        let directory = temporaryDirectory("redo-lock")
        let first = try openLog(directory)
        _ = try await first.append(to: stream("locked"), expected: .noStream, events: [event()])
        #expect(throws: EventLogError.self) { try openLog(directory).close() }
        first.close()
        let again = try openLog(directory)
        defer { again.close() }
        #expect(try again.head().position == 1)
    }

    @Test func twoFlushCommitsWriteNoRedoFile() async throws {
        let directory = temporaryDirectory("two-flushes")
        var options = EventLog.Options()
        options.durableCommit = .twoFlushes
        let log = try EventLog(directory: directory, options: options)
        defer { log.close() }
        _ = try await log.append(to: stream("plain"), expected: .noStream, events: [event()])
        #expect(try RedoLog.entries(in: directory).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: directory + "/" + RedoLog.slotFileNames[0]))
    }
}

extension RedoTests {
    /// A commit that fills the map is built again after the map grows (new times, new hashes): the redo file must hold
    /// the commit LMDB made, not the abandoned one, so the log reopens.
    @Test func aLogWhoseMapGrewReopensFromItsRedoFile() async throws {
        let directory = temporaryDirectory("redo-grow")
        let log = try openLog(directory, initialMapSizeBytes: 1 << 20)
        for round in 0..<60 {
            let events = (0..<20).map { _ in event(payload: #"{"round":\#(round),"pad":"\#(String(repeating: "x", count: 900))"}"#) }
            _ = try await log.append(to: stream("grow-\(round % 7)"), expected: .any, events: events)
        }
        let head = try log.head()
        log.close()
        let reopened = try openLog(directory)
        defer { reopened.close() }
        #expect(try reopened.head() == head)
    }
}
