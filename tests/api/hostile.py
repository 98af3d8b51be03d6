"""Strategies for tests/api/test_hostile_inputs.py: GraphQL operations on every root field,
with arguments drawn from the schema's input types: mostly the seeded objects' real global
IDs and plausible values, mixed with hostile ones (NUL, lone surrogates, strings of 10,000
characters and just past each column's length, integers past 32 and 64 bits, non-finite and
enormous decimals, times without a zone or at the calendar's ends, bad URLs and cursors).

An operation comes in one of three forms:

- ``generated``: the document hypothesis-graphql generates for the field, its literal
  arguments drawn by the ``custom_scalars`` strategies below (ID, String, Int, Decimal,
  DateTime and Date: IDs from the pool, the rest plausible or hostile);
- ``literal``: the arguments built here by walking the field's input types (graphql-core's
  GraphQLInputObjectType fields; a field's name picks plausible values: siteId a site's ID,
  orderId a recorded order's id, couponCodes real codes...), written into the document;
- ``variables``: the same values sent as JSON variables.

The literal and variables forms select every field of the result two levels down, or a
random part of them (a forbidden or failing non-null field nulls its parent and cancels its
siblings), with arguments on the nested fields that take some (ledger, offers,
expiringSoon). Each draws its values in one of three flavours: clean, spicy (one scalar in
six hostile) or hostile (five in twelve, plus the odd wrong JSON type or missing field).

The request body is JSON text written with ``ensure_ascii`` (httpx's ``json=`` cannot
encode lone surrogates): a lone surrogate in a variable arrives as a ``\\ud800`` escape;
in a literal it is written as the GraphQL escape ``\\ud800``.
"""

from __future__ import annotations

import base64
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache, partial
from typing import Any

import graphql
import httpx
from hypothesis import strategies as st
from hypothesis_graphql import from_schema, nodes

from loyalty_gql.api.core.ids import MAX_ID, to_global_id
from loyalty_gql.api.core.pagination import encode_cursor, list_cursor
from loyalty_gql.api.schema import schema as app_schema

SCHEMA: graphql.GraphQLSchema = app_schema._schema
QUERY_FIELDS: tuple[str, ...] = tuple(SCHEMA.query_type.fields) if SCHEMA.query_type else ()
MUTATION_FIELDS: tuple[str, ...] = (
    tuple(SCHEMA.mutation_type.fields) if SCHEMA.mutation_type else ()
)
NODE_TYPES = (
    "Site", "Customer", "LedgerEntry", "Tier", "Voucher", "Offer", "Exchange", "Order",
    "WebhookEndpoint", "WebhookDelivery", "Campaign", "Challenge", "Leaderboard",
)  # fmt: skip


# -- the pool: what the seeded site holds, filled in by the test's fixture -----------------


@dataclass
class Pool:
    """Real global IDs and values of the seeded data. Strategies read it when they draw, so
    one module-level pool serves every test (each test seeds it again)."""

    ids: dict[str, list[str]] = field(default_factory=dict)
    external_ids: list[str] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    site_codes: list[str] = field(default_factory=list)

    def reset(self) -> None:
        """Forget the last test's data."""
        self.ids = {name: [] for name in NODE_TYPES}
        self.external_ids = []
        self.order_ids = []
        self.codes = []
        self.site_codes = []

    def add(self, type_name: str, global_id: str) -> None:
        """Remember a real ID."""
        self.ids.setdefault(type_name, []).append(global_id)

    def real(self, type_name: str | None, index: int) -> str:
        """The ``index``-th real ID of a type (of any type when None), cycling."""
        if type_name is None:
            every = [i for name in NODE_TYPES for i in self.ids.get(name, [])]
        else:
            every = self.ids.get(type_name) or [
                i for name in NODE_TYPES for i in self.ids.get(name, [])
            ]
        return every[index % len(every)] if every else to_global_id(type_name or "Site", 1)


POOL = Pool()
POOL.reset()


def _pick(values: Callable[[], list[str]], fallback: str) -> st.SearchStrategy[str]:
    """One of the pool's current values (read at draw time)."""

    def choose(index: int) -> str:
        current = values()
        return current[index % len(current)] if current else fallback

    return st.integers(min_value=0, max_value=63).map(choose)


