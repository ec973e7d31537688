import Commerce
import Crypto
import EventCodec
import EventStore
import Foundation
import History
import Logging

/// Where new ids come from (UUIDv7 in production; a sequence in tests).
public protocol IdSource: Sendable {
    func next() -> UUID
}

extension UUIDv7Generator: IdSource {}

/// Who sends the command and in which context.
public struct CommandContext: Sendable {
    /// nil for an anonymous caller (RegisterUser and Login only). A request
    /// never carries `.system`: that actor is the engine's own.
    public var actor: Actor?
    public var correlationId: UUID
    public var idempotencyKey: String?
    /// The version the caller last saw of the stream the command changes first
    /// (0: it should not exist yet). A mismatch is a 409 with the current
    /// version, not retried: the caller decided on a stale view.
    public var expectedVersion: UInt64?
    /// What identifies the request under its `idempotencyKey`: a later request under the same key must
    /// match it. The HTTP edge gives the body's (`CommandEnvelope.fingerprint`); `execute` makes one from a
    /// typed command otherwise.
    public var requestFingerprint: String?

    public init(
        actor: Actor?, correlationId: UUID, idempotencyKey: String? = nil, expectedVersion: UInt64? = nil,
        requestFingerprint: String? = nil
    ) {
        self.actor = actor
        self.correlationId = correlationId
        self.idempotencyKey = idempotencyKey
        self.expectedVersion = expectedVersion
        self.requestFingerprint = requestFingerprint
    }
}

/// Turns commands into events: authenticate → load every stream the command
/// touches → decide → one atomic append with an expected version per stream →
/// answer. A version conflict reloads and decides again, a bounded number of times.
public final class Engine: Sendable {
    public struct Configuration: Sendable {
        public var policy = ShopPolicy()
        public var clock: any LogClock = SystemClock()
        public var ids: any IdSource = UUIDv7Generator.shared
        /// Signs login tokens; at least 32 bytes.
        public var tokenSecret: [UInt8]
        public var tokenLifetimeSeconds: Int64 = 24 * 3600
        /// Random bytes for password salts: the system's by default; seeded for reproducible demo shops.
        public var randomBytes: @Sendable (Int) -> [UInt8] = KeyVault.systemRandomBytes
        /// Reserve the next block of order numbers in the background when half of one is used
        /// (off for seeded runs, whose logs must not depend on timing).
        public var reservesOrderNumbersAhead = true
        /// Where the engine says what went wrong that a caller cannot see (a key not destroyed, a block of order numbers not reserved).
        public var logger = Logger(label: "emporium.engine", factory: { _ in SwiftLogNoOpLogHandler() })
        /// Providers whose signed callbacks are accepted, by name.
        public var paymentProviders: [String: CallbackVerifier] = [:]

        public init(tokenSecret: [UInt8], sandboxSecret: [UInt8]? = nil) {
            self.tokenSecret = tokenSecret
            if let sandboxSecret { paymentProviders["sandbox"] = CallbackVerifier(provider: "sandbox", secret: sandboxSecret) }
        }
    }

    /// High enough that a hot stream (a flash sale's goods) resolves every contender: each group commit lets one win.
    static let conflictRetriesMax = 64
    public static let idempotencyKeyCharactersMax = 200

    package let log: EventLog
    /// Per-user keys for personal data (crypto-shredding); outside the log.
    package let vault: KeyVault
    public let configuration: Configuration
    let store: StateStore
    public let tokens: TokenAuthority
    let orderNumbers: OrderNumbersBox

