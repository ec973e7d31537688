// swift-tools-version:6.2
import PackageDescription

/// Every Emporium target is compiled the same strict way: Swift 6 language mode
/// (complete concurrency checking) and warnings treated as errors.
let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .treatAllWarnings(as: .error),
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
        .library(name: "EventLog", targets: ["EventLog"]),
        .library(name: "Commerce", targets: ["Commerce"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        .target(name: "LMDB", dependencies: ["CLMDB"], swiftSettings: strict),
        .target(
            name: "Commerce",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "EventLog",
            dependencies: ["LMDB", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .target(
            name: "History",
            dependencies: ["Commerce", "EventLog", "LMDB", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .target(
            name: "Projections",
            dependencies: ["Commerce", "EventLog", "LMDB"],
            swiftSettings: strict
        ),
        .target(
            name: "Engine",
            dependencies: ["Commerce", "EventLog", "History", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .target(
            name: "HTTPServer",
            dependencies: ["Engine", "Commerce", "EventLog", "History", "Projections", .product(name: "Hummingbird", package: "hummingbird")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "emporium",
            dependencies: ["EventLog", "Engine", "Commerce", "History", "HTTPServer", "Projections", .product(name: "ArgumentParser", package: "swift-argument-parser")],
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
            dependencies: ["EventLog", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "tools/LogBench",
            swiftSettings: strict
        ),
        .target(
            name: "BenchSupport",
            dependencies: ["EventLog", "Engine", "Commerce", "History"],
            path: "tools/BenchSupport",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "HistoryBench",
            dependencies: ["BenchSupport", "EventLog", "Engine", "Commerce", "History", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "tools/HistoryBench",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "ProjectionBench",
            dependencies: ["BenchSupport", "EventLog", "Engine", "Commerce", "History", "Projections", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "tools/ProjectionBench",
            swiftSettings: strict
        ),
        .testTarget(name: "LMDBTests", dependencies: ["LMDB", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "CommerceTests", dependencies: ["Commerce"], swiftSettings: strict),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "Commerce", "EventLog", "History", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "HTTPServerTests",
            dependencies: ["HTTPServer", "Engine", "Commerce", "EventLog", "History", "TestSupport", .product(name: "HummingbirdTesting", package: "hummingbird")],
            swiftSettings: strict
        ),
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "HistoryTests", dependencies: ["History", "Engine", "Commerce", "EventLog", "LMDB", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "ProjectionsTests", dependencies: ["Projections", "History", "Engine", "Commerce", "EventLog", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "EventLogTests", dependencies: ["EventLog", "LMDB", "TestSupport"], swiftSettings: strict),
    ]
)
