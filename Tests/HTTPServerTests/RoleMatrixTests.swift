import CommandEngine
import Commerce
import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import HTTPServer

/// Who sends a request in the role matrix.
enum Who: String, CaseIterable, Sendable, CustomStringConvertible {
    case anonymous, customer, otherCustomer, merchant, otherMerchant, admin
    /// An admin's API key holding the scope the command or route needs (every scope, when it needs none).
    case keyWithScope
    /// An admin's API key holding every scope but that one.
    case keyWithoutScope

    static let people: Set<Who> = [.customer, .otherCustomer, .merchant, .otherMerchant, .admin]
    var isKey: Bool { self == .keyWithScope || self == .keyWithoutScope }
    var description: String { rawValue }
}

/// A shop in which every command has something to act on: two customers
/// (the first with an address, a cart, a favorite, points and orders in every
/// state), two merchants (the first owns the goods), an admin, a coupon, a
/// pending merchant application and API keys. Built anew for each row, so a
/// row's allowed commands cannot change what another row sees.
struct MatrixShop {
    static let password = "correct horse"
    var bearer: [Who: String] = [:]
    var customerA = "", customerB = "", merchantA = "", admin = ""
    var goods = "", otherGoods = "", delistedGoods = "", coupon = "", address = ""
    /// A T-shirt in sizes S, M and L (L delisted), the first merchant's.
    var tee = "", teeM = "", teeL = ""
    /// The first merchant's id and delivery method.
    var merchant = "", deliveryMethod = ""
    var placedOrder = "", paidOrder = "", shippedOrder = "", receivedOrder = "", refundOrder = "", paidPayment = "", pendingPayment = ""
    var revocableKey = ""
    /// A received order no one asked about; a return and a claim asked about (open), and approved.
    var afterSaleOrder = "", openReturn = "", openClaim = "", approvedReturn = "", approvedClaim = "", receivedExchange = ""
    /// The first merchant's promotion on their goods.
    var promotion = ""
    /// A webhook to an endpoint no one listens on (nothing delivers in these tests).
    var webhook = ""
    /// A pending review of `goods`, by the customer, on `refundOrder`.
    var review = ""
    /// Two goods out of stock; the customer waits for the second; the first takes pre-orders.
    var soldOut = "", awaited = ""

