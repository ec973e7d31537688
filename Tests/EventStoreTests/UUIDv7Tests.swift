import Foundation
import Testing

@testable import EventStore

@Suite struct UUIDv7Tests {
    /// RFC 9562's layout: 48 bits of milliseconds, the version (7), 12 bits of counter, the variant (10), 62 random bits.
    @Test func theMillisecondsCounterAndRandomBitsSitWhereRFC9562PutsThem() {
        let id = UUIDv7Generator.make(milliseconds: 0x0123_4567_89AB, counter: 0x0CDE, random: 0xFFEE_DDCC_BBAA_9988)
        #expect(id.uuidString == "01234567-89AB-7CDE-BFEE-DDCCBBAA9988")
        let low = UUIDv7Generator.make(milliseconds: 1, counter: 0, random: 0)
        #expect(low.uuidString == "00000000-0001-7000-8000-000000000000")
    }

    /// Ids from one generator sort in the order they were made, within a millisecond too.
    @Test func idsSortInTheOrderTheyWereMade() {
        let generator = UUIDv7Generator()
        let ids = (0..<2_000).map { _ in generator.next() }
        #expect(ids.map(\.uuidString) == ids.map(\.uuidString).sorted())
        #expect(Set(ids).count == ids.count)
    }
}
