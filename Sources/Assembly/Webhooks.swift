import AsyncHTTPClient
import CommandEngine
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// Webhook deliveries over HTTP with AsyncHTTPClient's shared client (connection pooling, TLS, timeouts).
public struct HTTPWebhookTransport: WebhookTransport {
    /// Bytes of an endpoint's answer read (and dropped) so its connection can be reused.
    static let answerBytesMax = 64 << 10

    let logger: Logger

    public init(logger: Logger = Logger(label: "emporium.webhooks", factory: { _ in SwiftLogNoOpLogHandler() })) {
        self.logger = logger
    }

    public func post(url: String, headers: [(String, String)], body: [UInt8], timeout: Duration) async throws -> Int {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let milliseconds = timeout.components.seconds * 1_000 + timeout.components.attoseconds / 1_000_000_000_000_000
        let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(milliseconds))
        do {
            _ = try await response.body.collect(upTo: Self.answerBytesMax)
        } catch {
            // The status is the answer; a body too long or cut short only costs the connection its reuse.
            logger.debug("a webhook endpoint's answer body was not read", metadata: ["url": "\(url)", "error": "\(error)"])
        }
        return Int(response.status.code)
    }
}

/// Webhook delivery as a service of the server's group: every `interval` until the group shuts down. With a lease (a
/// cluster), only the node holding it delivers; another takes over from the checkpoints in the log when it dies.
public struct WebhookService: Service {
    public let dispatcher: WebhookDispatcher
    public let interval: Duration
    public let logger: Logger
    public let lease: (any SingleRunnerLease)?

    public init(dispatcher: WebhookDispatcher, interval: Duration, logger: Logger, lease: (any SingleRunnerLease)? = nil) {
        self.dispatcher = dispatcher
        self.interval = interval
        self.logger = logger
        self.lease = lease
    }

    public func run() async throws {
        let (dispatcher, interval, logger) = (dispatcher, interval, logger)
        try await runHoldingLease(lease, name: "webhook", interval: interval, logger: logger) {
            await dispatcher.run(every: interval, logger: logger)
        }
    }
}