    static func build(_ client: some TestClientProtocol, _ harness: Harness, scope: Scope?) async throws -> MatrixShop {
        var shop = MatrixShop()
        let admin = try await client.user("admin@matrix.example", role: .admin, engine: harness.engine)
        shop.bearer[.admin] = admin
        for (who, email) in [(Who.merchant, "merchant-a@matrix.example"), (.otherMerchant, "merchant-b@matrix.example")] {
            let registered = try await client.command(
                "RegisterUser", ["email": email, "password": password, "name": "Seller", "role": "merchant"], token: admin)
            try #require(registered.status == .ok, "\(registered.text)")
            if who == .merchant { shop.merchantA = registered.result["userId"] ?? "" }
            shop.bearer[who] = try await client.command("Login", ["email": email, "password": password]).result["token"]
        }
        shop.bearer[.customer] = try await client.shopper("buyer-a@matrix.example", engine: harness.engine)
        shop.bearer[.otherCustomer] = try await client.user("buyer-b@matrix.example", engine: harness.engine)
        shop.customerA = try await client.call(.get, "/v1/me/profile", token: shop.bearer[.customer]).json["userId"] as? String ?? ""
        shop.address =
            (try await client.call(.get, "/v1/me/profile", token: shop.bearer[.customer]).json["addresses"] as? [[String: Any]])?
            .first?["addressId"] as? String ?? ""
        shop.customerB = try await client.call(.get, "/v1/me/profile", token: shop.bearer[.otherCustomer]).json["userId"] as? String ?? ""
        shop.admin = try await client.call(.get, "/v1/me/profile", token: admin).json["userId"] as? String ?? ""
        _ = try await client.command("ApplyForMerchant", ["shopName": "B's Teas 茶"], token: shop.bearer[.otherCustomer])

        func list(_ title: String) async throws -> String {
            try await client.command(
                "ListGoods", ["title": title, "category": "tea", "price": 10_000, "stock": 100], token: shop.bearer[.merchant]
            )
            .result["goodsId"] ?? ""
        }
        for keep in [\MatrixShop.soldOut, \MatrixShop.awaited] {
            shop[keyPath: keep] =
                try await client.command(
                    "ListGoods", ["title": "Sold out 售罄", "category": "tea", "price": 10_000, "stock": 0], token: shop.bearer[.merchant]
                ).result["goodsId"] ?? ""
        }
        let day: Int64 = 86_400_000
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try #require(
            try await client.command(
                "OpenPreOrders", ["goodsId": shop.soldOut, "cap": 10, "endsAt": now + day, "arrivesBy": now + 7 * day],
                token: shop.bearer[.merchant]
            ).status == .ok)
        shop.goods = try await list("Longjing 龙井")
        shop.otherGoods = try await list("Oolong 乌龙")
        shop.delistedGoods = try await list("Pu'er 普洱")
        _ = try await client.command("Delist", ["goodsId": shop.delistedGoods], token: shop.bearer[.merchant])
        let tee = try await client.command(
            "ListGoods",
            [
                "title": "T-shirt T恤", "category": "clothing", "options": ["尺码 Size"],
                "variants": [
                    ["sku": "T-S", "values": ["S"], "price": 9_900, "stock": 10],
                    ["sku": "T-M", "values": ["M"], "price": 9_900, "stock": 10],
                    ["sku": "T-L", "values": ["L"], "price": 10_900, "stock": 10],
                ],
            ], token: shop.bearer[.merchant])
        shop.tee = tee.result["goodsId"] ?? ""
        let variantIds = (tee.result["variantIds"] ?? "").split(separator: " ").map(String.init)
        (shop.teeM, shop.teeL) = (variantIds.dropFirst().first ?? "", variantIds.last ?? "")
        _ = try await client.command("DelistVariant", ["goodsId": shop.tee, "variantId": shop.teeL], token: shop.bearer[.merchant])
        shop.merchant = try await client.call(.get, "/v1/me/profile", token: shop.bearer[.merchant]).json["userId"] as? String ?? ""
        shop.deliveryMethod =
            try await client.command("DefineDeliveryMethod", ["name": "EMS", "flatFee": 1_000], token: shop.bearer[.merchant])
            .result["deliveryMethodId"] ?? ""
        shop.promotion =
            try await client.command(
                "CreatePromotion",
                // On a category none of the shop's goods is in: the orders' totals stay as the rows expect.
                ["name": "店庆九折", "kind": "percentOff", "percent": 10, "categories": ["礼盒"], "validUntil": 4_102_444_800_000],
                token: shop.bearer[.merchant]
            ).result["promotionId"] ?? ""
        shop.coupon =
            try await client.command(
                "CreateCoupon",
                [
                    "code": "MATRIX", "kind": "percent", "value": 10, "validUntil": 4_102_444_800_000,
                    "totalLimit": 100, "perUserLimit": 5,
                ], token: admin
            ).result["couponId"] ?? ""
        let buyer = shop.bearer[.customer]
        try #require(try await client.command("JoinWaitlist", ["goodsId": shop.awaited], token: buyer).status == .ok)
        _ = try await client.command("AddFavorite", ["goodsId": shop.goods], token: buyer)
        _ = try await client.command("AddToCart", ["goodsId": shop.goods, "quantity": 1], token: buyer)
        try #require(try await client.command("ApplyCoupon", ["code": "MATRIX"], token: buyer).status == .ok)

