import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn`, with the part of `Foundation.Process`'s interface the tests use.
///
/// Not `Process`: on Linux its `run()` lists `/proc/self/fd` to close every inherited descriptor and copies each
/// entry's whole 256-byte name field, past the end of glibc's directory buffer when the last entry sits at its tail
/// (swiftlang/swift-corelibs-foundation#5472, fixed after Swift 6.3). The test process holds some 2,300 descriptors open
/// (every shop's LMDB files, sockets, event loops), so a listing fills the 32 KiB buffer and the over-read crashed the
/// whole suite now and then, in CI too. This one closes the inherited descriptors with glibc's
/// `posix_spawn_file_actions_addclosefrom_np` and never lists them.
public final class ChildProcess: @unchecked Sendable {
    public enum TerminationReason: Sendable { case exit, uncaughtSignal }

    public var executableURL: URL?
    public var arguments: [String] = []
    /// A `Pipe`, a `FileHandle` or nil (/dev/null), as `Process` takes them.
    public var standardInput: Any?
    public var standardOutput: Any?
    public var standardError: Any?

    public private(set) var processIdentifier: pid_t = 0
    /// The raw wait status once reaped (by whichever thread asked first).
    private let reaped = Mutex<Int32?>(nil)

    public init() {}

    public func run() throws {
        guard let path = executableURL?.path else { throw POSIXError(.ENOENT) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(null) }
        func descriptor(_ channel: Any?, reading: Bool) -> Int32 {
            switch channel {
            case let pipe as Pipe: return reading ? pipe.fileHandleForReading.fileDescriptor : pipe.fileHandleForWriting.fileDescriptor
            case let handle as FileHandle: return handle.fileDescriptor
            default: return null
            }
        }
        let channels = [
            descriptor(standardInput, reading: true), descriptor(standardOutput, reading: false),
            descriptor(standardError, reading: false),
        ]
        for (target, source) in channels.enumerated() { posix_spawn_file_actions_adddup2(&actions, source, Int32(target)) }
        Self.closeFrom(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid = pid_t()
        let result = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EIO) }
        processIdentifier = pid
        // The parent keeps only its own ends of the pipes, so a reader sees the end when the child exits.
        if let pipe = standardInput as? Pipe { try pipe.fileHandleForReading.close() }
        if let pipe = standardOutput as? Pipe { try pipe.fileHandleForWriting.close() }
        if let pipe = standardError as? Pipe, (standardOutput as? Pipe) !== pipe { try pipe.fileHandleForWriting.close() }
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 on), found by name: the Glibc module does not import it.
    private static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    private static func closeFrom(_ actions: inout posix_spawn_file_actions_t, _ first: Int32) {
        if let addCloseFrom {
            _ = addCloseFrom(&actions, first)
        } else {
            // Without it: close what `getdtablesize` allows, one action each (never a directory listing).
            for descriptor in first..<getdtablesize() { posix_spawn_file_actions_addclose(&actions, descriptor) }
        }
    }

    /// The wait status, reaping the child if it has ended (`blocking`: waiting until it does).
    private func status(blocking: Bool) -> Int32? {
        if let known = reaped.withLock({ $0 }) { return known }
        var raw: Int32 = 0
        var result: pid_t
        repeat { result = waitpid(processIdentifier, &raw, blocking ? 0 : WNOHANG) } while result == -1 && errno == EINTR
        if result == processIdentifier {
            reaped.withLock { $0 = raw }
            return raw
        }
        guard result == -1, errno == ECHILD else { return nil }
        // Another thread reaped it and is about to record its status.
        while true {
            if let known = reaped.withLock({ $0 }) { return known }
            usleep(1_000)
        }
    }

    public var isRunning: Bool { processIdentifier > 0 && status(blocking: false) == nil }

    public func waitUntilExit() { _ = status(blocking: true) }

    public func terminate() { kill(processIdentifier, SIGTERM) }

    /// The exit code, or the signal that ended it.
    public var terminationStatus: Int32 {
        let raw = status(blocking: true) ?? 0
        return terminationReason == .exit ? (raw >> 8) & 0xff : raw & 0x7f
    }

    public var terminationReason: TerminationReason {
        let signal = (status(blocking: true) ?? 0) & 0x7f
        return signal == 0 ? .exit : .uncaughtSignal
    }
}
