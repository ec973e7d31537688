import Foundation
import Logging
import Synchronization

/// A fresh path, named after `label`, under one directory per test run that is removed when the run
/// exits (runs used to leave thousands of data directories in /tmp).
public func temporaryDirectory(_ label: String = #function) -> String {
    URL(fileURLWithPath: testRunDirectory)
        .appendingPathComponent("\(label.filter { $0.isLetter || $0 == "-" }.prefix(40))-\(UUID().uuidString)").path
}

private let testRunDirectory: String = {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("emporium-tests-\(UUID().uuidString)").path
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(atPath: testRunDirectory) }
    return path
}()

/// `body`'s result, computed on a thread of its own: long synchronous work (waiting for a child process, folding and
/// rebuilding read models) must not hold one of the few threads Swift's concurrency runs every test's tasks on. Three
/// crash tests doing it at once stalled every other test of the suite for 39 s.
public func offThePool<R: Sendable>(_ body: @escaping @Sendable () throws -> R) async throws -> R {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on now, below the range Linux hands local ports out from for outgoing
/// connections (`ip_local_port_range`, 32768–60999 by default), so that none of the suite's own connections takes it
/// between this check and the server binding it. A random one in 20000–60000 was taken, once, by such a connection; so
/// was one the kernel handed out (from that same range) while its server seeded a shop for ten seconds under CI's load.
public func freePort() throws -> Int {
    let outgoingFrom = localPortRangeStart() ?? 32_768
    guard outgoingFrom > 10_000 else { return try bindable(0) }  // no room below it: as the kernel hands one out
    for _ in 0..<100 {
        let candidate = Int.random(in: 10_000..<outgoingFrom)
        if let port = try? bindable(candidate) { return port }
    }
    throw POSIXError(.EADDRINUSE)
}

/// Where Linux begins handing out local ports for outgoing connections (nil if it cannot be read).
public func localPortRangeStart() -> Int? {
    guard let range = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8) else { return nil }
    return range.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) }
}

/// `port` (0: one the kernel picks) if a socket can be bound to it on 127.0.0.1 now; the socket is closed again.
private func bindable(_ port: Int) throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
        }
    }
    guard bound else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EADDRINUSE) }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// The `emporium` binary built next to the test bundle (tests that drive the CLI or crash a child process).
public func emporiumExecutable() throws -> URL {
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = directory.appendingPathComponent("emporium")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        directory.deleteLastPathComponent()
    }
    throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "emporium next to \(CommandLine.arguments[0])"])
}

/// Runs the `emporium` binary to its end: its exit status, standard output and standard error
/// (each read to a file, so neither pipe can fill and stall the child). `input` is its standard input; a child still
/// running after `killedAfter` is killed (a server that should have stopped on its own).
public func runEmporium(
    _ arguments: [String], input: String? = nil, killedAfter limit: Duration? = nil
) async throws -> (status: Int32, output: String, error: String) {
    let process = ChildProcess()
    process.executableURL = try emporiumExecutable()
    process.arguments = arguments
    let output = temporaryDirectory("cli-out")
    let error = temporaryDirectory("cli-err")
    for path in [output, error] where !FileManager.default.createFile(atPath: path, contents: nil) {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
    }
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: error))
    let stdin = Pipe()
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try stdin.fileHandleForWriting.close()
    let killer = limit.map { limit in
        let item = DispatchWorkItem { [pid = process.processIdentifier] in _ = kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(limit / .milliseconds(1))), execute: item)
        return item
    }
    process.waitUntilExit()
    killer?.cancel()
    func read(_ path: String) throws -> String { String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self) }
    return (process.terminationStatus, try read(output), try read(error))
}

/// A logger whose lines a test reads back: `Logger(label:factory:)` with `capture.handler`, then `capture.lines`.
public final class LogCapture: Sendable {
    private let records = Mutex<[String]>([])

    public init() {}

    /// Every line logged, as `level message key=value …` (metadata sorted by key).
    public var lines: [String] { records.withLock { $0 } }

    public func logger(_ label: String = "test", level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { _ in Handler(capture: self) }
        logger.logLevel = level
        return logger
    }

    fileprivate func append(_ line: String) { records.withLock { $0.append(line) } }

    struct Handler: LogHandler {
        let capture: LogCapture
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.append(
                ([event.level.rawValue, event.message.description] + all.keys.sorted().map { "\($0)=\(all[$0].map { "\($0)" } ?? "")" })
                    .joined(separator: " "))
        }
    }
}
