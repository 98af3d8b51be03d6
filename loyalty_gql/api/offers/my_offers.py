""" "My offers": what a customer can buy with points and what they were given."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry

from loyalty_gql.api.core.errors import BadRequestError
from loyalty_gql.api.core.pagination import (
    AFTER,
    FIRST,
    MAX_ID,
    Connection,
    build_connection,
    decode_cursor,
    page_size,
)
from loyalty_gql.api.core.permissions import WITHIN_PARENT
from loyalty_gql.api.core.resolving import AppInfo
from loyalty_gql.api.offers.types import Offer
from loyalty_gql.api.points.types import Voucher
from loyalty_gql.db.models import CustomerRow, OfferRow, VoucherRow
from loyalty_gql.db.repositories.offers.catalog import holdings, my_offers_page
from loyalty_gql.db.repositories.sites import settings_of
from loyalty_gql.domain.errors import ErrorCode
from loyalty_gql.domain.offers import OfferKind
from loyalty_gql.services.offers.redemptions import redemption_refusal


@strawberry.enum(description="What an item of My offers is.")
class MyOfferKind(Enum):
    """An offer of the site, or a voucher the threshold reward gave (no offer behind it)."""

    OFFER = "OFFER"
    THRESHOLD_VOUCHER = "THRESHOLD_VOUCHER"


@strawberry.type(description="An offer as one customer sees it on their My offers page.")
class MyOffer:
    """An offer with the customer's standing towards it."""

    kind: MyOfferKind = strawberry.field(
        description="OFFER (offer is set) or THRESHOLD_VOUCHER (a voucher from the threshold "
        "reward: offer is null, the voucher is in vouchers).",
        metadata=WITHIN_PARENT,
    )
    offer: Offer | None = strawberry.field(
        description="The offer; null for a THRESHOLD_VOUCHER item.",
        metadata=WITHIN_PARENT,
    )
    can_redeem: bool = strawberry.field(
        description="Whether the customer can buy it with points now.", metadata=WITHIN_PARENT
    )
    reason: ErrorCode | None = strawberry.field(
        description="Why not, when canRedeem is false.", metadata=WITHIN_PARENT
    )
    reason_message: str | None = strawberry.field(
        description="Why not, in words.", metadata=WITHIN_PARENT
    )
    assigned: bool = strawberry.field(
        description=(
            "Whether the shop gave the offer to the customer; an assigned coupon applies at"
            " checkout and recordOrder by its ID (offers), with or without a code."
        ),
        metadata=WITHIN_PARENT,
    )
    punches: int | None = strawberry.field(
        description="Punches so far, for an assigned punchcard.", metadata=WITHIN_PARENT
    )
    vouchers: list[Voucher] = strawberry.field(
        description="The customer's vouchers from this offer, newest first.",
        metadata=WITHIN_PARENT,
    )


async def my_offers(
    info: AppInfo,
    customer: CustomerRow,
    kind: OfferKind | None,
    first: int | None,
    after: str | None,
) -> Connection[MyOffer]:
    """A page of the customer's offers; a fixed number of queries whatever its size."""
    ctx = info.context
    size = page_size(
        first, default=ctx.settings.default_page_size, maximum=ctx.settings.max_page_size
    )
    # Two sections, one cursor: the customer's threshold-reward vouchers (no offer
    # behind them) first, then offers; a cursor is [section, id].
    section, after_id = _position(after)
    site = await ctx.loaders.site_by_id.load(customer.site_id)
    account = await ctx.loaders.account_by_customer.load(customer.id)
    vouchers = await ctx.loaders.vouchers_by_customer.load(customer.id) or []
    own: list[VoucherRow] = []
    if kind is None and section == 0:
        own = [v for v in vouchers if v.offer_id is None and (after_id is None or v.id < after_id)]
    rows: list[OfferRow] = []
    async with ctx.db.read_sessions() as session:
        if len(own) <= size:
            rows = await my_offers_page(
                session,
                customer.site_id,
                customer.id,
                kinds=[kind.value] if kind else None,
                before_id=after_id if section == 1 else None,
                limit=size + 1 - len(own),
            )
        assignments, uses = await holdings(session, customer.id, [r.id for r in rows[:size]])
    now = ctx.clock()
    settings = settings_of(site)

    def item(row: OfferRow) -> MyOffer:
        held = assignments.get(row.id)
        # what redeemOffer would answer now: the same rules on the same rows
        refusal = redemption_refusal(
            settings, customer, account, row,
            customer_uses=uses.get(row.id, 0), held=held is not None, now=now,
        )  # fmt: skip
        return MyOffer(
            kind=MyOfferKind.OFFER,
            offer=Offer.from_row(row, site.currency),
            can_redeem=refusal is None,
            reason=refusal.code if refusal else None,
            reason_message=refusal.message if refusal else None,
            assigned=held is not None,
            punches=held.punches if held and row.kind == OfferKind.PUNCHCARD.value else None,
            vouchers=[Voucher.from_row(v) for v in vouchers if v.offer_id == row.id],
        )

    def voucher_item(row: VoucherRow) -> MyOffer:
        return MyOffer(
            kind=MyOfferKind.THRESHOLD_VOUCHER, offer=None, can_redeem=False, reason=None,
            reason_message=None, assigned=False, punches=None, vouchers=[Voucher.from_row(row)],
        )  # fmt: skip

    entries: list[VoucherRow | OfferRow] = [*own, *rows]
    return build_connection(
        entries,
        size=size,
        after=after,
        key=lambda e: [0 if isinstance(e, VoucherRow) else 1, e.id],
        node=lambda e: voucher_item(e) if isinstance(e, VoucherRow) else item(e),
    )


def _position(after: str | None) -> tuple[int, int | None]:
    if after is None:
        return 0, None
    section, entry_id = decode_cursor(after, arity=2)
    # ids are 64-bit: a larger one would reach the database and overflow its parameter
    if (
        section not in (0, 1)
        or not isinstance(entry_id, int)
        or isinstance(entry_id, bool)
        or not 1 <= entry_id <= MAX_ID
    ):
        raise BadRequestError(f"{after!r} is not a valid cursor")
    return int(section), entry_id


KIND = Annotated[OfferKind | None, strawberry.argument(description="Only offers of this kind.")]
FIRST_ARG = Annotated[int | None, strawberry.argument(description=FIRST)]
AFTER_ARG = Annotated[str | None, strawberry.argument(description=AFTER)]
