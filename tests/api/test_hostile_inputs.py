"""No input reaches a 500 or "Internal error." (#12).

Each test seeds a site (program on, customers with points, a tier, offers of every kind,
coupon codes, vouchers, a pending exchange, orders, a stacking group, a webhook endpoint and
its deliveries, and a second site), then runs hypothesis examples. An example is a round:
one operation on every Query root field (the ``queries`` tests) or on every Mutation root
field (the ``mutations`` tests), sent through the ASGI app with one role's token (admin,
service, customer, or none). Operations are hypothesis-graphql documents with hostile
literal arguments, or arguments built by walking the schema's input types, written as
literals or sent as JSON variables; IDs are mostly the seeded objects' real global IDs.
tests/api/hostile.py has the strategies and the values. No response may be a 5xx or carry
"Internal error." anywhere in its body; a failure lists each failing operation with its
role, backend, variables, the response and the frames of the traceback the app logged.

Environment:

- ``LOYALTY_HOSTILE_EXAMPLES``: examples (rounds) per test, 20 by default (what CI runs);
  raise it for a longer local run, e.g. ``LOYALTY_HOSTILE_EXAMPLES=300``.
- ``LOYALTY_HOSTILE_SHRINK=1``: let hypothesis shrink a failing round. Off by default: a
  round is a request per root field of its kind (dozens), shrinking one takes minutes,
  and the failure already names the operations that failed.

Run with ``-s`` to see, per test, the examples and operations run, how many responses
carried data, the forms, transports, HTTP statuses, error codes and userErrors seen.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import time
import traceback
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from loyalty_gql.config import Settings
from loyalty_gql.db.engine import Database
from loyalty_gql.services import webhooks
from tests.api import hostile
from tests.conftest import BACKEND, GraphQLClient
from tests.support.clock import Clock
from tests.support.operations import CONFIGURE_PROGRAM, CREATE_OFFER, PUBLISH_OFFER
from tests.support.shop import create_site, register

EXAMPLES = int(os.environ.get("LOYALTY_HOSTILE_EXAMPLES", "20"))
PHASES = [Phase.explicit, Phase.reuse, Phase.generate]
if os.environ.get("LOYALTY_HOSTILE_SHRINK") == "1":
    PHASES.append(Phase.shrink)
ROLES = ("admin", "service", "customer", "anonymous")
# graphql-core 3.3 cancels the pending siblings of a field whose error nulls their parent; a
# sibling cancelled before it started leaves its resolver's coroutine never awaited, which
# Python reports when it is collected. No response changes (the parent is null anyway); the
# harness prints where it happened.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <coroutine object GraphQLCoreConverter.from_resolver"
    ":pytest.PytestUnraisableExceptionWarning"
)
# a round of one kind sends every field of that kind once; kinds are slices of the root
# fields, each small enough that a round's draws stay within hypothesis's buffer (a round
# of all 56 mutations overran it, so most rounds were drawn and thrown away again)
CHUNK = 12
FIELDS = {
    f"{kind}-{n // CHUNK + 1}": tuple(fields[n : n + CHUNK])
    for kind, fields in (
        ("queries", list(hostile.QUERY_FIELDS)),
        ("mutations", list(hostile.MUTATION_FIELDS)),
    )
    for n in range(0, len(fields), CHUNK)
}
SITE = "hostile"
MASKED = "Internal error."


@pytest.fixture(name="settings")
def _settings() -> Settings:
    """The app's settings, without rate limits: a round sends dozens of requests at once."""
    return Settings(
        env="test", rate_limit_requests=0, rate_limit_cost=0, rate_limit_unknown_codes=0
    )


# -- seeding ---------------------------------------------------------------------------------

