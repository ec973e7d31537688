import ArgumentParser
import Foundation
import Logging

/// How the process logs: `--log-level` and `--log-format` on `serve`, or
/// `EMPORIUM_LOG_LEVEL` / `EMPORIUM_LOG_FORMAT` for every command; to
/// standard error, so standard output stays the command's answer.
struct LogOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        /// swift-log's own lines: `2026-12-02T10:00:00+0000 info emporium.http : request.id=… [HTTPServer] request`.
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
        return LogSetup(level: environment["EMPORIUM_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning,
                        format: environment["EMPORIUM_LOG_FORMAT"].flatMap(LogOptions.Format.init(rawValue:)) ?? .text)
    }

    /// Sets swift-log's handler for the whole process (once, before anything logs).
    func bootstrap() {
        let level = self.level
        switch format {
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        case .json:
            LoggingSystem.bootstrap { label in JSONLogHandler(label: label, logLevel: level) }
        }
    }
}

/// A swift-log handler writing one JSON object per line to standard error:
/// `time` (ISO-8601, UTC), `level`, `logger` (the label), `message`, then
/// every metadata value under its own (dotted) key.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    private static let output = JSONLineWriter()

    init(label: String, logLevel: Logger.Level) {
        self.label = label
        self.logLevel = logLevel
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var object: [String: Any] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { object[key] = Self.plain(value) }
        object["time"] = Self.timestamp()
        object["level"] = event.level.rawValue
        object["logger"] = label
        object["message"] = event.message.description
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        Self.output.write(data + [0x0A])
    }

    static func plain(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): return text
        case .stringConvertible(let convertible): return convertible.description
        case .array(let values): return values.map(plain)
        case .dictionary(let values): return values.mapValues(plain)
        }
    }

    static func timestamp() -> String {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        var parts = tm()
        var seconds = time_t(time.tv_sec)
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), time.tv_nsec / 1_000_000)
    }
}

/// Whole lines to standard error, one writer at a time (lines never interleave).
final class JSONLineWriter: @unchecked Sendable {
    private let lock = NSLock()

    func write(_ line: Data) {
        lock.lock()
        defer { lock.unlock() }
        FileHandle.standardError.write(line)
    }
}
