import CLibPQ
import Foundation
import NIOCore
import PostgresNIO
import Synchronization

/// One connection to PostgreSQL in libpq's pipeline mode, running one prepared statement: each execution goes on the wire
/// as soon as it is given, behind the ones not answered yet, so PostgreSQL starts the next as soon as the one ahead has
/// committed, with no round trip to the node between them. (postgres-nio sends a connection's next query only once the one
/// before it is answered: with it, PostgreSQL waited for the node between every two of the log's commits, 15% of the
/// writer backend's time, and on a network a round trip per commit with the log head held.)
///
/// libpq is run by a thread of the connection's own, which nothing else touches it from; executions are sent in the order
/// they are given and answered in that order, each with its rows (binary cells) or why not. Each is its own transaction
/// (a Sync after it), so one PostgreSQL refuses leaves the others as they were. No answer within `answerTimeout`, or a lost
/// link, ends the connection and fails every execution not answered yet.
final class PipelinedConnection: Sendable {
    typealias Rows = [[ByteBuffer?]]

    /// PostgreSQL refused the statement (an error it answered); the connection takes the next one.
    struct Refused: Error, CustomStringConvertible {
        let sqlState: String
        let message: String
        var description: String { "PostgreSQL refused the write (\(sqlState)): \(message)" }
    }

    /// The connection is gone: closed, lost, or not answered in time.
    struct Lost: Error, CustomStringConvertible {
        let reason: String
        var description: String { "the writer connection to PostgreSQL is gone: \(reason)" }
    }

    /// An execution's answer, set once by the connection's thread.
    final class Reply: Sendable {
        private struct State {
            var outcome: Result<Rows, any Error>?
            var waiter: CheckedContinuation<Rows, any Error>?
            var onAnswer: (@Sendable () -> Void)?
        }

        private let state = Mutex(State())

        fileprivate func set(_ outcome: Result<Rows, any Error>) {
            let (waiter, onAnswer) = state.withLock { state -> (CheckedContinuation<Rows, any Error>?, (@Sendable () -> Void)?) in
                guard state.outcome == nil else { return (nil, nil) }
                state.outcome = outcome
                defer { (state.waiter, state.onAnswer) = (nil, nil) }
                return (state.waiter, state.onAnswer)
            }
            waiter?.resume(with: outcome)
            onAnswer?()
        }

        /// Calls `body` once the answer is in (at once when it is already), on the connection's thread: it must be quick.
        func whenAnswered(_ body: @escaping @Sendable () -> Void) {
            let answered = state.withLock { state in
                if state.outcome == nil { state.onAnswer = body }
                return state.outcome != nil
            }
            if answered { body() }
        }

