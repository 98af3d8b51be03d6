"""The shop's templates: storing, previewing, and rendering an outbox event with them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from jinja2.exceptions import TemplateError

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import CustomerRow, NotificationTemplateRow, OutboxEventRow, SiteRow
from loyalty_gql.db.repositories.customers import customer_by_id
from loyalty_gql.db.repositories.notifications import (
    outbox_event_by_id,
    template_by_id,
    template_for_event,
    templates_of_site,
)
from loyalty_gql.db.repositories.sites import site_by_id
from loyalty_gql.db.session import Session
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.services.core.common import Actor, Clock
from loyalty_gql.services.core.idempotency import Idempotency, run_once
from loyalty_gql.services.core.uow import UnitOfWork
from loyalty_gql.services.notifications.events import (
    DEFAULT_TEMPLATES,
    EVENTS,
    PARTS,
    SAMPLE_CUSTOMER,
    SAMPLE_PAYLOAD,
    Rendered,
    Template,
)
from loyalty_gql.services.notifications.rendering import check_template, render, variables


async def update_template(
    db: Database,
    *,
    site_id: int,
    event: str,
    template: Template,
    actor: Actor,
    clock: Clock,
    retry: Idempotency,
    locale: str = "",
) -> NotificationTemplateRow:
    """Store the site's template for ``event``, replacing the default or the last one;
    with a ``locale``, the words for customers of that language (#19)."""
    now = clock()
    if event not in EVENTS:
        raise DomainError.single(ErrorCode.INVALID_VALUE, f"unknown event {event!r}", "event")
    locale = _checked_locale(locale)
    check_template(template)

    async def work(uow: UnitOfWork) -> NotificationTemplateRow:
        await _site(uow.session, site_id)
        row = await template_for_event(
            uow.session, site_id, event, lock=uow.is_postgres, locale=locale
        )
        if row is None:
            row = NotificationTemplateRow(site_id=site_id, event=event, locale=locale)
            uow.session.add(row)
        for part in PARTS:
            setattr(row, part, getattr(template, part))
        row.updated_by = str(actor)[:200]
        row.updated_at = now
        await uow.session.flush()
        return row

    return await run_once(
        db,
        scope=f"site:{site_id}",
        retry=retry,
        # the site's own words keep the fingerprint they had before locales
        request={"event": event, **asdict(template), **({"locale": locale} if locale else {})},
        now=now,
        work=work,
        dump=lambda row: {"template": row.id},
        load=_load_template,
    )


async def stored_templates(
    session: Session, site_id: int, locale: str | None = None
) -> dict[str, Template]:
    """The templates the site changed, by event (the others are the defaults); with a
    ``locale``, its words for that language where it has them (pl-PL, then pl)."""
    rows = [row for row in await templates_of_site(session, site_id) if row.event in EVENTS]
    found = {row.event: template_of(row) for row in rows if row.locale == ""}
    if locale:
        wanted = locale.replace("_", "-").lower()
        for candidate in (wanted.split("-")[0], wanted):  # the closer match wins
            found |= {row.event: template_of(row) for row in rows if row.locale == candidate}
    return found


def _checked_locale(locale: str) -> str:
    """A template's locale as stored: lower case, "-" between its parts ("" is the site's)."""
    locale = locale.strip().replace("_", "-").lower()
    if locale and not all(part.isalnum() and len(part) <= 8 for part in locale.split("-")):
        raise DomainError.single(
            ErrorCode.INVALID_VALUE, f"{locale!r} is not a locale (like pl or de-at)", "locale"
        )
    return locale[:35]


async def templates_of(session: Session, site_id: int) -> dict[str, Template]:
    """Every event's template for the site: its own where stored, else the default."""
    return {**DEFAULT_TEMPLATES, **await stored_templates(session, site_id)}


def template_of(row: NotificationTemplateRow) -> Template:
    """The template stored in a row."""
    return Template(**{part: getattr(row, part) for part in PARTS})


async def preview(
    db: Database,
    *,
    site_id: int,
    event: str,
    event_id: int | None,
    template: Template | None,
    event_field: str = "event_id",
) -> Rendered:
    """Render the site's template for ``event`` (or ``template``, checked first) with
    sample variables, or with a real outbox event of the site and its customer (named by
    the argument ``event_field``, for the errors)."""
    if event not in EVENTS:
        raise DomainError.single(ErrorCode.INVALID_VALUE, f"unknown event {event!r}", "event")
    if template is not None:
        check_template(template)
    async with db.read_sessions() as session:
        site = await _site(session, site_id)
        if template is None:
            template = (await templates_of(session, site_id))[event]
        if event_id is None:
            values = variables(
                event, SAMPLE_PAYLOAD, *SAMPLE_CUSTOMER, site.name, site.locale, site.currency
            )
        else:
            row = await outbox_event_by_id(session, event_id)
            if row is None or row.site_id != site_id:
                raise DomainError.single(ErrorCode.NOT_FOUND, "no such event", event_field)
            if row.kind != event:
                raise DomainError.single(
                    ErrorCode.INVALID_VALUE, f"event {event_id} is a {row.kind} event", "event"
                )
            customer = await customer_by_id(session, row.customer_id) if row.customer_id else None
            values = _event_variables(site, row, customer)
    try:
        return render(template, values)
    except TemplateError as error:
        raise DomainError.single(
            ErrorCode.INVALID_VALUE, f"the template fails to render: {error}", "event"
        ) from None


async def render_event(
    session: Session,
    site: SiteRow,
    event_row: OutboxEventRow,
    customer_row: CustomerRow | None,
    *,
    stored: Mapping[str, Template] | None = None,
    locale: str | None = None,
) -> Rendered:
    """The messages for an outbox event, in the site's words, locale (or ``locale``)
    and currency.

    A stored template that fails with this event's data (it passed the checks when
    saved, with sample data) falls back to the default template.
    """
    values = _event_variables(site, event_row, customer_row, locale)
    default = DEFAULT_TEMPLATES.get(event_row.kind)
    if stored is None:
        stored = await stored_templates(session, site.id)
    template = stored.get(event_row.kind, default)
    if template is None:  # an event kind without templates: a minimal message
        template = Template("{{ event }}", "", "", "{{ event }}", "")
    try:
        return render(template, values)
    except Exception:
        if default is None or template is default:
            raise
        return render(default, values)


def _event_variables(
    site: SiteRow,
    event_row: OutboxEventRow,
    customer: CustomerRow | None,
    locale: str | None = None,
) -> dict[str, str]:
    return variables(
        event_row.kind,
        event_row.payload or {},
        customer.name if customer else None,
        customer.email if customer else None,
        site.name,
        locale or site.locale,
        site.currency,
    )


async def _site(session: Session, site_id: int) -> SiteRow:
    site = await site_by_id(session, site_id)
    if site is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such site", "site_id")
    return site


async def _load_template(session: Session, stored: dict[str, Any]) -> NotificationTemplateRow:
    row = await template_by_id(session, stored["template"])
    if row is None:  # pragma: no cover - templates are never removed
        raise DomainError.single(ErrorCode.NOT_FOUND, "the template is gone")
    return row
