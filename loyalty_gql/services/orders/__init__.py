"""The order lifecycle: record, complete, cancel, refund. Each is idempotent.

Recording prices the basket with the same code as the checkout query, inside
one transaction that holds the customer's account lock and the locks of every
counter the order changes (offers with usage limits, single-use coupon codes,
vouchers). Cancelling undoes every effect; refunding takes back points in
proportion to the money refunded.
"""

from __future__ import annotations

from loyalty_gql.services.orders.common import MAX_ORDER_ID
from loyalty_gql.services.orders.lifecycle import cancel_order, complete_order
from loyalty_gql.services.orders.record import record_order
from loyalty_gql.services.orders.refunds import RefundLine, RefundRequest, refund_order

__all__ = [
    "MAX_ORDER_ID",
    "RefundLine",
    "RefundRequest",
    "cancel_order",
    "complete_order",
    "record_order",
    "refund_order",
]
