"""Notification templates: the shop's words for each event, by email and push.

Templates are jinja2, rendered in a sandbox (no attribute starting with ``_``,
no Python internals) with a documented set of variables, all strings, money
and dates already formatted in the site's locale. The HTML part of an email
is autoescaped; the subject, the text part and the push message are not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent
from jinja2 import ChainableUndefined, nodes
from jinja2.exceptions import SecurityError, TemplateError, TemplateSyntaxError
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loyalty_gql.db.engine import Database
from loyalty_gql.db.models import CustomerRow, NotificationTemplateRow, OutboxEventRow, SiteRow
from loyalty_gql.db.repositories.customers import customer_by_id
from loyalty_gql.db.repositories.sites import site_by_id
from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.services.common import Actor, Clock
from loyalty_gql.services.idempotency import run_once
from loyalty_gql.services.uow import UnitOfWork

EVENTS: dict[str, str] = {
    "REWARD_EARNED": "The customer reached the points threshold and got a voucher.",
    "POINTS_EXPIRING": "Some of the customer's points expire soon.",
    "POINTS_EXPIRED": "Some of the customer's points expired.",
    "TIER_CHANGED": "The customer moved to another tier.",
    "OFFER_ASSIGNED": "An offer was assigned to the customer.",
    "VOUCHER_ISSUED": "The customer bought a voucher with points.",
    "EXCHANGE_CONFIRMED": "A product the customer exchanged points for was handed over.",
    "ORDER_RECORDED": "An order of the customer was recorded.",
    "ORDER_COMPLETED": "An order of the customer was completed; its points are available.",
    "ORDER_CANCELLED": "An order of the customer was cancelled.",
    "ORDER_REFUNDED": "An order of the customer was refunded, in part or in full.",
}

VARIABLES: dict[str, str] = {
    "customer_name": "The customer's name (empty when unknown).",
    "customer_email": "The customer's email address (empty when unknown).",
    "site_name": "The shop's name.",
    "event": "The event's kind, for example REWARD_EARNED.",
    "points": "Points the event is about: earned, spent, expiring or expired.",
    "voucher_code": "The voucher's code (REWARD_EARNED, VOUCHER_ISSUED).",
    "voucher_value": "What the voucher takes off: a percentage (10%) or an amount of money.",
    "minimum_order_value": "The smallest order the voucher applies to, as money.",
    "expiry_date": "When the voucher or the points expire (or expired), as a date.",
    "tier_name": "The customer's new tier (TIER_CHANGED; empty when they left every tier).",
    "previous_tier_name": "The customer's previous tier (TIER_CHANGED).",
    "offer_name": "The offer's name (OFFER_ASSIGNED, VOUCHER_ISSUED).",
    "product_id": "The product handed over (EXCHANGE_CONFIRMED).",
    "order_id": "The shop's order number (ORDER_* events).",
    "order_total": "The order's total, as money (ORDER_* events).",
    "points_taken_back": "Points taken back from the order (ORDER_CANCELLED, ORDER_REFUNDED).",
}

SUBJECT_MAX = 300
BODY_MAX = 50_000
OUTPUT_MAX = 200_000  # the most any operator inside a template may build
RANGE_MAX = 1_000
PARTS: dict[str, tuple[str, int]] = {  # attribute -> (API field, longest allowed)
    "email_subject": ("emailSubject", SUBJECT_MAX),
    "email_html": ("emailHtml", BODY_MAX),
    "email_text": ("emailText", BODY_MAX),
    "push_title": ("pushTitle", SUBJECT_MAX),
    "push_body": ("pushBody", BODY_MAX),
}


@dataclass(frozen=True, slots=True)
class Template:
    """The sources of one event's messages (jinja2)."""

    email_subject: str
    email_html: str
    email_text: str
    push_title: str
    push_body: str


@dataclass(frozen=True, slots=True)
class Rendered:
    """One event's messages, ready to send."""

    email_subject: str
    email_html: str
    email_text: str
    push_title: str
    push_body: str


def _default(subject: str, lines: list[str], push: str | None = None) -> Template:
    text = "\n\n".join(["Hello {{ customer_name or 'there' }},", *lines, "{{ site_name }}"])
    html = "".join(
        [
            "<p>Hello {{ customer_name or 'there' }},</p>\n",
            *(f"<p>{line}</p>\n" for line in lines),
            "<p>{{ site_name }}</p>\n",
        ]
    )
    return Template(
        email_subject=subject,
        email_html=html,
        email_text=text + "\n",
        push_title=subject,
        push_body=push if push is not None else lines[0],
    )