        func order() async throws -> String {
            let placed = try await client.command("PlaceOrder", ["items": [["goodsId": shop.goods, "quantity": 1]]], token: buyer)
            try #require(placed.status == .ok, "\(placed.text)")
            return placed.result["orderId"] ?? ""
        }
        func pay(_ order: String) async throws -> String {
            let payment = try await client.command("InitiatePayment", ["orderId": order], token: buyer).result["paymentId"] ?? ""
            try #require(try await client.call(.post, "/v1/payments/sandbox/checkout/\(payment)", token: buyer).status == .ok)
            return payment
        }
        func ship(_ order: String) async throws {
            try #require(
                try await client.command(
                    "ShipOrder", ["orderId": order, "carrier": "SF", "trackingNumber": "SF1"], token: shop.bearer[.merchant]
                ).status == .ok)
        }
        shop.placedOrder = try await order()
        shop.pendingPayment =
            try await client.command("InitiatePayment", ["orderId": shop.placedOrder], token: buyer).result["paymentId"] ?? ""
        shop.paidOrder = try await order()
        shop.paidPayment = try await pay(shop.paidOrder)
        shop.shippedOrder = try await order()
        _ = try await pay(shop.shippedOrder)
        try await ship(shop.shippedOrder)
        for keep in [\MatrixShop.receivedOrder, \MatrixShop.refundOrder] {
            let id = try await order()
            _ = try await pay(id)
            try await ship(id)
            try #require(try await client.command("ConfirmReceipt", ["orderId": id], token: buyer).status == .ok)
            shop[keyPath: keep] = id
        }
        func receivedOrder() async throws -> String {
            let id = try await order()
            _ = try await pay(id)
            try await ship(id)
            try #require(try await client.command("ConfirmReceipt", ["orderId": id], token: buyer).status == .ok)
            return id
        }
        func afterSale(_ kind: String, _ resolution: String, approved: Bool) async throws -> String {
            let asked = try await client.command(
                "RequestAfterSale",
                [
                    "orderId": try await receivedOrder(), "kind": kind, "resolution": resolution, "lines": [["line": 0, "quantity": 1]],
                    "reason": "壶嘴漏水 the spout leaks",
                ], token: buyer)
            try #require(asked.status == .ok, "\(asked.text)")
            let id = asked.result["afterSaleId"] ?? ""
            if approved {
                try #require(
                    try await client.command("ApproveAfterSale", ["afterSaleId": id], token: shop.bearer[.merchant]).status == .ok)
            }
            return id
        }
        shop.afterSaleOrder = try await receivedOrder()
        shop.openReturn = try await afterSale("return", "refund", approved: false)
        shop.openClaim = try await afterSale("claim", "refund", approved: false)
        shop.approvedReturn = try await afterSale("return", "refund", approved: true)
        shop.approvedClaim = try await afterSale("claim", "replace", approved: true)
        shop.receivedExchange = try await afterSale("exchange", "replace", approved: true)
        try #require(
            try await client.command(
                "ReceiveReturn", ["afterSaleId": shop.receivedExchange, "lines": [["line": 0, "received": 1]]],
                token: shop.bearer[.merchant]
            ).status == .ok)
        shop.review =
            try await client.command(
                "PostReview", ["goodsId": shop.goods, "orderId": shop.refundOrder, "rating": 2, "text": "有点碎 a little broken"],
                token: buyer
            ).result["reviewId"] ?? ""
        try #require(
            try await client.command("RequestRefund", ["orderId": shop.refundOrder, "reason": "damaged"], token: buyer).status == .ok)

        let all = Scope.allCases.map(\.rawValue)
        func key(_ scopes: [String]) async throws -> String {
            let issued = try await client.command("IssueApiKey", ["name": "matrix", "scopes": scopes], token: admin)
            try #require(issued.status == .ok, "\(issued.text)")
            return issued.result["secret"] ?? ""
        }
        shop.bearer[.keyWithScope] = try await key(scope.map { [$0.rawValue] } ?? all)
        shop.bearer[.keyWithoutScope] = try await key(all.filter { $0 != scope?.rawValue })
        shop.revocableKey =
            try await client.command("IssueApiKey", ["name": "to revoke", "scopes": ["orders:read"]], token: admin).result["keyId"] ?? ""
        let webhook = try await client.command("RegisterWebhook", ["url": "http://127.0.0.1:9/hook"], token: admin)
        try #require(webhook.status == .ok, "\(webhook.text)")
        shop.webhook = webhook.result["webhookId"] ?? ""
        return shop
    }
}

/// One command's row: the data it is sent with, who gets through (the first
/// of `succeeds` must get a 2xx), and the code each refused user gets.
struct CommandRow: Sendable, CustomStringConvertible {
    let command: String
    /// Gets a 2xx (run first of those who get through); nil when no one can succeed in this shop (ExpireOrder: not due yet).
    let succeeds: Who?
    /// Get through authorization too (any answer but 401/403/5xx).
    let passes: Set<Who>
    /// The 403 code refused people get (keys get `insufficient_scope`, anonymous callers 401).
    let refusedCode: String
    var codes: [Who: String] = [:]
    let data: @Sendable (MatrixShop, Int) -> [String: Any]

    var description: String { command }
    var scope: Scope? { CommandKind(rawValue: command)?.access.scope }
    var admitted: Set<Who> { passes.union(succeeds.map { [$0] } ?? []) }

    init(
        _ command: String, succeeds: Who?, passes: Set<Who> = [], refusedCode: String = "forbidden", codes: [Who: String] = [:],
        _ data: @escaping @Sendable (MatrixShop, Int) -> [String: Any]
    ) {
        self.command = command
        self.succeeds = succeeds
        self.passes = passes
        self.refusedCode = refusedCode
        self.codes = codes
        self.data = data
    }

    /// What `who` gets when refused: (status, code).
    func refusal(_ who: Who) -> (HTTPResponse.Status, String) {
        if who == .anonymous { return (.unauthorized, "unauthenticated") }
        if who.isKey { return (.forbidden, "insufficient_scope") }
        return (.forbidden, codes[who] ?? refusedCode)
    }
}

