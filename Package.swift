// swift-tools-version:6.2
import PackageDescription

/// Every Emporium target is compiled the same strict way: Swift 6 language mode
/// (complete concurrency checking) and warnings treated as errors.
let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .treatAllWarnings(as: .error),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "emporium",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "emporium", targets: ["emporium"]),
        .executable(name: "emporium-log-bench", targets: ["LogBench"]),
        .executable(name: "emporium-echo", targets: ["EchoServer"]),
        .executable(name: "emporium-history-bench", targets: ["HistoryBench"]),
        .executable(name: "emporium-projection-bench", targets: ["ProjectionBench"]),
        .library(name: "EventStore", targets: ["EventStore"]),
        .library(name: "Commerce", targets: ["Commerce"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        .target(name: "LMDB", dependencies: ["CLMDB"], swiftSettings: strict),
        // libpq's pipeline mode, for the one thing postgres-nio does not do: a connection's next statement on the wire
        // before the one ahead is answered (the log of record's writes).
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .target(
            name: "Commerce",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            // Each state's invariants are checked by the simulation; release builds leave the checks out.
            swiftSettings: strict + [.define("EMPORIUM_INVARIANTS", .when(configuration: .debug))]
        ),
        .target(
            name: "EventCodec",
            dependencies: ["Commerce"],
            swiftSettings: strict
        ),
        .target(
            name: "EventStore",
            dependencies: ["LMDB", .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            name: "PostgresStore",
            dependencies: ["EventStore", "CLibPQ", .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(
            name: "History",
            dependencies: ["EventCodec", "Commerce", "EventStore"],
            swiftSettings: strict
        ),
        .target(
            name: "ReadModels",
            dependencies: ["EventCodec", "Commerce", "EventStore", "LMDB", .product(name: "Logging", package: "swift-log"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            swiftSettings: strict
        ),
        .target(
            name: "CommandEngine",
            dependencies: ["EventCodec", "Commerce", "EventStore", "History", "LMDB", .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "_CryptoExtras", package: "swift-crypto"),
                           .product(name: "Logging", package: "swift-log"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "HeapModule", package: "swift-collections")],
            swiftSettings: strict
        ),
        .target(
            name: "CommandAPI",
            dependencies: ["CommandEngine", "Commerce", "EventStore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .target(
            name: "Assembly",
            dependencies: ["CommandEngine", "Commerce", "EventStore", "History", "PostgresStore", "ReadModels",
                           .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio")],
            swiftSettings: strict
        ),
        .target(
            name: "Fixtures",
            dependencies: ["Assembly", "CommandEngine", "Commerce", "EventStore", "History"],
            swiftSettings: strict
        ),
        .target(
            name: "HTTPServer",
            dependencies: ["CommandAPI", "CommandEngine", "Commerce", "History", "ReadModels", .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "Logging", package: "swift-log"), .product(name: "CoreMetrics", package: "swift-metrics"),
                           .product(name: "Prometheus", package: "swift-prometheus"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            // The console's pages, compiled into the binary (no files to install beside it): `PackageResources.<name>`.
            resources: ["console.html", "console.css", "console.js", "api.js", "events.js", "readmodels.js", "timetravel.js", "orders.js", "goods.js", "reviews.js", "promotions.js", "streams.js", "docs.html", "docs.js", "favicon.svg"].map { .embedInCode("Console/\($0)") },
            swiftSettings: strict
        ),
        .executableTarget(
            name: "emporium",
            dependencies: ["Assembly", "Fixtures", "CommandAPI", "EventCodec", "EventStore", "CommandEngine", "Commerce", "History", "HTTPServer", "LMDB", "PostgresStore", "ReadModels", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Logging", package: "swift-log"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "EchoServer",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird")],
            path: "tools/EchoServer",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "LogBench",
            dependencies: ["EventStore", "PostgresStore", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "tools/LogBench",
            swiftSettings: strict
        ),
        .target(
            name: "BenchSupport",
            dependencies: ["Assembly", "Fixtures", "EventCodec", "EventStore", "CommandEngine", "Commerce", "History"],
            path: "tools/BenchSupport",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "HistoryBench",
            dependencies: ["Fixtures", "EventCodec", "BenchSupport", "EventStore", "CommandEngine", "Commerce", "History", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "tools/HistoryBench",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "ProjectionBench",
            dependencies: ["Fixtures", "EventCodec", "BenchSupport", "EventStore", "CommandEngine", "Commerce", "History", "ReadModels", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "tools/ProjectionBench",
            swiftSettings: strict
        ),
        .testTarget(name: "LMDBTests", dependencies: ["LMDB", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "CommerceTests", dependencies: ["EventCodec", "Commerce"], swiftSettings: strict),
        .testTarget(name: "CommandEngineTests", dependencies: ["Assembly", "ShopTestSupport", "Fixtures", "EventCodec", "CommandEngine", "Commerce", "EventStore", "History", "PostgresStore", "PostgresTestSupport", "ReadModels", "TestSupport", .product(name: "Logging", package: "swift-log")],
                    swiftSettings: strict),
        .testTarget(
            name: "HTTPServerTests",
            dependencies: ["Assembly", "ShopTestSupport", "CommandAPI", "Fixtures", "EventCodec", "HTTPServer", "CommandEngine", "Commerce", "EventStore", "History", "PostgresStore", "PostgresTestSupport", "ReadModels", "TestSupport",
                           .product(name: "HummingbirdTesting", package: "hummingbird"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .target(name: "TestSupport", dependencies: ["EventStore", .product(name: "Logging", package: "swift-log")], path: "Tests/TestSupport", swiftSettings: strict),
        .target(name: "PostgresTestSupport", dependencies: ["PostgresStore", "TestSupport", .product(name: "PostgresNIO", package: "postgres-nio"),
                                                            .product(name: "Logging", package: "swift-log")],
                path: "Tests/PostgresTestSupport", swiftSettings: strict),
        .target(name: "ShopTestSupport", dependencies: ["Assembly", "CommandEngine", "Commerce", "EventStore", "History", "PostgresStore", "ReadModels", "TestSupport"], path: "Tests/ShopTestSupport",
                swiftSettings: strict),
        .testTarget(name: "HistoryTests", dependencies: ["Assembly", "Fixtures", "EventCodec", "History", "CommandEngine", "Commerce", "EventStore", "LMDB", "ShopTestSupport", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "ReadModelsTests", dependencies: ["LMDB", "ShopTestSupport", "Assembly", "Fixtures", "EventCodec", "ReadModels", "History", "CommandEngine", "Commerce", "EventStore", "TestSupport",
                                                            .product(name: "Logging", package: "swift-log")], swiftSettings: strict),
        .testTarget(name: "EventStoreTests", dependencies: ["EventStore", "LMDB", "PostgresStore", "PostgresTestSupport", "TestSupport", .product(name: "PostgresNIO", package: "postgres-nio")], swiftSettings: strict),
    ]
)