DEFAULT_TEMPLATES: dict[str, Template] = {
    "REWARD_EARNED": _default(
        "You earned a reward at {{ site_name }}",
        [
            "You collected {{ points }} points and earned a voucher worth {{ voucher_value }}.",
            "Your code: {{ voucher_code }}",
            "{% if minimum_order_value %}It applies to orders from {{ minimum_order_value }}. "
            "{% endif %}{% if expiry_date %}Use it by {{ expiry_date }}.{% endif %}",
        ],
        "Your voucher worth {{ voucher_value }}: {{ voucher_code }}",
    ),
    "POINTS_EXPIRING": _default(
        "Your points at {{ site_name }} expire soon",
        [
            "{{ points }} of your points expire on {{ expiry_date }}.",
            "Use them before then so they are not lost.",
        ],
    ),
    "POINTS_EXPIRED": _default(
        "Some of your points at {{ site_name }} expired",
        ["{{ points }} of your points expired on {{ expiry_date }}."],
    ),
    "TIER_CHANGED": _default(
        "Your tier at {{ site_name }} changed",
        [
            "{% if tier_name %}You are now in {{ tier_name }}.{% else %}"
            "You are no longer in {{ previous_tier_name }}.{% endif %}",
        ],
    ),
    "OFFER_ASSIGNED": _default(
        "A new offer for you at {{ site_name }}",
        ["You have a new offer: {{ offer_name }}."],
    ),
    "VOUCHER_ISSUED": _default(
        "Your voucher from {{ site_name }}",
        [
            "You exchanged {{ points }} points for {{ offer_name }}.",
            "Your code: {{ voucher_code }}",
        ],
        "Your voucher for {{ offer_name }}: {{ voucher_code }}",
    ),
    "EXCHANGE_CONFIRMED": _default(
        "Your exchange at {{ site_name }} was handed over",
        ["The product you exchanged your points for was handed over to you."],
    ),
    "ORDER_RECORDED": _default(
        "Thank you for your order {{ order_id }}",
        ["We received your order {{ order_id }} of {{ order_total }}."],
    ),
    "ORDER_COMPLETED": _default(
        "Your order {{ order_id }} is complete",
        [
            "Your order {{ order_id }} is complete."
            "{% if points and points != '0' %} {{ points }} points were added to your "
            "account.{% endif %}",
        ],
    ),
    "ORDER_CANCELLED": _default(
        "Your order {{ order_id }} was cancelled",
        [
            "Your order {{ order_id }} of {{ order_total }} was cancelled."
            "{% if points_taken_back and points_taken_back != '0' %} {{ points_taken_back }} "
            "points were taken back.{% endif %}",
        ],
    ),
    "ORDER_REFUNDED": _default(
        "Your order {{ order_id }} was refunded",
        [
            "Your order {{ order_id }} was refunded."
            "{% if points_taken_back and points_taken_back != '0' %} {{ points_taken_back }} "
            "points were taken back.{% endif %}",
        ],
    ),
}

# a payload with every key any event carries, to render samples and to check templates
SAMPLE_PAYLOAD: dict[str, Any] = {
    "points": 500,
    "voucherCode": "SAMPLE-CODE1",
    "valueType": "PERCENT",
    "value": "10",
    "minimumOrderValue": "20",
    "expiresAt": "2026-03-31T23:59:00+00:00",
    "fromTier": "Silver",
    "toTier": "Gold",
    "offerName": "Spring sale",
    "productId": "SKU-1",
    "orderId": "1001",
    "total": "59.90",
    "pointsTakenBack": 60,
}
SAMPLE_CUSTOMER = ("Alex Example", "alex@example.com")


class _Sandbox(ImmutableSandboxedEnvironment):
    """jinja2's sandbox, stricter: unsafe access fails instead of rendering empty, and
    operators cannot build huge values."""

    intercepted_binops = frozenset({"*", "**"})

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        msg = f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe"
        raise SecurityError(msg)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            size = left.bit_length() if isinstance(left, int) else 64
            if not isinstance(right, int | float) or abs(right) * max(size, 1) > 4096:
                msg = "number too large"
                raise SecurityError(msg)
            return left**right
        for many, times in ((left, right), (right, left)):
            sized = isinstance(many, str | list | tuple) and isinstance(times, int)
            if sized and len(many) * times > OUTPUT_MAX:
                msg = "value too large"
                raise SecurityError(msg)
        return left * right