def weighted(*pairs: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, chosen in proportion to its weight."""
    table = [strategy for weight, strategy in pairs for _ in range(weight)]
    return st.integers(0, len(table) - 1).flatmap(lambda i: table[i])


# -- hostile scalar values -------------------------------------------------------------------

LONG = "x" * 10_000
HOSTILE_STRINGS = [
    "", " ", "\x00", "a\x00b", "\ud800", "\udfff", "a\ud800b", "\udc00\ud800", LONG,
    "\u00e9\u00e8\u00ea", "\U0001f600" * 10, "\u202etxt.exe", "\ufeff", "\u0301", "Z\u0351\u0332",
    "\n\r\t", "' OR 1=1 --", '"; DROP TABLE sites; --', "%", "_", "\\", "%_\\",
    "{{ 7 * 7 }}", "{{ ''.__class__.__mro__ }}", "{% for i in range(99999) %}x{% endfor %}",
    "{% if %}", "{{ customer_name", "<script>alert(1)</script>", "null", "undefined",
    "NaN", "-1", "0", "1e999", "\U0010ffff", "\x7f\x1b[31m", "../../../etc/passwd",
]  # fmt: skip
URLS = [
    "https://hooks.example.com/loyalty", "http://[::1", "javascript:alert(1)",
    "http://127.0.0.1:8000/graphql", "http://localhost/", "https://169.254.169.254/latest",
    "http://[::1]:80/", "https://0x7f000001/", "ftp://example.com/x", "https://", "//example.com",
    "https://example.com/" + "a" * 3000, "https://exa\x00mple.com/", "https://\u00e9x.com/",
    "https://example.com:99999/", "https://user:pass@example.com/", "file:///etc/passwd",
    "https://example.com/\ud800", "data:text/html,<script>alert(1)</script>",
]  # fmt: skip
INT_EDGES = [
    0, -1, 1, 2**31 - 1, -(2**31), 2**31, -(2**31) - 1, 275467382898141102080, 10**7,
    10**7 + 1, 100_000, 100_001, 10_001, 366, 367, 3650, 3651, 1000, 1001, -1000, -1001,
]  # fmt: skip
DECIMAL_EDGES = [
    "1e999", "-1e999", "NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "inf", "1e-999",
    "123456789012345678901234567890", "0.0000000000001", "-0", "-0.01", "1e2", "1E+2",
    "0x10", "", " 1", "1,5", "1.2.3", "\x001", "9" * 400, "0." + "0" * 300 + "1",
    "99999999999999999", "1e18", "1e19", "-1e18", "4.0000", "100.0001",
]  # fmt: skip
DECIMAL_OK = ["0", "1", "1.50", "49.90", "0.01", "10", "100", "5", "0.5", "12.345", "-1"]
DATETIME_EDGES = [
    "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2026-01-01T00:00:00",
    "2026-13-45", "2026-01-01", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
    "1899-12-31T23:59:59Z", "9000-01-01T00:00:01Z", "2026-01-01T00:00:00+25:00",
    "2026-02-30T00:00:00Z", "2026-01-01T24:00:00Z", "", "now", "2026-01-01T00:00:00.1234567Z",
    "+002026-01-01T00:00:00Z", "2026-W01-1T00:00:00Z", "2026-001T00:00:00Z",
]  # fmt: skip
DATETIME_OK = [
    "2026-01-15T12:00:00Z", "2026-01-01T00:00:00+01:00", "2025-12-31T23:59:59.999999Z",
    "2026-06-01T00:00:00-05:00", "2027-01-01T00:00:00Z",
]  # fmt: skip
DATE_EDGES = [
    "9999-12-31", "0001-01-01", "9999-12-30", "2026-02-30", "2026-13-01", "2026-1-1",
    "20260101", "", "1899-12-31", "9000-12-31", "9001-01-01", "2026-01-01T00:00:00Z",
]  # fmt: skip
DATE_OK = ["2026-01-01", "2026-01-15", "2026-01-31", "2025-02-01", "2026-12-31", "2024-02-29"]
EMAILS = ["ann@example.com", "ANN@EXAMPLE.COM", "not-an-email", "a@b", "x" * 300 + "@e.com"]
GROUPS = ["vip", "staff", "wholesale", "not ok!"]
CATEGORIES = ["shoes", "shoes/running", "books", "home/kitchen", "", "//", "a/" * 100]
PRODUCTS = ["sku-1", "sku-2", "mug-1", "p1"]
EVENTS = [
    "REWARD_EARNED", "POINTS_EXPIRING", "POINTS_EXPIRED", "TIER_CHANGED", "OFFER_ASSIGNED",
    "VOUCHER_ISSUED", "EXCHANGE_CONFIRMED", "ORDER_RECORDED", "ORDER_COMPLETED",
    "ORDER_CANCELLED", "ORDER_REFUNDED", "BADGE_EARNED", "CHALLENGE_PROGRESS",
    "CHALLENGE_COMPLETED", "UNKNOWN_EVENT",
]  # fmt: skip
ACTIVITIES = ["NEWSLETTER_SIGNUP", "PRODUCT_REVIEW", "REFERRAL", "BIRTHDAY", "UNKNOWN"]
CURRENCIES = ["EUR", "USD", "JPY", "BHD", "XXX", "eur", "EURO", "€"]
LOCALES = ["en", "de_DE", "fr", "xx_YY", "en-US", "zh_Hant_TW", "../en"]
TEMPLATES = [
    "Hello {{ customer_name }}", "{{ points }} points at {{ site_name }}", "{{ voucher_code }}",
    "{{ expiry_date }} {{ minimum_order_value }}",
]  # fmt: skip

LENGTHS = [33, 36, 41, 64, 65, 101, 129, 201, 251, 256, 301, 1001, 2001, 5001]
long_strings = st.builds(
    lambda n, c: (c * n)[:n],
    st.sampled_from(LENGTHS),
    # ß and ﬀ grow when upper-cased, İ when lower-cased
    st.sampled_from(["a", "\u00e9", "ab-", "\u00df", "\ufb00", "\u0130"]),
)
hostile_strings = weighted(
    (4, st.sampled_from(HOSTILE_STRINGS)),
    (3, long_strings),
    (2, st.text(max_size=12)),
    (1, st.text(alphabet=st.characters(codec=None, categories=["Cs", "Cc", "Co"]), max_size=4)),
)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


GARBAGE_IDS = [
    "", " ", "\x00", "U2l0ZTox\x00", "U2l0ZTox", "U2l0ZTox=", "U2l0ZTox==", "u2l0ztox",
    "U2l0ZToxCg", _b64("Site:0"), _b64("Site:-1"), _b64("Site:01"), _b64("Site: 1"),
    _b64("Site:1e3"), _b64(f"Site:{MAX_ID + 1}"), _b64(f"Customer:{2**64}"), _b64("Site:"),
    _b64(":1"), _b64("Nope:1"), _b64("Site:1:2"), _b64("Site:\u0661"), _b64("\x00:1"),
    to_global_id("Site", MAX_ID), to_global_id("Customer", MAX_ID), to_global_id("Offer", 2**31),
    to_global_id("Order", 999_999), to_global_id("Tier", 2**31 + 5), "1", "-1", "null",
    "\ud800", LONG, "%00", "=" * 8, "////", "++++",
]  # fmt: skip
# cursors are base64 of a JSON list: the list's name, then the key of id-ordered lists
# ([name, id]) or of My offers ([name, section, id]); in range, past the 64-bit ids, of
# other types, of another list, untagged, or not JSON lists at all
CURSOR_KEYS: list[list[Any]] = [
    [1], [3], [0, 1], [1, 1], [1, 5],  # in range
    [0], [-1], [MAX_ID + 1], [2**70], [-(2**70)], [0, MAX_ID + 1], [1, MAX_ID + 1],
    [0, 2**70], [1, 2**70], [1, -(2**70)], [0, -1], [1, 0],  # out of range
    [1.5], [True], ["1"], [None], [], [1, 2], [True, 1], [0.0, 1], [2, 1], ["1", 1],
    [1, "1"], [1, None], [1, 1.5], [[1]], [{}], [MAX_ID],  # of other types
]  # fmt: skip
LISTS = [
    "customers", "offers", "exchanges", "ledgerEntries", "Customer.ledger",
    "webhookDeliveries", "myOffers", "events",
]  # fmt: skip


def _tagged(keys: list[list[Any]]) -> list[str]:
    return [list_cursor(name, key) for key in keys for name in LISTS]


CURSORS = [
    *(encode_cursor(key) for key in CURSOR_KEYS),
    *(_b64(text) for text in ("[NaN]", "[1e999]", "[1, Infinity]", "[1,-1e999]", "[" * 3000,
                              "{}", "null", "1", '"x"', "\x00", '["offers"]', '[""]')),
    base64.urlsafe_b64encode(b"[\xff]").decode(),
]  # fmt: skip
cursors = weighted(
    (1, st.sampled_from(_tagged(CURSOR_KEYS[:5]))),
    (2, st.sampled_from(_tagged(CURSOR_KEYS[5:17]))),
    (1, st.sampled_from([*_tagged(CURSOR_KEYS[17:]), *CURSORS])),
)
ID_TYPES = {
    "siteId": "Site", "customerId": "Customer", "customerIds": "Customer",
    "referredCustomerId": "Customer", "offerId": "Offer", "tierId": "Tier", "tierIds": "Tier",
    "exchangeId": "Exchange", "endpointId": "WebhookEndpoint",
    "deliveryId": "WebhookDelivery", "fromEvent": "Event", "campaignId": "Campaign",
    "challengeId": "Challenge", "leaderboardId": "Leaderboard", "rewardOfferId": "Offer",
    "referralWelcomeOfferId": "Offer",
}  # fmt: skip


def ids(type_name: str | None = None) -> st.SearchStrategy[str]:
    """Mostly real IDs of the type, some real IDs of other types, some garbage."""
    real = st.integers(min_value=0, max_value=63).map(lambda i: POOL.real(type_name, i))
    other = st.integers(min_value=0, max_value=63).map(lambda i: POOL.real(None, i))
    made_up = st.builds(to_global_id, st.sampled_from(NODE_TYPES), st.integers(1, 50))
    return weighted((12, real), (2, other), (1, made_up), (3, st.sampled_from(GARBAGE_IDS)))


ints_any = weighted((3, st.integers(-5, 200)), (1, st.sampled_from(INT_EDGES)))
decimals = weighted((2, st.sampled_from(DECIMAL_OK)), (1, st.sampled_from(DECIMAL_EDGES)))
datetimes = st.one_of(st.sampled_from(DATETIME_OK), st.sampled_from(DATETIME_EDGES))
dates = weighted((2, st.sampled_from(DATE_OK)), (1, st.sampled_from(DATE_EDGES)))


def _choices(*choices: str | list[str] | st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    parts: list[st.SearchStrategy[str]] = []
    for choice in choices:
        if isinstance(choice, st.SearchStrategy):
            parts.append(choice)
        elif isinstance(choice, list):
            parts.append(st.sampled_from(choice))
        else:
            parts.append(st.just(choice))
    return st.one_of(*parts)


external_ids = _pick(lambda: POOL.external_ids, "cust-1")
order_ids = _pick(lambda: POOL.order_ids, "o-1")
codes = _pick(lambda: POOL.codes, "WELCOME10")
site_codes = _pick(lambda: POOL.site_codes, "hostile")


def _new(prefix: str) -> st.SearchStrategy[str]:
    return st.integers(0, 10**6).map(lambda n: f"{prefix}-{n}")


# Plausible strings by field name; any other String is one of GENERIC.
STRINGS: dict[str, st.SearchStrategy[str]] = {
    "externalId": _choices(external_ids, _new("cust")),
    "search": _choices(external_ids, "ann", "%", "_", "a%b_c"),
    "reference": _choices(PRODUCTS, _new("ref")),
    "orderId": _choices(order_ids, _new("o")),
    "refundId": _choices(["r-1", "r-2"], _new("r")),
    "couponCode": _choices(codes, "NEW-CODE", _new("C")),
    "couponCodes": codes,
    "vouchers": codes,
    "code": _choices(site_codes, _new("site"), "BIRTHDAY"),
    "currencyCode": _choices(CURRENCIES),
    "url": _choices(URLS[:1], URLS),
    "imageUrl": _choices(URLS[:1], URLS),
    "event": _choices(EVENTS),
    "events": _choices(EVENTS),
    "types": _choices(EVENTS),
    "activity": _choices(ACTIVITIES),
    "category": _choices(CATEGORIES),
    "targets": _choices(CATEGORIES, PRODUCTS),
    "exchangeCategories": _choices(CATEGORIES),
    "productId": _choices(PRODUCTS),
    "exchangeProductId": _choices(PRODUCTS),
    "lineId": _choices(["line-1", "sku-1", "sku-2"]),
    "locale": _choices(LOCALES),
    "email": _choices(EMAILS),
    "customerGroup": _choices(GROUPS),
    "customerGroups": _choices(GROUPS),
    "exchangeCustomerGroups": _choices(GROUPS),
    "groups": _choices(GROUPS),
    "idempotencyKey": _choices(["key-1", "key-2"], _new("key")),
    "status": _choices(["PENDING", "CONFIRMED"]),
    "after": cursors,
    "before": cursors,
    "emailSubject": _choices(TEMPLATES),
    "emailHtml": _choices(TEMPLATES),
    "emailText": _choices(TEMPLATES),
    "pushTitle": _choices(TEMPLATES),
    "pushBody": _choices(TEMPLATES),
    "stackingGroup": _choices(["summer", "winter"]),
    "prefix": _choices(["SPRING-", "", "a-"]),
    "badgeCode": _choices(["gold", "GOLD", "silver"]),
    "badgeCodes": _choices(["gold", "silver"]),
    "referralCode": _choices(["REF-CODE", "ref-code", "", "NOSUCH01"]),
    "channel": _choices(["web", "app", "store", "Web "]),
    "channels": _choices(["web", "app"]),
    "displayName": _choices(["Ann", "A.", ""]),
    "activityCode": _choices(ACTIVITIES),
}
GENERIC = _choices(["ann", "shop", "Mug", "x"], st.text("abcxyz -", min_size=1, max_size=10))
# Plausible integers by field name; any other Int is small.
INTS: dict[str, list[int]] = {
    "first": [1, 5, 20, 100, 101],
    "last": [1, 5, 20, 100, 101],
    "quantity": [1, 2, 3],
    "count": [1, 2, 3],
    "points": [10, 100, 500, -10],
    "payWithPoints": [0, 0, 100, 5000],
    "loyaltyPrice": [100, 250],
    "rank": [1, 2, 10],
    "threshold": [100, 1000],
    "windowMonths": [1, 12, 24],
    "validityDays": [30, 90, 365],
    "expiryWarningDays": [7, 14, 30, 60],
    "punchesRequired": [2, 5, 100],
    "eventId": [1, 2, 3],
}


@cache
def plausible(type_name: str, name: str) -> st.SearchStrategy[Any]:
    """A value a well-behaved client could send for a scalar called ``name``."""
    if type_name == "ID":
        kind = ID_TYPES.get(name)
        return st.integers(min_value=0, max_value=63).map(lambda i: POOL.real(kind, i))
    if type_name == "String":
        return STRINGS.get(name, GENERIC)
    if type_name == "Int":
        return st.sampled_from(INTS[name]) if name in INTS else st.integers(0, 50)
    return {
        "Float": st.floats(-10, 10),
        "Boolean": st.booleans(),
        "Decimal": st.sampled_from(DECIMAL_OK),
        "DateTime": st.sampled_from(DATETIME_OK),
        "Date": st.sampled_from(DATE_OK),
    }[type_name]


HOSTILE_BY_NAME = {
    "url": st.sampled_from(URLS),
    "imageUrl": st.sampled_from(URLS),
    "after": cursors,
    "before": cursors,
}


@cache
def hostile(type_name: str, name: str) -> st.SearchStrategy[Any]:
    """An edge or nonsense value for a scalar called ``name``."""
    return {
        "ID": ids(ID_TYPES.get(name)),
        "String": HOSTILE_BY_NAME.get(name, hostile_strings),
        "Int": st.sampled_from(INT_EDGES),
        "Float": st.sampled_from([1e308, -1e308, 5e-324, 2.0**53 + 1]),
        "Boolean": st.booleans(),
        "Decimal": st.sampled_from(DECIMAL_EDGES),
        "DateTime": st.sampled_from(DATETIME_EDGES),
        "Date": st.sampled_from(DATE_EDGES),
    }[type_name]


WRONG_TYPES = st.sampled_from([1.5, True, "1", [], {}, [1], {"a": 1}, 10**30])


# -- values from the schema's input types ----------------------------------------------------


@dataclass(frozen=True)
class Flavour:
    """How hostile an operation's values are: ``hostile`` in 12 scalars are edges or
    nonsense; ``broken`` in 200 values have the wrong JSON type or a required field is
    missing (the variables then do not coerce)."""

    hostile: int
    broken: int


CLEAN = Flavour(0, 0)
SPICY = Flavour(2, 0)
HOSTILE = Flavour(5, 2)


@cache
def scalar_values(type_name: str, name: str, flavour: Flavour) -> st.SearchStrategy[Any]:
    """Values for a scalar argument or input field called ``name``."""
    if not flavour.hostile:
        return plausible(type_name, name)
    return weighted(
        (12 - flavour.hostile, plausible(type_name, name)),
        (flavour.hostile, hostile(type_name, name)),
    )


def values(
    type_: graphql.GraphQLInputType, name: str, flavour: Flavour, depth: int = 0
) -> st.SearchStrategy[Any]:
    """JSON values for an input of ``type_`` called ``name``."""
    return _values(str(type_), name, flavour, depth)


@cache
def _values(type_name: str, name: str, flavour: Flavour, depth: int) -> st.SearchStrategy[Any]:
    type_ = graphql.type_from_ast(SCHEMA, graphql.parse_type(type_name))
    assert graphql.is_input_type(type_)
    nullable = not isinstance(type_, graphql.GraphQLNonNull)
    inner = type_.of_type if isinstance(type_, graphql.GraphQLNonNull) else type_
    strategy: st.SearchStrategy[Any]
    if isinstance(inner, graphql.GraphQLScalarType):
        strategy = scalar_values(inner.name, name, flavour)
    elif isinstance(inner, graphql.GraphQLEnumType):
        valid = st.sampled_from(sorted(inner.values))
        invalid = st.sampled_from(["", "INVALID", "null", "\x00", "enabled"])
        strategy = weighted((30, valid), (flavour.broken, invalid)) if flavour.broken else valid
    elif isinstance(inner, graphql.GraphQLList):
        items = values(inner.of_type, name, flavour, depth + 1)
        strategy = st.lists(items, max_size=3)
        if flavour.broken:  # now and then past the limits (500 lines, 20 codes, 10,000 ids)
            long = st.builds(_repeated, st.lists(items, min_size=1, max_size=2), LIST_LENGTHS)
            strategy = weighted((30, strategy), (1, long))
    elif isinstance(inner, graphql.GraphQLInputObjectType):
        strategy = objects(inner, flavour, depth)
    else:  # pragma: no cover - every input type is one of the above
        raise TypeError(inner)
    pairs: list[tuple[int, st.SearchStrategy[Any]]] = [(200, strategy)]
    if nullable:
        pairs.append((10, st.none()))
    if flavour.broken:
        pairs.append((flavour.broken, WRONG_TYPES))
    return weighted(*pairs) if len(pairs) > 1 else strategy


LIST_LENGTHS = st.sampled_from([21, 51, 101, 501, 1001, 10_001])


def _repeated(items: list[Any], length: int) -> list[Any]:
    return (items * length)[:length]


@cache
def objects(
    type_: graphql.GraphQLInputObjectType, flavour: Flavour, depth: int = 0
) -> st.SearchStrategy[Any]:
    """An input object: every required field, a subset of the optional ones."""

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name, input_field in type_.fields.items():
            required = graphql.is_required_input_field(input_field)
            if not required and draw(st.integers(0, 2)) == 0:
                continue  # an optional field left out
            if required and flavour.broken and draw(st.integers(0, 199)) < flavour.broken:
                continue  # a required field missing: the variables do not coerce
            result[name] = draw(values(input_field.type, name, flavour, depth + 1))
        return result

    return build()


@cache
def field_arguments(key: str, flavour: Flavour) -> st.SearchStrategy[dict[str, Any]]:
    """Values for the arguments of the field ``Type.field`` (required ones always, optional
    ones sometimes)."""
    type_name, field_name = key.split(".")
    owner = SCHEMA.get_type(type_name)
    assert isinstance(owner, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType)
    definitions = owner.fields[field_name].args

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name, argument in definitions.items():
            required = isinstance(argument.type, graphql.GraphQLNonNull)
            if not required and draw(st.integers(0, 2)) == 0:
                continue
            result[name] = draw(values(argument.type, name, flavour))
        return result

    return build()


# -- documents -------------------------------------------------------------------------------

# Decimal literals written as numbers: graphql-core reads 1e999 as a float, infinity
DECIMAL_NUMBERS = [
    graphql.FloatValueNode(value=v) for v in ("1e999", "-1e999", "1e-999", "1.5", "0.1")
] + [graphql.IntValueNode(value=v) for v in ("10", "123456789012345678901234567890", "-0")]
GENERATED_SCALARS: dict[str, st.SearchStrategy[graphql.ValueNode]] = {
    "ID": ids().map(nodes.String),
    "String": weighted((4, GENERIC), (2, hostile_strings), (1, cursors)).map(nodes.String),
    "Int": ints_any.map(nodes.Int),
    "Decimal": st.one_of(decimals.map(nodes.String), st.sampled_from(DECIMAL_NUMBERS)),
    "DateTime": datetimes.map(nodes.String),
    "Date": dates.map(nodes.String),
}


def ast_value(value: Any, type_: graphql.GraphQLInputType) -> graphql.ValueNode:  # noqa: PLR0911
    """``value`` written as a literal of ``type_`` (enum names as enum values)."""
    named = graphql.get_named_type(type_)
    inner = type_.of_type if isinstance(type_, graphql.GraphQLNonNull) else type_
    if value is None:
        return nodes.Null
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return nodes.Float(value)
    if isinstance(value, str):
        if isinstance(named, graphql.GraphQLEnumType) and value.isidentifier():
            return nodes.Enum(value)
        return nodes.String(value)
    if isinstance(value, list):
        item = inner.of_type if isinstance(inner, graphql.GraphQLList) else inner
        return nodes.List([ast_value(v, item) for v in value])
    fields = named.fields if isinstance(named, graphql.GraphQLInputObjectType) else {}
    return nodes.Object(
        [
            graphql.ObjectFieldNode(
                name=graphql.NameNode(value=k),
                value=ast_value(v, fields[k].type if k in fields else type_),
            )
            for k, v in value.items()
        ]
    )


@dataclass(frozen=True)
class Operation:
    """One request: the document text, its variables, how it was built and how it is sent
    (``transport``: a JSON POST; the same accepting application/graphql-response+json;
    with operationName; a GET with the query string; a POST whose body is not UTF-8)."""

    field: str
    form: str
    query: str
    variables: dict[str, Any] | None
    transport: str = "post"

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"query": self.query}
        if self.variables is not None:
            payload["variables"] = self.variables
        if self.transport == "operation-name":
            payload["operationName"] = "Hostile"
        return payload

    def payload_text(self) -> str:
        return json.dumps(self.payload(), ensure_ascii=True)

    def request(self, client: httpx.AsyncClient, token: str | None) -> httpx.Request:
        """The HTTP request (lone surrogates as \\u escapes in JSON text)."""
        headers = {"authorization": f"Bearer {token}"} if token else {}
        if self.transport == "graphql-response":
            headers["accept"] = "application/graphql-response+json"
        if self.transport == "get":
            params = {"query": self.query}
            if self.variables is not None:
                params["variables"] = json.dumps(self.variables, ensure_ascii=True)
            return client.build_request("GET", "/graphql", params=params, headers=headers)
        body = self.payload_text().encode()
        if self.transport == "bad-utf8":
            body = body.replace(b'"query": "', b'"query": "\xff\xfe', 1)
        headers["content-type"] = "application/json"
        return client.build_request("POST", "/graphql", content=body, headers=headers)

    def describe(self) -> str:
        """The operation for a failure report (long runs of one character shortened)."""
        variables = json.dumps(self.variables, ensure_ascii=True)
        return (
            f"{self.field} [{self.form}, {self.transport}]\n    query: {_shorten(self.query)}\n"
            f"    variables: {_shorten(variables)}"
        )


TRANSPORTS = weighted(
    (12, st.just("post")),
    (2, st.just("graphql-response")),
    (1, st.just("operation-name")),
    (1, st.just("get")),
    (1, st.just("bad-utf8")),
)


MAX_GET_QUERY = 4000  # httpx refuses URLs past 64 KiB (a server would answer 414)


def _sent(operation: Operation, transport: str) -> Operation:
    if transport == "get" and len(operation.payload_text()) > MAX_GET_QUERY:
        transport = "post"
    return replace(operation, transport=transport)


def _shorten(text: str) -> str:
    return RUNS.sub(lambda m: f"<{m.group(1)!r} x {len(m.group(0))}>", text)


RUNS = re.compile(r"(.)\1{39,}", re.DOTALL)


def _escaped(text: str) -> str:
    # A lone surrogate cannot be sent as UTF-8; write it as the GraphQL escape instead.
    return "".join(f"\\u{ord(c):04x}" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)


@dataclass(frozen=True)
class Selected:
    """A field in a selection (``children`` for objects), or an inline fragment (``on``)."""

    name: str = ""
    alias: str = ""
    key: str = ""  # Type.field, when the field takes arguments
    children: tuple[Selected, ...] | None = None
    on: str = ""

    def render(self, nested: dict[str, str], rng: random.Random | None) -> str:
        if self.on:
            return f"... on {self.on} {{ {_render(self.children or (), nested, rng)} }}"
        alias = f"{self.alias}: " if self.alias else ""
        call = nested.get(self.key, "") if self.key else ""
        inner = f" {{ {_render(self.children, nested, rng)} }}" if self.children is not None else ""
        return f"{alias}{self.name}{call}{inner}"


def _render(parts: tuple[Selected, ...], nested: dict[str, str], rng: random.Random | None) -> str:
    # A random part of the fields (when rng is given): a forbidden or failing non-null field
    # nulls its parent and cancels its siblings, so selecting everything would hide them.
    chosen = [p for p in parts if rng is None or p.on or rng.random() < 0.4]
    rendered = [p.render(nested, rng) for p in chosen]
    return (
        " ".join(rendered) if any(not p.on for p in chosen) else " ".join(["__typename", *rendered])
    )


def selection(type_: graphql.GraphQLOutputType, depth: int = 2) -> tuple[Selected, ...]:
    """Every field of ``type_``, objects ``depth`` levels down (a Node interface through a
    fragment on each of its types, fields whose types differ between them aliased)."""
    named = graphql.get_named_type(type_)
    if not isinstance(named, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType):
        return ()
    parts: list[Selected] = []
    for name, output in named.fields.items():
        key = f"{named.name}.{name}" if output.args else ""
        inner = graphql.get_named_type(output.type)
        if isinstance(inner, graphql.GraphQLScalarType | graphql.GraphQLEnumType):
            parts.append(Selected(name, key=key))
        elif depth > 0:
            parts.append(Selected(name, key=key, children=selection(inner, depth - 1)))
    if isinstance(named, graphql.GraphQLInterfaceType):
        possible_types = SCHEMA.get_possible_types(named)
        types_by_name: dict[str, set[str]] = {}
        for possible in possible_types:
            for name, output in possible.fields.items():
                types_by_name.setdefault(name, set()).add(str(output.type))
        for possible in possible_types:
            children = tuple(
                Selected(p.name, f"{possible.name}_{p.name}", p.key, p.children)
                if len(types_by_name[p.name]) > 1
                else p
                for p in selection(possible, depth)
            )
            parts.append(Selected(on=possible.name, children=children))
    return tuple(parts)


NESTED = {
    f"{type_.name}.{name}": output
    for type_ in SCHEMA.type_map.values()
    if isinstance(type_, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType)
    and type_ not in (SCHEMA.query_type, SCHEMA.mutation_type)
    for name, output in type_.fields.items()
    if output.args
}


def _written(args: dict[str, Any], definitions: dict[str, graphql.GraphQLArgument]) -> str:
    written = ", ".join(
        f"{k}: {graphql.print_ast(ast_value(v, definitions[k].type))}" for k, v in args.items()
    )
    return f"({written})" if written else ""


@cache
def nested_arguments(flavour: Flavour) -> st.SearchStrategy[dict[str, str]]:
    """Literal arguments for every field below the root that takes arguments."""
    return st.fixed_dictionaries(
        {
            key: field_arguments(key, flavour).map(partial(_written, definitions=output.args))
            for key, output in NESTED.items()
        }
    )


@dataclass(frozen=True)
class RootField:
    """A root field and what the literal and variables forms need to write it."""

    root: graphql.GraphQLObjectType
    name: str

    @property
    def kind(self) -> str:
        return "query" if self.root is SCHEMA.query_type else "mutation"

    def selected(self, nested: dict[str, str], seed: int | None) -> str:
        parts = SELECTIONS[(self.root.name, self.name)]
        if not parts:
            return ""
        return f" {{ {_render(parts, nested, None if seed is None else random.Random(seed))} }}"

    def literal(self, args: dict[str, Any], nested: dict[str, str], seed: int | None) -> Operation:
        call = _written(args, self.root.fields[self.name].args)
        query = f"{self.kind} Hostile {{ {self.name}{call}{self.selected(nested, seed)} }}"
        return Operation(self.name, "literal", _escaped(query), None)

    def with_variables(
        self, args: dict[str, Any], nested: dict[str, str], seed: int | None
    ) -> Operation:
        definitions = self.root.fields[self.name].args
        declared = ", ".join(f"${k}: {a.type}" for k, a in definitions.items())
        passed = ", ".join(f"{k}: ${k}" for k in definitions)
        selected = self.selected(nested, seed)
        query = f"{self.kind} Hostile({declared}) {{ {self.name}({passed}){selected} }}"
        return Operation(self.name, "variables", _escaped(query), args)


SELECTIONS = {
    (root.name, name): selection(output.type)
    for root in (SCHEMA.query_type, SCHEMA.mutation_type)
    if root is not None
    for name, output in root.fields.items()
}
# None selects every field; a seed selects a random part of them
SEEDS = st.one_of(st.none(), st.integers(0, 2**32 - 1))


def _generated(name: str, document: graphql.DocumentNode) -> Operation:
    return Operation(name, "generated", _escaped(graphql.print_ast(document)), None)


def _apply(form: Callable[..., Operation], drawn: tuple[Any, ...]) -> Operation:
    return form(*drawn)


@cache
def operations(field_name: str) -> st.SearchStrategy[Operation]:
    """Operations on one root field, in the three forms."""
    assert SCHEMA.query_type is not None
    assert SCHEMA.mutation_type is not None
    root = SCHEMA.query_type if field_name in QUERY_FIELDS else SCHEMA.mutation_type
    generated = from_schema(
        SCHEMA, fields=[field_name], custom_scalars=GENERATED_SCALARS, print_ast=lambda d: d
    ).map(lambda document: _generated(field_name, document))
    target = RootField(root, field_name)
    key = f"{root.name}.{field_name}"
    forms = [target.with_variables, target.literal] if root.fields[field_name].args else []
    pairs: list[tuple[int, st.SearchStrategy[Operation]]] = []
    for flavour in (SPICY, HOSTILE, CLEAN):
        drawn = st.tuples(field_arguments(key, flavour), nested_arguments(flavour), SEEDS)
        for form in forms or [target.literal]:
            weight = 4 if form == target.with_variables else 2
            pairs.append((weight, drawn.map(partial(_apply, form))))
    pairs.append((3, generated))  # last: hypothesis draws small indices more often
    return st.builds(_sent, weighted(*pairs), TRANSPORTS)
