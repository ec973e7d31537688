import EventStore
import Foundation
import NIOCore
import PostgresNIO

/// What the nodes of a cluster share beside the log: the key vault (keys wrapped by the caller under the master key),
/// the node registry, and leases for work that must run on one node only.
extension PostgresLog {
    /// A per-user key as the shared vault holds it.
    public struct SharedKey: Sendable {
        /// Increases in commit order (inserts are serialized), so a node that has seen `sequence` N has seen every key before it.
        public var sequence: Int64
        public var owner: [UInt8]
        /// Nil once destroyed.
        public var wrapped: [UInt8]?
    }

    static let keysLock: Int64 = 0x656d_706b_6579_7300  // "empkeys"

    /// Adds keys not stored yet (a destroyed owner's key is never stored again). Inserts take one lock, so sequence
    /// numbers become visible in order: a reader resuming after N misses none.
    public func publishKeys(_ keys: [(owner: [UInt8], wrapped: [UInt8])]) async throws {
        guard !keys.isEmpty else { return }
        try await bounded { connection in
            try await connection.withTransaction(logger: self.options.logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.keysLock))", logger: self.options.logger)
                for key in keys {
                    try await connection.query(
                        """
                        INSERT INTO emporium_keys (owner, wrapped) VALUES (\(ByteBuffer(bytes: key.owner)), \(ByteBuffer(bytes: key.wrapped)))
                        ON CONFLICT (owner) DO NOTHING
                        """, logger: self.options.logger)
                }
            }
        }
    }

    /// Keys stored or destroyed after `sequence`, in order.
    public func keys(after sequence: Int64) async throws -> [SharedKey] {
        try await bounded { connection in
            let rows = try await connection.query(
                "SELECT sequence, owner, wrapped FROM emporium_keys WHERE sequence > \(sequence) ORDER BY sequence",
                logger: self.options.logger)
            var keys: [SharedKey] = []
            for try await (sequence, owner, wrapped) in rows.decode((Int64, ByteBuffer, ByteBuffer?).self) {
                keys.append(
                    SharedKey(
                        sequence: sequence, owner: Array(owner.readableBytesView), wrapped: wrapped.map { Array($0.readableBytesView) }))
            }
            return keys
        }
    }

    /// Destroys `owner`'s key for every node (crypto-shredding): the row keeps only the fact that it was destroyed.
    public func destroyKey(owner: [UInt8]) async throws {
        try await bounded { connection in
            try await connection.withTransaction(logger: self.options.logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(Self.keysLock))", logger: self.options.logger)
                try await connection.query(
                    """
                    INSERT INTO emporium_keys (owner, wrapped, destroyed) VALUES (\(ByteBuffer(bytes: owner)), NULL, true)
                    ON CONFLICT (owner) DO UPDATE SET wrapped = NULL, destroyed = true, sequence = nextval('emporium_keys_sequence_seq')
                    """, logger: self.options.logger)
            }
        }
    }

    /// The shop key named `name`: the stored one, or `proposed` when none was stored (the first node's wins).
    public func shopKey(_ name: String, proposing proposed: [UInt8]) async throws -> [UInt8] {
        try await bounded { connection in
            try await connection.query(
                "INSERT INTO emporium_shop_keys (name, wrapped) VALUES (\(name), \(ByteBuffer(bytes: proposed))) ON CONFLICT (name) DO NOTHING",
                logger: self.options.logger)
            let rows = try await connection.query(
                "SELECT wrapped FROM emporium_shop_keys WHERE name = \(name)", logger: self.options.logger)
            for try await wrapped in rows.decode(ByteBuffer.self) { return Array(wrapped.readableBytesView) }
            throw EventLogError.unavailable("the shop key \(name) vanished")
        }
    }

    // MARK: Nodes

    /// A node as the registry last heard of it.
    public struct NodeStatus: Sendable, Codable, Equatable {
        public var name: String
        public var address: String
        public var replicaHead: UInt64
        public var startedAt: Timestamp
        public var seenAt: Timestamp
    }

    /// Records that node `name` (serving on `address`) has copied through `replicaHead`.
    public func report(node name: String, address: String, replicaHead: UInt64, startedAt: Timestamp) async throws {
        let now = options.clock.now().nanosecondsSinceEpoch
        _ = try await bounded { connection in
            try await connection.query(
                """
                INSERT INTO emporium_nodes (name, address, replica_head, started_at, seen_at)
                VALUES (\(name), \(address), \(Int64(replicaHead)), \(startedAt.nanosecondsSinceEpoch), \(now))
                ON CONFLICT (name) DO UPDATE SET address = EXCLUDED.address, replica_head = EXCLUDED.replica_head,
                    started_at = EXCLUDED.started_at, seen_at = EXCLUDED.seen_at
                """, logger: self.options.logger)
        }
    }

    public func nodes() async throws -> [NodeStatus] {
        try await bounded { connection in
            let rows = try await connection.query(
                "SELECT name, address, replica_head, started_at, seen_at FROM emporium_nodes ORDER BY name", logger: self.options.logger)
            var nodes: [NodeStatus] = []
            for try await (name, address, head, started, seen) in rows.decode((String, String, Int64, Int64, Int64).self) {
                nodes.append(
                    NodeStatus(
                        name: name, address: address, replicaHead: UInt64(head), startedAt: Timestamp(nanosecondsSinceEpoch: started),
                        seenAt: Timestamp(nanosecondsSinceEpoch: seen)))
            }
            return nodes
        }
    }

    // MARK: Leases

    /// Runs `body` while this node holds the lease `id` (a PostgreSQL session advisory lock on a connection kept for it),
    /// and returns true when it ran; returns false at once when another node holds it. The connection is checked every
    /// `checkEvery`: when it is lost (and with it the lock, which another node may now take) `body` is cancelled.
    /// A node that dies loses its connection, and PostgreSQL releases the lock for the next node.
    public func whileHoldingLease(
        _ id: Int64, checkEvery: Duration = .seconds(1), _ body: @escaping @Sendable () async -> Void
    ) async throws -> Bool {
        try await run { client in
            try await client.withConnection { connection in
                // Bounded: a pooled connection may have gone dark with its link (a partition healed since), and a query
                // heeds no cancellation, so an unbounded one held the node's shutdown past its deadline (a trap of
                // ServiceLifecycle's: "Cancellation took longer than allowed").
                let held = try await Self.within(options.answerTimeout, closing: ConnectionInUse(connection)) {
                    let rows = try await connection.query("SELECT pg_try_advisory_lock(\(id))", logger: self.options.logger)
                    var held = false
                    for try await granted in rows.decode(Bool.self) { held = granted }
                    return held
                }
                guard held else { return false }
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { await body() }
                    group.addTask {
                        while !Task.isCancelled {
                            do {
                                try await Task.sleep(for: checkEvery)
                                // A lease whose connection does not answer in time is given up: the lock may be lost.
                                _ = try await Self.within(self.options.answerTimeout, closing: ConnectionInUse(connection)) {
                                    try await connection.query("SELECT 1", logger: self.options.logger)
                                    return true
                                }
                            } catch {
                                if !Task.isCancelled {
                                    self.options.logger.debug(
                                        "the lease's connection does not answer; giving the lease up", metadata: ["lease": "\(id)"])
                                }
                                return
                            }
                        }
                    }
                    await group.next()
                    group.cancelAll()
                }
                do {
                    // Bounded too: on a connection that went dark, closing it is the release (the session's lock goes).
                    _ = try await Self.within(options.answerTimeout, closing: ConnectionInUse(connection)) {
                        try await connection.query("SELECT pg_advisory_unlock(\(id))", logger: self.options.logger)
                        return true
                    }
                } catch {
                    // The connection is gone, or closed now, and the session's lock with it (as when the node stops).
                    if !Task.isCancelled {
                        options.logger.debug("releasing a lease failed", metadata: ["lease": "\(id)", "error": "\(error)"])
                    }
                }
                return true
            }
        }
    }
}
