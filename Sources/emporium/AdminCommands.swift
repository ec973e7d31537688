import ArgumentParser
import CommandEngine
import Commerce
import EventCodec
import EventStore
import Foundation
import History

#if canImport(Glibc)
import Glibc
import Assembly
#endif

struct AdminCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Accounts only the operator can make: the first admin of a shop.",
        subcommands: [AdminCreate.self, AdminList.self])
}

/// `emporium admin create`: how a real shop (not the demo) gets its first
/// admin. It runs on the data directory with the server stopped, as the
/// engine's own process (actor `system`), the only way to an admin besides
/// another admin.
struct AdminCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create an admin account (the server must be stopped).",
        discussion: """
            The password is asked twice at the terminal (not echoed), or read from the first line of standard input when that is not a terminal:
              printf '%s\\n' "$PASSWORD" | emporium admin create --email owner@shop.example --name Owner
            Refused when the shop has an admin already, unless --another is given. Once an admin exists, more admins and merchants are made by that admin (GrantRole, ApproveMerchantApplication, RegisterUser with a role).
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var secrets: SecretOptions
    @Option(help: "The admin's email address (their login).") var email: String
    @Option(help: "The admin's name.") var name = "Admin"
    @Flag(help: "Create an admin even though the shop has one.") var another = false

    func run() async throws {
        try data.prepareDirectory()
        guard let lock = try ServerLock(directory: data.projectionsDirectory) else {
            throw CommandFailure(
                .tempFail, "an emporium serve is using \(data.dataDirectory); stop it first (or have an admin use GrantRole)")
        }
        defer { withExtendedLifetime(lock) {} }
        let keys = try secrets.resolve(dataDirectory: data.dataDirectory)
        let shop = try data.openShop(commandOnlyShop(Engine.Configuration(tokenSecret: keys.token, sandboxSecret: keys.callback)))
        defer { shop.close() }
        let admins = try Self.admins(in: shop.log).count
        guard admins == 0 || another else {
            throw CommandFailure(
                .dataError, "the shop has \(admins) admin\(admins == 1 ? "" : "s") already; pass --another to add one more")
        }
        let password = try Self.readPassword()
        do {
            let outcome = try await shop.engine.execute(
                .registerUser(email: email, password: password, name: name, role: .admin),
                context: CommandContext(actor: .system, correlationId: UUIDv7Generator.shared.next()))
            print(
                "created admin \(Users.normalizedEmail(email)) (user \(outcome.result.userId?.description ?? "?")); log in with the Login command"
            )
        } catch {
            throw CommandFailure(error.kind == .internalFailure ? .software : .dataError, "not created: \(error.message)")
        }
    }

    /// Users whose current role is admin: the last `UserRegistered` or `RoleGranted` of each decides; forgotten users do not count.
    static func admins(in log: EventLog) throws -> [String] {
        var roles: [String: (position: UInt64, role: Role)] = [:]
        var forgotten = Set<String>()
        for type in [UserRegistered.eventType, RoleGranted.eventType, UserForgotten.eventType] {
            var from: UInt64 = 1
            while true {
                let page = try log.events(ofType: type, from: from, limit: 1_000)
                for event in page {
                    let stream = event.stream.rawValue
                    switch try EventCodec.decode(type: event.type, schemaVersion: Int(event.schemaVersion), payload: event.payload) {
                    case .user(.registered(let registered)): roles[stream] = max(roles[stream], (event.position, registered.role))
                    case .user(.roleGranted(let granted)): roles[stream] = max(roles[stream], (event.position, granted.role))
                    default: forgotten.insert(stream)
                    }
                }
                guard let last = page.last, page.count == 1_000 else { break }
                from = last.position + 1
            }
        }
        return roles.filter { $0.value.role == .admin && !forgotten.contains($0.key) }.keys.map { String($0.dropFirst("user-".count)) }
            .sorted()
    }

    /// Twice at a terminal without echo, else the first line of standard input.
    static func readPassword() throws -> String {
        guard isatty(STDIN_FILENO) == 1 else {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw CommandFailure(.dataError, "no password on standard input")
            }
            return line
        }
        let first = try prompt("Password: ")
        let second = try prompt("Repeat it: ")
        guard first == second else { throw CommandFailure(.dataError, "the two passwords differ") }
        return first
    }

    private static func prompt(_ text: String) throws -> String {
        FileHandle.standardError.write(Data(text.utf8))
        var saved = termios()
        tcgetattr(STDIN_FILENO, &saved)
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        guard let line = readLine(strippingNewline: true) else { throw CommandFailure(.dataError, "no password given") }
        return line
    }
}

private func max(_ current: (position: UInt64, role: Role)?, _ candidate: (UInt64, Role)) -> (position: UInt64, role: Role) {
    guard let current, current.position > candidate.0 else { return (candidate.0, candidate.1) }
    return current
}

/// `emporium admin list`: who the admins are, by user id (their emails are sealed personal data).
struct AdminList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "The user ids of the shop's admins.")

    @OptionGroup var data: DataOptions

    func run() throws {
        let log = try data.openLog(readOnly: true)
        defer { log.close() }
        let admins = try AdminCreate.admins(in: log)
        for id in admins { print(id) }
        FileHandle.standardError.write(Data("\(admins.count) admin(s)\n".utf8))
    }
}
