""" "My offers": what a customer can buy with points and what they were given."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry

from loyalty_gql.api.core.pagination import Connection, connect, id_key, page_of
from loyalty_gql.api.core.permissions import WITHIN_PARENT
from loyalty_gql.api.core.resolving import AppInfo
from loyalty_gql.api.offers.types import Offer
from loyalty_gql.api.points.types import Voucher
from loyalty_gql.db.models import CustomerRow, OfferRow, VoucherRow
from loyalty_gql.db.paging import Window
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
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Connection[MyOffer]:
    """A page of the customer's offers; a fixed number of queries whatever its size."""
    ctx = info.context
    page = page_of(
        "myOffers", first=first, last=last, after=after, before=before,
        default=ctx.settings.default_page_size, maximum=ctx.settings.max_page_size,
        valid=_is_position,
    )  # fmt: skip
    # Two sections, one cursor: the customer's threshold-reward vouchers (no offer
    # behind them) first, then offers, each newest first; a cursor is [section, id].
    start = _position(page.after)
    end = _position(page.before)
    site = await ctx.loaders.site_by_id.load(customer.site_id)
    account = await ctx.loaders.account_by_customer.load(customer.id)
    vouchers = await ctx.loaders.vouchers_by_customer.load(customer.id) or []
    own = [
        v
        for v in vouchers
        if kind is None
        and v.offer_id is None
        and (start is None or (start[0] == 0 and v.id < start[1]))
        and (end is None or end[0] == 1 or v.id > end[1])
    ]
    # the offers' share of the page: what the vouchers leave of it (read from the back,
    # the offers come first)
    wanted = page.limit if page.from_end else page.limit - len(own)
    rows: list[OfferRow] = []
    async with ctx.read_session() as session:
        if wanted > 0 and (end is None or end[0] == 1):
            window = Window(
                limit=wanted,
                after=start[1] if start is not None and start[0] == 1 else None,
                before=end[1] if end is not None else None,
                from_end=page.from_end,
            )
            rows = await my_offers_page(
                session, customer.site_id, customer.id, window,
                kinds=[kind.value] if kind else None,
            )  # fmt: skip
        assignments, uses = await holdings(session, customer.id, [r.id for r in rows])
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

    # in fetch order: from the front vouchers then offers, from the back the reverse
    entries: list[VoucherRow | OfferRow] = (
        [*rows, *reversed(own)] if page.from_end else [*own, *rows]
    )
    return connect(
        Connection, entries, page, "myOffers",
        key=lambda e: [0 if isinstance(e, VoucherRow) else 1, e.id],
        node=lambda e: voucher_item(e) if isinstance(e, VoucherRow) else item(e),
    )  # fmt: skip


def _is_position(key: list[object]) -> bool:
    return len(key) == 2 and key[0] in (0, 1) and key[0] is not False and id_key(key[1:])


def _position(key: tuple[object, ...] | None) -> tuple[int, int] | None:
    if key is None:
        return None
    section, entry_id = key
    assert isinstance(section, int)  # noqa: S101 - checked by _is_position
    assert isinstance(entry_id, int)  # noqa: S101
    return section, entry_id


KIND = Annotated[OfferKind | None, strawberry.argument(description="Only offers of this kind.")]