        func get() async throws -> Rows {
            try await withCheckedThrowingContinuation { continuation in
                let outcome = state.withLock { state in
                    if state.outcome == nil { state.waiter = continuation }
                    return state.outcome
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        }
    }

    /// An execution's parameters, packed end to end (libpq copies them as it sends).
    private struct Request: Sendable {
        let bytes: [UInt8]
        let offsets: [Int]
        let lengths: [Int32]
        let formats: [Int32]
        let isNull: [Bool]
        let reply: Reply
    }

    private struct State {
        var queued: [Request] = []
        var closing = false
        /// The wake pipe is closed: nothing may write to its descriptor again (its number may be another file's by then).
        var ended = false
    }

    private let state = Mutex(State())
    private let closed = Atomic<Bool>(false)
    /// Written to wake the thread (a request queued, or closing); read by it.
    private let wake: (read: Int32, write: Int32)
    private static let statementName = "emporium_write"
    private static let longestSleepMilliseconds: Int32 = 50

    var isClosed: Bool { closed.load(ordering: .acquiring) }

    private init(wake: (read: Int32, write: Int32)) { self.wake = wake }

    /// Connects (within `answerTimeout`, at least libpq's 2 s), sets `settings` for the session, prepares `statement` and
    /// starts the connection's thread.
    static func connect(
        _ endpoint: PostgresEndpoint, settings: [(String, String)], statement: String, answerTimeout: Duration
    ) async throws -> PipelinedConnection {
        var pipe = [Int32](repeating: -1, count: 2)
        guard Glibc.pipe(&pipe) == 0 else { throw Lost(reason: "no pipe: errno \(errno)") }
        for fd in pipe {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)  // not handed to processes this one starts (a test starts PostgreSQL, the CLI)
        }
        let connection = PipelinedConnection(wake: (pipe[0], pipe[1]))
        let options = settings.map { "-c \($0.0)=\($0.1)" }.joined(separator: " ")
        var keywords = [
            ("host", endpoint.host), ("port", String(endpoint.port)), ("user", endpoint.user), ("dbname", endpoint.database),
            ("sslmode", "disable"), ("gssencmode", "disable"), ("connect_timeout", String(max(2, answerTimeout.components.seconds))),
            ("options", options),
            ("application_name", "emporium-writer"),
        ]
        if let password = endpoint.password { keywords.append(("password", password)) }
        let parameters = keywords
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                guard let pq = Self.open(parameters, statement: statement, continuation: continuation) else {
                    connection.closeDescriptors()
                    return
                }
                continuation.resume(returning: connection)
                connection.run(pq, answerTimeout: answerTimeout)
            }
            thread.name = "emporium-writer"
            thread.start()
        }
    }

    /// Connects and prepares on the calling thread (the connection's own); nil (and the continuation resumed with why) when
    /// that fails.
    private static func open(
        _ parameters: [(String, String)], statement: String, continuation: CheckedContinuation<PipelinedConnection, any Error>
    ) -> OpaquePointer? {
        let keys = parameters.map { strdup($0.0) } + [nil]
        let values = parameters.map { strdup($0.1) } + [nil]
        defer { for pointer in keys + values { free(pointer) } }
        let pq = keys.map { UnsafePointer($0) }.withUnsafeBufferPointer { keys in
            values.map { UnsafePointer($0) }.withUnsafeBufferPointer { values in
                PQconnectdbParams(keys.baseAddress, values.baseAddress, 0)
            }
        }
        func failed(_ what: String) -> OpaquePointer? {
            let message = pq.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
            PQfinish(pq)
            continuation.resume(throwing: Lost(reason: "\(what): \(message.trimmingCharacters(in: .whitespacesAndNewlines))"))
            return nil
        }
        guard let pq, PQstatus(pq) == CONNECTION_OK else { return failed("connecting") }
        let prepared = PQprepare(pq, statementName, statement, 0, nil)
        defer { PQclear(prepared) }
        guard PQresultStatus(prepared) == PGRES_COMMAND_OK else { return failed("preparing the write") }
        guard PQenterPipelineMode(pq) == 1, PQsetnonblocking(pq, 1) == 0 else { return failed("entering pipeline mode") }
        return pq
    }

    /// Sends the prepared statement with `binds` behind every execution given before (in that order on the wire).
    func execute(_ binds: [PostgresData]) -> Reply {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(binds.reduce(0) { $0 + ($1.value?.readableBytes ?? 0) })
        var offsets: [Int] = []
        var lengths: [Int32] = []
        var isNull: [Bool] = []
        for bind in binds {
            offsets.append(bytes.count)
            lengths.append(Int32(bind.value?.readableBytes ?? 0))
            isNull.append(bind.value == nil)
            if let value = bind.value { bytes.append(contentsOf: value.readableBytesView) }
        }
        let reply = Reply()
        let request = Request(
            bytes: bytes, offsets: offsets, lengths: lengths, formats: binds.map { $0.formatCode == .binary ? 1 : 0 }, isNull: isNull,
            reply: reply)
        let accepted = state.withLock { state in
            guard !state.closing else { return false }
            state.queued.append(request)
            signal(state)
            return true
        }
        if !accepted { reply.set(.failure(Lost(reason: "closed"))) }
        return reply
    }

    /// Ends the connection: every execution not answered fails.
    func close() {
        state.withLock { state in
            state.closing = true
            signal(state)
        }
    }

    /// Wakes the thread; under the state's lock, so never after the pipe is closed.
    private func signal(_ state: State) {
        guard !state.ended else { return }
        var byte: UInt8 = 1
        _ = Glibc.write(wake.write, &byte, 1)  // a full pipe already wakes the thread
    }

    private func closeDescriptors() {
        closed.store(true, ordering: .releasing)
        state.withLock { state in
            state.closing = true
            state.ended = true
            Glibc.close(wake.read)
            Glibc.close(wake.write)
        }
    }

    /// What the oldest execution in flight waits for next: its result, the end of its results, then its Sync.
    private enum Phase {
        case result, end, sync
    }

    /// The connection's thread: sends what is queued, reads what comes, answers in order, until closed or lost.
    private func run(_ pq: OpaquePointer, answerTimeout: Duration) {
        var inFlight: [(reply: Reply, sentAt: ContinuousClock.Instant)] = []
        var phase = Phase.result
        var answer: Result<Rows, any Error> = .success([])
        var flushing = false
        var lost: Lost?

        /// Takes every answer that has come; false when the connection broke the protocol.
        func drain() -> Bool {
            while !inFlight.isEmpty, PQisBusy(pq) == 0 {
                let result = PQgetResult(pq)
                switch phase {
                case .result:
                    guard let result else {
                        phase = .sync
                        continue
                    }
                    answer = Self.answer(result)
                    PQclear(result)
                    phase = .end
                case .end:
                    if let result {
                        PQclear(result)  // a further result of the same statement: none is expected
                        continue
                    }
                    phase = .sync
                case .sync:
                    guard let result else { return false }
                    defer { PQclear(result) }
                    guard PQresultStatus(result) == PGRES_PIPELINE_SYNC else { return false }
                    inFlight.removeFirst().reply.set(answer)
                    answer = .success([])
                    phase = .result
                }
            }
            return true
        }

        running: while true {
            let (requests, closing) = state.withLock { state in
                defer { state.queued.removeAll() }
                return (state.queued, state.closing)
            }
            if closing {
                lost = Lost(reason: "closed")
                for request in requests { request.reply.set(.failure(Lost(reason: "closed"))) }
                break running
            }
            for request in requests {
                guard Self.send(request, on: pq) else {
                    lost = Lost(reason: "sending: \(String(cString: PQerrorMessage(pq)))")
                    request.reply.set(.failure(lost ?? Lost(reason: "sending")))
                    break running
                }
                inFlight.append((request.reply, .now))
            }
            if !requests.isEmpty || flushing {
                let flushed = PQflush(pq)
                guard flushed >= 0 else {
                    lost = Lost(reason: "sending: \(String(cString: PQerrorMessage(pq)))")
                    break running
                }
                flushing = flushed == 1
            }
            guard PQconsumeInput(pq) == 1, drain() else {
                lost = Lost(reason: "reading: \(String(cString: PQerrorMessage(pq)).trimmingCharacters(in: .whitespacesAndNewlines))")
                break running
            }
            // Never asleep for long: a wake that went missing costs at most this much, not the writes waiting for it.
            var timeout = Self.longestSleepMilliseconds
            if let oldest = inFlight.first {
                let left = oldest.sentAt + answerTimeout - .now
                guard left > .zero else {
                    lost = Lost(reason: "no answer within \(answerTimeout)")
                    break running
                }
                timeout = min(
                    timeout, Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1))
            }
            var descriptors = [
                pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0),
                pollfd(fd: PQsocket(pq), events: Int16(POLLIN) | (flushing ? Int16(POLLOUT) : 0), revents: 0),
            ]
            _ = poll(&descriptors, 2, timeout)
            if descriptors[0].revents & Int16(POLLIN) != 0 {
                var sink = [UInt8](repeating: 0, count: 256)
                _ = Glibc.read(wake.read, &sink, sink.count)  // once: poll said it would not block
            }
        }
        // Closed or lost: the connection is not used again; whatever was given it and not answered fails.
        closed.store(true, ordering: .releasing)
        let failure = lost ?? Lost(reason: "closed")
        for (reply, _) in inFlight { reply.set(.failure(failure)) }
        let left = state.withLock { state in
            state.closing = true
            defer { state.queued.removeAll() }
            return state.queued
        }
        for request in left { request.reply.set(.failure(failure)) }
        PQfinish(pq)
        closeDescriptors()
    }

    private static func send(_ request: Request, on pq: OpaquePointer) -> Bool {
        request.bytes.withUnsafeBufferPointer { bytes in
            let base = bytes.baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(bitPattern: 1)
            let values: [UnsafePointer<CChar>?] = request.offsets.indices.map { index in
                request.isNull[index] ? nil : base.map { ($0 + request.offsets[index]).assumingMemoryBound(to: CChar.self) }
            }
            return values.withUnsafeBufferPointer { values in
                PQsendQueryPrepared(
                    pq, statementName, Int32(request.offsets.count), values.baseAddress, request.lengths, request.formats, 1) == 1
                    && PQpipelineSync(pq) == 1
            }
        }
    }

    /// A statement's result: its rows, cell by cell as PostgreSQL sent them (binary), or why it was refused.
    private static func answer(_ result: OpaquePointer) -> Result<Rows, any Error> {
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
            let columns = PQnfields(result)
            return .success(
                (0..<PQntuples(result)).map { row in
                    (0..<columns).map { column in
                        guard PQgetisnull(result, row, column) == 0, let value = PQgetvalue(result, row, column) else { return nil }
                        return ByteBuffer(bytes: UnsafeRawBufferPointer(start: value, count: Int(PQgetlength(result, row, column))))
                    }
                })
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? ""
            let message = String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines)
            return .failure(Refused(sqlState: state, message: message))
        }
    }
}