def _safe_range(*args: int) -> range:
    values = range(*args)
    if len(values) > RANGE_MAX:
        msg = f"range may have at most {RANGE_MAX} items"
        raise SecurityError(msg)
    return values


def _environment(*, autoescape: bool) -> _Sandbox:
    env = _Sandbox(autoescape=autoescape, undefined=ChainableUndefined)
    env.globals["range"] = _safe_range
    return env


_HTML = _environment(autoescape=True)
_TEXT = _environment(autoescape=False)


def _env(part: str) -> _Sandbox:
    return _HTML if part == "email_html" else _TEXT


# --- variables -------------------------------------------------------------------


def _locale(name: str | None) -> Locale:
    try:
        return Locale.parse((name or "en").replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse("en")


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _money(value: Any, currency: str, locale: Locale) -> str:
    amount = _decimal(value)
    if amount is None:
        return ""
    return str(format_currency(amount, currency, locale=locale))


def _date(value: Any, locale: Locale) -> str:
    if not isinstance(value, str) or not value:
        return ""
    try:
        day: date = datetime.fromisoformat(value).date()
    except ValueError:
        return ""
    return str(format_date(day, format="medium", locale=locale))


def _number(value: Any, locale: Locale) -> str:
    amount = _decimal(value)
    if amount is None:
        return ""
    return str(format_decimal(amount, locale=locale))


def variables(  # noqa: PLR0917 - the documented positional signature
    event_kind: str,
    payload: Mapping[str, Any],
    customer_name: str | None,
    customer_email: str | None,
    site_name: str,
    locale: str,
    currency: str,
) -> dict[str, str]:
    """The template variables (see VARIABLES) for one event; missing ones are ""."""
    where = _locale(locale)
    money_in = str(payload.get("currency") or currency)
    points = payload.get("points", payload.get("pointsSpent"))
    value_type = payload.get("valueType")
    if value_type == "PERCENT":
        percent = _decimal(payload.get("value"))
        voucher_value = (
            str(format_percent(percent / 100, locale=where, decimal_quantization=False))
            if percent is not None
            else ""
        )
    else:
        voucher_value = _money(payload.get("value"), money_in, where)
    expiry = payload.get("expiresOn") or payload.get("expiresAt") or payload.get("expiredAt")
    found = {
        "customer_name": customer_name or "",
        "customer_email": customer_email or "",
        "site_name": site_name,
        "event": event_kind,
        "points": _number(points, where),
        "voucher_code": str(payload.get("voucherCode") or ""),
        "voucher_value": voucher_value,
        "minimum_order_value": _money(payload.get("minimumOrderValue"), money_in, where),
        "expiry_date": _date(expiry, where),
        "tier_name": str(payload.get("toTier") or ""),
        "previous_tier_name": str(payload.get("fromTier") or ""),
        "offer_name": str(payload.get("offerName") or ""),
        "product_id": str(payload.get("productId") or ""),
        "order_id": str(payload.get("orderId") or ""),
        "order_total": _money(payload.get("total"), money_in, where),
        "points_taken_back": _number(payload.get("pointsTakenBack"), where),
    }
    return {name: found.get(name, "") for name in VARIABLES}


SAMPLE: dict[str, str] = variables(
    "REWARD_EARNED", SAMPLE_PAYLOAD, *SAMPLE_CUSTOMER, "Sample Shop", "en", "EUR"
)


# --- rendering and checking ---------------------------------------------------------


def render(template: Template, variables: Mapping[str, Any]) -> Rendered:
    """Render every part; raises jinja2 errors (SecurityError among them) as they come."""
    parts = {
        part: _env(part).from_string(getattr(template, part)).render(**variables) for part in PARTS
    }
    return Rendered(
        email_subject=" ".join(parts["email_subject"].split()),
        email_html=parts["email_html"],
        email_text=parts["email_text"],
        push_title=" ".join(parts["push_title"].split()),
        push_body=parts["push_body"].strip(),
    )


def check_template(template: Template) -> None:
    """Refuse a template that is too long, does not parse, reaches for Python internals
    (an attribute or key starting with "_"), or fails to render with sample variables."""
    for part, (field, longest) in PARTS.items():
        source = getattr(template, part)
        if len(source) > longest:
            raise DomainError.single(
                ErrorCode.INVALID_VALUE, f"{field} is longer than {longest} characters", field
            )
        env = _env(part)
        try:
            tree = env.parse(source)
        except TemplateSyntaxError as error:
            raise DomainError.single(
                ErrorCode.INVALID_VALUE,
                f"{field} is not a valid template: {error.message} (line {error.lineno})",
                field,
            ) from None
        if _reaches_internals(tree):
            raise DomainError.single(
                ErrorCode.INVALID_VALUE, f"{field} uses a name that starts with '_'", field
            )
        try:
            env.from_string(source).render(**SAMPLE)
        except SecurityError as error:
            raise DomainError.single(
                ErrorCode.INVALID_VALUE, f"{field} is not allowed: {error}", field
            ) from None
        except Exception as error:
            raise DomainError.single(
                ErrorCode.INVALID_VALUE, f"{field} fails to render: {error}", field
            ) from None


def _reaches_internals(tree: nodes.Template) -> bool:
    """Whether the template names an attribute, key or variable starting with "_"
    anywhere, even in a branch the sample does not take."""
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name)):
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            return True
        if isinstance(node, nodes.Name) and node.name.startswith("_"):
            return True
        if (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
            and node.arg.value.startswith("_")
        ):
            return True
    return False


