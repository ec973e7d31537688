import Assembly
import CommandEngine

extension Shop.Options {
    /// A shop that plays the same events for the same seed: a seed clock, and
    /// ids, salts and keys from the seed. Command side only (no snapshots, no
    /// read models) unless the caller turns them on.
    public static func seeded(_ seed: UInt64, clock: SeedClock, tokenSecret: [UInt8], sandboxSecret: [UInt8]) -> Shop.Options {
        var options = Shop.Options(engine: .seeded(seed, clock: clock, tokenSecret: tokenSecret, sandboxSecret: sandboxSecret))
        options.snapshots = false
        options.projections = nil
        let keyBytes = SeededBytes(seed: seed &+ 1)
        options.keyRandomBytes = { keyBytes.next($0) }
        return options
    }

    /// The reference scenario's shop (`ReferenceScenario.run` plays into it).
    public static func reference(clock: SeedClock) -> Shop.Options {
        seeded(
            ReferenceScenario.seed, clock: clock, tokenSecret: ReferenceScenario.tokenSecret, sandboxSecret: ReferenceScenario.sandboxSecret
        )
    }
}
