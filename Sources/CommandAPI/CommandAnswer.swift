import CommandEngine
import Commerce

extension CommandOutcome {
    /// The answer as JSON, byte for byte what `JSONEncoder` with sorted keys
    /// and unescaped slashes writes of `{"events", "replayed", "result"}`
    /// (a test holds it to that), written directly: the encoder was a
    /// twentieth of the server's time under load. `result` holds the typed
    /// result's values as the contract states them (`AnswerValue`): amounts
    /// are integers of minor units with `currency` beside them.
    public func json(currency: String) -> [UInt8] {
        let values = result.answerValues(currency: currency)
        var out: [UInt8] = []
        out.reserveCapacity(64 + events.count * 120 + values.count * 48)
        out.append(contentsOf: #"{"events":["#.utf8)
        for (index, event) in events.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"position":"#.utf8)
            out.append(contentsOf: String(event.position).utf8)
            out.append(contentsOf: #","stream":"#.utf8)
            JSONText.string(event.stream, into: &out)
            out.append(contentsOf: #","type":"#.utf8)
            JSONText.string(event.type, into: &out)
            out.append(contentsOf: #","version":"#.utf8)
            out.append(contentsOf: String(event.version).utf8)
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: #"],"replayed":"#.utf8)
        out.append(contentsOf: (replayed ? "true" : "false").utf8)
        out.append(contentsOf: #","result":{"#.utf8)
        for (index, (key, value)) in values.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONText.string(key, into: &out)
            out.append(UInt8(ascii: ":"))
            switch value {
            case .text(let text): JSONText.string(text, into: &out)
            case .integer(let number): out.append(contentsOf: String(number).utf8)
            case .texts(let texts):
                out.append(UInt8(ascii: "["))
                for (index, text) in texts.enumerated() {
                    if index > 0 { out.append(UInt8(ascii: ",")) }
                    JSONText.string(text, into: &out)
                }
                out.append(UInt8(ascii: "]"))
            }
        }
        out.append(contentsOf: "}}".utf8)
        return out
    }
}

/// One value of a command's `result` as the answer writes it.
public enum AnswerValue: Hashable, Sendable, Encodable {
    case text(String)
    case integer(Int64)
    case texts([String])

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .text(let text): try container.encode(text)
        case .integer(let number): try container.encode(number)
        case .texts(let texts): try container.encode(texts)
        }
    }
}

extension CommandResult {
    /// The result's fields for the answer: ids as lowercase UUID text, amounts as integer minor units with the shop's
    /// `currency` (ISO 4217) beside them, times as integer milliseconds since the Unix epoch, scopes as a list.
    /// Written from the typed fields (the command path's answer), not through `values`' text.
    public func answerValues(currency: String) -> [String: AnswerValue] {
        var answer: [String: AnswerValue] = [:]
        func text(_ key: String, _ value: (some CustomStringConvertible)?) { if let value { answer[key] = .text(value.description) } }
        text("userId", userId)
        text("role", role?.rawValue)
        text("token", token)
        text("addressId", addressId)
        text("goodsId", goodsId)
        text("deliveryMethodId", deliveryMethodId)
        text("reviewId", reviewId)
        text("couponId", couponId)
        text("code", code)
        text("orderId", orderId)
        text("number", number)
        text("paymentId", paymentId)
        text("keyId", keyId)
        text("secret", secret)
        text("ownerId", ownerId)
        text("webhookId", webhookId)
        text("afterSaleId", afterSaleId)
        text("promotionId", promotionId)
        if let total { answer["total"] = .integer(total.minorUnits) }
        if let amount { answer["amount"] = .integer(amount.minorUnits) }
        if let expiresAt { answer["expiresAt"] = .integer(expiresAt.millisecondsSinceEpoch) }
        if let scopes { answer["scopes"] = .texts(scopes.map(\.rawValue).sorted()) }
        if let variantIds { answer["variantIds"] = .texts(variantIds.map(\.description)) }
        if total != nil || amount != nil { answer["currency"] = .text(currency) }
        return answer
    }

    /// The schema of `answerValues`: every field a command may fill.
    public static var answerSchema: Schema {
        let id = Schema.string(format: "uuid")
        return .object(
            [
                "userId": id, "role": Role.schema, "token": .string(summary: "a login's bearer token"), "addressId": id, "goodsId": id,
                "deliveryMethodId": id,
                "variantIds": .array(
                    id, summary: "the variants made or named, in order (ListGoods: the default variant, whose id is the goods id, first)"),
                "reviewId": id, "couponId": id, "code": .string(), "orderId": id, "number": .string(summary: "the order's number"),
                "total": .integer(summary: "minor units of `currency`"), "paymentId": id,
                "amount": .integer(summary: "minor units of `currency`"), "keyId": id,
                "secret": .string(summary: "a new API key's, or a new webhook's signing secret: shown once"), "ownerId": id,
                "webhookId": id, "afterSaleId": id, "promotionId": id, "scopes": .array(Scope.schema),
                "expiresAt": .integer(summary: "milliseconds since the Unix epoch (UTC)"),
                "currency": .string(summary: "ISO 4217 code of `total` and `amount`"),
            ], summary: "what the command made, the fields it fills")
    }
}