    public init(log: EventLog, vault: KeyVault, snapshots: SnapshotStore? = nil, configuration: Configuration) throws {
        guard configuration.tokenSecret.count >= TokenAuthority.secretBytesMin else {
            throw EngineError(.weakSecret, "the token secret needs at least \(TokenAuthority.secretBytesMin) bytes")
        }
        self.log = log
        self.vault = vault
        self.configuration = configuration
        self.store = StateStore(log: log, vault: vault, snapshots: snapshots)
        self.tokens = TokenAuthority(
            secret: configuration.tokenSecret, lifetimeSeconds: configuration.tokenLifetimeSeconds, clock: configuration.clock)
        self.orderNumbers = OrderNumbersBox()
        orderNumbers.allocator = OrderNumbers(engine: self)
        try checkVaultHoldsTheLogsKeys()
        try destroyKeysOfForgottenUsers()
    }

    /// A log with sealed personal data and a vault that does not hold its keys
    /// (an import without `--keys`, a restore that missed `keys/`, another
    /// shop's vault) is refused: serving it would make a new vault, every
    /// login would fail and every email could be claimed again.
    private func checkVaultHoldsTheLogsKeys() throws {
        guard let firstClaim = try log.events(ofType: EmailClaimed.eventType, limit: 1).first else { return }
        let registered = try log.events(ofType: UserRegistered.eventType, limit: 100)
        var anyUserHasAKey = registered.isEmpty
        for event in registered where !anyUserHasAKey {
            guard let id = UserId(String(event.stream.rawValue.dropFirst("user-".count))) else { continue }
            anyUserHasAKey = try vault.hasKey(for: id) || vault.wasDestroyed(for: id)
        }
        guard try vault.hasPseudonymKey(), anyUserHasAKey else {
            throw EngineError(
                .keysMissing,
                "the log holds sealed personal data (from position \(firstClaim.position)) but the key vault does not hold its keys; "
                    + "restore the shop's keys/ directory (emporium restore, or emporium import --keys) before serving it")
        }
    }

    /// A crash between appending `UserForgotten` and destroying the key
    /// leaves a key that should be gone: every start destroys those.
    private func destroyKeysOfForgottenUsers() throws {
        var from: UInt64 = 1
        while true {
            let page = try log.events(ofType: UserForgotten.eventType, from: from, limit: LogLimits.readPageEventsMax)
            for event in page {
                guard let id = UserId(String(event.stream.rawValue.dropFirst("user-".count))) else { continue }
                if try vault.hasKey(for: id) { try vault.destroyKey(for: id) }
            }
            guard let last = page.last, page.count == LogLimits.readPageEventsMax else { return }
            from = last.position + 1
        }
    }

    /// Destroys the keys of users another node forgot (their `UserForgotten` has just been copied here) and drops cached
    /// states, which may hold their opened personal data.
    public func forgetUsersForgottenElsewhere(_ users: [UserId]) throws {
        guard !users.isEmpty else { return }
        for user in users where try vault.hasKey(for: user) || !vault.wasDestroyed(for: user) { try vault.destroyKey(for: user) }
        store.forgetCachedStates()
    }

    /// Destroys the keys of users this decision forgot (after it is durable).
    private func shred(_ decision: Decision) throws {
        for change in decision.changes {
            guard case .user(let id) = change.stream,
                change.events.contains(where: { if case .user(.forgotten) = $0 { true } else { false } })
            else { continue }
            do {
                try vault.destroyKey(for: id)
                store.forgetCachedStates()
            } catch {
                configuration.logger.error(
                    "destroying a forgotten user's key failed; retried at the next start",
                    metadata: ["user.id": "\(id)", "error": "\(error)"])
                throw EngineError(
                    .internalError, "user \(id) is forgotten, but destroying their key failed (retried at the next start): \(error)")
            }
        }
    }

    public var now: Instant { Instant(millisecondsSinceEpoch: configuration.clock.now().nanosecondsSinceEpoch / 1_000_000) }
    public var policy: ShopPolicy { configuration.policy }
    func newId<Tag>(_: Tag.Type = Tag.self) -> EntityId<Tag> { EntityId(configuration.ids.next()) }

