import Foundation
import PostgresStore
import Synchronization

/// A TCP link between a node and PostgreSQL, on 127.0.0.1, that a test can cut: while it is cut, bytes either way
/// are held (as a network that drops packets holds a TCP stream: nothing arrives, nothing fails) and new
/// connections are accepted but not carried through; when it is restored, what was held flows on. A node behind a cut
/// link meets what a network partition does to it, without touching the machine's network.
public final class TestLink: Sendable {
    public let port: Int
    private let target: Int
    private let listener: Int32
    private let state = Mutex(State())

    private struct State {
        var cut = false
        /// Cut both ways once a request holding these bytes has gone through.
        var cutAfter: [UInt8]?
        /// Requests holding these bytes are held this long before they go on, while `count` is above zero.
        var delayed: (marker: [UInt8], count: Int, microseconds: UInt32)?
        var sockets: [Int32] = []
        var closed = false
    }

    /// A link to `target` (a port on 127.0.0.1), listening on a free port of its own.
    public init(to target: Int) throws {
        self.target = target
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard listener >= 0, bound == 0, listen(listener, 64) == 0 else {
            throw TestPostgres.Unavailable(description: "TestLink: cannot listen")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// `endpoint` reached through this link.
    public func carrying(_ endpoint: PostgresEndpoint) -> PostgresEndpoint {
        PostgresEndpoint(host: "127.0.0.1", port: port, user: endpoint.user, password: endpoint.password, database: endpoint.database)
    }

    public func cut() { state.withLock { $0.cut = true } }

    /// Cuts the link both ways once a request holding `marker` has reached PostgreSQL: the request is served, its answer
    /// is lost (a commit made just before the network, or the primary, went away).
    public func cut(afterRequestContaining marker: String) { state.withLock { $0.cutAfter = Array(marker.utf8) } }

    /// Holds the next `count` requests holding `marker` for `delay` before they reach PostgreSQL (a node slow between two
    /// statements of a transaction, as seen from PostgreSQL: idle in the transaction).
    public func delay(next count: Int, requestsContaining marker: String, by delay: Duration) {
        state.withLock {
            $0.delayed = (
                Array(marker.utf8), count, UInt32(delay.components.seconds * 1_000_000 + delay.components.attoseconds / 1_000_000_000_000)
            )
        }
    }

    public func restore() {
        state.withLock {
            $0.cut = false
            $0.cutAfter = nil
        }
    }

    /// Closes every connection and stops listening.
    public func close() {
        let sockets = state.withLock { state in
            state.closed = true
            return state.sockets + [listener]
        }
        for socket in sockets { shutdown(socket, Int32(SHUT_RDWR)) }
    }

    deinit { close() }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private var isClosed: Bool { state.withLock { $0.closed } }

    /// Waits while the link is cut; false once it is closed.
    private func waitUntilFlowing() -> Bool {
        while true {
            let (cut, closed) = state.withLock { ($0.cut, $0.closed) }
            if closed { return false }
            if !cut { return true }
            usleep(5_000)
        }
    }

    /// How long to hold `request` (microseconds), counting it off the delay armed for it.
    private func delayIfArmed(for request: [UInt8]) -> UInt32 {
        state.withLock { state in
            guard let delayed = state.delayed, delayed.count > 0, request.firstRange(of: delayed.marker) != nil else { return 0 }
            state.delayed?.count -= 1
            return delayed.microseconds
        }
    }

    private func cutIfArmed(by request: [UInt8]) {
        state.withLock { state in
            guard let marker = state.cutAfter, request.firstRange(of: marker) != nil else { return }
            state.cut = true
            state.cutAfter = nil
        }
    }

    private func acceptLoop() {
        while !isClosed {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            state.withLock { $0.sockets.append(client) }
            Thread.detachNewThread { [self] in carry(client) }
        }
    }

    private func carry(_ client: Int32) {
        guard waitUntilFlowing() else { return }
        let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = Self.loopback(port: UInt16(target))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            shutdown(client, Int32(SHUT_RDWR))
            return
        }
        state.withLock { $0.sockets.append(server) }
        Thread.detachNewThread { [self] in pump(from: client, to: server, toServer: true) }
        pump(from: server, to: client, toServer: false)
    }

    private func pump(from source: Int32, to destination: Int32, toServer: Bool) {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var previous: [UInt8] = []  // the end of the last read: a marker may straddle two reads
        while true {
            let count = read(source, &buffer, buffer.count)
            guard count > 0, waitUntilFlowing() else { break }
            // Armed before the request is sent on, so its answer cannot slip through ahead of the cut.
            if toServer {
                cutIfArmed(by: previous + buffer[..<count])
                let held = delayIfArmed(for: Array(buffer[..<count]))
                if held > 0 { usleep(held) }
                previous = Array(buffer[..<count].suffix(256))
            }
            var sent = 0
            while sent < count {
                let written = buffer[sent..<count].withUnsafeBytes { write(destination, $0.baseAddress, count - sent) }
                guard written > 0 else { break }
                sent += written
            }
        }
        shutdown(source, Int32(SHUT_RDWR))
        shutdown(destination, Int32(SHUT_RDWR))
    }
}
