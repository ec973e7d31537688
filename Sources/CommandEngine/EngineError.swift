import Commerce
import EventStore

/// Why the engine refused or failed a command. `kind` says which HTTP status
/// it becomes (the mapping lives in the HTTP layer); `code` is stable.
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

    public let kind: Kind
    public let code: String
    public let message: String
    public var details: [String: String]

    public init(_ kind: Kind, code: String? = nil, _ message: String, details: [String: String] = [:]) {
        self.kind = kind
        self.code = code ?? Self.defaultCode(kind)
        self.message = message
        self.details = details
    }

    public var description: String { "\(code): \(message)" }

    private static func defaultCode(_ kind: Kind) -> String {
        switch kind {
        case .invalidInput: return "invalid_input"
        case .unauthenticated: return "unauthenticated"
        case .forbidden: return "forbidden"
        case .notFound: return "not_found"
        case .conflict: return "version_conflict"
        case .rejected: return "rejected"
        case .overloaded: return "overloaded"
        case .unavailable: return "unavailable"
        case .internalFailure: return "internal_error"
        }
    }

    /// A domain rejection keeps its code; its kind follows from it.
    init(_ rejection: Rejection) {
        let kind: Kind
        switch rejection.code {
        case .invalidInput, .quantityOutOfRange, .amountOutOfRange: kind = .invalidInput
        case .forbidden, .notOwner: kind = .forbidden
        case .invalidCredentials: kind = .unauthenticated
        case .userNotFound, .goodsNotFound, .orderNotFound, .couponNotFound, .paymentNotFound, .addressNotFound: kind = .notFound
        default: kind = .rejected
        }
        self.init(kind, code: rejection.code.rawValue, rejection.message, details: rejection.field.map { ["field": $0] } ?? [:])
    }

    init(_ error: EventLogError) {
        switch error {
        case let .wrongExpectedVersion(stream, _, current):
            self.init(.conflict, "stream \(stream) changed while the command was decided",
                      details: ["stream": stream.rawValue, "currentVersion": current.map(String.init) ?? "none"])
        case .closed:
            self.init(.overloaded, code: "shutting_down", "the engine is shutting down")
        case .invalidField, .eventTooLarge, .appendTooLarge, .emptyAppend, .duplicateEventInAppend, .duplicateStreamInAppend, .partiallyStored:
            self.init(.invalidInput, code: error.code, error.description)
        case .corruptRecord, .storage:
            self.init(.internalFailure, code: error.code, error.description)
        }
    }
}
