import Foundation
import Synchronization
import TestSupport
import Testing

@testable import LMDB

func freshDirectory(_ label: String = #function) throws -> String {
    let path = TestSupport.temporaryDirectory("lmdb-\(label.filter(\.isLetter))")
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func bigEndian(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }

@Suite struct EnvironmentTests {
    @Test func putGetDeleteRoundTrip() throws {
        let env = try Environment(directory: try freshDirectory())
        let db = try env.openDatabase("kv")
        try env.write { txn in try txn.put(db, key: Array("a".utf8), value: [1, 2, 3]) }
        let read = try env.read { txn in try txn.get(db, key: Array("a".utf8)).map { Array($0) } }
        #expect(read == [1, 2, 3])
        let missing = try env.read { txn in try txn.get(db, key: Array("b".utf8)) }
        #expect(missing == nil)
        let deleted = try env.write { txn in try txn.delete(db, key: Array("a".utf8)) }
        #expect(deleted)
        #expect(try env.read { try $0.count(db) } == 0)
    }

    @Test func aReservedValueHoldsWhatWasWrittenInPlace() throws {
        let env = try Environment(directory: try freshDirectory())
        let db = try env.openDatabase("records")
        let sizes = [1, 300, 5000]  // the last spills onto overflow pages
        try env.write { txn in
            for (index, size) in sizes.enumerated() {
                let returned = try bigEndian(UInt64(index + 1)).withUnsafeBytes { key in
                    try txn.put(db, key: key, reserving: size, flags: .append) { space -> Int in
                        #expect(space.count == size)
                        for offset in 0..<size { space[offset] = UInt8(truncatingIfNeeded: offset &* 7 &+ index) }
                        return space.count
                    }
                }
                #expect(returned == size)
            }
            // An out-of-order key under `.append` is refused, as for a copied value.
            #expect(throws: LMDBError.self) {
                try bigEndian(1).withUnsafeBytes { key in try txn.put(db, key: key, reserving: 8, flags: .append) { _ in } }
            }
        }
        try env.read { txn in
            for (index, size) in sizes.enumerated() {
                let stored = try txn.get(db, key: bigEndian(UInt64(index + 1))).map { Array($0) }
                #expect(stored == (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ index) })
            }
        }
    }

    @Test func cursorSeeksInNumericOrder() throws {
        let env = try Environment(directory: try freshDirectory())
        let db = try env.openDatabase("numbers")
        try env.write { txn in
            for value in stride(from: UInt64(10), through: 1000, by: 10) { try txn.put(db, key: bigEndian(value), value: []) }
        }
        try env.read { txn in
            try txn.withCursor(db) { cursor in
                let atLeast = try cursor.seek(atLeast: bigEndian(255))
                #expect(atLeast.map { Array($0.key) } == bigEndian(260))
                let atMost = try cursor.seek(atMost: bigEndian(255))
                #expect(atMost.map { Array($0.key) } == bigEndian(250))
                let exact = try cursor.seek(atMost: bigEndian(300))
                #expect(exact.map { Array($0.key) } == bigEndian(300))
                let beyond = try cursor.seek(atMost: bigEndian(5000))
                #expect(beyond.map { Array($0.key) } == bigEndian(1000))
                #expect(try cursor.seek(atLeast: bigEndian(1001)) == nil)
            }
        }
    }

    @Test func everyReturnCodeBecomesATypedError() throws {
        let env = try Environment(directory: try freshDirectory())
        let db = try env.openDatabase("kv")
        try env.write { txn in try txn.put(db, key: [1], value: [1]) }
        #expect(throws: LMDBError.self) {
            try env.write { txn in try txn.put(db, key: [1], value: [2], flags: .noOverwrite) }
        }
        do {
            try env.write { txn in try txn.put(db, key: [UInt8](repeating: 7, count: 4096), value: [1]) }
            Issue.record("an oversized key was accepted")
        } catch let error as LMDBError {
            #expect(error.kind == .badValueSize)
        }
        do {
            try env.write { txn in try txn.put(db, key: [1], value: [3], flags: .noOverwrite) }
        } catch let error as LMDBError {
            #expect(error.kind == .keyExists)
            #expect(error.description.contains("mdb_put"))
        }
        #expect(LMDBError(code: -30792, operation: "x").kind == .mapFull)
        #expect(LMDBError(code: -30796, operation: "x").kind == .corrupted)
        #expect(LMDBError(code: 28, operation: "x").kind == .system(errno: 28))
    }

    @Test func aFullMapGrowsInsteadOfFailing() throws {
        var options = EnvironmentOptions()
        options.initialMapSizeBytes = 1 << 20
        let env = try Environment(directory: try freshDirectory(), options: options)
        let db = try env.openDatabase("blobs")
        let blob = [UInt8](repeating: 0xAB, count: 64 << 10)
        for round in UInt64(0)..<8 {
            try env.write { txn in
                for index in UInt64(0)..<16 { try txn.put(db, key: bigEndian(round * 100 + index), value: blob) }
            }
        }
        #expect(env.currentMapSizeBytes > 1 << 20)
        #expect(try env.read { try $0.count(db) } == 128)
        let sample = try env.read { txn in try txn.get(db, key: bigEndian(703)).map { Array($0) } }
        #expect(sample == blob)
    }

    @Test func aMapThatCannotGrowFailsCleanlyAndKeepsOldData() throws {
        var options = EnvironmentOptions()
        options.initialMapSizeBytes = 1 << 20
        options.maxMapSizeBytes = 2 << 20
        let env = try Environment(directory: try freshDirectory(), options: options)
        let db = try env.openDatabase("blobs")
        try env.write { txn in try txn.put(db, key: [0], value: [1]) }
        let blob = [UInt8](repeating: 1, count: 4 << 20)
        do {
            try env.write { txn in try txn.put(db, key: [1], value: blob) }
            Issue.record("a value larger than the largest map was accepted")
        } catch let error as LMDBError {
            #expect(error.kind == .mapFull)
        }
        #expect(try env.read { try $0.count(db) } == 1)
    }

    @Test func aClosedEnvironmentRefusesEveryUseWithATypedError() throws {
        let directory = try freshDirectory()
        let env = try Environment(directory: directory)
        let db = try env.openDatabase("kv")
        try env.write { txn in try txn.put(db, key: [1], value: [2]) }
        env.close()
        env.close()  // a second close is harmless
        func expectClosed(_ label: String, _ body: () throws -> Void) {
            do {
                try body()
                Issue.record("\(label) ran on a closed environment")
            } catch let error as LMDBError {
                #expect(error.kind == .closed, "\(label): \(error)")
            } catch {
                Issue.record("\(label): \(error)")
            }
        }
        expectClosed("read") { _ = try env.read { try $0.count(db) } }
        expectClosed("write") { try env.write { txn in try txn.put(db, key: [3], value: [4]) } }
        expectClosed("openDatabase") { _ = try env.openDatabase("other") }
        expectClosed("sync") { try env.sync() }
        expectClosed("growMap") { try env.growMap() }
        #expect(env.usedBytes() == 0)
        // What was committed before the close is all there is.
        let reopened = try Environment(directory: directory)
        let again = try reopened.openDatabase("kv")
        #expect(try reopened.read { try $0.count(again) } == 1)
    }

    @Test func closeWaitsForATransactionStillOpen() throws {
        let env = try Environment(directory: try freshDirectory())
        let db = try env.openDatabase("kv")
        try env.write { txn in try txn.put(db, key: [1], value: [2]) }
        let reading = DispatchSemaphore(value: 0)
        let readEnded = Mutex<Bool>(false)
        let readValue = Mutex<[UInt8]?>(nil)
        let thread = Thread {
            _ = try? env.read { txn in
                reading.signal()
                Thread.sleep(forTimeInterval: 0.2)  // close() is called meanwhile
                readValue.withLock { $0 = try? txn.get(db, key: [1]).map { Array($0) } }
                readEnded.withLock { $0 = true }
            }
        }
        thread.start()
        reading.wait()
        env.close()
        #expect(readEnded.withLock { $0 }, "close returned while a read transaction was open")
        #expect(readValue.withLock { $0 } == [2])
    }
}

