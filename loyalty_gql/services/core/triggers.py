"""Events of the lower areas that campaigns earn on (an activity, an enrolment, a tier
reached), told to the campaigns area without the lower areas importing it.

services.campaigns sits above points, tiers and customers (it writes through the
ledger), so those areas cannot call it; they call :func:`triggered`, and
services.campaigns registers itself with :func:`on_trigger` when it is imported (the
API and every use case that records orders import it). A site that never had a
campaign is skipped here without a statement.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loyalty_gql.db.models import CustomerRow, SiteRow
from loyalty_gql.domain.campaigns import Trigger
from loyalty_gql.services.core.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Triggered:
    """One event campaigns may earn on, in the transaction that recorded it.

    ``source_key`` names the event, unique per customer and event (an award is made once
    per campaign and key); ``book`` is the customer's locked account when the caller
    holds one (a points.AccountBook), else campaigns open it."""

    uow: UnitOfWork
    site: SiteRow
    customer: CustomerRow
    at: datetime
    trigger: Trigger
    source_key: str
    activity_code: str | None = None
    book: Any = None


Hook = Callable[[Triggered], Awaitable[object]]
_HOOKS: list[Hook] = []


def on_trigger(hook: Hook) -> None:
    """Have ``hook`` told of every triggered event (once per hook)."""
    if hook not in _HOOKS:
        _HOOKS.append(hook)


async def triggered(event: Triggered) -> None:
    """Tell the registered hooks (campaigns) of ``event``."""
    if event.site.campaigns_version == 0 or not event.site.program_enabled:
        return
    for hook in _HOOKS:
        await hook(event)
