import EventStore
import Foundation

/// `emporium verify`: the log's own checks (hash chain, gapless positions,
/// contiguous versions, every index), then every domain event decoded and
/// folded with the engine's `evolve`. Personal fields need no keys for this.
public struct ShopVerifier: Sendable {
    public struct Report: Sendable {
        public var log: VerifyReport
        /// Set when the records are sound but an event does not decode.
        public var decodeProblem: String?
        public var aggregates: Int

        public var isHealthy: Bool { log.isHealthy && decodeProblem == nil }
        /// The first problem, in words.
        public var firstProblem: String? { log.firstProblem?.description ?? decodeProblem }
    }

    public let log: EventLog

    public init(log: EventLog) { self.log = log }

    public func verify(progress: ((String, UInt64, UInt64) -> Void)? = nil) throws -> Report {
        let records = try log.verify { checked, total in progress?("verify", UInt64(checked), total) }
        var report = Report(log: records, decodeProblem: nil, aggregates: 0)
        guard records.isHealthy else { return report }
        do {
            let shop = try Replayer(log: log, cipher: nil).shop(through: records.head.position) { progress?("decode", $0, $1) }
            report.aggregates = shop.streams.count
        } catch {
            report.decodeProblem = "\(error)"
        }
        return report
    }
}
