import CommandEngine
import Commerce
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The JSON error body: `{"error": {"code", "message", "details"}}`.
struct ErrorBody: Codable, Sendable {
    struct Detail: Codable, Sendable {
        var code: String
        var message: String
        var details: [String: String]
    }

    var error: Detail
}

/// The one place errors become HTTP answers, and where each request gets its
/// id, its log line and its metrics. Input never causes a 500: an error that is
/// not ours to explain is logged and answered as `internal_error`. Every answer
/// carries the request id (`X-Request-Id`: the client's when it sends a UUID,
/// else a new UUIDv7), which is also the correlation id of the events the
/// request appended.
///
/// The log line (info) names the method, the route's template (never the
/// path's ids or query, which may be a customer's search), the status, the
/// duration, the request id, the caller's id and the error code: nothing a
/// customer typed and nothing personal.
struct RequestMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    static var requestIdHeader: HTTPField.Name { HTTPField.Name("X-Request-Id") ?? .via }

    let logger: Logger
    let metrics: ServerMetrics
    /// What the router serves, for a 405's `Allow`.
    let routes: RouteTable
    /// Where new request ids come from (UUIDv7).
    let ids: any IdSource
    /// On a node of a cluster, whether the log of record answers: while it does not, every read is served from the
    /// node's replica and says how stale it may be (`X-Emporium-Stale-Seconds`).
    let logOfRecord: @Sendable () -> LogOfRecordStatus?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let sentId = request.headers[Self.requestIdHeader]
        let parsedId = sentId.flatMap { UUIDText.parse($0) }
        let requestId = parsedId ?? ids.next()
        var head = request.head
        head.headerFields[Self.requestIdHeader] = UUIDText.format(requestId)
        let request = Request(head: head, body: request.body)
        var response: Response
        var errorCode: String?
        do {
            if sentId != nil, parsedId == nil {
                throw EngineError(.invalidRequestId, "X-Request-Id must be a UUID", details: ["field": "X-Request-Id"])
            }
            try Self.checkQueryDecodes(request.uri.query)
            response = try await next(request, context)
        } catch let error as EngineError {
            errorCode = error.code.description
            response = Self.response(
                Self.status(of: error.kind), code: error.code.description, message: error.message, details: error.details)
            if let retryAfter = Self.retryAfter(error) { response.headers[.retryAfter] = retryAfter }
            if error.kind == .internalFailure {
                logger.error(
                    "request failed", metadata: ["request.id": "\(requestId)", "error.code": "\(error.code)", "error": "\(error.message)"])
            }
        } catch let error as HTTPError {
            let allowed = error.status == .notFound ? routes.methods(servingPath: request.uri.path) : []
            if !allowed.isEmpty, !allowed.contains(request.method) {
                // The router's 404 for a path it serves with other methods.
                let allow = allowed.map(\.rawValue).joined(separator: ", ")
                response = Self.response(
                    .methodNotAllowed, code: Self.code(for: .methodNotAllowed),
                    message: "\(request.method.rawValue) is not served at \(EngineError.shown(request.uri.path)); allowed: \(allow)",
                    details: ["allow": allow])
                response.headers[.allow] = allow
            } else {
                response = Self.response(
                    error.status, code: Self.code(for: error.status), message: error.body ?? error.status.reasonPhrase, details: [:])
            }
            errorCode = Self.code(for: response.status)
        } catch {
            logger.error("unexpected error", metadata: ["request.id": "\(requestId)", "error": "\(error)"])
            errorCode = "internal_error"
            response = Self.response(
                .internalServerError, code: "internal_error", message: "an internal error occurred; request id \(requestId)", details: [:])
        }
        response.headers[Self.requestIdHeader] = UUIDText.format(requestId)
        if request.method == .get || request.method == .head, let stale = logOfRecord()?.unansweredFor {
            response.headers[Self.staleHeader] = Self.seconds(stale)
        }
        let elapsed = ContinuousClock.now - started
        let route = context.endpointPath ?? "NotFound"  // Hummingbird names the not-found responder's path so too
        metrics.request(route: route, method: request.method.rawValue, status: response.status.code, duration: elapsed)
        logger.info(
            "request",
            metadata: [
                "request.id": "\(UUIDText.format(requestId))", "http.method": "\(request.method.rawValue)", "http.route": "\(route)",
                "http.status": "\(response.status.code)", "duration.ms": "\(Self.milliseconds(elapsed))",
                "caller.id": "\(context.facts.callerId)", "error.code": "\(errorCode ?? "")",
            ])
        return response
    }

    static var staleHeader: HTTPField.Name { HTTPField.Name("X-Emporium-Stale-Seconds") ?? .via }

    /// When a refused request may be tried again, in whole seconds: a rate limit's own wait, rounded up; one second for
    /// a log of record failing over or a read model catching up (the client backs off from there); nil for refusals that
    /// the same request will meet again.
    static func retryAfter(_ error: EngineError) -> String? {
        switch error.kind {
        case .overloaded:
            let wait = error.details["retryAfterSeconds"].flatMap(Double.init) ?? 1
            return String(max(1, Int(wait.rounded(.up))))
        case .unavailable: return "1"
        default: return nil
        }
    }

    /// `3.2`: seconds with one decimal.
    static func seconds(_ duration: Duration) -> String {
        let tenths = max(0, duration.nanoseconds / 100_000_000)
        return "\(tenths / 10).\(tenths % 10)"
    }

    /// `12.345`: milliseconds with three decimals, without `String(format:)` (this runs for every request).
    static func milliseconds(_ duration: Duration) -> String {
        let microseconds = max(0, duration.nanoseconds / 1_000)
        let fraction = String(microseconds % 1_000)
        return "\(microseconds / 1_000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// A query parameter that does not percent-decode to UTF-8 (`q=%ff`, or
    /// a broken escape such as `%zz`) is refused: Hummingbird hands the first
    /// on with U+FFFD for each bad byte and the second as written, and a
    /// search for either would answer for something the client did not ask.
    static func checkQueryDecodes(_ query: String?) throws(EngineError) {
        guard let query, query.utf8.contains(UInt8(ascii: "%")) else { return }
        for parameter in query.split(separator: "&") where parameter.removingPercentEncoding == nil {
            let name = parameter.prefix { $0 != "=" }
            throw EngineError(
                .invalidQuery, "\(EngineError.shown(name)) is not percent-encoded UTF-8 text",
                details: ["field": EngineError.shown(name)])
        }
    }

    static func response(_ status: HTTPResponse.Status, code: String, message: String, details: [String: String]) -> Response {
        let body = (try? JSONEncoder().encode(ErrorBody(error: .init(code: code, message: message, details: details)))) ?? Data()
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func code(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 404: return "not_found"
        case 405: return "method_not_allowed"
        case 413: return "body_too_large"
        case 400: return "malformed_request"
        default: return "http_\(status.code)"
        }
    }

    static func status(of kind: EngineError.Kind) -> HTTPResponse.Status {
        switch kind {
        case .invalidInput: return .badRequest
        case .unauthenticated: return .unauthorized
        case .forbidden: return .forbidden
        case .notFound: return .notFound
        case .conflict: return .conflict
        case .rejected: return .unprocessableContent
        case .overloaded: return .tooManyRequests
        case .unavailable: return .serviceUnavailable
        case .internalFailure: return .internalServerError
        }
    }
}

extension Request {
    /// The id `RequestMiddleware` stamped on the request.
    var requestId: UUID {
        headers[RequestMiddleware.requestIdHeader].flatMap { UUIDText.parse($0) } ?? UUID()
    }
}
