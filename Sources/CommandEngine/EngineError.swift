import Commerce
import EventStore

/// Why the engine (or the HTTP edge in front of it) refused or failed a
/// request. `kind` says which HTTP status it becomes (the mapping lives in
/// the HTTP layer); `code` is stable, from a closed set.
public struct EngineError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// Malformed or invalid input (400).
        case invalidInput
        /// Missing, expired or forged credentials (401).
        case unauthenticated
        /// Authenticated but not allowed (403).
        case forbidden
        /// The thing named does not exist (404).
        case notFound
        /// A version conflict that retries did not resolve (409).
        case conflict
        /// A business rule said no (422).
        case rejected
        /// Too much at once (429).
        case overloaded
        /// Not ready yet, e.g. a read model still catching up (503): try again shortly.
        case unavailable
        /// Our fault (500); never caused by input alone.
        case internalFailure
    }

    /// Every code a refusal carries, in descending precedence (as TigerBeetle
    /// orders its result codes): who the caller is, then what they may do, then
    /// what they sent, then what exists, then the state of things, then load,
    /// then our own failures. A domain rule's code is the domain's own.
    public enum Code: Hashable, Sendable, CustomStringConvertible {
        // Credentials.
        case unauthenticated, invalidToken, tokenExpired, invalidAPIKey, apiKeyRevoked, apiKeyExpired, unknownUser, invalidSignature
        case staleTimestamp
        // Permission.
        case forbidden, insufficientScope
        // What was sent.
        case malformedJSON, missingField, wrongType, invalidValue, duplicateKey, unknownCommand, invalidInput, invalidQuery, invalidStream
        case invalidIdempotencyKey, invalidRequestId, bodyTooLarge, weakSecret
        // The log's own refusals of an append (a bad name, too large).
        case invalidField, eventTooLarge, appendTooLarge, emptyAppend, duplicateEventInAppend, duplicateStreamInAppend, partiallyStored
        // What exists.
        case notFound, unknownProvider, projectionNotFound
        // The state of things.
        case versionConflict, rebuildRunning, idempotencyKeyReused
        // Load and availability.
        case rateLimited, shuttingDown, projectionBehind, projectionsUnavailable, keysMissing, logUnavailable
        // Our failures.
        case corruptRecord, storageFailure, internalError
        /// A business rule of the domain, with its own code (`insufficient_stock`, `order_not_found`, …).
        case domain(Rejection.Code)

        /// The stable text clients see.
        public var description: String {
            switch self {
            case .unauthenticated: return "unauthenticated"
            case .invalidToken: return "invalid_token"
            case .tokenExpired: return "token_expired"
            case .invalidAPIKey: return "invalid_api_key"
            case .apiKeyRevoked: return "api_key_revoked"
            case .apiKeyExpired: return "api_key_expired"
            case .unknownUser: return "unknown_user"
            case .invalidSignature: return "invalid_signature"
            case .staleTimestamp: return "stale_timestamp"
            case .forbidden: return "forbidden"
            case .insufficientScope: return "insufficient_scope"
            case .malformedJSON: return "malformed_json"
            case .missingField: return "missing_field"
            case .wrongType: return "wrong_type"
            case .invalidValue: return "invalid_value"
            case .duplicateKey: return "duplicate_key"
            case .unknownCommand: return "unknown_command"
            case .invalidInput: return "invalid_input"
            case .invalidQuery: return "invalid_query"
            case .invalidStream: return "invalid_stream"
            case .invalidIdempotencyKey: return "invalid_idempotency_key"
            case .invalidRequestId: return "invalid_request_id"
            case .bodyTooLarge: return "body_too_large"
            case .weakSecret: return "weak_secret"
            case .invalidField: return "invalid_field"
            case .eventTooLarge: return "event_too_large"
            case .appendTooLarge: return "append_too_large"
            case .emptyAppend: return "empty_append"
            case .duplicateEventInAppend: return "duplicate_event_in_append"
            case .duplicateStreamInAppend: return "duplicate_stream_in_append"
            case .partiallyStored: return "partially_stored"
            case .notFound: return "not_found"
            case .unknownProvider: return "unknown_provider"
            case .projectionNotFound: return "projection_not_found"
            case .versionConflict: return "version_conflict"
            case .rebuildRunning: return "rebuild_running"
            case .idempotencyKeyReused: return "idempotency_key_reused"
            case .rateLimited: return "rate_limited"
            case .shuttingDown: return "shutting_down"
            case .projectionBehind: return "projection_behind"
            case .projectionsUnavailable: return "projections_unavailable"
            case .keysMissing: return "keys_missing"
            case .logUnavailable: return "log_unavailable"
            case .corruptRecord: return "corrupt_record"
            case .storageFailure: return "storage_failure"
            case .internalError: return "internal_error"
            case .domain(let code): return code.rawValue
            }
        }

        /// Every code, for the contract (`/openapi.json` lists them by status). A new case goes here too: a test checks
        /// that every code a request can meet is in this list.
        public static var all: [Code] {
            [
                .unauthenticated, .invalidToken, .tokenExpired, .invalidAPIKey, .apiKeyRevoked, .apiKeyExpired, .unknownUser,
                .invalidSignature, .staleTimestamp, .forbidden, .insufficientScope, .malformedJSON, .missingField, .wrongType,
                .invalidValue, .duplicateKey, .unknownCommand, .invalidInput, .invalidQuery, .invalidStream, .invalidIdempotencyKey,
                .invalidRequestId, .bodyTooLarge, .weakSecret, .invalidField, .eventTooLarge, .appendTooLarge, .emptyAppend,
                .duplicateEventInAppend,
                .duplicateStreamInAppend, .partiallyStored, .notFound, .unknownProvider, .projectionNotFound, .versionConflict,
                .rebuildRunning, .idempotencyKeyReused, .rateLimited, .shuttingDown, .projectionBehind, .projectionsUnavailable,
                .keysMissing, .logUnavailable, .corruptRecord, .storageFailure, .internalError,
            ] + Rejection.Code.allCases.map(Code.domain)
        }

        /// The kind (status) a code answers with when the refusal names none itself.
        public var kind: Kind { defaultKind }

        /// The status a code answers with when it names none itself.
        var defaultKind: Kind {
            switch self {
            case .unauthenticated, .invalidToken, .tokenExpired, .invalidAPIKey, .apiKeyRevoked, .apiKeyExpired, .unknownUser,
                .invalidSignature,
                .staleTimestamp:
                return .unauthenticated
            case .forbidden, .insufficientScope: return .forbidden
            case .malformedJSON, .missingField, .wrongType, .invalidValue, .duplicateKey, .unknownCommand, .invalidInput, .invalidQuery,
                .invalidStream, .invalidIdempotencyKey, .invalidRequestId, .bodyTooLarge, .weakSecret, .invalidField, .eventTooLarge,
                .appendTooLarge,
                .emptyAppend,
                .duplicateEventInAppend, .duplicateStreamInAppend, .partiallyStored:
                return .invalidInput
            case .notFound, .unknownProvider, .projectionNotFound: return .notFound
            case .versionConflict, .rebuildRunning: return .conflict
            case .idempotencyKeyReused: return .rejected
            case .rateLimited, .shuttingDown: return .overloaded
            case .projectionBehind, .projectionsUnavailable, .keysMissing, .logUnavailable: return .unavailable
            case .corruptRecord, .storageFailure, .internalError: return .internalFailure
            case .domain(let code): return EngineError.kind(of: code)
            }
        }
    }

    public let kind: Kind
    public let code: Code
    public let message: String
    public var details: [String: String]

    /// `kind` nil: the code's usual status.
    public init(_ code: Code, _ message: String, kind: Kind? = nil, details: [String: String] = [:]) {
        self.kind = kind ?? code.defaultKind
        self.code = code
        self.message = message
        self.details = details
    }

    public var description: String { "\(code): \(message)" }

    /// A domain rejection keeps its code; its status follows from it.
    public init(_ rejection: Rejection) {
        self.init(.domain(rejection.code), rejection.message, details: rejection.field.map { ["field": $0] } ?? [:])
    }

    static func kind(of code: Rejection.Code) -> Kind {
        switch code {
        case .invalidInput, .quantityOutOfRange, .amountOutOfRange: return .invalidInput
        case .forbidden, .notOwner: return .forbidden
        case .invalidCredentials: return .unauthenticated
        case .userNotFound, .goodsNotFound, .variantNotFound, .deliveryMethodNotFound, .orderNotFound, .couponNotFound, .paymentNotFound,
            .addressNotFound,
            .apiKeyNotFound, .webhookNotFound, .afterSaleNotFound, .promotionNotFound:
            return .notFound
        default: return .rejected
        }
    }

    init(_ error: EventLogError) {
        switch error {
        case let .wrongExpectedVersion(stream, _, current):
            self.init(
                .versionConflict, "stream \(stream) changed while the command was decided",
                details: ["stream": stream.rawValue, "currentVersion": current.map(String.init) ?? "none"])
        case .closed: self.init(.shuttingDown, "the engine is shutting down")
        case .invalidField: self.init(.invalidField, error.description)
        case .eventTooLarge: self.init(.eventTooLarge, error.description)
        case .appendTooLarge: self.init(.appendTooLarge, error.description)
        case .emptyAppend: self.init(.emptyAppend, error.description)
        case .duplicateEventInAppend: self.init(.duplicateEventInAppend, error.description)
        case .duplicateStreamInAppend: self.init(.duplicateStreamInAppend, error.description)
        case .partiallyStored: self.init(.partiallyStored, error.description)
        case .corruptRecord: self.init(.corruptRecord, error.description)
        case .storage, .redoUnusable: self.init(.storageFailure, error.description)
        case .unavailable, .replicaDiverged: self.init(.logUnavailable, error.description)
        }
    }
}