@Suite struct DamagedFileTests {
    func makeEnvironmentWithData() throws -> String {
        let path = try freshDirectory()
        let env = try Environment(directory: path)
        let db = try env.openDatabase("kv")
        try env.write { txn in
            for value in UInt64(0)..<2000 { try txn.put(db, key: bigEndian(value), value: [UInt8](repeating: 9, count: 200)) }
        }
        env.close()
        return path
    }

    func expectDamaged(_ path: String) {
        do {
            _ = try Environment(directory: path)
            Issue.record("a damaged file opened")
        } catch {
            #expect(error.isDamage, "\(error)")
        }
    }

    @Test func aTruncatedFileIsRefusedOnOpen() throws {
        let path = try makeEnvironmentWithData()
        let file = path + "/data.mdb"
        let size = try #require(FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        #expect(truncate(file, off_t(size / 2)) == 0)
        expectDamaged(path)
    }

    @Test func anEmptyDataFileIsRefused() throws {
        let path = try makeEnvironmentWithData()
        #expect(truncate(path + "/data.mdb", 0) == 0)
        expectDamaged(path)
    }

    @Test func garbageIsRefused() throws {
        let path = try freshDirectory()
        try Data((0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: URL(fileURLWithPath: path + "/data.mdb"))
        expectDamaged(path)
    }

    @Test func zeroedMetaPagesAreRefused() throws {
        let path = try makeEnvironmentWithData()
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path + "/data.mdb"))
        try handle.write(contentsOf: Data(count: 8192))
        try handle.close()
        expectDamaged(path)
    }
}