SEED_STEPS = {
    "grant": "mutation($input: GrantPointsInput!) { grantPoints(input: $input) "
    "{ entry { id } userErrors { field code message } } }",
    "tier": "mutation($input: CreateTierInput!) { createTier(input: $input) "
    "{ tier { id } userErrors { field code message } } }",
    "codes": "mutation($input: GenerateCouponCodesInput!) { generateCouponCodes(input: $input) "
    "{ codes userErrors { field code message } } }",
    "assign": "mutation($input: AssignOfferInput!) { assignOffer(input: $input) "
    "{ assignedCount userErrors { field code message } } }",
    "redeem": "mutation($input: RedeemOfferInput!) { redeemOffer(input: $input) "
    "{ voucher { id code } userErrors { field code message } } }",
    "record": "mutation($input: RecordOrderInput!) { recordOrder(input: $input) "
    "{ order { id } userErrors { field code message } } }",
    "complete": "mutation($input: OrderInput!) { completeOrder(input: $input) "
    "{ order { id } userErrors { field code message } } }",
    "stacking": "mutation($input: SetStackingGroupInput!) { setStackingGroup(input: $input) "
    "{ stackingGroup { name } userErrors { field code message } } }",
    "endpoint": "mutation($input: CreateWebhookEndpointInput!) "
    "{ createWebhookEndpoint(input: $input) "
    "{ endpoint { id } userErrors { field code message } } }",
    "activity": "mutation($input: RecordActivityInput!) { recordActivity(input: $input) "
    "{ entry { id } userErrors { field code message } } }",
    "campaign": "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) "
    "{ campaign { id } userErrors { field code message } } }",
    "badge": "mutation($input: BadgeTypeInput!) { createBadgeType(input: $input) "
    "{ badgeType { id } userErrors { field code message } } }",
    "challenge": "mutation($input: ChallengeInput!) { createChallenge(input: $input) "
    "{ challenge { id } userErrors { field code message } } }",
    "board": "mutation($input: CreateLeaderboardInput!) { createLeaderboard(input: $input) "
    "{ leaderboard { id } userErrors { field code message } } }",
}
SEED_READ = """
query($s: ID!) {
  ledgerEntries(siteId: $s, first: 50) { nodes { id } }
  exchanges(siteId: $s) { nodes { id } }
  webhookDeliveries(siteId: $s, first: 20) { nodes { id } }
  customers(siteId: $s) { nodes { id vouchers { id code } } }
}
"""


class Seeded:
    """The seeded site and one token per role."""

    def __init__(self, site_id: str, tokens: dict[str, str | None]) -> None:
        self.site_id = site_id
        self.tokens = tokens

    def __repr__(self) -> str:
        return f"Seeded({self.site_id!r})"


class Seeder:
    """Runs the seeding steps as the site's admin, service or customer."""

    def __init__(self, gql: GraphQLClient) -> None:
        self.gql = gql
        self.admin = gql.token("admin", SITE)
        self.service = gql.token("service", SITE)
        self.customer = gql.token("customer", SITE, subject="cust-1")

    async def step(self, step: str, token: str, **fields: Any) -> dict[str, Any]:
        body = await self.gql.execute(SEED_STEPS[step], {"input": fields}, token=token)
        [payload] = body["data"].values()
        assert payload["userErrors"] == [], (step, payload)
        assert isinstance(payload, dict)
        return payload

    async def offer(self, site_id: str, kind: str, *, publish: bool = True, **terms: Any) -> str:
        body = await self.gql.execute(
            CREATE_OFFER,
            {"input": {"siteId": site_id, "kind": kind, "terms": terms}},
            token=self.admin,
        )
        payload = body["data"]["createOffer"]
        assert payload["userErrors"] == [], payload
        offer_id: str = payload["offer"]["id"]
        if publish:
            await self.gql.execute(
                PUBLISH_OFFER, {"input": {"offerId": offer_id}}, token=self.admin
            )
        hostile.POOL.add("Offer", offer_id)
        return offer_id