    /// Runs a decision function until it appends without conflict.
    /// `decide` gets a fresh `Execution` each time (states are reloaded).
    func run(
        _ context: CommandContext, commandType: String,
        _ decide: (inout Execution) throws -> (Decision, CommandResult)
    ) async throws -> CommandOutcome {
        let idempotency = try idempotencyStream(context)
        if let idempotency, let stored = try storedAnswer(idempotency, for: context, commandType: commandType) { return stored }
        var lastConflict: EngineError?
        var caughtUp = false
        for _ in 0..<Self.conflictRetriesMax {
            var execution = Execution(engine: self, context: context, at: now)
            let decision: Decision
            let result: CommandResult
            let seen = log.headPosition
            do {
                (decision, result) = try decide(&execution)
            } catch {
                // On a node of a cluster, a refusal may come from a replica behind what the caller did on another node
                // (goods listed there a moment ago, a payment a provider calls back about): decide once more on the log
                // of record's state. A refusal of the input itself stands as it is.
                if caughtUp || (error as? EngineError)?.kind == .invalidInput { throw error }
                guard try await catchUpWithLogOfRecord(beyond: seen) else { throw error }
                caughtUp = true
                // The request may be the retry of one that committed elsewhere (its first answer came back lost).
                if let idempotency, let stored = try storedAnswer(idempotency, for: context, commandType: commandType) { return stored }
                continue
            }
            try checkCallerExpectation(decision, execution: execution)
            do {
                let outcome = try await append(
                    decision, result: result, execution: execution, commandType: commandType, idempotency: idempotency)
                // A refusal that still appends (a failed login, recorded for lock-out) throws once its events are durable.
                if let refusal = decision.refusal { throw EngineError(refusal) }
                return outcome
            } catch let error as EventLogError {
                guard case let .wrongExpectedVersion(stream, _, _) = error else { throw EngineError(error) }
                if let idempotency, stream == idempotency,
                    let stored = try storedAnswer(idempotency, for: context, commandType: commandType)
                {
                    return stored
                }
                lastConflict = EngineError(error)  // the next attempt's loads catch up with what the winner appended
            }
        }
        throw lastConflict ?? EngineError(.versionConflict, "too many conflicts")
    }

    /// On a node of a cluster: when the log of record holds more than `seen` (what the replica held when a command was
    /// decided, or a read found nothing), waits until the replica has copied it and returns true: decide, or read, again.
    /// False on a shop whose log is on this machine, or when nothing new was committed. A log of record out of reach is
    /// `log_unavailable` (the caller retries, rather than hearing "not found" of what it made a moment ago elsewhere).
    public func catchUpWithLogOfRecord(beyond seen: UInt64) async throws -> Bool {
        guard let ofRecord = log.logOfRecord else { return false }
        do {
            let head = try await ofRecord.head().position
            guard head > seen else { return false }
            try await log.waitForCopies(through: head)
            return true
        } catch {
            throw EngineError(.logUnavailable, "the log of record is out of reach; retry: \(error)")
        }
    }

    private func checkCallerExpectation(_ decision: Decision, execution: Execution) throws {
        guard let expected = execution.context.expectedVersion, let primary = decision.changes.first?.stream else { return }
        let current = execution.readVersions[primary] ?? nil
        guard (current ?? 0) != expected else { return }
        throw EngineError(
            .versionConflict, "\(primary) is at version \(current ?? 0), not \(expected)",
            details: ["stream": primary.description, "currentVersion": String(current ?? 0), "expectedVersion": String(expected)])
    }

