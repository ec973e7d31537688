import CommandAPI
import CommandEngine
import Commerce
import Hummingbird
import HummingbirdCore
import ReadModels

/// Queries answered by the projections. Each takes `?after=POSITION` (a
/// position from a command's answer) and then waits, up to
/// `ServerConfiguration.readYourWritesWaitMax`, until the read model has folded
/// that position (read-your-writes), or answers 503 `projection_behind`. My
/// pages wait for the head as of the request by themselves (a customer expects
/// to see the order they just placed), and answer from the model as it is if
/// that takes too long.
struct ReadModelReads: Sendable {
    let engine: Engine
    let projector: Projector?
    let waitMax: Duration

    /// The shop's currency, beside the money in an answer (`Priced`).
    var currency: String { engine.policy.currency }

    static let projectionsOff = EngineError(.projectionsUnavailable, "this server runs without read models")

    func requireProjector() throws -> Projector {
        guard let projector else { throw Self.projectionsOff }
        return projector
    }

    /// Runs `body` on a projection once it has passed `?after=`. With `waitingForHead` and no `after=`, it first
    /// waits (as long as `after=` would) for the head as of the request, and then answers as the model is.
    func read<P: Projection, R: Sendable>(
        _ type: P.Type, _ request: Request, waitingForHead: Bool = false,
        _ body: @escaping (P) throws -> R
    ) async throws -> R {
        let projector = try requireProjector()
        if waitingForHead, request.uri.queryParameters.get("after") == nil {
            _ = await projector.wait(type.name, reaches: engine.headPosition, timeout: waitMax)
        }
        if let text = request.uri.queryParameters.get("after") {
            guard let position = UInt64(text) else { throw Responses.badQuery("after", "must be a log position") }
            // A position no log holds is a mistake, not a wait: refused at once. (On a node of a cluster the position may
            // come from another node's answer: the replica catches up with the log of record before judging.)
            let seen = engine.headPosition
            if position > seen {
                _ = try await engine.catchUpWithLogOfRecord(beyond: seen)
                guard position <= engine.headPosition else {
                    throw Responses.badQuery("after", "is beyond the log's head (\(engine.headPosition))")
                }
            }
            guard await projector.wait(type.name, reaches: position, timeout: waitMax) else {
                throw EngineError(
                    .projectionBehind, "\(type.name) has not reached position \(position) yet; try again",
                    details: ["checkpoint": String(projector.checkpoint(type.name))])
            }
        }
        do {
            return try projector.read(type, body)
        } catch let error as ProjectionError {
            throw EngineError(.projectionsUnavailable, error.description)
        }
    }

    /// A read's answer as JSON.
    func json<P: Projection, R: Encodable & Sendable>(
        _ type: P.Type, _ request: Request, waitingForHead: Bool = false,
        _ body: @escaping (P) throws -> R
    ) async throws -> Response {
        try Responses.json(try await read(type, request, waitingForHead: waitingForHead, body))
    }

    /// The user a signed-in route was admitted for.
    static func signedInUser(_ context: AppRequestContext) throws -> UserId {
        guard let user = context.caller?.userId else { throw EngineError(.forbidden, "these pages belong to users") }
        return user
    }

    static func limit(
        _ parameters: FlatDictionary<Substring, Substring>, default value: Int = 10,
        max: Int = RecommendProjection.resultsMax
    ) throws -> Int {
        guard let text = parameters.get("limit") else { return value }
        guard let limit = Int(text), (1...max).contains(limit) else { throw Responses.badQuery("limit", "must be 1…\(max)") }
        return limit
    }

    /// A search model's refusal: its description is a whole sentence already ("page must be 1…1000").
    static func badQuery(_ error: SearchQueryError) -> EngineError {
        EngineError(.invalidQuery, error.description, details: ["field": error.field])
    }
}
