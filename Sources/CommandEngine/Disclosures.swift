import Commerce
import EventStore
import Foundation

/// A record that someone was shown a user's personal data in clear (an
/// audit answer asked to reveal it). One event per user seen, on that user's
/// `disclosures-<user id>` stream, so "who saw this customer's address, and
/// when" is one audit query by stream; the event's actor is the viewer and
/// its correlation id the request's.
public struct PersonalDataRevealed: Codable, Hashable, Sendable {
    public static let eventType = "PersonalDataRevealed"
    public static let positionsMax = 1_000
    public static let requestCharactersMax = 500

    /// The viewer, as the log names actors.
    public var viewer: String
    public var subject: String
    /// Positions of the events whose fields were opened (the first `positionsMax`).
    public var positions: [UInt64]
    /// The path and query that asked (cut to `requestCharactersMax`).
    public var request: String
    public var at: Int64
}

extension Engine {
    public static let disclosureStreamPrefix = "disclosures-"

    /// Appends one `PersonalDataRevealed` per subject, atomically, before the
    /// answer that reveals them is sent: a reveal that cannot be recorded is
    /// not shown.
    public func recordDisclosure(by viewer: Actor, of subjects: [UserId: [UInt64]], request: String, correlationId: UUID) async throws {
        guard !subjects.isEmpty else { return }
        let metadata = EventMetadata(actor: viewer.description, correlationId: correlationId, causationId: configuration.ids.next())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var appends: [StreamAppend] = []
        for (subject, positions) in subjects.sorted(by: { $0.key < $1.key }) {
            let record = PersonalDataRevealed(
                viewer: viewer.description, subject: subject.description,
                positions: Array(positions.sorted().prefix(PersonalDataRevealed.positionsMax)),
                request: String(request.prefix(PersonalDataRevealed.requestCharactersMax)),
                at: now.millisecondsSinceEpoch)
            appends.append(
                StreamAppend(
                    stream: try StreamName(Self.disclosureStreamPrefix + subject.description), expected: .any,
                    events: [
                        ProposedEvent(
                            eventId: configuration.ids.next(), type: PersonalDataRevealed.eventType,
                            payload: Array(try encoder.encode(record)),
                            metadata: metadata)
                    ]))
        }
        do {
            _ = try await log.append(appends)
        } catch let error as EventLogError {
            throw EngineError(error)
        }
    }
}

/// An API key as admins list it: never its secret or digest.
public struct ApiKeyView: Codable, Hashable, Sendable {
    public var keyId: String
    public var name: String
    public var ownerId: String
    public var scopes: [String]
    public var issuedAt: Int64
    public var issuedBy: String
    public var expiresAt: Int64?
    public var revokedAt: Int64?
    public var status: String
}

public struct MerchantApplicationView: Codable, Hashable, Sendable {
    public var userId: String
    public var shopName: String
    public var description: String
    public var status: String
    public var submittedAt: Int64
    public var decidedAt: Int64?
    public var reason: String?
}

extension Engine {
    /// Every API key issued, newest first (at most `LogLimits.readPageEventsMax`).
    public func apiKeys() throws -> [ApiKeyView] {
        try streamsWithEvents(ofType: ApiKeyIssued.eventType).compactMap { name -> ApiKeyView? in
            guard case .apiKey(let id)? = StreamId(name: name) else { return nil }
            let key: ApiKeyState = try state(.apiKey(id))
            guard let owner = key.ownerId, let issuedAt = key.issuedAt else { return nil }
            let status = key.isRevoked ? "revoked" : key.expiresAt.map { $0 <= now ? "expired" : "active" } ?? "active"
            return ApiKeyView(
                keyId: id.description, name: key.name, ownerId: owner.description, scopes: key.scopes.map(\.rawValue),
                issuedAt: issuedAt.millisecondsSinceEpoch, issuedBy: key.issuedBy, expiresAt: key.expiresAt?.millisecondsSinceEpoch,
                revokedAt: key.revokedAt?.millisecondsSinceEpoch, status: status)
        }.reversed()
    }

    /// Merchant applications, newest first, optionally only those with `status`.
    public func merchantApplications(status: MerchantApplication.Status?) throws -> [MerchantApplicationView] {
        try streamsWithEvents(ofType: MerchantApplicationSubmitted.eventType).compactMap { name -> MerchantApplicationView? in
            guard case .user(let id)? = StreamId(name: name) else { return nil }
            let user: UserState = try state(.user(id))
            guard let application = user.merchantApplication, !user.isForgotten, status == nil || application.status == status else {
                return nil
            }
            return MerchantApplicationView(
                userId: id.description, shopName: application.shopName, description: application.description,
                status: application.status.rawValue, submittedAt: application.submittedAt.millisecondsSinceEpoch,
                decidedAt: application.decidedAt?.millisecondsSinceEpoch, reason: application.reason)
        }.reversed()
    }

    /// Names of the streams holding events of `type`, each once, in the order of their first such event.
    private func streamsWithEvents(ofType type: String) throws -> [String] {
        var seen = Set<String>()
        var names: [String] = []
        var from: UInt64 = 1
        while names.count < LogLimits.readPageEventsMax {
            let page = try log.events(ofType: type, from: from, limit: LogLimits.readPageEventsMax)
            for event in page where seen.insert(event.stream.rawValue).inserted { names.append(event.stream.rawValue) }
            guard let last = page.last, page.count == LogLimits.readPageEventsMax else { break }
            from = last.position + 1
        }
        return names
    }
}
