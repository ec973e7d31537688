import Foundation

/// A one-line progress bar on standard error. On a terminal it redraws in
/// place; otherwise (CI logs, pipes) it prints a line every 10%.
final class ProgressBar: @unchecked Sendable {
    private let label: String
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private let started = Date()
    private var lastDecile = -1
    private var lastDrawn = Date.distantPast
    private var lastTotal: UInt64 = 0
    static let widthCells = 30
    static let redrawIntervalSeconds = 0.1

    init(label: String) { self.label = label }

    func update(done: UInt64, total: UInt64) {
        lastTotal = total
        let fraction = total == 0 ? 1 : min(1, Double(done) / Double(total))
        if isTerminal {
            guard Date().timeIntervalSince(lastDrawn) >= Self.redrawIntervalSeconds || done == total else { return }
            lastDrawn = Date()
            let filled = Int(fraction * Double(Self.widthCells))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: Self.widthCells - filled)
            write("\r\(label) \(bar) \(Int(fraction * 100))%  \(done)/\(total)  \(rate(done))")
        } else {
            let decile = Int(fraction * 10)
            guard decile > lastDecile else { return }
            lastDecile = decile
            write("\(label): \(decile * 10)%  \(done)/\(total)  \(rate(done))\n")
        }
    }

    /// The work is done: the bar shows 100% (a step estimate that fell short of its total must not end at 90%).
    func finish() {
        if lastTotal > 0 { update(done: lastTotal, total: lastTotal) }
        if isTerminal { write("\n") }
    }

    private func rate(_ done: UInt64) -> String {
        let seconds = Date().timeIntervalSince(started)
        return seconds > 0 ? "\(Int(Double(done) / seconds))/s" : ""
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
