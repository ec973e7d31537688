import CommandAPI
import CommandEngine
import Commerce
import History
import Hummingbird

/// Time travel: the shop's counts, one stream's state, and what changed between two positions, as of any position of
/// the log. Admins, and API keys with `audit:read`. Each answer is a replay of the log itself; personal fields hidden.
struct HistoryController: Sendable {
    let engine: Engine
    let audit: AuditDesk

    func register(on endpoints: Endpoints) {
        let auditors = Access.role(.admin, scope: .auditRead)
        let atPosition = Parameter.query("position", .integer(0), "a log position (default: the head)")
        endpoints.get(
            "/v1/history/shop", "historyShop", "Admins: the shop as of a position: aggregates by kind, when and where",
            access: auditors, parameters: [atPosition], answer: .of(AuditDesk.ShopAt.self)
        ) { request, _ in
            try Responses.json(try audit.shop(at: try self.position(request, "position")))
        }
        endpoints.get(
            "/v1/history/streams/:stream", "historyStream",
            "Admins: one aggregate's state as of a position, the events that built it and which event last changed each field",
            access: auditors, parameters: [atPosition], answer: Self.streamSchema
        ) { request, context in
            guard let stream = context.parameters.get("stream"), AggregateKind(stream: stream) != nil else {
                throw EngineError(.notFound, "no aggregate stream of that name (order-…, goods-…, user-…, cart-…)")
            }
            return try Responses.json(try audit.stream(stream, at: try self.position(request, "position")))
        }
        endpoints.get(
            "/v1/history/carts/:userId", "historyCart",
            "Admins: a customer's cart as of a position, priced with the prices, promotions, budgets and coupon of that moment",
            access: auditors, parameters: [atPosition], answer: .of(CartAt.self)
        ) { request, context in
            guard let owner = context.parameters.get("userId").flatMap(UserId.init) else {
                throw EngineError(.domain(.userNotFound), "no such user")
            }
            return try Responses.json(try audit.cart(of: owner, at: try self.position(request, "position")))
        }
        endpoints.get(
            "/v1/history/changes", "historyChanges", "Admins: the streams added or changed between two positions, with their fields",
            access: auditors,
            parameters: [
                .query("from", .integer(0), "the earlier position (default 0)"),
                .query("to", .integer(0), "the later position (default: the head)"),
            ], answer: Self.changesSchema
        ) { request, _ in
            let from = request.uri.queryParameters.get("from") == nil ? 0 : try self.position(request, "from")
            let to = try self.position(request, "to")
            guard from <= to else { throw Responses.badQuery("from", "must not be after to") }
            return try Responses.json(try audit.changes(from: from, to: to))
        }
    }

    /// A position parameter: the head when absent; a position beyond the head is refused.
    func position(_ request: Request, _ name: String) throws -> UInt64 {
        let head = engine.headPosition
        guard let text = request.uri.queryParameters.get(name) else { return head }
        guard let value = UInt64(text) else { throw Responses.badQuery(name, "must be a log position") }
        guard value <= head else { throw Responses.badQuery(name, "is beyond the log's head (\(head))") }
        return value
    }

    static let streamSchema = Schema.object(
        [
            "stream": .string(), "position": .integer(0, summary: "the position it is shown as of"),
            "version": .integer(0, summary: "the stream's version there (0: it did not exist yet)"),
            "state": Schema(.object, summary: "the aggregate's state as the domain holds it; personal fields hidden"),
            "lastChangedAt": .map(
                .integer(1), summary: "each top-level field of the state: the position of the event that last changed it"),
            "events": .array(.of(AuditDesk.StreamAt.Step.self), summary: "the events that built it, oldest first"),
        ], required: ["events", "lastChangedAt", "position", "state", "stream", "version"])

    static let changesSchema = Schema.object(
        [
            "from": .integer(0), "to": .integer(0),
            "changes": .array(
                .object(
                    [
                        "stream": .string(), "kind": .oneOf(["added", "changed"]), "fromVersion": .integer(0), "toVersion": .integer(0),
                        "fields": .array(.string(), summary: "top-level fields of the state whose values differ"),
                    ], required: ["fields", "fromVersion", "kind", "stream", "toVersion"])),
        ], required: ["changes", "from", "to"])
}
