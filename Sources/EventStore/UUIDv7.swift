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
        // Built in place: an array here cost a heap allocation (and a look-up of its type's metadata) per event id.
        func byte(_ value: UInt64, _ shift: UInt64) -> UInt8 { UInt8(truncatingIfNeeded: value >> shift) }
        let m = milliseconds
        return UUID(
            uuid: (
                byte(m, 40), byte(m, 32), byte(m, 24), byte(m, 16), byte(m, 8), byte(m, 0),
                0x70 | UInt8(truncatingIfNeeded: counter >> 8 & 0x0F), UInt8(truncatingIfNeeded: counter),
                0x80 | UInt8(truncatingIfNeeded: random >> 56 & 0x3F), byte(random, 48), byte(random, 40), byte(random, 32),
                byte(random, 24), byte(random, 16), byte(random, 8), byte(random, 0)
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