# --- services ------------------------------------------------------------------------


async def update_template(
    db: Database,
    *,
    site_id: int,
    event: str,
    template: Template,
    actor: Actor,
    clock: Clock,
    idempotency_key: str | None = None,
) -> NotificationTemplateRow:
    """Store the site's template for ``event``, replacing the default or the last one."""
    now = clock()
    if event not in EVENTS:
        raise DomainError.single(ErrorCode.INVALID_VALUE, f"unknown event {event!r}", "event")
    check_template(template)

    async def work(uow: UnitOfWork) -> NotificationTemplateRow:
        await _site(uow.session, site_id)
        query = select(NotificationTemplateRow).where(
            NotificationTemplateRow.site_id == site_id, NotificationTemplateRow.event == event
        )
        if uow.is_postgres:
            query = query.with_for_update()
        row = await uow.session.scalar(query)
        if row is None:
            row = NotificationTemplateRow(site_id=site_id, event=event)
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
        key=idempotency_key,
        operation="updateNotificationTemplate",
        request={"event": event, **asdict(template)},
        now=now,
        work=work,
        dump=lambda row: {"template": row.id},
        load=_load_template,
    )


async def stored_templates(session: AsyncSession, site_id: int) -> dict[str, Template]:
    """The templates the site changed, by event (the others are the defaults)."""
    rows = await session.scalars(
        select(NotificationTemplateRow).where(NotificationTemplateRow.site_id == site_id)
    )
    return {row.event: template_of(row) for row in rows if row.event in EVENTS}


async def templates_of(session: AsyncSession, site_id: int) -> dict[str, Template]:
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
) -> Rendered:
    """Render the site's template for ``event`` (or ``template``, checked first) with
    sample variables, or with a real outbox event of the site and its customer."""
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
            row = await session.get(OutboxEventRow, event_id)
            if row is None or row.site_id != site_id:
                raise DomainError.single(ErrorCode.NOT_FOUND, "no such event", "eventId")
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
    session: AsyncSession,
    site: SiteRow,
    event_row: OutboxEventRow,
    customer_row: CustomerRow | None,
    *,
    stored: Mapping[str, Template] | None = None,
) -> Rendered:
    """The messages for an outbox event, in the site's words, locale and currency.

    A stored template that fails with this event's data (it passed the checks when
    saved, with sample data) falls back to the default template.
    """
    values = _event_variables(site, event_row, customer_row)
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
    site: SiteRow, event_row: OutboxEventRow, customer: CustomerRow | None
) -> dict[str, str]:
    return variables(
        event_row.kind,
        event_row.payload or {},
        customer.name if customer else None,
        customer.email if customer else None,
        site.name,
        site.locale,
        site.currency,
    )


async def _site(session: AsyncSession, site_id: int) -> SiteRow:
    site = await site_by_id(session, site_id)
    if site is None:
        raise DomainError.single(ErrorCode.NOT_FOUND, "no such site", "siteId")
    return site


async def _load_template(session: AsyncSession, stored: dict[str, Any]) -> NotificationTemplateRow:
    row = await session.get(NotificationTemplateRow, stored["template"])
    if row is None:  # pragma: no cover - templates are never removed
        raise DomainError.single(ErrorCode.NOT_FOUND, "the template is gone")
    return row
