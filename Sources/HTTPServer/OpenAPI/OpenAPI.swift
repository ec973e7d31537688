import CommandEngine
import Commerce
import Foundation
import HTTPTypes

/// The contract, generated from the table the controllers fill as they
/// register their handlers, so the two cannot drift (a test checks both ways).
enum OpenAPI {
    static func openAPIPath(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
            .joined(separator: "/")
    }

    static func document(_ routes: [RouteSpec]) -> [UInt8] {
        var paths: [String: Any] = [:]
        for route in routes {
            var operation: [String: Any] = [
                "operationId": route.name,
                "summary": route.summary,
                "responses": [
                    "200": ["description": "OK"],
                    "default": [
                        "description": "An error", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]],
                    ],
                ],
            ]
            let parameters = route.path.split(separator: "/").filter { $0.hasPrefix(":") }.map {
                ["name": String($0.dropFirst()), "in": "path", "required": true, "schema": ["type": "string"]] as [String: Any]
            }
            if !parameters.isEmpty { operation["parameters"] = parameters }
            switch route.access {
            case .anyone: break
            case .anyoneNamed: operation["security"] = [[String: [String]](), ["bearer": [String]()]]
            case .signedIn: operation["security"] = [["bearer": [String]()]]
            case let .role(role, scope):
                operation["security"] = [["bearer": [String]()]] + (scope.map { [["apiKey": [$0.rawValue]]] } ?? [])
                operation["x-required-role"] = role.rawValue
            }
            if route.name == "command" {
                operation["requestBody"] = [
                    "required": true, "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Command"]]],
                ]
            }
            var item = paths[openAPIPath(route.path)] as? [String: Any] ?? [:]
            item[route.method.rawValue.lowercased()] = operation
            paths[openAPIPath(route.path)] = item
        }
        let document: [String: Any] = [
            "openapi": "3.1.0",
            "info": [
                "title": "Emporium", "version": "1.0.0", "description": "Event-sourced commerce engine. Money is integer minor units.",
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
                "schemas": [
                    "Command": [
                        "type": "object", "required": ["type"],
                        "properties": [
                            "type": ["type": "string", "enum": CommandKind.allCases.map(\.rawValue)], "data": ["type": "object"],
                            "expectedVersion": [
                                "type": "integer", "minimum": 0,
                                "description": "the version the caller saw of the stream the command changes first; a stale one is 409",
                            ],
                        ],
                    ],
                    "Error": [
                        "type": "object",
                        "properties": [
                            "error": [
                                "type": "object",
                                "properties": [
                                    "code": ["type": "string"], "message": ["type": "string"], "details": ["type": "object"],
                                ],
                            ]
                        ],
                    ],
                ],
            ],
        ]
        return Array((try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])) ?? Data())
    }
}