enum Matrix {
    static let others = Who.people.subtracting([.customer])
    static let staff: Set<Who> = [.admin, .keyWithScope]
    static var address: [String: Any] {
        ["recipient": "韩梅梅", "phone": "1", "line1": "2 Main St", "city": "Beijing", "postalCode": "100080", "country": "CN"]
    }
    static let validUntil: Int64 = 4_102_444_800_000

    static let rows: [CommandRow] = [
        CommandRow("RegisterUser", succeeds: .anonymous, passes: Who.people) { _, n in
            ["email": "new\(n)@matrix.example", "password": MatrixShop.password, "name": "New"]
        },
        CommandRow("Login", succeeds: .anonymous, passes: Who.people) { _, _ in
            ["email": "buyer-a@matrix.example", "password": MatrixShop.password]
        },
        CommandRow("UpdateProfile", succeeds: .customer, passes: [.admin], refusedCode: "not_owner") { shop, n in
            ["userId": shop.customerA, "name": "Li \(n)"]
        },
        CommandRow("ChangePassword", succeeds: .customer, passes: others) { _, _ in
            ["oldPassword": MatrixShop.password, "newPassword": MatrixShop.password]
        },
        CommandRow("AddAddress", succeeds: .customer, passes: others) { _, _ in ["address": address] },
        CommandRow("UpdateAddress", succeeds: .customer, passes: others) { shop, _ in ["addressId": shop.address, "address": address] },
        CommandRow("RemoveAddress", succeeds: .customer, passes: others) { shop, _ in ["addressId": shop.address] },
        CommandRow("SetDefaultAddress", succeeds: .customer, passes: others) { shop, _ in ["addressId": shop.address] },
        CommandRow("AddFavorite", succeeds: .customer, passes: others) { shop, _ in ["goodsId": shop.otherGoods] },
        CommandRow("RemoveFavorite", succeeds: .customer, passes: others) { shop, _ in ["goodsId": shop.goods] },
        CommandRow("RecordView", succeeds: .customer, passes: others) { shop, _ in ["goodsId": shop.goods] },
        CommandRow("GrantRole", succeeds: .admin) { shop, _ in ["userId": shop.customerB, "role": "merchant"] },
        CommandRow("ForgetUser", succeeds: .otherCustomer, passes: [.admin], refusedCode: "not_owner") { shop, _ in
            ["userId": shop.customerB]
        },
        CommandRow("ApplyForMerchant", succeeds: .customer, passes: others) { _, _ in ["shopName": "A's Teas 茶庄"] },
        CommandRow("ApproveMerchantApplication", succeeds: .admin) { shop, _ in ["userId": shop.customerB] },
        CommandRow("RejectMerchantApplication", succeeds: .admin) { shop, _ in ["userId": shop.customerB, "reason": "no licence"] },
        CommandRow("ListGoods", succeeds: .merchant, passes: [.otherMerchant, .admin, .keyWithScope]) { _, n in
            ["title": "Tea \(n)", "category": "tea", "price": 500, "stock": 5]
        },
        CommandRow("UpdateGoods", succeeds: .merchant, passes: staff, codes: [.otherMerchant: "not_owner"]) { shop, n in
            ["goodsId": shop.goods, "title": "Longjing \(n)", "category": "tea"]
        },
        CommandRow("ChangePrice", succeeds: .merchant, passes: staff, codes: [.otherMerchant: "not_owner"]) { shop, n in
            ["goodsId": shop.goods, "price": 20_000 + n]
        },
        CommandRow("Restock", succeeds: .merchant, passes: staff, codes: [.otherMerchant: "not_owner"]) { shop, _ in
            ["goodsId": shop.goods, "quantity": 3]
        },
        CommandRow("OpenPreOrders", succeeds: .merchant, passes: staff, codes: [.otherMerchant: "not_owner"]) { shop, _ in
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            return ["goodsId": shop.awaited, "cap": 5, "endsAt": now + 86_400_000, "arrivesBy": now + 2 * 86_400_000]
        },
        CommandRow("CancelPreOrders", succeeds: .merchant, passes: staff, codes: [.otherMerchant: "not_owner"]) { shop, _ in
            ["goodsId": shop.soldOut, "reason": "停产 discontinued"]
        },
        CommandRow("AdjustStock", succeeds: .merchant, passes: staff, codes: [.otherMerchant: "not_owner"]) { shop, _ in
            ["goodsId": shop.goods, "delta": -1, "reason": "breakage"]
        },
        CommandRow("Delist", succeeds: .merchant, passes: staff, codes: [.otherMerchant: "not_owner"]) { shop, _ in ["goodsId": shop.goods]
        },
        CommandRow("Relist", succeeds: .merchant, passes: staff, codes: [.otherMerchant: "not_owner"]) { shop, _ in
            ["goodsId": shop.delistedGoods]
        },
        CommandRow("DefineOptions", succeeds: .merchant, passes: staff, codes: [.otherMerchant: "not_owner"]) { shop, _ in
            ["goodsId": shop.goods, "options": ["规格 Size"], "values": ["250g"], "sku": "LJ-250"]
        },
        CommandRow("AddVariant", succeeds: .merchant, passes: staff, codes: [.otherMerchant: "not_owner"]) { shop, n in
            ["goodsId": shop.tee, "variant": ["sku": "T-XL\(n)", "values": ["XL\(n)"], "price": 11_900, "stock": 5]]
        },
        CommandRow("UpdateVariant", succeeds: .merchant, passes: staff, codes: [.otherMerchant: "not_owner"]) { shop, n in
            ["goodsId": shop.tee, "variantId": shop.teeM, "lowStockThreshold": n, "weightGrams": 180]
        },
        CommandRow("DelistVariant", succeeds: .merchant, passes: staff, codes: [.otherMerchant: "not_owner"]) { shop, _ in
            ["goodsId": shop.tee, "variantId": shop.teeM]
        },
        CommandRow("RelistVariant", succeeds: .merchant, passes: staff, codes: [.otherMerchant: "not_owner"]) { shop, _ in
            ["goodsId": shop.tee, "variantId": shop.teeL]
        },
        CommandRow("SetGoodsAttributes", succeeds: .merchant, passes: staff, codes: [.otherMerchant: "not_owner"]) { shop, n in
            ["goodsId": shop.goods, "attributes": [["name": "产地 Origin", "kind": "text", "value": "杭州 \(n)"]]]
        },
        CommandRow("DefineDeliveryMethod", succeeds: .merchant, passes: [.otherMerchant, .admin, .keyWithScope]) { _, n in
            [
                "name": "顺丰 SF Express \(n)", "flatFee": 1_200, "perKilogram": 300, "freeAbove": 9_900,
                "areas": [["area": "浙江", "fee": 800]],
            ]
        },
        // The first merchant's method, named with its merchant (as an admin names it).
        CommandRow("RetireDeliveryMethod", succeeds: .merchant, passes: staff, codes: [.otherMerchant: "not_owner"]) { shop, _ in
            ["methodId": shop.deliveryMethod, "merchantId": shop.merchant]
        },
        CommandRow("ModerateReview", succeeds: .merchant, passes: staff) { shop, n in
            ["goodsId": shop.goods, "reviewId": shop.review, "verdict": n.isMultiple(of: 2) ? "approve" : "flag", "reason": "复查 check"]
        },
        CommandRow("ReplyToReview", succeeds: .merchant, passes: staff) { shop, _ in
            ["goodsId": shop.goods, "reviewId": shop.review, "text": "抱歉，已为您补发 Sorry, a replacement is on its way"]
        },
        CommandRow("EditReview", succeeds: .customer, refusedCode: "not_owner") { shop, _ in
            ["goodsId": shop.goods, "reviewId": shop.review, "rating": 3, "text": "客服处理很快 quick service"]
        },
        CommandRow("JoinWaitlist", succeeds: .customer, passes: others) { shop, _ in ["goodsId": shop.soldOut] },
        CommandRow("LeaveWaitlist", succeeds: .customer, passes: others) { shop, _ in ["goodsId": shop.awaited] },
        CommandRow("PostReview", succeeds: .customer, refusedCode: "not_owner") { shop, _ in
            ["goodsId": shop.goods, "orderId": shop.receivedOrder, "rating": 5, "text": "好茶 good"]
        },
        CommandRow("AddToCart", succeeds: .customer, passes: others) { shop, _ in ["goodsId": shop.otherGoods, "quantity": 1] },
        CommandRow("ChangeQuantity", succeeds: .customer, passes: others) { shop, _ in ["goodsId": shop.goods, "quantity": 2] },
        CommandRow("RemoveFromCart", succeeds: .customer, passes: others) { shop, _ in ["goodsId": shop.goods] },
        CommandRow("ApplyCoupon", succeeds: .customer, passes: others) { _, _ in ["code": "MATRIX"] },
        CommandRow("RemoveCoupon", succeeds: .customer, passes: others) { _, _ in [:] },
        CommandRow("ClearCart", succeeds: .customer, passes: others) { _, _ in [:] },
        CommandRow("CreateCoupon", succeeds: .admin, passes: [.keyWithScope]) { _, n in
            ["code": "NEW\(n)", "kind": "fixed", "value": 100, "validUntil": validUntil, "totalLimit": 10]
        },
        CommandRow("DisableCoupon", succeeds: .admin, passes: [.keyWithScope]) { shop, _ in ["couponId": shop.coupon] },
        CommandRow("CreatePromotion", succeeds: .merchant, passes: [.otherMerchant, .admin, .keyWithScope]) { _, n in
            [
                "name": "满300减50 #\(n)", "kind": "spendAndSave", "validUntil": validUntil, "usesMax": 100,
                "tiers": [["threshold": 30_000, "amountOff": 5_000, "repeating": true]],
            ]
        },
        CommandRow("EndPromotion", succeeds: .merchant, passes: staff) { shop, _ in ["promotionId": shop.promotion, "reason": "售罄"] },
        CommandRow("PlaceOrder", succeeds: .customer, passes: others) { shop, _ in ["items": [["goodsId": shop.goods, "quantity": 1]]] },
        CommandRow("PayOrder", succeeds: .admin, refusedCode: "not_owner") { shop, _ in ["orderId": shop.placedOrder, "amount": 10_000] },
        CommandRow("ShipOrder", succeeds: .merchant, passes: staff, refusedCode: "not_owner") { shop, _ in
            ["orderId": shop.paidOrder, "carrier": "SF", "trackingNumber": "SF2"]
        },
        CommandRow("ConfirmReceipt", succeeds: .customer, passes: [.admin], refusedCode: "not_owner") { shop, _ in
            ["orderId": shop.shippedOrder]
        },
        CommandRow("CancelOrder", succeeds: .customer, passes: [.merchant, .admin, .keyWithScope], refusedCode: "not_owner") { shop, _ in
            ["orderId": shop.placedOrder, "reason": "changed my mind"]
        },
        CommandRow("RequestRefund", succeeds: .customer, passes: [.admin], refusedCode: "not_owner") { shop, _ in
            ["orderId": shop.receivedOrder, "reason": "damaged"]
        },
        CommandRow("ApproveRefund", succeeds: .merchant, passes: staff, refusedCode: "not_owner") { shop, _ in ["orderId": shop.refundOrder]
        },
        CommandRow("RejectRefund", succeeds: .merchant, passes: staff, refusedCode: "not_owner") { shop, _ in
            ["orderId": shop.refundOrder, "reason": "photos show no damage"]
        },
        CommandRow("RequestAfterSale", succeeds: .customer, passes: [.admin], refusedCode: "not_owner") { shop, _ in
            ["orderId": shop.afterSaleOrder, "kind": "return", "lines": [["line": 0, "quantity": 1]], "reason": "尺码不合适 wrong size"]
        },
        CommandRow("ApproveAfterSale", succeeds: .merchant, passes: staff, refusedCode: "not_owner") { shop, _ in
            ["afterSaleId": shop.openReturn]
        },
        CommandRow("RejectAfterSale", succeeds: .merchant, passes: staff, refusedCode: "not_owner") { shop, _ in
            ["afterSaleId": shop.openClaim, "reason": "签收时完好 it arrived whole"]
        },
        CommandRow("ReceiveReturn", succeeds: .merchant, passes: staff, refusedCode: "not_owner") { shop, _ in
            ["afterSaleId": shop.approvedReturn, "lines": [["line": 0, "received": 1, "damaged": 0]]]
        },
        CommandRow("ShipReplacement", succeeds: .merchant, passes: staff, refusedCode: "not_owner") { shop, _ in
            ["afterSaleId": shop.approvedClaim, "carrier": "SF", "trackingNumber": "SF3"]
        },
        CommandRow("RefundExchange", succeeds: .merchant, passes: staff, refusedCode: "not_owner") { shop, _ in
            ["afterSaleId": shop.receivedExchange]
        },
        CommandRow("ExpireOrder", succeeds: nil, passes: [.admin], refusedCode: "not_owner") { shop, _ in ["orderId": shop.placedOrder] },
        CommandRow("InitiatePayment", succeeds: .customer, passes: [.admin], refusedCode: "not_owner") { shop, _ in
            ["orderId": shop.placedOrder]
        },
        // A payment an order holds is refunded through the order; this one is, so the admin's refund is refused after authorization.
        CommandRow("RefundPayment", succeeds: nil, passes: [.admin, .keyWithScope]) { shop, _ in
            ["paymentId": shop.paidPayment, "reason": "goodwill"]
        },
        CommandRow("RedeemPoints", succeeds: .customer, passes: others) { _, _ in ["points": 10] },
        CommandRow("ExchangePoints", succeeds: .customer, passes: others) { _, n in ["points": 10, "code": "PTS\(n)"] },
        CommandRow("IssueApiKey", succeeds: .admin) { _, _ in ["name": "integration", "scopes": ["orders:read"]] },
        CommandRow("RevokeApiKey", succeeds: .admin) { shop, _ in ["keyId": shop.revocableKey] },
        CommandRow("RegisterWebhook", succeeds: .admin, passes: staff) { _, _ in
            ["url": "https://erp.example.com/hook", "eventTypes": ["OrderPaid"]]
        },
        CommandRow("DisableWebhook", succeeds: .admin, passes: staff) { shop, _ in ["webhookId": shop.webhook, "reason": "retired"] },
        // No dead letters in this shop: admitted callers get nothing_changed.
        CommandRow("ReplayWebhookDeadLetters", succeeds: nil, passes: staff) { shop, _ in ["webhookId": shop.webhook] },
    ]
}

