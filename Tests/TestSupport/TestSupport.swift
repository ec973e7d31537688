import Foundation

/// A fresh path under the system's temporary directory, named after `label`.
public func temporaryDirectory(_ label: String = #function) -> String {
    FileManager.default.temporaryDirectory
        .appendingPathComponent("emporium-\(label.filter { $0.isLetter || $0 == "-" }.prefix(40))-\(UUID().uuidString)").path
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
