import CommandAPI
import CommandEngine
import Foundation
import Hummingbird

/// Answers as the API writes them: JSON with sorted keys, and request bodies read within a bound.
enum Responses {
    static func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return bytes(Array(try encoder.encode(value)))
    }

    /// JSON already written.
    static func bytes(_ body: [UInt8], contentType: String = "application/json; charset=utf-8") -> Response {
        Response(status: .ok, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// A command's answer, its JSON written directly.
    static func answer(_ outcome: CommandOutcome, currency: String) -> Response { bytes(outcome.json(currency: currency)) }

    static func collect(_ request: Request, upTo bytesMax: Int) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: bytesMax)
        } catch {
            throw HTTPError(.contentTooLarge, message: "the body exceeds \(bytesMax) bytes")
        }
    }

    /// A query parameter refused: `reason` reads after the field's name ("limit" + "must be 1…100").
    static func badQuery(_ field: String, _ reason: String) -> EngineError {
        EngineError(.invalidQuery, "\(field) \(reason)", details: ["field": field])
    }
}
