import Foundation
import Testing

@testable import Commerce

/// Webhooks: admins register, disable and replay; only the system records delivery progress.
@Suite struct WebhookSpecs {
    typealias Spec = DeciderSpec<Webhooks>
    static let hook = WebhookId(UUID(uuidString: "0193a1f2-0000-7000-8000-0000000000e1") ?? UUID())
    static let adminId = UserId(UUID(uuidString: "0193a1f2-0000-7000-8000-000000000001") ?? UUID())
    static let admin = Actor.user(adminId, .admin)
    static let now = Spec.now
    static let url = "https://erp.example.com/emporium/hook"
    static func webhook(_ event: WebhookEvent) -> (StreamId, DomainEvent) { (.webhook(hook), .webhook(event)) }
    static let registered = webhook(
        .registered(WebhookRegistered(webhookId: hook, url: url, eventTypes: ["OrderPaid"], from: 40, registeredBy: adminId, at: now)))
    static let letter = DeadLetter(position: 42, eventType: "OrderPaid", stream: "order-x", attempts: 8, error: "HTTP 500", at: now)
    static let deadLettered = webhook(.deadLettered(WebhookDeadLettered(letter: letter)))
    static func on(_ command: WebhookCommand) -> Webhooks.Command { Webhooks.Command(hook, command) }

    @Test func anAdminRegistersAnEndpoint() {
        Spec.given().when(Self.on(.register(Self.hook, url: Self.url, eventTypes: ["OrderPaid"], from: 40)), by: Self.admin)
            .then(Self.registered)
    }

    @Test func registeringIsRefusedWhereItMustBe() {
        let register = { (url: String, types: [String]) in Self.on(.register(Self.hook, url: url, eventTypes: types, from: 0)) }
        Spec.given().when(register(Self.url, []), by: .user(Self.adminId, .merchant)).thenRejects(.forbidden)
        for bad in ["ftp://example.com/x", "/relative", "https://", String(repeating: "a", count: 2_001), "not a url"] {
            Spec.given().when(register(bad, []), by: Self.admin).thenRejects(.invalidInput)
        }
        Spec.given().when(register(Self.url, ["OrderPaid", "OrderPaid"]), by: Self.admin).thenRejects(.invalidInput)
        Spec.given().when(register(Self.url, (0...Webhooks.eventTypesMax).map { "Type\($0)" }), by: Self.admin).thenRejects(.invalidInput)
        Spec.given(Self.registered).when(register(Self.url, []), by: Self.admin).thenRejects(.invalidInput)
    }

    @Test func disablingAndReplaying() {
        let spec = Spec.given(Self.registered)
        spec.when(Self.on(.disable(reason: "retired")), by: Self.admin)
            .then(Self.webhook(.disabled(WebhookDisabled(reason: "retired", at: Self.now))))
        spec.when(Self.on(.disable(reason: "")), by: Self.admin).thenRejects(.invalidInput)
        spec.when(Self.on(.disable(reason: "x")), by: .user(Self.adminId, .customer)).thenRejects(.forbidden)
        Spec.given().when(Self.on(.disable(reason: "x")), by: Self.admin).thenRejects(.webhookNotFound)
        let disabled = Self.webhook(.disabled(WebhookDisabled(reason: "retired", at: Self.now)))
        spec.and(disabled.0, disabled.1).when(Self.on(.disable(reason: "x")), by: Self.admin).thenRejects(.nothingChanged)
        spec.when(Self.on(.replayDeadLetters), by: Self.admin).thenRejects(.nothingChanged)
        let lettered = spec.and(Self.deadLettered.0, Self.deadLettered.1)
        lettered.when(Self.on(.replayDeadLetters), by: Self.admin)
            .then(Self.webhook(.deadLettersReplayed(WebhookDeadLettersReplayed(positions: [42], at: Self.now))))
        lettered.and(disabled.0, disabled.1).when(Self.on(.replayDeadLetters), by: Self.admin).thenRejects(.webhookDisabled)
    }

    @Test func onlyTheSystemRecordsDeliveryProgress() {
        let spec = Spec.given(Self.registered)
        spec.when(Self.on(.checkpoint(through: 45, delivered: 2)), by: .system)
            .then(Self.webhook(.checkpointed(WebhookCheckpointed(through: 45, delivered: 2, at: Self.now))))
        spec.when(Self.on(.checkpoint(through: 45, delivered: 2)), by: Self.admin).thenRejects(.forbidden)
        spec.when(Self.on(.checkpoint(through: 40, delivered: 0)), by: .system).thenRejects(.nothingChanged)
        spec.when(Self.on(.deadLetter(Self.letter)), by: .system).then(Self.deadLettered)
        spec.when(Self.on(.deadLetter(Self.letter)), by: Self.admin).thenRejects(.forbidden)
        spec.when(Self.on(.redelivered(42)), by: .system).thenRejects(.nothingChanged)
        let replayed = Self.webhook(.deadLettersReplayed(WebhookDeadLettersReplayed(positions: [42], at: Self.now)))
        spec.and(Self.deadLettered.0, Self.deadLettered.1).and(replayed.0, replayed.1).when(Self.on(.redelivered(42)), by: .system)
            .then(Self.webhook(.redelivered(WebhookRedelivered(position: 42, at: Self.now))))
    }

    @Test func theStateFollowsDelivery() {
        var state = WebhookState(events: [Self.registered.1])
        #expect(state.checkpoint == 40 && state.wants("OrderPaid") && !state.wants("GoodsListed"))
        for position in 0..<UInt64(Limits.deadLettersKept + 5) {
            state = state.evolve(
                .deadLettered(
                    WebhookDeadLettered(
                        letter: DeadLetter(
                            position: position, eventType: "OrderPaid", stream: "s", attempts: 1, error: "x", at: Self.now))))
        }
        #expect(state.deadLetters.count == Limits.deadLettersKept && state.deadLetters.first?.position == 5, "the oldest go first")
        state = state.evolve(.deadLettersReplayed(WebhookDeadLettersReplayed(positions: [5, 6], at: Self.now)))
        #expect(state.replaying == [5, 6] && state.deadLetters.first?.position == 7)
        state = state.evolve(.redelivered(WebhookRedelivered(position: 5, at: Self.now)))
        state = state.evolve(.checkpointed(WebhookCheckpointed(through: 90, delivered: 3, at: Self.now)))
        #expect(state.replaying == [6] && state.delivered == 4 && state.checkpoint == 90)
    }
}
