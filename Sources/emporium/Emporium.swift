import ArgumentParser
import Assembly
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
            holds the data directory); 69 the log of record cannot be reached; 78 a configured secret is unusable.
            """,
        version: version,
        subcommands: [
            Serve.self, Seed.self, AdminCommand.self, Backup.self, Restore.self, Replay.self, Audit.self, Verify.self, Export.self,
            Import.self, Stats.self, Tail.self, ProjectionsCommand.self, Migrate.self, ClusterCommand.self, RecommendCommand.self,
            CrashChild.self,
        ]
    )

    /// Parses, sets up logging (before anything logs), runs; a `CommandFailure` is one line on standard error and its exit code.
    nonisolated static func main() async {
        do {
            var command = try await asyncParseAsRoot()
            ((command as? Serve)?.logging.setup ?? LogSetup.forTools()).bootstrap()
            if var asyncCommand = command as? any AsyncParsableCommand {
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

    /// The directory's layout and its parts' openers: the one place that knows them.
    var shop: ShopDirectory { ShopDirectory(dataDirectory) }
    var logDirectory: String { shop.logPath }
    var projectionsDirectory: String { shop.projectionsPath }

    /// Opens the log, or explains in one line why it cannot be opened.
    func openLog(readOnly: Bool) throws -> EventLog {
        var options = EventLog.Options()
        options.readOnly = readOnly
        return try openLog(options)
    }

    func openLog(_ options: EventLog.Options) throws -> EventLog {
        try CommandFailure.opening { () throws(ShopOpenError) in try shop.openLog(options) }
    }

    /// The whole shop (log, keys, snapshots, read models as `options` asks), or why it cannot be opened.
    func openShop(_ options: Shop.Options) throws -> Shop {
        try CommandFailure.opening { () throws(ShopOpenError) in try Shop(directory: shop, options: options) }
    }
}