@Suite struct RoleMatrixTests {
    /// A command added without a row fails here: someone must decide who may send it.
    @Test func everyCommandHasARow() {
        let rows = Matrix.rows.map(\.command)
        let kinds = CommandKind.allCases.map(\.rawValue)
        #expect(Set(rows) == Set(kinds), "rows missing: \(Set(kinds).subtracting(rows).sorted())")
        #expect(rows.count == Set(rows).count)
    }

    /// Every command × {anonymous, customer, another customer, merchant,
    /// another merchant, admin, API key with and without the scope}: a
    /// refusal is its 401/403 and code and appends nothing; everyone else gets
    /// through authorization, and the row's first allowed caller succeeds.
    @Test(arguments: Matrix.rows)
    func whoMaySendIt(_ row: CommandRow) async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let shop = try await MatrixShop.build(client, harness, scope: row.scope)
            var sent = 0
            for who in Who.allCases where !row.admitted.contains(who) {
                let before = harness.log.headPosition
                sent += 1
                let reply = try await client.command(row.command, row.data(shop, sent), token: shop.bearer[who])
                let (status, code) = row.refusal(who)
                #expect(reply.status == status && reply.errorCode == code, "\(row.command) by \(who): \(reply.status.code) \(reply.text)")
                #expect(harness.log.headPosition == before, "\(row.command) by \(who) was refused but appended")
            }
            for who in (row.succeeds.map { [$0] } ?? []) + Who.allCases.filter({ row.passes.contains($0) && $0 != row.succeeds }) {
                sent += 1
                let reply = try await client.command(row.command, row.data(shop, sent), token: shop.bearer[who])
                if who == row.succeeds {
                    #expect(reply.status == .ok, "\(row.command) by \(who) should succeed: \(reply.text)")
                } else {
                    #expect(![401, 403].contains(reply.status.code) && reply.status.code < 500, "\(row.command) by \(who): \(reply.text)")
                }
            }
        }
    }
}

