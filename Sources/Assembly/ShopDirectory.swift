import CommandEngine
import EventStore
import Foundation
import Logging
import ReadModels

/// A shop's data directory: the one place that knows its layout
/// (`log/`, `keys/`, `snapshots/`, `projections/`) and opens its parts.
public struct ShopDirectory: Sendable {
    public let path: String

    public init(_ path: String) { self.path = path }

    public var logPath: String { path + "/log" }
    public var keysPath: String { path + "/keys" }
    public var snapshotsPath: String { path + "/snapshots" }
    public var projectionsPath: String { path + "/projections" }

    /// Whether a log was ever written here.
    public var holdsLog: Bool { FileManager.default.fileExists(atPath: logPath + "/data.mdb") }

    /// The event log. Read-only, it must exist already.
    public func openLog(_ options: EventLog.Options = EventLog.Options()) throws(ShopOpenError) -> EventLog {
        if options.readOnly, !holdsLog { throw ShopOpenError(.missing, "no event log in \(path) (expected \(logPath)/data.mdb)") }
        do {
            return try EventLog(directory: logPath, options: options)
        } catch {
            throw ShopOpenError(.unopenable, "cannot open the event log in \(logPath): \(error)")
        }
    }

    /// The per-user keys of personal data. Read-only, they must exist already.
    public func openVault(
        readOnly: Bool = false, randomBytes: @escaping @Sendable (Int) -> [UInt8] = KeyVault.systemRandomBytes
    )
        throws(ShopOpenError) -> KeyVault
    {
        if readOnly, !FileManager.default.fileExists(atPath: keysPath + "/data.mdb") {
            throw ShopOpenError(.missing, "no key vault in \(path) (expected \(keysPath)/data.mdb)")
        }
        do {
            return try KeyVault(directory: keysPath, readOnly: readOnly, randomBytes: randomBytes)
        } catch {
            throw ShopOpenError(.unopenable, "cannot open the key vault in \(keysPath): \(error)")
        }
    }

    /// Aggregate snapshots, a cache the engine may rebuild: nil when read-only and there are none.
    public func openSnapshots(
        readOnly: Bool = false, interval: UInt64 = SnapshotStore.defaultInterval
    ) throws(ShopOpenError) -> SnapshotStore? {
        if readOnly, !FileManager.default.fileExists(atPath: snapshotsPath + "/data.mdb") { return nil }
        do {
            return try SnapshotStore(directory: snapshotsPath, interval: interval, readOnly: readOnly)
        } catch {
            throw ShopOpenError(.unopenable, "cannot open the snapshots in \(snapshotsPath): \(error)")
        }
    }

    /// The read models, loaded from disk (not yet caught up).
    public func openProjector(log: EventLog, options: Projector.Options = Projector.Options()) throws(ShopOpenError) -> Projector {
        do {
            return try Projector(directory: projectionsPath, log: log, options: options)
        } catch {
            throw ShopOpenError(.unopenable, "cannot open the read models in \(projectionsPath): \(error)")
        }
    }
}

/// Why a part of a shop could not be opened, in one sentence.
public struct ShopOpenError: Error, CustomStringConvertible {
    public enum Reason: Sendable {
        /// Asked to read what was never written.
        case missing
        /// There, but not openable (permissions, a damaged or foreign file, another process).
        case unopenable
        /// The engine refused the parts it was given (its error says why).
        case refused(EngineError)
    }

    public let reason: Reason
    public let description: String

    public init(_ reason: Reason, _ description: String) {
        self.reason = reason
        self.description = description
    }
}
