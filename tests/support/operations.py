"""The GraphQL operations tests share, once each: mostly the set-up steps ("given") that
many tests take, plus the order lifecycle the shop driver and the insight tests run.

An operation a test file is about (its "when", with the fields it asserts on) stays a
module constant of that file.
"""

from __future__ import annotations

# -- sites, programs and customers ----------------------------------------------------------

CREATE_SITE = """
mutation CreateSite($input: CreateSiteInput!) {
  createSite(input: $input) {
    site { id code name program { enabled currencyCode } }
    userErrors { field code message }
  }
}
"""
CONFIGURE_PROGRAM = """
mutation Configure($input: ConfigureProgramInput!) {
  configureProgram(input: $input) {
    program {
      enabled currencyCode earnRate pointsRounding participation orderPointsPending
      validityPolicy validityDays expiryWarningDays version
      newsletterSignupPoints productReviewPoints referralPoints
      customActivities { code name points dailyCap }
      thresholdReward {
        enabled points valueType value validityDays
        minimumOrderValue { amount currencyCode }
      }
    }
    userErrors { field code message }
  }
}
"""
REGISTER_CUSTOMER = """
mutation Register($input: RegisterCustomerInput!) {
  registerCustomer(input: $input) {
    customer { id externalId email name groups marketingConsent enrolled enrolledAt }
    userErrors { field code message }
  }
}
"""
LEAVE_PROGRAM = """
mutation($input: EnrollmentInput!) { leaveProgram(input: $input) { userErrors { code } } }
"""
CUSTOMER_BALANCE = """
query($id: ID!) {
  customer(id: $id) {
    balance { available pending lifetimeEarned lifetimeRedeemed }
    vouchers { code status source }
  }
}
"""

# -- points -----------------------------------------------------------------------------------

GRANT_POINTS = """
mutation($input: GrantPointsInput!) { grantPoints(input: $input) { userErrors { code } } }
"""
RECORD_ACTIVITY = """
mutation Record($input: RecordActivityInput!) {
  recordActivity(input: $input) { entry { id } userErrors { field code message } }
}
"""

# -- offers -----------------------------------------------------------------------------------

CREATE_OFFER = """
mutation($input: CreateOfferInput!) {
  createOffer(input: $input) { offer { id } userErrors { field code message } }
}
"""
PUBLISH_OFFER = """
mutation($input: OfferActionInput!) { publishOffer(input: $input) { userErrors { code } } }
"""
OFFER_ACTION = """
mutation($input: OfferActionInput!) {
  {action}(input: $input) { offer { status } userErrors { field code message } }
}
"""
ASSIGN_OFFER = """
mutation($input: AssignOfferInput!) {
  assignOffer(input: $input) { assignedCount userErrors { field code message } }
}
"""
GENERATE_COUPON_CODES = """
mutation($input: GenerateCouponCodesInput!) {
  generateCouponCodes(input: $input) { codes userErrors { code } }
}
"""
REDEEM_OFFER = """
mutation($input: RedeemOfferInput!) {
  redeemOffer(input: $input) { voucher { code } userErrors { field code message } }
}
"""
SET_STACKING_GROUP = """
mutation($input: SetStackingGroupInput!) {
  setStackingGroup(input: $input) { userErrors { field code message } }
}
"""
CREATE_TIER = """
mutation($input: CreateTierInput!) {
  createTier(input: $input) { tier { id } userErrors { field code message } }
}
"""

# -- checkout and the order lifecycle ----------------------------------------------------------

QUOTE_FIELDS = """
fragment Q on CheckoutQuote {
  currencyCode
  subtotal { amount currencyCode } discount { amount } total { amount }
  lines {
    lineId productId category quantity unitPrice { amount } originalPrice { amount }
    memberDiscount { amount } discount { amount } finalPrice { amount } earnsPoints
    discounts { offerId pointsPayment amount { amount } }
  }
  appliedOffers { offerId name origin code amount { amount } rewardPoints }
  rejectedOffers { offerId name origin code reason message }
  punchcards {
    offerId name punchesRequired punchesBefore punchesAfter rewardLineId rewardAmount { amount }
  }
  pointsPayment { requested used amount { amount } refusal message }
  pointsBase { amount } basePoints rewardPoints points
}
"""
ORDER_FIELDS = """
fragment O on Order {
  id orderId status customerId quote { ...Q } pointsEarned pointsPaid pointsTakenBack
  pointsNotRecovered refunded { amount currencyCode } createdAt completedAt cancelledAt
}
"""
CHECKOUT = "query($input: CheckoutInput!) { checkout(input: $input) { ...Q } }" + QUOTE_FIELDS
_ORDER_PAYLOAD = "{ order { ...O } userErrors { field code message } }"
RECORD_ORDER = (
    f"mutation($input: RecordOrderInput!) {{ recordOrder(input: $input) {_ORDER_PAYLOAD} }}"
    + ORDER_FIELDS
    + QUOTE_FIELDS
)
COMPLETE_ORDER = (
    f"mutation($input: OrderInput!) {{ completeOrder(input: $input) {_ORDER_PAYLOAD} }}"
    + ORDER_FIELDS
    + QUOTE_FIELDS
)
CANCEL_ORDER = (
    f"mutation($input: OrderInput!) {{ cancelOrder(input: $input) {_ORDER_PAYLOAD} }}"
    + ORDER_FIELDS
    + QUOTE_FIELDS
)
REFUND_ORDER = (
    f"mutation($input: RefundOrderInput!) {{ refundOrder(input: $input) {_ORDER_PAYLOAD} }}"
    + ORDER_FIELDS
    + QUOTE_FIELDS
)
ORDER = (
    "query($s: ID!, $o: String!) { order(siteId: $s, orderId: $o) { ...O } }"
    + ORDER_FIELDS
    + QUOTE_FIELDS
)