async def seed(gql: GraphQLClient, db: Database, clock: Clock) -> Seeded:
    """Create the data the operations' IDs point at, and remember it in the pool."""
    pool = hostile.POOL
    pool.reset()
    s = Seeder(gql)
    site_id = await create_site(gql, SITE)
    reward = {"enabled": True, "points": 3000, "valueType": "FIXED_AMOUNT", "value": "5"}
    activities = [{"code": "BIRTHDAY", "name": "Birthday", "points": 50, "dailyCap": 1}]
    body = await gql.execute(
        CONFIGURE_PROGRAM,
        {"input": {"siteId": site_id, "pointValue": "0.01", "newsletterSignupPoints": 100,
                   "productReviewPoints": 10, "referralPoints": 200, "thresholdReward": reward,
                   "customActivities": activities, "validityPolicy": "FIXED_DAYS",
                   "validityDays": 365}},
        token=s.admin,
    )  # fmt: skip
    assert body["data"]["configureProgram"]["userErrors"] == [], body
    other_id = await create_site(gql, "other")
    pool.add("Site", site_id)
    pool.add("Site", other_id)
    pool.site_codes += [SITE, "other"]
    customers = {}
    for external_id, extra in (
        ("cust-1", {"enroll": True, "groups": ["vip"], "email": "ann@example.com"}),
        ("cust-2", {"name": "Bob"}),
        ("cust-3", {"enroll": True}),
    ):
        customers[external_id] = (await register(gql, SITE, site_id, external_id, **extra))["id"]
        pool.add("Customer", customers[external_id])
        pool.external_ids.append(external_id)
    stranger = await register(gql, "other", other_id, "stranger", enroll=True)
    pool.add("Customer", stranger["id"])
    pool.external_ids.append("stranger")
    for external_id, points in (("cust-1", 5000), ("cust-3", 500)):
        await s.step("grant", s.admin, customerId=customers[external_id], points=points,
                     reason="seed")  # fmt: skip
    await s.step("activity", s.service, customerId=customers["cust-3"], activity="BIRTHDAY")
    tier = await s.step("tier", s.admin, siteId=site_id, name="Gold", rank=1,
                        metric="POINTS_EARNED", threshold=1000)  # fmt: skip
    pool.add("Tier", tier["tier"]["id"])
    await s.offer(site_id, "COUPON", name="Welcome", valueType="FIXED_AMOUNT", value="5",
                  couponCode="WELCOME10", minimumOrderValue="10")  # fmt: skip
    single = await s.offer(site_id, "COUPON", name="Once", valueType="PERCENT", value="10")
    codes = await s.step("codes", s.admin, offerId=single, count=3, prefix="ONE-")
    pool.codes += ["WELCOME10", "welcome10", *codes["codes"]]
    mug = await s.offer(site_id, "REWARD", name="Mug", valueType="FREE_ITEM", loyaltyPrice=100,
                        exchangeProductId="mug-1")  # fmt: skip
    four_off = await s.offer(site_id, "REWARD", name="4 off", valueType="FIXED_AMOUNT",
                             value="4", loyaltyPrice=100)  # fmt: skip
    card = await s.offer(site_id, "PUNCHCARD", name="Coffee", valueType="FREE_ITEM",
                         punchesRequired=3, scope="CATEGORY", targets=["drinks"])  # fmt: skip
    await s.offer(site_id, "PROMOTION", name="Shoes", valueType="PERCENT", value="10",
                  scope="CATEGORY", targets=["shoes"], stackingGroup="summer")  # fmt: skip
    await s.offer(site_id, "CLUBCARD", name="Club", valueType="PERCENT", value="5",
                  membershipFeePoints=50)  # fmt: skip
    await s.offer(site_id, "PROMOTION", name="Draft", valueType="PERCENT", value="1",
                  publish=False)  # fmt: skip
    await s.step("assign", s.admin, offerId=card, customerIds=[customers["cust-1"]])
    await s.step("stacking", s.admin, siteId=site_id, name="summer", mode="STACK")
    for offer_id in (four_off, mug):
        await s.step("redeem", s.customer, offerId=offer_id)
    line = {"productId": "sku-1", "category": "shoes/running", "quantity": 2,
            "unitPrice": "49.90"}  # fmt: skip
    for order_id, customer in (("o-1", "cust-1"), ("o-2", None), ("o-3", "cust-3")):
        ids = {"customerId": customers[customer]} if customer else {}
        order = await s.step("record", s.service, siteId=site_id, orderId=order_id,
                             lines=[line], couponCodes=["WELCOME10"], **ids)  # fmt: skip
        pool.add("Order", order["order"]["id"])
        pool.order_ids.append(order_id)
    await s.step("complete", s.service, siteId=site_id, orderId="o-1")
    endpoint = await s.step("endpoint", s.admin, siteId=site_id,
                            url="https://hooks.example.com/loyalty")  # fmt: skip
    pool.add("WebhookEndpoint", endpoint["endpoint"]["id"])
    campaign = await s.step("campaign", s.admin, siteId=site_id, campaign={
        "name": "Double shoes", "trigger": "ORDER", "conditions": {"categories": ["shoes"]},
        "effect": {"kind": "MULTIPLIER", "multiplier": "2"}})  # fmt: skip
    pool.add("Campaign", campaign["campaign"]["id"])
    await s.step("badge", s.admin, siteId=site_id, code="gold", name="Gold")
    challenge = await s.step("challenge", s.admin, siteId=site_id, code="two", name="Two",
                             goalKind="COUNT", target=2,
                             rewards=[{"kind": "POINTS", "points": 5}])  # fmt: skip
    pool.add("Challenge", challenge["challenge"]["id"])
    board = await s.step("board", s.admin, siteId=site_id, code="top", name="Top",
                         metric="POINTS_EARNED", period="ALL_TIME")  # fmt: skip
    pool.add("Leaderboard", board["leaderboard"]["id"])
    await webhooks.dispatch(db, clock=clock)
    read = (await gql.execute(SEED_READ, {"s": site_id}, token=s.admin))["data"]
    for type_name, nodes in (
        ("LedgerEntry", read["ledgerEntries"]["nodes"][:10]),
        ("Exchange", read["exchanges"]["nodes"]),
        ("WebhookDelivery", read["webhookDeliveries"]["nodes"][:5]),
    ):
        for node in nodes:
            pool.add(type_name, node["id"])
    for customer_node in read["customers"]["nodes"]:
        for voucher in customer_node["vouchers"]:
            pool.add("Voucher", voucher["id"])
            pool.codes.append(voucher["code"])
    for type_name in hostile.NODE_TYPES:
        assert pool.ids[type_name], f"nothing seeded of {type_name}"
    return Seeded(
        site_id,
        {"admin": s.admin, "service": s.service, "customer": s.customer, "anonymous": None},
    )


