import Foundation

/// Encrypts and decrypts personal data for the stored payload. The domain
/// only marks which fields are personal; the engine supplies the cipher
/// (AES-GCM with one key per user, kept outside the log), so destroying a
/// user's key erases their personal data from every event at once.
public protocol PersonalDataCipher: Sendable {
    /// The sealed form of `text` for `owner` (ASCII, starting with `PersonalData.sealedPrefix`).
    func seal(_ text: String, owner: UserId) throws -> String
    /// The text, or nil when the owner's key is destroyed (or the value was tampered with).
    func open(_ sealed: String) -> String?
    /// What a field this cipher does not open reads as: erased by default; a
    /// cipher that hides personal data on purpose says so instead.
    var unopenedText: String { get }
}

extension PersonalDataCipher {
    public var unopenedText: String { PersonalData.erased }
}

public enum PersonalData {
    /// What a personal field reads as once its owner's key is destroyed.
    public static let erased = "⟨erased⟩"
    /// What a personal field reads as where it is hidden from the reader (audit answers not asked to reveal it).
    public static let hidden = "⟨hidden⟩"
    /// Sealed values are strings `sealed:v1:<owner uuid>:<base64 nonce‖ciphertext‖tag>`,
    /// so a sealed payload has the same JSON shape as a plain one.
    public static let sealedPrefix = "sealed:v1:"

    public static func isSealed(_ text: String) -> Bool { text.hasPrefix(sealedPrefix) }
}

extension CodingUserInfoKey {
    /// An `any PersonalDataCipher`: present when encoding or decoding stored payloads.
    public static let personalDataCipher = named("emporium.personalDataCipher")
    /// The `UserId` whose key seals the personal fields of the event being encoded.
    public static let personalDataOwner = named("emporium.personalDataOwner")
    /// Present (any value) when an event is encoded for people (audit, the event feed): secrets are written as `Secrets.redacted`.
    public static let redactingSecrets = named("emporium.redactingSecrets")
    /// An `Int`: the schema version of the binary event payload being encoded or decoded, for values whose fields
    /// depend on it (`OrderLine`). Absent: the current version (and in JSON, where absent fields read as nil).
    public static let eventSchemaVersion = named("emporium.eventSchemaVersion")

    /// `init(rawValue:)` is failable only to satisfy `RawRepresentable`; it accepts every string.
    private static func named(_ name: String) -> CodingUserInfoKey {
        guard let key = CodingUserInfoKey(rawValue: name) else { preconditionFailure("CodingUserInfoKey refused \(name)") }
        return key
    }
}

/// A personal field. Encoded plain by a plain encoder (HTTP answers, tests),
/// sealed when the encoder carries a cipher and an owner (the log's payloads).
@propertyWrapper
public struct Personal: Hashable, Codable, Sendable {
    public var wrappedValue: String

    public init(wrappedValue: String) { self.wrappedValue = wrappedValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard PersonalData.isSealed(text) else {
            wrappedValue = text
            return
        }
        let cipher = decoder.userInfo[.personalDataCipher] as? any PersonalDataCipher
        wrappedValue = cipher.map { $0.open(text) ?? $0.unopenedText } ?? PersonalData.erased
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        guard let cipher = encoder.userInfo[.personalDataCipher] as? any PersonalDataCipher else {
            try container.encode(wrappedValue)
            return
        }
        guard let owner = encoder.userInfo[.personalDataOwner] as? UserId else {
            throw EncodingError.invalidValue(
                wrappedValue,
                .init(
                    codingPath: encoder.codingPath,
                    debugDescription: "a personal field has no owner to seal it for"))
        }
        try container.encode(try cipher.seal(wrappedValue, owner: owner))
    }
}

extension StreamId {
    /// The user whose key seals the personal fields of `event` in this stream.
    public func personalDataOwner(of event: DomainEvent) -> UserId? {
        switch event {
        case .emailClaim(.claimed(let claimed)): return claimed.userId
        case .emailClaim(.released(let released)): return released.userId
        case .order(.placed(let placed)): return placed.userId
        default: break
        }
        switch self {
        case .user(let id), .cart(let id), .points(let id): return id
        default: return nil
        }
    }
}

/// An encoder of a compact payload form (the log's binary payloads) adopts
/// this, and the domain's values write themselves through it: an id as its
/// 16 bytes, an address as one value (sealed whole, one cipher call instead
/// of eight). The domain says which values have a compact form; the codec
/// (`EventCodec`) says what it is. Plain encoders (JSON) never see it.
public protocol CompactEncoding {
    func encode(uuid: UUID)
    func encode(address: Address) throws
}

/// The decoder of the same form.
public protocol CompactDecoding {
    func decodeUUID() throws -> UUID
    func decodeAddress() throws -> Address
}
