import ArgumentParser
import CommandAPI
import CommandEngine
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// How the process logs: `--log-level` and `--log-format` on `serve`, or
/// `EMPORIUM_LOG_LEVEL` / `EMPORIUM_LOG_FORMAT` for every command; to
/// standard error, so standard output stays the command's answer.
struct LogOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        /// One line per event: `2026-12-02T10:00:00.123Z info emporium.http: request request.id=… http.status=200 …`.
        case text
        /// One JSON object per line: `{"time","level","logger","message", …metadata with dotted keys}`.
        case json
    }

    @Option(help: "trace, debug, info, notice, warning, error or critical (or EMPORIUM_LOG_LEVEL).")
    var logLevel: String = ProcessInfo.processInfo.environment["EMPORIUM_LOG_LEVEL"] ?? "info"
    @Option(help: "text or json: one JSON object per line (or EMPORIUM_LOG_FORMAT).")
    var logFormat: Format = ProcessInfo.processInfo.environment["EMPORIUM_LOG_FORMAT"].flatMap(Format.init(rawValue:)) ?? .text

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    var setup: LogSetup { LogSetup(level: Logger.Level(rawValue: logLevel) ?? .info, format: logFormat) }
}

/// The logging a process runs with, as `LogOptions` parsed it, or for the tools.
struct LogSetup {
    var level: Logger.Level
    var format: LogOptions.Format

    /// For commands other than `serve`: warnings and worse, unless `EMPORIUM_LOG_LEVEL` / `EMPORIUM_LOG_FORMAT` say otherwise.
    static func forTools() -> LogSetup {
        let environment = ProcessInfo.processInfo.environment
        return LogSetup(
            level: environment["EMPORIUM_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning,
            format: environment["EMPORIUM_LOG_FORMAT"].flatMap(LogOptions.Format.init(rawValue:)) ?? .text)
    }

    /// Sets swift-log's handler for the whole process (once, before anything logs).
    func bootstrap() {
        let level = self.level
        let format = self.format
        LoggingSystem.bootstrap { label in LineLogHandler(label: label, logLevel: level, format: format) }
    }
}

/// A swift-log handler writing one line per event to standard error, built
/// as bytes directly (a request logs one line, so the handler's cost is paid
/// per request): text is `2026-12-02T01:11:51.214Z info emporium.http: request key=value …`,
/// JSON is one object per line with `time`, `level`, `logger`, `message` and
/// every metadata value under its own dotted key. Lines are buffered and
/// written every 50 ms (or at 64 KiB); a warning or worse is written at once,
/// and the buffer is flushed when the process exits.
struct LineLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    let format: LogOptions.Format
    var metadata: Logger.Metadata = [:]

    init(label: String, logLevel: Logger.Level, format: LogOptions.Format) {
        self.label = label
        self.logLevel = logLevel
        self.format = format
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var line: [UInt8] = []
        line.reserveCapacity(320)
        let fields = metadata.isEmpty ? (event.metadata ?? [:]) : metadata.merging(event.metadata ?? [:]) { $1 }
        switch format {
        case .text:
            LogSink.timestamp(into: &line)
            line.append(UInt8(ascii: " "))
            line += event.level.rawValue.utf8
            line.append(UInt8(ascii: " "))
            line += label.utf8
            line += ": ".utf8
            line += event.message.description.utf8
            for key in fields.keys.sorted() {
                line.append(UInt8(ascii: " "))
                line += key.utf8
                line.append(UInt8(ascii: "="))
                line += (fields[key].map { "\($0)" } ?? "").utf8
            }
        case .json:
            line += #"{"time":""#.utf8
            LogSink.timestamp(into: &line)
            line += #"","level":""#.utf8
            line += event.level.rawValue.utf8
            line += #"","logger":"#.utf8
            JSONText.string(label, into: &line)
            line += #","message":"#.utf8
            JSONText.string(event.message.description, into: &line)
            for (key, value) in fields {
                line.append(UInt8(ascii: ","))
                JSONText.string(key, into: &line)
                line.append(UInt8(ascii: ":"))
                Self.json(value, into: &line)
            }
            line.append(UInt8(ascii: "}"))
        }
        line.append(0x0A)
        LogSink.shared.write(line, now: event.level >= .warning)
    }

    static func json(_ value: Logger.Metadata.Value, into line: inout [UInt8]) {
        switch value {
        case .string(let text): JSONText.string(text, into: &line)
        case .stringConvertible(let convertible): JSONText.string(convertible.description, into: &line)
        case .array(let values):
            line.append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { line.append(UInt8(ascii: ",")) }
                json(element, into: &line)
            }
            line.append(UInt8(ascii: "]"))
        case .dictionary(let values):
            line.append(UInt8(ascii: "{"))
            for (index, (key, element)) in values.enumerated() {
                if index > 0 { line.append(UInt8(ascii: ",")) }
                JSONText.string(key, into: &line)
                line.append(UInt8(ascii: ":"))
                json(element, into: &line)
            }
            line.append(UInt8(ascii: "}"))
        }
    }
}

/// Where log lines go: a buffer, written to standard error by a timer every 50 ms, when it passes 64 KiB, at once
/// for a line that asks, and at exit.
final class LogSink: @unchecked Sendable {
    static let shared = LogSink()
    static let flushInterval = DispatchTimeInterval.milliseconds(50)
    static let bufferBytesMax = 64 << 10

    private let lock = NSLock()
    private var buffer: [UInt8] = []
    private let timer: any DispatchSourceTimer

    private init() {
        buffer.reserveCapacity(Self.bufferBytesMax)
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "emporium.log"))
        timer.schedule(deadline: .now() + Self.flushInterval, repeating: Self.flushInterval)
        timer.setEventHandler { LogSink.shared.flush() }
        timer.resume()
        atexit { LogSink.shared.flush() }
    }

    func write(_ line: [UInt8], now: Bool) {
        lock.lock()
        buffer += line
        let full = now || buffer.count >= Self.bufferBytesMax
        lock.unlock()
        if full { flush() }
    }

    func flush() {
        lock.lock()
        defer { lock.unlock() }  // held while writing, so lines keep their order
        guard !buffer.isEmpty else { return }
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { Glibc.write(STDERR_FILENO, $0.baseAddress?.advanced(by: offset), $0.count - offset) }
            guard written > 0 else { break }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// `2026-12-02T01:11:51.214Z`; the part up to the second is formatted once a second.
    static func timestamp(into line: inout [UInt8]) {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        let prefix = secondPrefix(Int(time.tv_sec))
        line += prefix
        let milliseconds = Int(time.tv_nsec) / 1_000_000
        line += [
            UInt8(ascii: "."), UInt8(48 + milliseconds / 100), UInt8(48 + milliseconds / 10 % 10), UInt8(48 + milliseconds % 10),
            UInt8(ascii: "Z"),
        ]
    }

    private static let cachedSecond = Mutex<(second: Int, text: [UInt8])>((-1, []))

    private static func secondPrefix(_ second: Int) -> [UInt8] {
        cachedSecond.withLock { cached in
            if cached.second == second { return cached.text }
            var parts = tm()
            var seconds = time_t(second)
            gmtime_r(&seconds, &parts)
            let text = String(
                format: "%04d-%02d-%02dT%02d:%02d:%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
            cached = (second, Array(text.utf8))
            return cached.text
        }
    }
}
