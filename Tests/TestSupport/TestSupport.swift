import Foundation

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
