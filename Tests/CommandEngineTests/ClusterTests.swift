import Assembly
import Commerce
import EventStore
import Foundation
import Logging
import PostgresStore
import PostgresTestSupport
import ReadModels
import ShopTestSupport
import Synchronization
import Testing

@testable import CommandEngine

/// Three engine nodes over one PostgreSQL log of record, each with its own LMDB replica and read of the shared vault.
@Suite struct ClusterTests {
    private func cluster(_ count: Int = 3, label: String = #function) async throws -> (PostgresEndpoint, [TestShop]) {
        let database = try await TestPostgres.database(label)
        var nodes: [TestShop] = []
        for index in 0..<count { nodes.append(try await TestShop(node: "node-\(index)", of: database)) }
        return (database, nodes)
    }

    /// Waits until every node has copied the log of record's head.
    private func settle(_ nodes: [TestShop]) async throws -> LogHead {
        let head = try await #require(nodes.first?.shop.cluster).ofRecord.head()
        for node in nodes { try await node.log.waitForCopies(through: head.position) }
        return head
    }

    /// `emporium migrate --to`: a shop on LMDB copied into an empty PostgreSQL database, record for record (the same
    /// positions, times and hashes), with its key vault: a node over it serves the shop's customers (an address sealed
    /// before the move opens there), and a second migrate into the same database is refused and changes nothing.
    @Test func aShopMigratedIntoPostgreSQLIsTheSameShopOnANode() async throws {
        let (directory, records, buyer, goods) = try await aClosedShopWithAnOrder("migrated")

        let database = try await TestPostgres.database()
        let copied = Mutex<[UInt64]>([])
        let head = try await Shop.migrate(directory: directory, to: database, vaultSecret: TestShop.vaultSecret) { done, _ in
            copied.withLock { $0.append(done) }
        }
        #expect(head.position == records.last?.position)
        #expect(copied.withLock { $0.last } == head.position, "progress reported up to the head")

        let node = try await TestShop(node: "node-0", of: database)
        let ofRecord = try #require(node.shop.cluster).ofRecord
        #expect(try await ofRecord.read(from: 1, limit: records.count + 1) == records)
        #expect(try await ofRecord.verify(progress: nil).isHealthy)
        _ = try await settle([node])
        #expect(try node.log.read(from: 1, limit: records.count) == records)
        // Sealed on LMDB, opened on the node with the migrated keys: the address, and the email a sign-in looks up.
        #expect(try node.engine.profile(of: buyer).addresses.map(\.recipient) == ["韩梅梅"])
        _ = try await node.run(.login(email: "migrated-buyer@example.com", password: "correct horse"), as: nil)
        try await node.run(.addToCart(goods, quantity: 1), as: buyer)
        _ = try await node.placeOrder(as: buyer)

        let before = try await ofRecord.head()
        await #expect(throws: ShopOpenError.self) {
            _ = try await Shop.migrate(directory: directory, to: database, vaultSecret: TestShop.vaultSecret)
        }
        #expect(try await ofRecord.head() == before)
        await node.stop()
    }

    /// A migrate that stopped part way is resumed by running it again: the log of record holds the shop's first records
    /// (here copied by hand, as a migrate cut off after its first page leaves them), and the next migrate copies on from
    /// its head, reporting progress from there, to the same head as the shop's.
    @Test func aMigrateThatStoppedPartWayIsResumedFromTheLogOfRecordsHead() async throws {
        let (directory, records, buyer, _) = try await aClosedShopWithAnOrder("resumed")

        let database = try await TestPostgres.database()
        let partial = try await TestPostgres.log(database)
        try await partial.copy(Array(records.prefix(records.count / 2)))
        await partial.close()
        let copied = Mutex<[UInt64]>([])
        let head = try await Shop.migrate(directory: directory, to: database, vaultSecret: TestShop.vaultSecret) { done, _ in
            copied.withLock { $0.append(done) }
        }
        #expect(head.position == records.last?.position && head.hash == records.last?.hash)
        #expect(copied.withLock { $0 }.allSatisfy { $0 > UInt64(records.count / 2) }, "nothing held already is copied again")

        let node = try await TestShop(node: "node-0", of: database)
        let ofRecord = try #require(node.shop.cluster).ofRecord
        #expect(try await ofRecord.read(from: 1, limit: records.count + 1) == records)
        #expect(try await ofRecord.verify(progress: nil).isHealthy)
        // Sealed on LMDB, opened on the node with the keys the resumed migrate published.
        _ = try await settle([node])
        #expect(try node.engine.profile(of: buyer).addresses.map(\.recipient) == ["韩梅梅"])
        await node.stop()
    }

    /// An LMDB shop where a buyer (`<name>-buyer@example.com`, with an address) ordered a goods, closed: its directory, its
    /// log's records, the buyer and the goods.
    private func aClosedShopWithAnOrder(_ name: String) async throws -> (ShopDirectory, [RecordedEvent], Actor, GoodsId) {
        let local = try TestShop()
        let merchant = try await local.register("\(name)-merchant@example.com", role: .merchant)
        let buyer = try await local.shopper("\(name)-buyer@example.com")
        let goods = try await local.listGoods(by: merchant, stock: 5)
        try await local.run(.addToCart(goods, quantity: 1), as: buyer)
        _ = try await local.placeOrder(as: buyer)
        let records = try local.log.read(from: 1)
        local.shop.close()
        return (local.shop.directory, records, buyer, goods)
    }

    /// Buyers registered on one node buy on another (their addresses, sealed with keys made elsewhere, open there):
    /// exactly the stock is sold, and every node's state and replica agree with the log of record.
    @Test func aFlashSaleAcrossThreeNodesSellsExactlyTheStock() async throws {
        let (_, nodes) = try await cluster()
        let merchant = try await nodes[0].register("flash@example.com", role: .merchant)
        // CI-sized (5 units, 15 buyers: each refused order waits for its node to copy the log of record, and 30 buyers took
        // over two minutes on a loaded machine); `tools/cluster.sh smoke` runs hundreds of orders across real processes.
        let goodsId = try await nodes[0].listGoods(by: merchant, stock: 5)
        var buyers: [Actor] = []
        for index in 0..<15 {
            let buyer = try await nodes[index % 3].shopper("fan\(index)@example.com")
            try await nodes[(index + 1) % 3].run(.addToCart(goodsId, quantity: 1), as: buyer)
            buyers.append(buyer)
        }
        let outcomes = await withTaskGroup(of: String.self) { group in
            for (index, buyer) in buyers.enumerated() {
                let node = nodes[(index + 2) % 3]
                group.addTask { await outcome { try await node.run(.placeOrder(), as: buyer) } }
            }
            return await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == "ok" }.count == 5)
        #expect(outcomes.filter { $0 == "insufficient_stock" }.count == 10, "\(Set(outcomes))")
        let head = try await settle(nodes)
        let truth = try await #require(nodes[0].shop.cluster).ofRecord.read(from: 1, limit: 10_000)
        #expect(truth.count == Int(head.position))
        for node in nodes {
            let goods: GoodsState = try node.engine.store.load(.goods(goodsId)).state
            #expect(goods.reserved == 5 && goods.available == 0)
            #expect(try node.log.head() == head)
            #expect(try node.log.read(from: 1, limit: 10_000) == truth, "the replica is the log of record, byte for byte")
            #expect(try node.log.verify().isHealthy)
        }
        for node in nodes { await node.stop() }
    }

    /// The provider delivers one callback to every node at once, several times: one payment.
    @Test func oneCallbackDeliveredToEveryNodePaysOnce() async throws {
        let (_, nodes) = try await cluster()
        let merchant = try await nodes[0].register("m@example.com", role: .merchant)
        let buyer = try await nodes[1].shopper("b@example.com")
        try await nodes[2].run(.addToCart(try await nodes[0].listGoods(by: merchant, price: 800), quantity: 1), as: buyer)
        let paymentId = try await nodes[1].initiatePayment(try await nodes[2].placeOrder(as: buyer), as: buyer)
        let results = try await withThrowingTaskGroup(of: CommandOutcome.self) { group in
            for round in 0..<15 {
                let node = nodes[round % 3]
                group.addTask { try await node.signedCallback(paymentId: paymentId, transaction: "sbx-once", amount: 800) }
            }
            return try await group.reduce(into: [CommandOutcome]()) { $0.append($1) }
        }
        #expect(results.filter { !$0.events.isEmpty }.count == 1)
        _ = try await settle(nodes)
        let captured = try await #require(nodes[0].shop.cluster).ofRecord.events(ofType: PaymentSucceeded.eventType, from: 1, limit: 100)
        #expect(captured.count == 1)
        for node in nodes { await node.stop() }
    }

    /// Forgetting a user on one node destroys their key in the shared vault and on every node.
    @Test func forgettingAUserOnOneNodeShredsTheirDataOnEveryNode() async throws {
        let (_, nodes) = try await cluster()
        let user = try await nodes[0].shopper("gone@example.com")
        guard case .user(let id, _) = user else { throw CancellationError() }
        _ = try await settle(nodes)
        for node in nodes { #expect(try node.vault.hasKey(for: id), "every node holds the key made on node 0") }
        // Signing in on another node finds the email (the claim's pseudonym is the cluster's, not the node's).
        _ = try await nodes[2].run(.login(email: "gone@example.com", password: "correct horse"), as: nil)
        try await nodes[1].run(.forgetUser(), as: user)
        _ = try await settle(nodes)
        for node in nodes {
            #expect(try !node.vault.hasKey(for: id))
            #expect(try node.vault.wasDestroyed(for: id))
        }
        let shared = try await #require(nodes[0].shop.cluster).ofRecord.keys(after: 0)
        #expect(shared.contains { $0.owner == KeyVault.ownerBytes(id) && $0.wrapped == nil })
        for node in nodes { await node.stop() }
    }

    /// Work that must run once (the expiry sweeper) runs on the node holding the lease; another takes it when it is let go.
    @Test func oneNodeHoldsALeaseAndAnotherTakesItOver() async throws {
        let (_, nodes) = try await cluster(2)
        let first = try #require(nodes[0].shop.cluster).ofRecord
        let second = try #require(nodes[1].shop.cluster).ofRecord
        let release = AsyncStream<Void>.makeStream()
        let holder = Task { try await first.whileHoldingLease(77) { for await _ in release.stream {} } }
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await second.whileHoldingLease(77) {} == false, "the lease is held by the first node")
        release.continuation.finish()
        #expect(try await holder.value)
        #expect(try await second.whileHoldingLease(77) {} == true)
        for node in nodes { await node.stop() }
    }

    /// Read-your-writes with `after=` holds on every node: positions are the log of record's, so another node's read
    /// models reach the position a command answered with once its replica has copied it.
    @Test func aPositionAnsweredOnOneNodeIsReadableOnAnother() async throws {
        let database = try await TestPostgres.database()
        let writer = try await TestShop(node: "writer", of: database, readModels: true)
        let reader = try await TestShop(node: "reader", of: database, readModels: true)
        let followers = [writer, reader].map { node in Task { await node.projector?.follow(logger: Logger(label: "test")) } }
        let merchant = try await writer.register("m@example.com", role: .merchant)
        let buyer = try await writer.shopper("b@example.com")
        guard case .user(let buyerId, _) = buyer else { throw CancellationError() }
        let goods = try await writer.listGoods(by: merchant)
        let placed = try await writer.run(.placeOrder(items: [CartLine(goodsId: goods, quantity: 1)]), as: buyer)
        let position = try #require(placed.events.map(\.position).max())
        let projector = try #require(reader.projector)
        #expect(await projector.wait(MyPagesProjection.name, reaches: position, timeout: .seconds(60)))
        let orders = try projector.read(MyPagesProjection.self) { $0.orders(of: buyerId, status: nil, limit: 10) }
        #expect(orders.map(\.orderId) == [try #require(placed.result.orderId).description])
        for follower in followers { follower.cancel() }
        for node in [writer, reader] { await node.stop() }
    }

    // MARK: Riding out a lost log of record

    /// Two nodes: `other` reaching PostgreSQL directly, `node` through a link the test can cut (answer timeout 5 s); a
    /// merchant's goods (5 in stock) and a buyer, made on `other` and copied to `node`.
    private struct CuttableNode {
        let link: TestLink
        let other: TestShop
        let node: TestShop
        let ofRecord: PostgresLog
        let merchant: Actor
        let goods: GoodsId
        let buyer: Actor

        init(_ label: String = #function) async throws {
            let database = try await TestPostgres.database(label)
            link = try TestLink(to: try await TestPostgres.port())
            other = try await TestShop(node: "other", of: database)
            node = try await TestShop(node: "behind-a-link", of: link.carrying(database), answerTimeout: .seconds(5))
            merchant = try await other.register("m@example.com", role: .merchant)
            goods = try await other.listGoods(by: merchant, stock: 5)
            buyer = try await other.shopper("b@example.com")
            ofRecord = try #require(other.shop.cluster).ofRecord
            try await node.log.waitForCopies(through: try await ofRecord.head().position)
        }
    }

    /// A lease asked for while the link is dark (the expiry sweeper's, on a pooled connection that went dark) is given up
    /// within the answer timeout: the query heeds no cancellation, and an unbounded one held a node's SIGTERM past
    /// ServiceLifecycle's deadline, which traps ("Cancellation took longer than allowed").
    @Test func aLeaseAskedForOverADarkLinkIsGivenUpWithinTheAnswerTimeout() async throws {
        let nodes = try await CuttableNode()
        let log = try #require(nodes.node.shop.cluster).ofRecord
        #expect(try await log.whileHoldingLease(78) {} == true)  // a pooled connection, used once
        nodes.link.cut()
        let outcome = Mutex<Result<Bool, any Error>?>(nil)
        let asking = Task {
            do {
                let held = try await log.whileHoldingLease(78) {}
                outcome.withLock { $0 = .success(held) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        asking.cancel()  // as a stopping node cancels its sweeper
        // Watched, not awaited: without the bound the request never ends and the test would hang.
        let deadline = ContinuousClock.now + .seconds(30)
        while outcome.withLock({ $0 }) == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        let ended = outcome.withLock { $0 }
        #expect(ended != nil, "the lease request did not end within 30 s of a 5 s answer timeout")
        if case .success(let held) = ended { #expect(!held, "a lease was granted over a dark link") }
        nodes.link.restore()
        await nodes.node.stop()
        await nodes.other.stop()
    }

    /// A node keeps knowing as many chains as it is told (`emporium serve --log-chains-known`): told 4 (two generations of
    /// 2), it lets an order go once six more were placed, and the order's payment, with the version it expects, is refused
    /// on what the node knows and decided under the lock (counted in /metrics); by default it knows the order still.
    @Test(arguments: [4, nil]) func aNodeKnowsAsManyChainsAsItIsToldAndCountsWhatItCouldNotPlace(chainsKnownMax: Int?) async throws {
        let node = try await TestShop(node: "forgetful", of: try await TestPostgres.database(), chainsKnownMax: chainsKnownMax)
        let log = try #require(node.shop.cluster?.ofRecord)
        func event() -> ProposedEvent {
            ProposedEvent(
                eventId: UUID(), type: "Tested", payload: Array("{}".utf8),
                metadata: EventMetadata(actor: "user:tester:customer", correlationId: UUID()))
        }
        let order = try StreamName("order-first")
        _ = try await log.append(to: order, expected: .noStream, events: [event()])
        for n in 0..<6 { _ = try await log.append(to: try StreamName("order-\(n)"), expected: .noStream, events: [event()]) }
        #expect(log.commitStatistics.refusedOnWhatWasKnown == 0)
        let paid = try await log.append(to: order, expected: .exact(1), events: [event()])
        #expect(paid.streams.first?.lastVersion == 2)
        #expect(log.commitStatistics.refusedOnWhatWasKnown == (chainsKnownMax == nil ? 0 : 1))
        await node.stop()
    }

    /// A node cut off from PostgreSQL (its link holds every byte, as a partition does) refuses commands with
    /// `log_unavailable` within its answer timeout, appends nothing, keeps serving reads from its replica and says it is
    /// cut off; once the link returns it catches up with what another node committed meanwhile and takes commands again.
    @Test func aNodeCutOffFromTheLogOfRecordRefusesWritesServesReadsAndCatchesUp() async throws {
        let nodes = try await CuttableNode()
        defer { nodes.link.close() }
        let (link, other, node, ofRecord) = (nodes.link, nodes.other, nodes.node, nodes.ofRecord)
        let (merchant, goods, buyer) = (nodes.merchant, nodes.goods, nodes.buyer)
        #expect(node.engine.logOfRecordStatus?.answers == true)

        link.cut()
        let before = try await ofRecord.head()
        let started = ContinuousClock.now
        let refused = await outcome { try await node.run(.addToCart(goods, quantity: 1), as: buyer) }
        #expect(refused == "log_unavailable")
        #expect(ContinuousClock.now - started < .seconds(12), "refused within the answer timeout (twice at most: queued, then sent)")
        try await Task.sleep(for: .seconds(5))  // silent for longer than the answer timeout now
        let second = ContinuousClock.now
        #expect(await outcome { try await node.run(.addToCart(goods, quantity: 1), as: buyer) } == "log_unavailable")
        #expect(ContinuousClock.now - second < .seconds(1), "a node that knows PostgreSQL is silent refuses at once")
        #expect(try await ofRecord.head() == before, "nothing of the refused command was appended")
        let stale = try #require(node.engine.logOfRecordStatus)
        #expect(!stale.answers && stale.failure != nil)
        let served: GoodsState = try node.engine.store.load(.goods(goods)).state
        #expect(served.available == 5, "reads are served from the replica")

        let later = try await other.listGoods(by: merchant, stock: 3)  // committed while the node is cut off
        link.restore()
        try await node.log.waitForCopies(through: try await ofRecord.head().position, timeout: .seconds(60))
        let caughtUp: GoodsState = try node.engine.store.load(.goods(later)).state
        #expect(caughtUp.available == 3)
        try await node.run(.addToCart(later, quantity: 1), as: buyer)
        #expect(node.engine.logOfRecordStatus?.answers == true)
        for shop in [other, node] { await shop.stop() }
    }

    /// A commit that reached PostgreSQL but whose answer was lost (the link goes dark right after it) is answered `log_unavailable`,
    /// never a success; retried under the same `Idempotency-Key` on another node it gives the first answer and appends
    /// nothing; a command that never reached PostgreSQL runs once when retried.
    @Test func aCommitWhoseAnswerIsLostIsRefusedAndItsRetryGivesTheFirstAnswer() async throws {
        let nodes = try await CuttableNode()
        defer { nodes.link.close() }
        let (link, other, node, ofRecord) = (nodes.link, nodes.other, nodes.node, nodes.ofRecord)
        let (goods, buyer) = (nodes.goods, nodes.buyer)
        // The node now knows the head: its next commits are one statement, prepared on its writer connection by the second.
        let added = try await node.run(.addToCart(goods, quantity: 1), as: buyer)
        try await node.run(.addToCart(goods, quantity: 1), as: buyer)
        let cart = try #require(added.events.first?.stream)

        let before = try await ofRecord.head()
        // The first request naming the cart is the commit itself (a statement prepared before, bound with the rows).
        link.cut(afterRequestContaining: cart)
        let lost = await outcome { try await node.run(.addToCart(goods, quantity: 2), as: buyer, key: "cart-once") }
        #expect(lost == "log_unavailable")
        let head = try await ofRecord.head()
        #expect(head.position > before.position, "the commit reached PostgreSQL; only its answer was lost")
        try await other.log.waitForCopies(through: head.position)
        let retried = try await other.run(.addToCart(goods, quantity: 2), as: buyer, key: "cart-once")
        #expect(retried.replayed)
        #expect(try await ofRecord.head() == head, "the retry appended nothing")

        link.restore()
        link.cut()
        let unsent = await outcome { try await node.run(.placeOrder(), as: buyer, key: "order-once") }
        #expect(unsent == "log_unavailable")
        #expect(try await ofRecord.head() == head)
        link.restore()
        let ran = try await other.run(.placeOrder(), as: buyer, key: "order-once")
        #expect(!ran.replayed && !ran.events.isEmpty)
        // The node answers from its replica once the order is copied there (until its poll finds PostgreSQL answering
        // again, an append of its own would be refused at once: nothing it could decide was lost).
        try await node.log.waitForCopies(through: try await ofRecord.head().position)
        let again = try await node.run(.placeOrder(), as: buyer, key: "order-once")
        #expect(again.replayed, "on the node that lost the first answer too")
        #expect(try await ofRecord.events(ofType: OrderPlaced.eventType, from: 1, limit: 10).count == 1)
        for shop in [other, node] { await shop.stop() }
    }
}
