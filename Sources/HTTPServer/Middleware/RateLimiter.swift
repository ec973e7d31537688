import Foundation
import Synchronization

/// Token buckets per caller: `ratePerSecond` sustained, `burst` at once.
/// Refusals are 429 `rate_limited` and never reach the engine. Bounded: at
/// most `bucketsMax` callers are tracked; when full, idle buckets are dropped, and all when none are idle.
final class RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    static let bucketsMax = 100_000
    let ratePerSecond: Double
    let burst: Double
    private let buckets = Mutex<[String: Bucket]>([:])

    init(ratePerSecond: Double, burst: Double) {
        self.ratePerSecond = ratePerSecond
        self.burst = burst
    }

    var trackedCallers: Int { buckets.withLock { $0.count } }

    /// Takes one token for `caller`; false when the caller must wait.
    func allow(_ caller: String, now: ContinuousClock.Instant = .now) -> Bool {
        buckets.withLock { buckets in
            if buckets.count >= Self.bucketsMax {
                buckets = buckets.filter { $0.value.tokens < burst - 1 }  // drop the idle (full) ones first
                if buckets.count >= Self.bucketsMax { buckets.removeAll(keepingCapacity: true) }  // the bound holds regardless
            }
            var bucket = buckets[caller] ?? Bucket(tokens: burst, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(burst, bucket.tokens + seconds * ratePerSecond)
            bucket.updated = now
            guard bucket.tokens >= 1 else {
                buckets[caller] = bucket
                return false
            }
            bucket.tokens -= 1
            buckets[caller] = bucket
            return true
        }
    }
}
