import Dispatch
import Synchronization

/// The hand-off between appending tasks and the writer thread.
///
/// `ready` holds at most `LogLimits.queuedEventsMax` events (one append larger
/// than that is admitted alone). Appends beyond it wait in `admission`, in
/// arrival order, with their callers suspended: back-pressure instead of an
/// ever-growing batch.
final class AppendQueue: Sendable {
    struct Pending: Sendable {
        let appends: [StreamAppend]
        /// Records of the log of record to copy, at their own positions (a replica's work; `appends` is empty then).
        var copies: [RecordedEvent] = []
        /// Copies that may arrive ahead of the replica (a node's own commit, before the copier has the records before it):
        /// skipped then, for the copier to bring in order.
        var copiesMayBeAhead = false
        let eventCount: Int
        let continuation: CheckedContinuation<AppendResult, any Error>
    }

    private struct State {
        var ready: [Pending] = []
        var readyEvents = 0
        var admission: [Pending] = []
        var admissionHead = 0
        var closed = false
    }

    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    let capacityEvents: Int

    init(capacityEvents: Int = LogLimits.queuedEventsMax) {
        self.capacityEvents = capacityEvents
    }

    func submit(_ pending: Pending) {
        let accepted = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            if state.admission.count == state.admissionHead,
                state.ready.isEmpty || state.readyEvents + pending.eventCount <= capacityEvents
            {
                state.ready.append(pending)
                state.readyEvents += pending.eventCount
            } else {
                state.admission.append(pending)
            }
            return true
        }
        if accepted { wake.signal() } else { pending.continuation.resume(throwing: EventLogError.closed) }
    }

    /// Blocks the writer thread until appends are ready; returns nil once closed and drained.
    /// A batch holds at most `maxEvents` events (or one larger append).
    func nextBatch(maxEvents: Int) -> [Pending]? {
        while true {
            let batch = state.withLock { state -> [Pending]? in
                if state.ready.isEmpty {
                    return state.closed && state.admission.count == state.admissionHead ? nil : []
                }
                return Self.take(&state, maxEvents: maxEvents, allowOversized: true, capacity: capacityEvents)
            }
            guard let batch else { return nil }
            if !batch.isEmpty { return batch }
            wake.wait()
        }
    }

    /// What arrived while the writer was busy, without waiting: the writer adds
    /// it to the transaction it is about to commit, so it shares that fsync.
    func takeMore(maxEvents: Int) -> [Pending] {
        guard maxEvents > 0 else { return [] }
        return state.withLock { state in
            Self.take(&state, maxEvents: maxEvents, allowOversized: false, capacity: capacityEvents)
        }
    }

    private static func take(_ state: inout State, maxEvents: Int, allowOversized: Bool, capacity: Int) -> [Pending] {
        var taken = 0
        var count = 0
        while count < state.ready.count,
            taken + state.ready[count].eventCount <= maxEvents || (allowOversized && count == 0)
        {
            taken += state.ready[count].eventCount
            count += 1
        }
        guard count > 0 else { return [] }
        let batch = Array(state.ready.prefix(count))
        state.ready.removeFirst(count)
        state.readyEvents -= taken
        admit(&state, capacity: capacity)
        return batch
    }

    private static func admit(_ state: inout State, capacity: Int) {
        while state.admissionHead < state.admission.count {
            let next = state.admission[state.admissionHead]
            guard state.ready.isEmpty || state.readyEvents + next.eventCount <= capacity else { break }
            state.ready.append(next)
            state.readyEvents += next.eventCount
            state.admissionHead += 1
        }
        if state.admissionHead == state.admission.count {
            state.admission.removeAll(keepingCapacity: true)
            state.admissionHead = 0
        }
    }

    /// Refuses new appends; those already queued are still written.
    func close() {
        state.withLock { $0.closed = true }
        wake.signal()
    }
}
