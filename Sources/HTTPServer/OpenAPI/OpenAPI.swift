import CommandAPI
import CommandEngine
import Commerce
import Foundation
import HTTPTypes
import History

/// The contract, generated from the table the controllers fill as they register their handlers (each with its
/// parameters and its answer's schema), and from the command inputs' own decoding (`CommandContract`), so the document
/// and what is served cannot drift: a test checks every answer the HTTP tests receive against it.
enum OpenAPI {
    static func openAPIPath(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
            .joined(separator: "/")
    }

    /// The shared schemas, by name (`$ref: #/components/schemas/<name>`).
    static let components = [String: Schema](uniqueKeysWithValues: Array(shared) + Array(CommandContract.variants))

    static let shared: [String: Schema] = [
        "Command": CommandContract.commandSchema,
        "CommandAnswer": .object(
            [
                "events": .array(
                    .object(
                        ["position": .integer(1), "stream": .string(), "type": .string(), "version": .integer(1)],
                        required: ["position", "stream", "type", "version"]), summary: "the events the command appended, in order"),
                "replayed": Schema(.boolean, summary: "true when this is a retry's answer (Idempotency-Key): nothing new was appended"),
                "result": CommandResult.answerSchema,
            ], required: ["events", "replayed", "result"]),
        "Error": .object(
            [
                "error": .object(
                    [
                        "code": .oneOf(
                            Set(codesByStatus.values.joined()).sorted(), summary: "stable; the status's codes are listed under it"),
                        "message": .string(summary: "for people; may change"),
                        "details": .map(.string(), summary: "the field at fault (`field`) and other facts, by name"),
                    ], required: ["code", "message"])
            ], required: ["error"]),
        "AuditPage": .object(
            [
                "events": .array(
                    SchemaProbe.answerSchema(of: EventRecord.self).with {
                        $0.properties["data"] = Schema(
                            summary: "the payload, decoded: personal fields hidden unless revealed, secrets redacted")
                    }),
                "next": .integer(0, summary: "pass as after= for the next page; null on the last").orNull,
            ], required: ["events", "next"]),
        "Digest": .object(
            [
                "position": .integer(0, summary: "the head position (0: an empty log)"),
                "hash": .string(summary: "the hash chain's value at the head, hexadecimal"),
                "recordedAt": .string(format: "date-time", summary: "when the head was recorded (absent for an empty log)"),
            ], required: ["position", "hash"]),
    ]

    /// The error codes each status may carry.
    static var codesByStatus: [Int: [String]] {
        Dictionary(grouping: EngineError.Code.all) { Int(RequestMiddleware.status(of: $0.kind).code) }
            .mapValues { Array(Set($0.map(\.description))) }
            .merging(edgeCodes) { Array(Set($0 + $1)) }
    }

    /// The refusals of the HTTP edge itself, before any route (`RequestMiddleware.code(for:)`).
    static var edgeCodes: [Int: [String]] {
        Dictionary(uniqueKeysWithValues: [400, 404, 405, 413].map { ($0, [RequestMiddleware.code(for: HTTPResponse.Status(code: $0))]) })
    }

