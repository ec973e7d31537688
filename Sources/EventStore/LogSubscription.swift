/// A catch-up subscription: stored events from a position, then new commits as
/// they land. It sleeps on the head watch between commits (no polling) and
/// ends when the log closes or the task is cancelled.
public struct LogSubscription: AsyncSequence, Sendable {
    public typealias Element = RecordedEvent
    static let pageEvents = 512

    let log: EventLog
    let from: UInt64
    let filter: (@Sendable (RecordedEvent) -> Bool)?

    public func makeAsyncIterator() -> Iterator { Iterator(log: log, next: from, filter: filter) }

    public struct Iterator: AsyncIteratorProtocol {
        let log: EventLog
        var next: UInt64
        let filter: (@Sendable (RecordedEvent) -> Bool)?
        var buffer: [RecordedEvent] = []
        var index = 0

        public mutating func next() async throws -> RecordedEvent? {
            while true {
                while index < buffer.count {
                    let event = buffer[index]
                    index += 1
                    if filter?(event) ?? true { return event }
                }
                if Task.isCancelled || log.headWatch.isClosed { return nil }
                buffer = try log.read(from: next, limit: LogSubscription.pageEvents)
                index = 0
                if let last = buffer.last {
                    next = last.position + 1
                    continue
                }
                _ = await log.headWatch.wait(after: next - 1)
            }
        }
    }
}