    private func append(
        _ decision: Decision, result values: CommandResult, execution: Execution, commandType: String,
        idempotency: StreamName?
    ) async throws -> CommandOutcome {
        guard !decision.isEmpty else { return CommandOutcome(events: [], result: values, replayed: false) }
        let commandId = configuration.ids.next()
        let metadata = EventMetadata(
            actor: execution.actorDescription, correlationId: execution.context.correlationId,
            causationId: commandId, idempotencyKey: execution.context.idempotencyKey)
        var appends: [StreamAppend] = []
        for change in decision.changes {
            guard let version = execution.readVersions[change.stream] else {
                preconditionFailure("\(commandType) wrote to \(change.stream) without loading it")
            }
            let events = try change.events.map { event -> ProposedEvent in
                let encoded: EventCodec.Encoded
                do {
                    encoded = try EventCodec.encode(event, sealingFor: change.stream.personalDataOwner(of: event), with: vault)
                } catch {
                    throw EngineError(.internalError, "\(event.eventType) could not be sealed: \(error)")
                }
                return ProposedEvent(
                    eventId: configuration.ids.next(), type: encoded.type, schemaVersion: UInt32(encoded.schemaVersion),
                    payload: encoded.payload, metadata: metadata)
            }
            appends.append(
                StreamAppend(
                    stream: try store.streamName(change.stream), expected: version.map(ExpectedVersion.exact) ?? .noStream, events: events))
        }
        var answer = CommandOutcome(events: [], result: values, replayed: false)
        if let idempotency, decision.refusal == nil {
            let types = appends.flatMap { $0.events.map(\.type) }
            // The answer is stored in the same append as the effect: both land or neither.
            let stored = values.values.filter { !CommandResult.secretKeys.contains($0.key) }
            let preview = try JSONEncoder().encode(
                IdempotencyRecord(
                    commandType: commandType, result: stored, eventTypes: types,
                    fingerprint: execution.context.requestFingerprint))
            appends.append(
                StreamAppend(
                    stream: idempotency, expected: .noStream,
                    events: [
                        ProposedEvent(
                            eventId: configuration.ids.next(), type: IdempotencyRecord.eventType, payload: Array(preview),
                            metadata: metadata)
                    ]))
        }
        let result = try await log.append(appends)
        store.applied(decision, results: Array(result.streams.prefix(decision.changes.count)))
        try shred(decision)
        var index = 0
        for (written, streamResult) in zip(appends.prefix(decision.changes.count), result.streams) {
            for (offset, event) in written.events.enumerated() {
                answer.events.append(
                    AppendedEvent(
                        stream: streamResult.stream.rawValue, version: streamResult.firstVersion + UInt64(offset),
                        position: result.positions[index], type: event.type))
                index += 1
            }
        }
        return answer
    }

    // MARK: Idempotency

    /// Answer values that are credentials (a login token, a new API key's secret, `CommandResult.secretKeys`)
    /// are never stored with an idempotency record, so the log holds no credential and a replayed answer comes without them.
    struct IdempotencyRecord: Codable {
        static let eventType = "IdempotentCommandRecorded"
        var commandType: String
        var result: [String: String]
        var eventTypes: [String]
        /// The first request's fingerprint (absent in records of commands run without one).
        var fingerprint: String?
    }

    /// One stream per (actor, key): `idempotency-<sha256 prefix>`. An engine
    /// stream, not a domain one, so it is named directly.
    private func idempotencyStream(_ context: CommandContext) throws -> StreamName? {
        guard let key = context.idempotencyKey else { return nil }
        guard !key.isEmpty, key.count <= Self.idempotencyKeyCharactersMax, key.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
            throw EngineError(
                .invalidIdempotencyKey, "Idempotency-Key must be 1–\(Self.idempotencyKeyCharactersMax) printable ASCII characters")
        }
        let digest = SHA256.hash(data: Array("\(context.actor?.description ?? "anonymous")\u{0}\(key)".utf8))
        return try StreamName("idempotency-" + digest.prefix(16).map { String(format: "%02x", $0) }.joined())
    }

    /// The answer of the command that first used this key, if there was one.
    /// A different request under the same key is refused (422), as the IETF
    /// `Idempotency-Key` draft and Stripe do: answering it with the first
    /// request's result would tell the caller a command ran that never did.
    private func storedAnswer(_ stream: StreamName, for context: CommandContext, commandType: String) throws -> CommandOutcome? {
        let recorded = try log.readStream(stream, limit: 1)
        guard let first = recorded.first else { return nil }
        let record = try JSONDecoder().decode(IdempotencyRecord.self, from: Data(first.payload))
        let sameFingerprint =
            record.fingerprint == nil || context.requestFingerprint == nil || record.fingerprint == context.requestFingerprint
        guard record.commandType == commandType, sameFingerprint else {
            throw EngineError(
                .idempotencyKeyReused,
                "this Idempotency-Key was used for a different request (\(record.commandType)); send a new key with a new request",
                details: ["commandType": record.commandType])
        }
        let effects = try log.events(correlatedWith: first.metadata.correlationId, limit: LogLimits.readPageEventsMax)
            .filter { $0.metadata.causationId == first.metadata.causationId && $0.type != IdempotencyRecord.eventType }
        return CommandOutcome(
            events: effects.map { AppendedEvent(stream: $0.stream.rawValue, version: $0.version, position: $0.position, type: $0.type) },
            result: CommandResult(values: record.result), replayed: true)
    }
}

