import ArgumentParser
import EventStore
import Foundation

@main
struct Emporium: AsyncParsableCommand {
    /// This build's version: `emporium --version`, `/health`, the package.
    static let version = "0.10.0"

    static let configuration = CommandConfiguration(
        commandName: "emporium",
        abstract: "An event-sourced commerce engine on an LMDB event log.",
        discussion: """
        Exit codes (sysexits): 0 done; 1 verify found a problem; 64 usage (bad arguments, with the usage text);
        65 the data is wrong (a refused import, a shop where an empty directory is needed); 66 an input is missing;
        70 an internal failure; 73 an output cannot be created; 74 reading or writing failed; 75 busy (a server
        holds the data directory); 78 a configured secret is unusable.
        """,
        version: version,
        subcommands: [Serve.self, Seed.self, AdminCommand.self, Backup.self, Restore.self, Replay.self, Audit.self, Verify.self, Export.self,
                      Import.self, Stats.self, Tail.self, ProjectionsCommand.self, RecommendCommand.self, CrashChild.self]
    )

    /// Parses, sets up logging (before anything logs), runs; a `CommandFailure` is one line on standard error and its exit code.
    nonisolated static func main() async {
        do {
            var command = try await asyncParseAsRoot()
            ((command as? Serve)?.logging.setup ?? LogSetup.forTools()).bootstrap()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as CommandFailure {
            FileHandle.standardError.write(Data("emporium: \(failure)\n".utf8))
            Foundation.exit(failure.code.rawValue)
        } catch {
            exit(withError: error)
        }
    }
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
            throw CommandFailure(.noInput, "no event log in \(dataDirectory) (expected \(logDirectory)/data.mdb)")
        }
        var options = EventLog.Options()
        options.readOnly = readOnly
        do {
            return try EventLog(directory: logDirectory, options: options)
        } catch {
            throw CommandFailure(.ioError, "cannot open the event log in \(logDirectory): \(error)")
        }
    }
}
