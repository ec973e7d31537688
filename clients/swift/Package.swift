// swift-tools-version:6.2
import PackageDescription

/// The Emporium HTTP API as a typed Swift client, generated at build time by apple/swift-openapi-generator from the
/// document the server serves at `/openapi.json` (a copy in `Sources/EmporiumClient/openapi.json`; the server's test
/// suite fails when the two differ). The journey test drives a real server through it.
let package = Package(
    name: "emporium-client",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "EmporiumClient", targets: ["EmporiumClient"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-openapi-generator", from: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.13.4"),
        .package(url: "https://github.com/apple/swift-openapi-urlsession", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        .target(
            name: "EmporiumClient",
            dependencies: [
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        .testTarget(
            name: "JourneyTests",
            dependencies: [
                "EmporiumClient",
                .product(name: "OpenAPIURLSession", package: "swift-openapi-urlsession"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
