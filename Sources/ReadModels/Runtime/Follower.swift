import Commerce
import EventStore
import Foundation
import LMDB
import Logging
import Synchronization

extension Projector {
    /// Starts folding new events as they are committed, until `stop()` (tests and tools; a server runs `ProjectorService`).
    public func start() {
        let task = Task.detached { [self] in await follow(logger: options.logger) }
        state.withLock { follower = task }
    }

    /// Folds new events as they are committed, until the calling task is
    /// cancelled. A failed batch is logged, the models are reloaded from what
    /// is stored, and folding resumes after a pause that doubles with each
    /// failure in a row (1 s up to `Options.retryPauseMax`): a storage error is
    /// retried, never spun on, and never ends the follower.
    public func follow(logger: Logger) async {
        let clock = ContinuousClock()
        var lastStep = clock.now - options.followIntervalMin
        var lastStore = clock.now
        var pause = Duration.seconds(1)
        while !Task.isCancelled {
            let kicked = wakeups.head
            let lowest = lowestCheckpoint
            do {
                if lowest >= log.headPosition {
                    // Nothing new: enter finished background work and start what was asked for (`kicked` was read
                    // before: a request or a finished training after this wakes the wait below), store what was
                    // folded but not stored yet, then wait for new events (or a rebuild, a request, a training done).
                    try await onWorker {
                        self.absorbBackgroundWork()
                        try self.finishWrite()
                    }
                    lastStore = clock.now
                    await withTaskGroup(of: Void.self) { group in
                        group.addTask { _ = await self.log.waitForHead(after: lowest) }
                        group.addTask { _ = await self.wakeups.wait(after: kicked) }
                        await group.next()
                        group.cancelAll()
                    }
                }
                if Task.isCancelled { break }
                let due = lastStep + options.followIntervalMin
                if clock.now < due {
                    do { try await Task.sleep(until: due, clock: clock) } catch { break }  // cancelled: stopped while waiting for its turn
                }
                lastStep = clock.now
                let head = log.headPosition
                let storing = clock.now - lastStore >= options.storeIntervalMax
                try await onWorker {
                    try self.step(through: head, storing: storing)
                    self.absorbBackgroundWork()
                    if storing { try self.finishWrite() }
                }
                if storing { lastStore = clock.now }
                if state.withLock({ lastFailure != nil }) { logger.notice("read models fold again", metadata: ["log.position": "\(head)"]) }
                state.withLock { lastFailure = nil }
                pause = .seconds(1)
            } catch is ProjectorClosed {
                break  // closed while it was past its last look at cancellation: nothing more to fold
            } catch {
                state.withLock { lastFailure = "\(error)" }
                logger.error(
                    "folding the read models failed; reloading them from storage and retrying",
                    metadata: ["error": "\(error)", "retry.seconds": "\(pause.components.seconds)"])
                do { try await Task.sleep(for: pause) } catch { break }
                pause = min(pause * 2, options.retryPauseMax)
                do {
                    try await onWorker { try self.reload() }
                } catch {
                    logger.error("reloading the read models failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// Lets every serving model that has caught up with the log enter finished background work and start what is
    /// due (see `Projection.caughtUp`); a model that changed is stored with the next store. On the fold's thread.
    func absorbBackgroundWork() {
        let head = log.headPosition
        let caughtUp = state.withLock { live.values.filter { $0.checkpoint >= head } }
        let wakeups = self.wakeups
        for participant in caughtUp {
            let changed = participant.lock.withLock {
                participant.projection.caughtUp(at: participant.checkpoint) { wakeups.publish(wakeups.head + 1) }
            }
            if changed { keepUnstored(participant) }
        }
    }

    /// Asks a serving model to do its background work now, due or not (in the background once it has caught up; see
    /// `Projection.requestBackgroundWork`). False when it has none.
    public func requestBackgroundWork(_ name: String) throws -> Bool {
        guard let participant = state.withLock({ live[name] }) else {
            throw ProjectionError("no projection named \(LogLimits.shown(name))")
        }
        guard participant.lock.withLock({ participant.projection.requestBackgroundWork() }) else { return false }
        wakeups.publish(wakeups.head + 1)
        return true
    }

    /// Does a serving model's background work now, on this thread, due or not, and stores it (the CLI's form).
    public func doBackgroundWork(_ name: String) throws {
        guard let participant = state.withLock({ live[name] }) else {
            throw ProjectionError("no projection named \(LogLimits.shown(name))")
        }
        let changed = participant.lock.withLock {
            participant.projection.finishBackgroundWork(at: participant.checkpoint, force: true)
        }
        if changed { keepUnstored(participant) }
        try finishWrite()
    }

    /// Does the background work due for the serving models named, at once (a CLI rebuild's last step).
    func finishBackgroundWork(_ names: [String]) {
        let participants = state.withLock { names.compactMap { live[$0] } }
        let started = DispatchTime.now().uptimeNanoseconds
        for participant in participants {
            let changed = participant.lock.withLock {
                participant.projection.finishBackgroundWork(at: participant.checkpoint, force: false)
            }
            if changed { keepUnstored(participant) }
        }
        phaseTimes.withLock { $0.background += DispatchTime.now().uptimeNanoseconds - started }
    }

    /// After a failed batch the models in memory may hold events their
    /// checkpoints do not: drop them (and any rebuild) and load the stored ones again.
    func reload() throws {
        unstored.removeAll()  // they may hold part of the batch that failed: fold them again from what is stored
        try? waitForWrite()  // its failure is why we reload
        let types = state.withLock { () -> [any Projection.Type] in
            shadows.removeAll()
            return live.values.map(\.type)
        }
        for type in types { try open(type) }
    }

    public func stop() {
        let task = state.withLock { () -> Task<Void, Never>? in
            defer { follower = nil }
            return follower
        }
        task?.cancel()
    }

    func onWorker<R: Sendable>(_ body: @escaping @Sendable () throws -> R) async throws -> R {
        try await withCheckedThrowingContinuation { continuation in
            worker.async {
                continuation.resume(
                    with: Result {
                        guard !self.closedForWork.load(ordering: .acquiring) else { throw ProjectorClosed() }
                        return try body()
                    })
            }
        }
    }

}
