import Foundation
import Synchronization

/// Time-ordered UUIDs (RFC 9562 version 7): 48 bits of Unix milliseconds, then
/// a counter, then random bits. Ids made later sort later, so index keys built
/// from them are appended near the end of the B-tree instead of at random pages.
public final class UUIDv7Generator: Sendable {
    private struct State {
        var lastMilliseconds: UInt64 = 0
        var counter: UInt16 = 0
        /// Seeded once from the system; a syscall per id would cost more than the id.
        var random = Xoshiro256(seed: SystemRandomNumberGenerator())
    }

    /// 12 bits of counter; the random start leaves room for at least 2,048 ids per millisecond.
    static let counterMax: UInt16 = 0x0FFF
    static let counterStartMax: UInt16 = 0x07FF

    private let state = Mutex(State())
    private let clock: any LogClock

    public init(clock: any LogClock = SystemClock()) { self.clock = clock }

    public static let shared = UUIDv7Generator()

    /// A new id, strictly greater (in byte order) than every id this generator made before.
    public func next() -> UUID {
        state.withLock { state in
            let now = UInt64(max(0, clock.now().nanosecondsSinceEpoch / 1_000_000))
            if now > state.lastMilliseconds {
                state.lastMilliseconds = now
                state.counter = UInt16.random(in: 0...Self.counterStartMax, using: &state.random)
            } else if state.counter < Self.counterMax {
                state.counter += 1
            } else {
                state.lastMilliseconds += 1  // borrow the next millisecond rather than repeat
                state.counter = 0
            }
            return Self.make(milliseconds: state.lastMilliseconds, counter: state.counter, random: state.random.next())
        }
    }

    /// Builds a version-7 UUID from its parts (deterministic: tests and seeded runs use this directly).
    public static func make(milliseconds: UInt64, counter: UInt16, random: UInt64) -> UUID {
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: milliseconds >> (40 - 8 * UInt64(index))) }
        bytes[6] = 0x70 | UInt8(truncatingIfNeeded: counter >> 8 & 0x0F)
        bytes[7] = UInt8(truncatingIfNeeded: counter)
        bytes[8] = 0x80 | UInt8(truncatingIfNeeded: random >> 56 & 0x3F)
        for index in 9..<16 { bytes[index] = UInt8(truncatingIfNeeded: random >> (8 * UInt64(15 - index))) }
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }
}

/// xoshiro256** (Blackman & Vigna): fast, well-distributed, not cryptographic.
/// UUIDv7's random bits only need to make collisions unlikely.
struct Xoshiro256: RandomNumberGenerator {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    init(seed: some RandomNumberGenerator) {
        var source = seed
        state = (source.next(), source.next(), source.next(), source.next())
        if state == (0, 0, 0, 0) { state.0 = 1 }
    }

    mutating func next() -> UInt64 {
        let result = rotate(state.1 &* 5, 7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = rotate(state.3, 45)
        return result
    }

    private func rotate(_ value: UInt64, _ count: UInt64) -> UInt64 { (value << count) | (value >> (64 - count)) }
}