/// One attempt at a command: the states it loaded and at which versions.
struct Execution {
    let engine: Engine
    let context: CommandContext
    let at: Instant
    /// Every stream loaded, with its version (nil: no stream yet). Decisions append with these as expectations.
    private(set) var readVersions: [StreamId: UInt64?] = [:]
    /// The states loaded so far: a command that reads a stream twice (the caller's user record) reads it once.
    private var loaded: [StreamId: any AggregateState] = [:]

    init(engine: Engine, context: CommandContext, at: Instant) {
        self.engine = engine
        self.context = context
        self.at = at
    }

    mutating func load<S: AggregateState>(_ stream: StreamId, as type: S.Type = S.self) throws -> S {
        if let state = loaded[stream] as? S { return state }
        let (state, version) = try engine.store.load(stream, as: S.self)
        readVersions[stream] = .some(version)
        loaded[stream] = state
        return state
    }

    var actorDescription: String { (context.actor ?? .anonymous).description }

    /// Loads any stream's state (what a decider's `reads` names), as its aggregate's type.
    mutating func loadAny(_ stream: StreamId) throws -> any AggregateState {
        func open<S: AggregateState>(_: S) throws -> any AggregateState { try load(stream, as: S.self) }
        return try open(stream.emptyState)
    }

    /// The caller as a decider sees them: anonymous without credentials (the engine admitted the command
    /// for anonymous callers already), else `requireActor`.
    mutating func caller() throws -> Actor {
        guard context.actor != nil, context.actor != .anonymous else { return .anonymous }
        return try requireActor()
    }

    /// The caller, with the role their user record has now (a token only proves who they are).
    mutating func requireActor() throws -> Actor {
        guard let actor = context.actor else {
            throw EngineError(.unauthenticated, "this request needs a bearer token (Authorization: Bearer <token>)")
        }
        switch actor {
        case .user(let id, _):
            let user: UserState = try load(.user(id))
            guard user.exists, !user.isForgotten else { throw EngineError(.unknownUser, "the token's user does not exist") }
            return .user(id, user.role)
        case .apiKey(var key):
            let owner: UserState = try load(.user(key.owner))
            guard owner.exists, !owner.isForgotten else { throw EngineError(.unknownUser, "the API key's owner does not exist") }
            key.role = owner.role
            return .apiKey(key)
        case .system, .paymentProvider, .anonymous:
            return actor
        }
    }
}

/// Holds the allocator, which needs the engine it belongs to.
final class OrderNumbersBox: @unchecked Sendable {
    /// Set once in `Engine.init`, read only afterwards.
    var allocator: OrderNumbers?

    func number(at instant: Instant) async throws -> String {
        guard let allocator else { preconditionFailure("the order-number allocator is set in Engine.init") }
        return try await allocator.number(at: instant)
    }
}