# -- checking responses ----------------------------------------------------------------------


def frames(error: BaseException) -> str:
    """Where ``error`` came from: the project's frames and the last one, then the error."""
    stack = traceback.extract_tb(error.__traceback__)
    kept = [f for n, f in enumerate(stack) if "loyalty_gql" in f.filename or n == len(stack) - 1]
    lines = [f"      {f.filename.split('site-packages/')[-1]}:{f.lineno} {f.name}: {f.line}"
             for f in kept]  # fmt: skip
    message = str(error)
    if len(message) > 800:
        message = f"{message[:800]}..."
    return "\n".join([*lines, f"      {type(error).__name__}: {message}"])


class ServerLog(logging.Handler):
    """Collects what the app logs at ERROR (the executor logs 'unexpected error at' with the
    traceback of every error it masks)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[str]:
        """The records since the last call, each with where its error came from."""
        taken = []
        for record in self.records:
            text = f"{record.name}: {record.getMessage()}"
            if record.exc_info and record.exc_info[1] is not None:
                text += "\n" + frames(record.exc_info[1])
            taken.append(text)
        self.records.clear()
        return taken


class Tally:
    """What one test sent: examples, operations, and how the operations ended."""

    def __init__(self) -> None:
        self.examples = 0
        self.operations = 0
        self.executed = 0
        self.sending = 0.0
        self.started = time.monotonic()
        self.forms: Counter[str] = Counter()
        self.transports: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.error_codes: Counter[str] = Counter()
        self.user_error_codes: Counter[str] = Counter()
        self.fields: Counter[str] = Counter()
        self.slowest: list[tuple[float, str]] = []

    def __repr__(self) -> str:
        return f"Tally({self.examples} examples)"

    def count(self, operation: hostile.Operation, status: int, body: Any) -> None:
        """Count one response."""
        self.operations += 1
        self.forms[operation.form] += 1
        self.transports[operation.transport] += 1
        self.statuses[status] += 1
        self.fields[operation.field] += 1
        if not isinstance(body, dict):
            return
        if body.get("data") is not None:
            self.executed += 1
            for payload in body["data"].values():
                if isinstance(payload, dict):
                    for error in payload.get("userErrors") or []:
                        self.user_error_codes[str(error.get("code"))] += 1
        errors = body.get("errors") or []
        if errors:  # the first error's code, once per response
            self.error_codes[(errors[0].get("extensions") or {}).get("code", "-")] += 1

    def summary(self, name: str) -> str:
        """One paragraph for the test's output."""
        seconds = time.monotonic() - self.started
        return (
            f"\n{name} [{BACKEND}]: {self.examples} examples, {self.operations} operations "
            f"({self.executed} with data), {seconds:.1f} s ({self.sending:.1f} s in requests)"
            f"\n  forms {dict(self.forms)}; transports {dict(self.transports)}"
            f"\n  HTTP {dict(self.statuses)}"
            f"\n  errors {dict(self.error_codes.most_common(10))}"
            f"\n  userErrors {dict(self.user_error_codes.most_common(10))}"
            f"\n  slowest {[(name, round(took, 2)) for took, name in reversed(self.slowest)]}"
        )