    static func document(_ routes: [RouteSpec]) -> [UInt8] {
        var paths: [String: Any] = [:]
        let errorStatuses = codesByStatus
        for route in routes {
            var responses: [String: Any] = [
                "200": ["description": "OK"] as [String: Any],
                "default": [
                    "description": "A refusal or failure; `error.code` is stable",
                    "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]],
                ],
            ]
            if let answer = route.answer {
                responses["200"] = ["description": "OK", "content": ["application/json": ["schema": answer.json]]]
            } else if !route.textAnswers.isEmpty {
                responses["200"] = [
                    "description": "OK",
                    "content": Dictionary(uniqueKeysWithValues: route.textAnswers.map { ($0, ["schema": textSchema($0).json]) }),
                ]
            }
            for (status, codes) in errorStatuses.sorted(by: { $0.key < $1.key }) where status != 500 {
                if status == 503, route.answersUnavailableWithItsSchema, let answer = route.answer {
                    responses["503"] = ["description": "unhealthy", "content": ["application/json": ["schema": answer.json]]]
                    continue
                }
                responses[String(status)] = [
                    "description": "error.code one of: " + codes.sorted().joined(separator: ", "),
                    "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]],
                ]
            }
            var operation: [String: Any] = [
                "operationId": route.name, "summary": route.summary, "responses": responses,
            ]
            var parameters = route.path.split(separator: "/").filter { $0.hasPrefix(":") }.map {
                ["name": String($0.dropFirst()), "in": "path", "required": true, "schema": pathSchema(String($0.dropFirst())).json]
                    as [String: Any]
            }
            for parameter in route.parameters + [Parameter.requestId] {
                parameters.append([
                    "name": parameter.name, "in": parameter.location.rawValue, "required": false,
                    "schema": parameter.schema.json, "description": parameter.summary,
                ])
            }
            operation["parameters"] = parameters
            switch route.access {
            case .anyone: break
            case .anyoneNamed: operation["security"] = [[String: [String]](), ["bearer": [String]()], ["apiKey": [String]()]]
            case .signedIn: operation["security"] = [["bearer": [String]()]]
            case let .role(role, scope):
                operation["security"] = [["bearer": [String]()]] + (scope.map { [["apiKey": [$0.rawValue]]] } ?? [])
                operation["x-required-role"] = role.rawValue
            }
            if route.name == "command" {
                operation["requestBody"] = [
                    "required": true,
                    "content": [
                        "application/json": [
                            "schema": ["$ref": "#/components/schemas/Command"],
                            "examples": Dictionary(uniqueKeysWithValues: commandExamples.map { ($0.key, ["value": $0.value]) }),
                        ]
                    ],
                ]
            }
            var item = paths[openAPIPath(route.path)] as? [String: Any] ?? [:]
            item[route.method.rawValue.lowercased()] = operation
            paths[openAPIPath(route.path)] = item
        }
        let document: [String: Any] = [
            "openapi": "3.1.0",
            "info": [
                "title": "Emporium", "version": "1.1.0",
                "description": """
                Event-sourced commerce engine. Every answer follows one rule: integers (positions, versions, counts, \
                amounts) are JSON numbers; money is integer minor units of the shop's one currency, its ISO 4217 code \
                beside it as `currency`; times are integer milliseconds since the Unix epoch (UTC) in fields named `…At`, \
                except the log's own record times, RFC 3339 text with microseconds; ids are lowercase UUID text; a page \
                answers its items and where the next page starts (`next`, a cursor or a position, absent on the last).
                """,
            ],
            "paths": paths,
            "components": [
                "securitySchemes": [
                    "bearer": ["type": "http", "scheme": "bearer", "description": "a login token (Login's answer)"],
                    "apiKey": [
                        "type": "http", "scheme": "bearer", "bearerFormat": "emp_<key id>_<secret>",
                        "description": "an API key an admin issued (IssueApiKey); it acts for its owner, narrowed to its scopes",
                    ],
                ],
                "schemas": components.mapValues(\.json),
            ],
        ]
        do {
            return Array(try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes]))
        } catch {
            preconditionFailure("the contract is plain JSON values: \(error)")
        }
    }

    /// A text answer's schema: a server-sent event is its fields (`id` the position, `event` the type, `data` the event as
    /// JSON text); other text is one string.
    static func textSchema(_ mediaType: String) -> Schema {
        guard mediaType == "text/event-stream" else { return .string() }
        return .object(
            [
                "id": .string(summary: "the event's position: resume with Last-Event-ID"), "event": .string(summary: "the event's type"),
                "data": .string(summary: "the event as JSON: header fields and its payload, personal fields hidden"),
            ], required: ["data", "event", "id"], closed: false)
    }

    /// A path parameter's schema: ids are UUIDs.
    static func pathSchema(_ name: String) -> Schema {
        switch name {
        case "provider": .string(maxLength: 32)
        case "stream": .string(maxLength: 255, summary: "a stream name, e.g. order-<uuid>")
        case "name": .string(summary: "a read model: search, recommendations, analytics or my-pages")
        case "file": .oneOf(ConsoleController.files.keys.sorted(), summary: "one of the console's files")
        default: .string(format: "uuid")
        }
    }

    /// Requests taken from the demo shop (`emporium seed`, or `serve --seed-if-empty`: seed 42), as its customer
    /// alice@demo.emporium would send them, with its ids: `tools/contract.sh` sends each, in the document's order, to a
    /// freshly seeded demo shop and fails unless every one is accepted.
    static var commandExamples: [String: Any] {
        let goods = "019de0d5-c800-717e-997d-9a06fa56bd53"  // Longjing green tea 龙井绿茶, 74.90
        let address = "019de0d5-c800-701b-bdf2-5b150620a835"  // alice's default address, Shanghai
        return [
            "RegisterUser": ["type": "RegisterUser", "data": ["email": "mei@example.com", "password": "correct horse", "name": "韩梅梅"]],
            "Login": ["type": "Login", "data": ["email": "alice@demo.emporium", "password": "demo-password"]],
            "RecordView": ["type": "RecordView", "data": ["goodsId": goods]],
            "AddFavorite": ["type": "AddFavorite", "data": ["goodsId": goods]],
            "AddToCart": ["type": "AddToCart", "data": ["goodsId": goods, "quantity": 2]],
            "ApplyCoupon": ["type": "ApplyCoupon", "data": ["code": "SAVE20"]],
            "PlaceOrder": ["type": "PlaceOrder", "data": ["addressId": address, "pointsToUse": 0]],
        ]
    }
}
