import Hummingbird

/// The console (`/console`) and the API reference (`/docs`): plain HTML, CSS and ES modules compiled into the binary,
/// which use only the public API, with the signed-in person's token, like any other client.
struct ConsoleController: Sendable {
    /// The console's files by name, with their media types.
    static let files: [String: (bytes: [UInt8], type: String)] = [
        "console.css": (PackageResources.console_css, "text/css; charset=utf-8"),
        "console.js": (PackageResources.console_js, "text/javascript; charset=utf-8"),
        "api.js": (PackageResources.api_js, "text/javascript; charset=utf-8"),
        "events.js": (PackageResources.events_js, "text/javascript; charset=utf-8"),
        "readmodels.js": (PackageResources.readmodels_js, "text/javascript; charset=utf-8"),
        "timetravel.js": (PackageResources.timetravel_js, "text/javascript; charset=utf-8"),
        "orders.js": (PackageResources.orders_js, "text/javascript; charset=utf-8"),
        "goods.js": (PackageResources.goods_js, "text/javascript; charset=utf-8"),
        "reviews.js": (PackageResources.reviews_js, "text/javascript; charset=utf-8"),
        "promotions.js": (PackageResources.promotions_js, "text/javascript; charset=utf-8"),
        "streams.js": (PackageResources.streams_js, "text/javascript; charset=utf-8"),
        "docs.js": (PackageResources.docs_js, "text/javascript; charset=utf-8"),
        "favicon.svg": (PackageResources.favicon_svg, "image/svg+xml"),
    ]

    func register(on endpoints: Endpoints) {
        endpoints.on(.get, "/console", "console", "The console: sign in, the shop dashboard", access: .anyone, textAnswers: ["text/html"]) {
            _, _ in Self.page(PackageResources.console_html)
        }
        endpoints.on(.get, "/docs", "docs", "This reference, rendered from /openapi.json", access: .anyone, textAnswers: ["text/html"]) {
            _, _ in Self.page(PackageResources.docs_html)
        }
        endpoints.on(
            .get, "/console/:file", "consoleFile", "The console's style, scripts and icon", access: .anyone,
            textAnswers: Set(Self.files.values.map { String($0.type.prefix { $0 != ";" }) }).sorted()
        ) { _, context in
            guard let name = context.parameters.get("file"), let file = Self.files[name] else {
                throw HTTPError(.notFound, message: "the console has no such file")
            }
            return Self.cached(Responses.bytes(file.bytes, contentType: file.type))
        }
    }

    static func page(_ bytes: [UInt8]) -> Response { cached(Responses.bytes(bytes, contentType: "text/html; charset=utf-8")) }

    /// The files change only with the binary: a browser may keep them for a minute, then asks again.
    static func cached(_ response: Response) -> Response {
        var response = response
        response.headers[.cacheControl] = "public, max-age=60"
        return response
    }
}
