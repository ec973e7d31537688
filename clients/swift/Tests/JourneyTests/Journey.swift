import EmporiumClient
import Foundation
import OpenAPIURLSession
import Testing

/// The customer's journey (register → order → pay → ship → receive → review), written once against the client generated
/// from the document, on a real server: the `emporium` binary (`EMPORIUM_BIN`, default the repository's debug build)
/// serving a seeded demo shop on 127.0.0.1.
@Suite struct JourneyTests {
    @Test func aCustomerBuysPaysReceivesAndReviewsThroughTheGeneratedClient() async throws {
        let server = try await DemoServer.start()
        defer { server.stop() }
        let anonymous = server.client(token: nil)
        let email = "mei-\(UUID().uuidString.prefix(8).lowercased())@example.com"

        let registered = try await anonymous.command(
            body: .json(
                .registerUser(.init(data: .init(email: email, name: "韩梅梅", password: "correct horse"), _type: .registerUser))))
        #expect(try registered.ok.body.json.result.userId != nil)
        let customer = server.client(token: try await server.login(email, "correct horse"))
        let merchant = server.client(token: try await server.login(DemoServer.merchant, DemoServer.password))

        let address = try await customer.command(
            body: .json(
                .addAddress(
                    .init(
                        data: .init(
                            address: .init(
                                city: "Beijing", country: "CN", line1: "1 Zhongguancun St", phone: "13800000000",
                                postalCode: "100080", recipient: "韩梅梅")), _type: .addAddress))))
        let addressId = try #require(try address.ok.body.json.result.addressId)
        let listed = try await merchant.command(
            body: .json(
                .listGoods(
                    .init(
                        data: .init(category: "tea", price: 3_000, stock: 5, title: "Green tea 绿茶"), _type: .listGoods))))
        let goodsId = try #require(try listed.ok.body.json.result.goodsId)

        let placed = try await customer.command(
            body: .json(
                .placeOrder(
                    .init(data: .init(addressId: addressId, items: [.init(goodsId: goodsId, quantity: 2)]), _type: .placeOrder))))
        let order = try placed.ok.body.json.result
        let orderId = try #require(order.orderId)
        #expect(order.total == 6_000 && order.currency == "CNY")

        let payment = try await customer.command(
            body: .json(.initiatePayment(.init(data: .init(orderId: orderId), _type: .initiatePayment))))
        let paymentId = try #require(try payment.ok.body.json.result.paymentId)
        let paid = try await customer.sandboxCheckout(
            path: .init(paymentId: paymentId), headers: .init(idempotencyKey: "checkout-\(paymentId)"))
        #expect(try paid.ok.body.json.events.map { $0._type }.contains("PaymentSucceeded"))
        // Its answer lost, the checkout is retried under the same key: the same provider transaction, so it succeeds
        // and appends nothing (the payment is captured once).
        let retried = try await customer.sandboxCheckout(
            path: .init(paymentId: paymentId), headers: .init(idempotencyKey: "checkout-\(paymentId)"))
        #expect(try retried.ok.body.json.events.isEmpty)

        _ = try await merchant.command(
            body: .json(.shipOrder(.init(data: .init(carrier: "SF", orderId: orderId, trackingNumber: "SF1"), _type: .shipOrder)))
        )
        .ok
        _ = try await customer.command(body: .json(.confirmReceipt(.init(data: .init(orderId: orderId), _type: .confirmReceipt)))).ok
        let review = try await customer.command(
            body: .json(
                .postReview(
                    .init(data: .init(goodsId: goodsId, orderId: orderId, rating: 5, text: "香"), _type: .postReview))))
        #expect(try review.ok.body.json.result.reviewId != nil)

        let seen = try await customer.order(path: .init(orderId: orderId)).ok.body.json
        #expect(seen.status == "received" && seen.total == 6_000 && seen.currency == "CNY")
        #expect((seen.timeline ?? []).map { $0._type } == ["OrderPlaced", "OrderPaid", "OrderShipped", "OrderReceived"])
        #expect(try await customer.points().ok.body.json.balance == 60)

        // A refusal is typed too: its status, and its stable code as an enumeration case.
        let refused = try await customer.command(
            body: .json(.placeOrder(.init(data: .init(items: [.init(goodsId: goodsId, quantity: 9)]), _type: .placeOrder))))
        guard case .unprocessableContent(let answer) = refused else {
            Issue.record("expected 422, got \(refused)")
            return
        }
        #expect(try answer.body.json.error.code == .insufficientStock)
    }
}

/// `emporium seed` and `emporium serve` in a directory of their own; stopped with SIGTERM.
struct DemoServer {
    static let merchant = "merchant0@demo.emporium"
    static let password = "demo-password"

    let process: Process
    let directory: URL
    let url: URL

    static func start() async throws -> DemoServer {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let binary =
            ProcessInfo.processInfo.environment["EMPORIUM_BIN"].map { URL(fileURLWithPath: $0, relativeTo: repository) }
            ?? repository.appendingPathComponent(".build/debug/emporium")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw Failure("no emporium binary at \(binary.path): build the server (swift build) or set EMPORIUM_BIN")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("emporium-journey-\(UUID().uuidString)")
        let shop = directory.appendingPathComponent("shop").path
        try run(binary, ["seed", "--data-dir", shop, "--goods", "12", "--customers", "3", "--orders", "6"])
        let port = Int(ProcessInfo.processInfo.environment["JOURNEY_PORT"] ?? "") ?? Int.random(in: 20_000..<30_000)
        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve", "--data-dir", shop, "--port", String(port), "--expiry-sweep-seconds", "60"]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = try FileHandle(forWritingTo: log(in: directory))
        try process.run()
        guard let url = URL(string: "http://127.0.0.1:\(port)") else { throw Failure("no URL for port \(port)") }
        let server = DemoServer(process: process, directory: directory, url: url)
        for _ in 0..<150 {
            if case .ok = try? await server.client(token: nil).health() { return server }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        server.stop()
        throw Failure("the server did not answer /health within 30 s on port \(port)")
    }

    func client(token: String?) -> Client {
        Client(serverURL: url, transport: URLSessionTransport(), middlewares: [BearerAuthentication(token: token)])
    }

    func login(_ email: String, _ password: String) async throws -> String {
        let answer = try await client(token: nil).command(
            body: .json(.login(.init(data: .init(email: email, password: password), _type: .login))))
        return try #require(try answer.ok.body.json.result.token)
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    private static func log(in directory: URL) throws -> URL {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("serve.log")
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        return file
    }

    private static func run(_ binary: URL, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failure("emporium \(arguments.joined(separator: " ")) failed") }
    }
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