/// Who may call each route that needs credentials, written out here and
/// compared with what the routes declare, then tried with every caller.
@Suite struct RouteAccessTests {
    static let expected: [String: String] = [
        "sandboxCheckout": "signedIn", "cart": "signedIn", "orders": "signedIn", "points": "signedIn", "profile": "signedIn",
        "favorites": "signedIn", "footprints": "signedIn", "waitlist": "signedIn", "reviews": "signedIn", "recommendFeed": "signedIn",
        "order": "customer orders:read", "afterSale": "customer orders:read", "events": "admin events:read",
        "auditEvents": "admin audit:read",
        "auditStream": "admin audit:read",
        "auditDigest": "admin audit:read", "historyShop": "admin audit:read", "historyStream": "admin audit:read",
        "historyChanges": "admin audit:read", "historyCart": "admin audit:read", "analyticsSales": "merchant analytics:read",
        "analyticsTopGoods": "merchant analytics:read",
        "analyticsLowStock": "merchant analytics:read", "analyticsFunnel": "admin analytics:read",
        "analyticsRefunds": "admin analytics:read", "analyticsOrdersToAct": "merchant analytics:read",
        "analyticsStock": "merchant analytics:read", "goodsHistory": "merchant analytics:read",
        "auditStreams": "admin audit:read", "auditCategories": "admin audit:read", "auditVerify": "admin audit:read",
        "projections": "admin projections:manage", "rebuildProjection": "admin projections:manage",
        "trainRecommendations": "admin projections:manage",
        "apiKeys": "admin", "merchantApplications": "admin", "reviewQueue": "merchant goods:write",
        "webhooks": "admin webhooks:manage", "webhook": "admin webhooks:manage",
    ]

