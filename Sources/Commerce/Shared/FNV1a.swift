/// 64-bit FNV-1a (Fowler, Noll, Vo): a small, stable hash of bytes, the same in every process and release (Swift's own
/// `Hasher` is seeded per process). For partitions, fingerprints, digests and seeds — never for security.
public enum FNV1a {
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    public static let prime: UInt64 = 0x0000_0100_0000_01b3

    public static func hash<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt64 {
        var hash = offsetBasis
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* prime }
        return hash
    }
}
