import Foundation
import HTTPTypes
import OpenAPIRuntime

/// Signs each request with a login token (Login's `result.token`) or an API key (`emp_<key id>_<secret>`), as the
/// document's `bearer` and `apiKey` security schemes ask; `nil` sends the request anonymously.
public struct BearerAuthentication: ClientMiddleware {
    public let token: String?

    public init(token: String?) { self.token = token }

    public func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        if let token { request.headerFields[.authorization] = "Bearer \(token)" }
        return try await next(request, body, baseURL)
    }
}
