/// Why a command was refused. The code is stable (clients and the HTTP
/// layer switch on it); the message is for people.
public struct Rejection: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable, Codable {
        // Input and identity.
        case invalidInput = "invalid_input"
        case quantityOutOfRange = "quantity_out_of_range"
        case amountOutOfRange = "amount_out_of_range"
        case forbidden = "forbidden"
        case notOwner = "not_owner"
        // Users.
        case userNotFound = "user_not_found"
        case userAlreadyExists = "user_already_exists"
        case emailTaken = "email_taken"
        case invalidCredentials = "invalid_credentials"
        case accountLocked = "account_locked"
        case userForgotten = "user_forgotten"
        case addressNotFound = "address_not_found"
        case addressLimitReached = "address_limit_reached"
        case favoriteLimitReached = "favorite_limit_reached"
        case alreadyFavorite = "already_favorite"
        case notFavorite = "not_favorite"
        // Goods and stock.
        case goodsNotFound = "goods_not_found"
        case goodsAlreadyExists = "goods_already_exists"
        case goodsDelisted = "goods_delisted"
        case goodsNotDelisted = "goods_not_delisted"
        case insufficientStock = "insufficient_stock"
        case stockOutOfRange = "stock_out_of_range"
        case nothingChanged = "nothing_changed"
        case variantNotFound = "variant_not_found"
        case variantRequired = "variant_required"
        case variantDelisted = "variant_delisted"
        case duplicateSku = "duplicate_sku"
        case optionCombinationExists = "option_combination_exists"
        case optionsAlreadyDefined = "options_already_defined"
        case inStock = "in_stock"
        case alreadyWaiting = "already_waiting"
        case notWaiting = "not_waiting"
        case waitlistFull = "waitlist_full"
        case preOrdersOpen = "pre_orders_open"
        case webhookNotFound = "webhook_not_found"
        case webhookDisabled = "webhook_disabled"
        case preOrdersNotOpen = "pre_orders_not_open"
        case deliveryMethodNotFound = "delivery_method_not_found"
        case deliveryMethodDoesNotServeAddress = "delivery_method_does_not_serve_address"
        // Cart.
        case cartFull = "cart_full"
        case cartEmpty = "cart_empty"
        case notInCart = "not_in_cart"
        case noCouponApplied = "no_coupon_applied"
        // Coupons.
        case couponNotFound = "coupon_not_found"
        case couponAlreadyExists = "coupon_already_exists"
        case couponCodeTaken = "coupon_code_taken"
        case couponDisabled = "coupon_disabled"
        case couponNotYetValid = "coupon_not_yet_valid"
        case couponExpired = "coupon_expired"
        case couponMinimumSpendNotMet = "coupon_minimum_spend_not_met"
        case couponExhausted = "coupon_exhausted"
        case couponPerUserLimitReached = "coupon_per_user_limit_reached"
        // Points.
        case insufficientPoints = "insufficient_points"
        case pointsNotAllowed = "points_not_allowed"
        // Orders.
        case orderNotFound = "order_not_found"
        case orderAlreadyExists = "order_already_exists"
        case orderNumberTaken = "order_number_taken"
        case orderNotPayable = "order_not_payable"
        case orderNotShippable = "order_not_shippable"
        case orderAwaitingStock = "order_awaiting_stock"
        case orderNotReceivable = "order_not_receivable"
        case orderNotCancellable = "order_not_cancellable"
        case orderNotExpirable = "order_not_expirable"
        case orderNotRefundable = "order_not_refundable"
        case afterSaleNotFound = "after_sale_not_found"
        case afterSaleExists = "after_sale_exists"
        case afterSaleNotOpen = "after_sale_not_open"
        case afterSaleOpen = "after_sale_open"
        case quantityNotReturnable = "quantity_not_returnable"
        case exchangeDifferenceUnpaid = "exchange_difference_unpaid"
        case afterSaleNotPayable = "after_sale_not_payable"
        // Promotions.
        case promotionNotFound = "promotion_not_found"
        case promotionExists = "promotion_exists"
        case promotionEnded = "promotion_ended"
        case promotionLimitReached = "promotion_limit_reached"

        case refundWindowClosed = "refund_window_closed"
        case refundNotRequested = "refund_not_requested"
        // Payments.
        case paymentNotFound = "payment_not_found"
        case paymentAlreadyExists = "payment_already_exists"
        case paymentNotPending = "payment_not_pending"
        case amountMismatch = "amount_mismatch"
        // Reviews.
        case reviewNotAllowed = "review_not_allowed"
        case alreadyReviewed = "already_reviewed"
        case ratingOutOfRange = "rating_out_of_range"
        case reviewNotFound = "review_not_found"
        case reviewNotEditable = "review_not_editable"
        case alreadyReplied = "already_replied"
        // Merchant applications.
        case alreadyMerchant = "already_merchant"
        case applicationPending = "application_pending"
        case noPendingApplication = "no_pending_application"
        // API keys.
        case apiKeyNotFound = "api_key_not_found"
        case apiKeyAlreadyExists = "api_key_already_exists"
        case apiKeyRevoked = "api_key_revoked"
        case scopeNotAllowed = "scope_not_allowed"
    }

    public let code: Code
    public let message: String
    /// The input field at fault, when there is one.
    public let field: String?

    public init(_ code: Code, _ message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
