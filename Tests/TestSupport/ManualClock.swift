import EventStore
import Synchronization

/// A clock that moves only when told to (or by a fixed step per reading).
public final class ManualClock: LogClock, Sendable {
    private let nanoseconds: Mutex<Int64>
    public let stepNanoseconds: Int64

    public init(start: Int64 = 1_790_000_000_000_000_000, stepNanoseconds: Int64 = 0) {
        nanoseconds = Mutex(start)
        self.stepNanoseconds = stepNanoseconds
    }

    /// A clock that starts at the system's time now, and then moves only when told to.
    public static func startingNow() -> ManualClock { ManualClock(start: SystemClock().now().nanosecondsSinceEpoch) }

    public func now() -> Timestamp {
        nanoseconds.withLock { value in
            defer { value += stepNanoseconds }
            return Timestamp(nanosecondsSinceEpoch: value)
        }
    }

    public func set(_ value: Int64) { nanoseconds.withLock { $0 = value } }

    public func advance(seconds: Int64) { nanoseconds.withLock { $0 += seconds * 1_000_000_000 } }
}
