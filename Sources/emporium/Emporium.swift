import ArgumentParser
import EventLog
import Foundation

@main
struct Emporium: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emporium",
        abstract: "An event-sourced commerce engine on an LMDB event log.",
        subcommands: [Serve.self, Seed.self, AdminCommand.self, Demo.self, Replay.self, Audit.self, Verify.self, Export.self, Import.self, Stats.self, Tail.self, ProjectionsCommand.self, RecommendCommand.self, CrashChild.self]
    )
}

/// Options every command that opens the log shares.
struct DataOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Directory holding the shop's data.")
    var dataDirectory: String = ProcessInfo.processInfo.environment["EMPORIUM_DATA_DIR"] ?? "./data"

    var logDirectory: String { dataDirectory + "/log" }
    var keysDirectory: String { dataDirectory + "/keys" }
    var snapshotsDirectory: String { dataDirectory + "/snapshots" }

    /// Opens the log, or explains in one line why it cannot be opened.
    func openLog(readOnly: Bool) throws -> EventLog {
        if readOnly, !FileManager.default.fileExists(atPath: logDirectory + "/data.mdb") {
            throw ValidationError("no event log in \(dataDirectory) (expected \(logDirectory)/data.mdb)")
        }
        var options = EventLog.Options()
        options.readOnly = readOnly
        do {
            return try EventLog(directory: logDirectory, options: options)
        } catch {
            throw ValidationError("cannot open the event log in \(logDirectory): \(error)")
        }
    }
}