def _resolver_of(obj: Any) -> str:
    """The field and document of a resolver coroutine (its frame holds ``info``)."""
    frame = getattr(obj, "cr_frame", None)
    info = frame.f_locals.get("info") if frame is not None else None
    if info is None:
        return repr(obj)
    document = graphql.print_ast(info.operation).replace("\n", " ")
    return f"{info.path.as_list()} in {document[:2000]}"


class Harness:
    """The seeded app, one token per role, the server's log and the tally."""

    def __init__(self, http: httpx.AsyncClient, seeded: Seeded, log: ServerLog) -> None:
        self.http = http
        self.seeded = seeded
        self.log = log
        self.tally = Tally()

    def __repr__(self) -> str:
        return f"Harness({self.tally.examples} examples)"

    async def check(self, operation: hostile.Operation, role: str) -> str | None:
        """Send the operation as ``role``; why it failed, or None."""
        request = operation.request(self.http, self.seeded.tokens[role])
        self.log.take()
        sent = time.monotonic()
        try:
            response = await self.http.send(request)
        except Exception as error:  # the app must not raise: that is a 500
            status, text, body = 500, f"the app raised\n{frames(error)}", None
        else:
            status, text = response.status_code, response.text
            try:
                body = response.json()
            except ValueError:
                body = None
        took = time.monotonic() - sent
        self.tally.sending += took
        self.tally.slowest = sorted([*self.tally.slowest, (took, operation.field)])[-3:]
        self.tally.count(operation, status, body)
        logged = self.log.take()
        if status < 500 and MASKED not in text:
            return None
        server = "\n".join(logged) if logged else "(nothing logged)"
        return (
            f"- {operation.describe()}\n    role: {role}, backend: {BACKEND}, HTTP {status}\n"
            f"    body: {text[:600]}\n    server: {server}"
        )


@pytest.fixture
async def harness(
    gql: GraphQLClient,
    db: Database,
    clock: Clock,
    http: httpx.AsyncClient,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Harness]:
    """Seeds the site, listens to the app's log, and reports the tally when done."""
    started = time.monotonic()
    seeded = await seed(gql, db, clock)
    seeding = time.monotonic() - started
    log = ServerLog()
    logger = logging.getLogger("loyalty_gql")
    logger.addHandler(log)
    harness = Harness(http, seeded, log)
    previous_hook = sys.unraisablehook
    unraisable: list[str] = []

    def hook(report: Any) -> None:  # name the resolver pytest will report as never awaited
        unraisable.append(_resolver_of(report.object))
        previous_hook(report)

    sys.unraisablehook = hook
    try:
        yield harness
        gc.collect()
    finally:
        sys.unraisablehook = previous_hook
        logger.removeHandler(log)
    if unraisable:
        print(f"\n{len(unraisable)} resolver coroutines never awaited, e.g. {unraisable[0]}")  # noqa: T201
    tally = harness.tally
    print(tally.summary(request.node.name) + f"\n  seeded in {seeding:.1f} s")  # noqa: T201
    request.node.user_properties.append(("examples", tally.examples))
    request.node.user_properties.append(("operations", tally.operations))
    if tally.examples:  # every root field of the kind was sent
        assert set(tally.fields) == set(FIELDS[request.node.callspec.params["kind"]])


@pytest.mark.parametrize("kind", list(FIELDS))
@pytest.mark.parametrize("role", ROLES)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=False,
    phases=PHASES,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        # a round is one operation on every root field: with the mutations of #17 and
        # #18 its smallest draw grew past what this check allows, and it failed every run
        HealthCheck.large_base_example,
    ],
)
@given(data=st.data())
async def test_no_input_reaches_an_internal_error(
    harness: Harness, role: str, kind: str, data: st.DataObject
) -> None:
    # given: one operation on every root field of the kind, drawn as the round goes
    harness.tally.examples += 1
    failures = []
    for name in FIELDS[kind]:
        operation = data.draw(hostile.operations(name), label=name)
        # when: it is sent as the role
        failure = await harness.check(operation, role)
        # then: no 5xx, no "Internal error." anywhere in the body
        if failure:
            failures.append(failure)
    if failures:
        raise AssertionError(f"{len(failures)} operations failed:\n" + "\n".join(failures))