    @Test func theDeclaredAccessIsTheExpectedOne() throws {
        let declared = Dictionary(
            uniqueKeysWithValues: try Harness().routes.compactMap { probe in probe.accessDescription.map { (probe.name, $0) } })
        #expect(declared == Self.expected)
    }

    @Test func everyCallerGetsWhatTheRouteAdmits() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let shop = try await MatrixShop.build(client, harness, scope: nil)
            for probe in harness.routes where probe.accessDescription != nil {
                for who in Who.allCases {
                    let path =
                        probe.path.replacingOccurrences(of: ":paymentId", with: shop.pendingPayment)
                        .replacingOccurrences(of: ":orderId", with: shop.paidOrder).replacingOccurrences(
                            of: ":stream", with: "order-\(shop.paidOrder)"
                        )
                        .replacingOccurrences(of: ":name", with: "search") + (probe.name == "events" ? "?limit=1" : "")
                    // Keys are admins' here; "without scope" holds every scope but the route's.
                    let token: String?
                    switch who {
                    case .keyWithScope: token = try await key(client, shop, probe.scope.map { [$0] } ?? Scope.allCases)
                    case .keyWithoutScope: token = try await key(client, shop, Scope.allCases.filter { $0 != probe.scope })
                    default: token = shop.bearer[who]
                    }
                    let reply = try await client.call(probe.method, path, token: token)
                    let admitted = probe.admits(who)
                    if admitted {
                        #expect(
                            ![401, 403].contains(reply.status.code) && reply.status.code < 500, "\(probe.name) by \(who): \(reply.text)")
                    } else {
                        let status: HTTPResponse.Status = who == .anonymous ? .unauthorized : .forbidden
                        #expect(reply.status == status, "\(probe.name) by \(who): \(reply.status.code) \(reply.text)")
                        if who.isKey { #expect(reply.errorCode == "insufficient_scope", "\(probe.name) by \(who)") }
                    }
                }
            }
        }
    }

    private func key(_ client: some TestClientProtocol, _ shop: MatrixShop, _ scopes: [Scope]) async throws -> String {
        try await client.command("IssueApiKey", ["name": "route", "scopes": scopes.map(\.rawValue)], token: shop.bearer[.admin]).result[
            "secret"] ?? ""
    }
}

