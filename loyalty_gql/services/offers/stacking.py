"""Stacking groups: how offers sharing a group name combine at checkout."""

from __future__ import annotations

from typing import Any

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import StackingGroupRow
from loyalty_gql.db.repositories.offers.catalog import stacking_group_by_id, stacking_group_named
from loyalty_gql.db.repositories.sites import bump_offers_version, site_by_id
from loyalty_gql.db.session import Session
from loyalty_gql.domain.checkout import PriceBase, StackingMode
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.offers import STACKING_GROUP
from loyalty_gql.services.core.common import Actor, Clock
from loyalty_gql.services.core.idempotency import Idempotency, run_once
from loyalty_gql.services.core.uow import UnitOfWork


async def set_stacking_group(
    db: Database,
    *,
    site_id: int,
    name: str,
    mode: StackingMode,
    price_base: PriceBase,
    actor: Actor,
    clock: Clock,
    retry: Idempotency,
) -> StackingGroupRow:
    """Create or change a site's stacking group rule (offers name it in stackingGroup)."""
    name = name.strip()
    if not STACKING_GROUP.match(name):
        raise DomainError.single(
            ErrorCode.INVALID_VALUE, "use letters, digits, _ . - (1-64)", "name"
        )
    now = clock()

    async def work(uow: UnitOfWork) -> StackingGroupRow:
        site = await site_by_id(uow.session, site_id)
        if site is None:
            raise DomainError.single(ErrorCode.NOT_FOUND, "no such site", "site_id")
        row = await stacking_group_named(uow.session, site_id, name)
        if row is None:
            row = StackingGroupRow(site_id=site_id, name=name, created_at=now)
            uow.session.add(row)
        row.mode = mode.value
        row.price_base = price_base.value
        row.updated_at = now
        await bump_offers_version(uow.session, site_id)
        await uow.session.flush()
        return row

    return await run_once(
        db,
        scope=f"site:{site_id}",
        retry=retry,
        request={"name": name, "mode": mode.value, "priceBase": price_base.value},
        now=now,
        work=work,
        dump=lambda row: {"id": row.id},
        load=_load,
    )


async def _load(session: Session, stored: dict[str, Any]) -> StackingGroupRow:
    row = await stacking_group_by_id(session, stored["id"])
    if row is None:  # pragma: no cover - groups are never removed
        raise DomainError.single(ErrorCode.NOT_FOUND, "the stacking group is gone")
    return row
