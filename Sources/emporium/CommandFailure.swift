import ArgumentParser
import Assembly
import CommandEngine
import Foundation

/// A command that could not do its work. It is printed as one line on
/// standard error (no usage text: the arguments were fine) and the process
/// exits with its sysexits(3) code. Usage errors (64) stay ArgumentParser's
/// `ValidationError`, thrown from `validate()`; a failed `verify` exits 1.
struct CommandFailure: Error, CustomStringConvertible {
    enum Code: Int32 {
        /// The input data is wrong: a refused import file, a shop where an empty directory was asked for (EX_DATAERR).
        case dataError = 65
        /// An input that should exist does not: no log, no vault, no backup (EX_NOINPUT).
        case noInput = 66
        /// A service it needs cannot be reached: the log of record (EX_UNAVAILABLE).
        case unavailable = 69
        /// Our own fault (EX_SOFTWARE).
        case software = 70
        /// An output cannot be created (EX_CANTCREAT).
        case cantCreate = 73
        /// Reading or writing failed (EX_IOERR).
        case ioError = 74
        /// Busy: a server holds the data directory; try again when it has stopped (EX_TEMPFAIL).
        case tempFail = 75
        /// A configuration value (a secret from the environment) is unusable (EX_CONFIG).
        case config = 78
    }

    let code: Code
    let description: String

    init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}

extension CommandFailure {
    /// Runs `open`, its failure as the exit code it deserves: a part never
    /// written is no input (66), a shop whose vault lacks its keys too, an
    /// unopenable part an I/O error (74), any other refusal our fault (70).
    static func opening<T>(_ open: () throws(ShopOpenError) -> T) throws -> T {
        do {
            return try open()
        } catch {
            switch error.reason {
            case .missing: throw CommandFailure(.noInput, error.description)
            case .unopenable: throw CommandFailure(.ioError, error.description)
            case .refused(let refusal): throw CommandFailure(refusal.kind == .unavailable ? .noInput : .software, error.description)
            }
        }
    }
}
