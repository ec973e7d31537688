import Synchronization

/// Publishes a position that only grows (the log's committed head, a projection's checkpoint)
/// and lets readers wait for it to move:
/// subscriptions sleep here instead of polling.
public final class HeadWatch: Sendable {
    private enum Slot {
        /// The id is handed out; the continuation is not registered yet.
        case pending
        /// Cancelled before the continuation was registered.
        case cancelled
        case waiting(after: UInt64, continuation: CheckedContinuation<UInt64, Never>)
    }

    private struct State {
        var head: UInt64
        var closed = false
        var slots: [UInt64: Slot] = [:]
        var nextId: UInt64 = 0
    }

    private let state: Mutex<State>

    public init(head: UInt64) { state = Mutex(State(head: head)) }

    public var head: UInt64 { state.withLock { $0.head } }
    var isClosed: Bool { state.withLock { $0.closed } }

    public func publish(_ head: UInt64) {
        let due = state.withLock { state -> [CheckedContinuation<UInt64, Never>] in
            state.head = max(state.head, head)
            var due: [CheckedContinuation<UInt64, Never>] = []
            for (id, slot) in state.slots {
                if case let .waiting(after, continuation) = slot, after < state.head {
                    due.append(continuation)
                    state.slots[id] = nil
                }
            }
            return due
        }
        for continuation in due { continuation.resume(returning: head) }
    }

    /// Wakes every waiter; later waits return at once.
    public func close() {
        let (all, head) = state.withLock { state -> ([CheckedContinuation<UInt64, Never>], UInt64) in
            state.closed = true
            var all: [CheckedContinuation<UInt64, Never>] = []
            for (id, slot) in state.slots {
                if case let .waiting(_, continuation) = slot {
                    all.append(continuation)
                    state.slots[id] = nil
                }
            }
            return (all, state.head)
        }
        for continuation in all { continuation.resume(returning: head) }
    }

    /// Returns once the head is beyond `after`, the watch is closed, or the task is cancelled.
    public func wait(after: UInt64) async -> UInt64 {
        let id = state.withLock { state -> UInt64 in
            defer { state.nextId += 1 }
            state.slots[state.nextId] = .pending
            return state.nextId
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<UInt64, Never>) in
                let resumeNow: UInt64? = state.withLock { state in
                    if case .cancelled = state.slots[id] { state.slots[id] = nil; return state.head }
                    if state.head > after || state.closed { state.slots[id] = nil; return state.head }
                    state.slots[id] = .waiting(after: after, continuation: continuation)
                    return nil
                }
                if let resumeNow { continuation.resume(returning: resumeNow) }
            }
        } onCancel: {
            let toResume = state.withLock { state -> (CheckedContinuation<UInt64, Never>, UInt64)? in
                switch state.slots[id] {
                case .pending: state.slots[id] = .cancelled; return nil
                case let .waiting(_, continuation): state.slots[id] = nil; return (continuation, state.head)
                case .cancelled, nil: return nil
                }
            }
            if let (continuation, head) = toResume { continuation.resume(returning: head) }
        }
    }
}
