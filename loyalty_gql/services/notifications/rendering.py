"""Templates rendered in jinja2's sandbox with variables formatted in the site's locale,
and the checks a shop's own template must pass."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent
from jinja2 import ChainableUndefined, nodes
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.domain.spelling import camel, snake_keys
from loyalty_gql.services.notifications.events import (
    OUTPUT_MAX,
    PARTS,
    RANGE_MAX,
    SAMPLE_CUSTOMER,
    SAMPLE_PAYLOAD,
    VARIABLES,
    Rendered,
    Template,
)


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
    payload = snake_keys(payload)  # events stored before payloads were snake_case
    money_in = str(payload.get("currency") or currency)
    points = payload.get("points", payload.get("points_spent"))
    value_type = payload.get("value_type")
    if value_type == "PERCENT":
        percent = _decimal(payload.get("value"))
        voucher_value = (
            str(format_percent(percent / 100, locale=where, decimal_quantization=False))
            if percent is not None
            else ""
        )
    else:
        voucher_value = _money(payload.get("value"), money_in, where)
    expiry = payload.get("expires_on") or payload.get("expires_at") or payload.get("expired_at")
    found = {
        "customer_name": customer_name or "",
        "customer_email": customer_email or "",
        "site_name": site_name,
        "event": event_kind,
        "points": _number(points, where),
        "voucher_code": str(payload.get("voucher_code") or ""),
        "voucher_value": voucher_value,
        "minimum_order_value": _money(payload.get("minimum_order_value"), money_in, where),
        "expiry_date": _date(expiry, where),
        "tier_name": str(payload.get("to_tier") or ""),
        "previous_tier_name": str(payload.get("from_tier") or ""),
        "offer_name": str(payload.get("offer_name") or ""),
        "product_id": str(payload.get("product_id") or ""),
        "order_id": str(payload.get("order_id") or ""),
        "order_total": _money(payload.get("total"), money_in, where),
        "points_taken_back": _number(payload.get("points_taken_back"), where),
        "campaign_name": str(payload.get("campaign_name") or ""),
        "leaderboard_name": str(payload.get("leaderboard_name") or ""),
        "rank": _number(payload.get("rank"), where),
        "badge_name": str(payload.get("badge_name") or ""),
        "challenge_name": str(payload.get("challenge_name") or ""),
        "progress_value": _number(payload.get("progress_value"), where),
        "progress_target": _number(payload.get("progress_target"), where),
    }
    return {name: found.get(name, "") for name in VARIABLES}


SAMPLE: dict[str, str] = variables(
    "REWARD_EARNED", SAMPLE_PAYLOAD, *SAMPLE_CUSTOMER, "Sample Shop", "en", "EUR"
)


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


def render_line(source: str, variables: Mapping[str, Any]) -> str:
    """One line of text (a push message's link) rendered like a subject, trimmed."""
    return "".join(_TEXT.from_string(source).render(**variables).split())


def check_template(template: Template) -> None:
    """Refuse a template that is too long, does not parse, reaches for Python internals
    (an attribute or key starting with "_"), or fails to render with sample variables."""
    for part, longest in PARTS.items():
        field = camel(part)  # messages name the input field, as clients spell it
        source = getattr(template, part)
        if len(source) > longest:
            raise DomainError.single(
                ErrorCode.INVALID_VALUE, f"{field} is longer than {longest} characters", part
            )
        env = _env(part)
        try:
            tree = env.parse(source)
        except TemplateSyntaxError as error:
            raise DomainError.single(
                ErrorCode.INVALID_VALUE,
                f"{field} is not a valid template: {error.message} (line {error.lineno})",
                part,
            ) from None
        if _reaches_internals(tree):
            raise DomainError.single(
                ErrorCode.INVALID_VALUE, f"{field} uses a name that starts with '_'", part
            )
        try:
            env.from_string(source).render(**SAMPLE)
        except SecurityError as error:
            raise DomainError.single(
                ErrorCode.INVALID_VALUE, f"{field} is not allowed: {error}", part
            ) from None
        except Exception as error:
            raise DomainError.single(
                ErrorCode.INVALID_VALUE, f"{field} fails to render: {error}", part
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
