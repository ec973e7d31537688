import EventStore
import Logging
import ServiceLifecycle

/// The read models' follower as a service of the server's group: it folds
/// until the group shuts down gracefully (or is cancelled); the server then
/// closes the projector, which stores what was folded, before the log closes.
public struct ProjectorService: Service {
    public let projector: Projector
    public let logger: Logger

    public init(projector: Projector, logger: Logger) {
        self.projector = projector
        self.logger = logger
    }

    public func run() async throws {
        logger.info("folding the read models", metadata: ["log.position": "\(projector.log.headPosition)"])
        await cancelWhenGracefulShutdown { await projector.follow(logger: logger) }
        logger.info("stopped folding the read models")
    }
}