extension RouteSpec {
    /// "signedIn", or the least role and the scope a key needs; nil for routes open to anyone.
    var accessDescription: String? {
        switch access {
        case .anyone, .anyoneNamed: return nil
        case .signedIn: return "signedIn"
        case let .role(role, scope): return ([role.rawValue] + (scope.map { [$0.rawValue] } ?? [])).joined(separator: " ")
        }
    }

    var scope: Scope? {
        if case .role(_, let scope) = access { return scope }
        return nil
    }

    func admits(_ who: Who) -> Bool {
        let roles: [Who: Role] = [
            .customer: .customer, .otherCustomer: .customer, .merchant: .merchant, .otherMerchant: .merchant, .admin: .admin,
        ]
        switch access {
        case .anyone, .anyoneNamed: return true
        case .signedIn: return Who.people.contains(who)
        case let .role(least, scope):
            if who == .keyWithScope { return scope != nil }
            return roles[who].map { $0 >= least } ?? false
        }
    }
}

/// Object-level access: a signed-in caller reaches only their own orders and payments; another's read as absent (404, not 403,
/// so ids cannot be probed), and a merchant's only where their goods are.
@Suite struct ObjectLevelAccessTests {
    @Test func anotherCustomersOrderAndPaymentReadAsAbsent() async throws {
        let harness = try Harness()
        try await harness.app.test(.router) { client in
            let shop = try await MatrixShop.build(client, harness, scope: .ordersRead)
            for who in [Who.otherCustomer, .otherMerchant] {
                let order = try await client.call(.get, "/v1/orders/\(shop.paidOrder)", token: shop.bearer[who])
                #expect(order.status == .notFound && order.errorCode == "order_not_found", "\(who)")
                let before = harness.log.headPosition
                let paid = try await client.call(.post, "/v1/payments/sandbox/checkout/\(shop.pendingPayment)", token: shop.bearer[who])
                #expect(paid.status == .notFound && paid.errorCode == "payment_not_found" && harness.log.headPosition == before, "\(who)")
            }
            for who in [Who.customer, .merchant, .admin, .keyWithScope] {
                #expect(try await client.call(.get, "/v1/orders/\(shop.paidOrder)", token: shop.bearer[who]).status == .ok, "\(who)")
            }
            #expect(
                try await client.call(.post, "/v1/payments/sandbox/checkout/\(shop.pendingPayment)", token: shop.bearer[.customer]).status
                    == .ok)
        }
    }
}
