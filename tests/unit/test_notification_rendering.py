"""Notification templates render in a sandbox, with variables formatted for the locale."""

from __future__ import annotations

from dataclasses import replace

import pytest

from loyalty_gql.domain.errors import DomainError, ErrorCode
from loyalty_gql.services.notifications import (
    DEFAULT_TEMPLATES,
    EVENTS,
    SAMPLE,
    VARIABLES,
    Template,
    check_template,
    render,
    variables,
)

PLAIN = Template("Hi", "<p>Hi</p>", "Hi", "Hi", "Hi")
ESCAPES = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{% for x in ().__class__.__base__.__subclasses__() %}{% endfor %}",
    "{{ ''['__class__'] }}",
    "{% set name = '__cla' ~ 'ss__' %}{{ ''[name] }}",
    "{{ cycler.__init__.__globals__ }}",
    "{% if false %}{{ ''.__class__ }}{% endif %}",
]


def test_every_event_has_a_default_template_that_passes_the_checks():
    # given / when / then
    assert set(DEFAULT_TEMPLATES) == set(EVENTS)
    for template in DEFAULT_TEMPLATES.values():
        check_template(template)
        rendered = render(template, SAMPLE)
        assert rendered.email_subject
        assert rendered.email_text
        assert rendered.push_body


def test_the_sample_has_every_documented_variable():
    # given / when / then
    assert set(SAMPLE) == set(VARIABLES)
    assert all(SAMPLE[name] for name in VARIABLES)


def test_missing_variables_are_empty_strings():
    # given / when
    found = variables("OFFER_ASSIGNED", {"offerName": "Spring"}, None, None, "Shop", "en", "EUR")
    # then
    assert set(found) == set(VARIABLES)
    assert found["offer_name"] == "Spring"
    assert found["voucher_code"] == ""
    assert found["customer_name"] == ""
    assert found["expiry_date"] == ""


def test_money_and_dates_follow_the_locale():
    # given
    payload = {
        "valueType": "FIXED_AMOUNT",
        "value": "10",
        "minimumOrderValue": "1234.5",
        "expiresAt": "2026-02-14T12:00:00+00:00",
        "pointsSpent": 1500,
    }
    # when
    german = variables("REWARD_EARNED", payload, "Eva", None, "Laden", "de", "EUR")
    english = variables("REWARD_EARNED", payload, "Eva", None, "Shop", "en", "EUR")
    # then
    assert german["voucher_value"] == "10,00\xa0€"
    assert german["minimum_order_value"] == "1.234,50\xa0€"
    assert german["expiry_date"] == "14.02.2026"
    assert german["points"] == "1.500"
    assert english["voucher_value"] == "€10.00"
    assert english["expiry_date"] == "Feb 14, 2026"


def test_a_percentage_voucher_and_an_unknown_locale():
    # given
    payload = {"valueType": "PERCENT", "value": "12.5", "voucherCode": "ABC"}
    # when
    found = variables("REWARD_EARNED", payload, None, None, "Shop", "xx-nowhere", "EUR")
    # then: an unknown locale falls back to English
    assert found["voucher_value"] == "12.5%"
    assert found["voucher_code"] == "ABC"


def test_tier_and_order_variables():
    # given / when
    tier = variables(
        "TIER_CHANGED", {"fromTier": "Silver", "toTier": "Gold"}, None, None, "S", "en", "USD"
    )
    order = variables(
        "ORDER_REFUNDED",
        {"orderId": "A-1", "total": "59.90", "currency": "EUR", "pointsTakenBack": 60},
        None,
        None,
        "S",
        "en",
        "USD",
    )
    # then: the order's own currency wins over the site's
    assert (tier["tier_name"], tier["previous_tier_name"]) == ("Gold", "Silver")
    assert (order["order_id"], order["order_total"], order["points_taken_back"]) == (
        "A-1",
        "€59.90",
        "60",
    )


def test_html_is_escaped_in_the_html_part_only():
    # given
    template = Template(
        "{{ customer_name }}",
        "<p>{{ customer_name }}</p>",
        "{{ customer_name }}",
        "{{ customer_name }}",
        "{{ customer_name }}",
    )
    values = {**SAMPLE, "customer_name": "<b>Bo & Co</b>"}
    # when
    rendered = render(template, values)
    # then
    assert rendered.email_html == "<p>&lt;b&gt;Bo &amp; Co&lt;/b&gt;</p>"
    assert rendered.email_text == "<b>Bo & Co</b>"
    assert rendered.email_subject == "<b>Bo & Co</b>"
    assert rendered.push_body == "<b>Bo & Co</b>"


@pytest.mark.parametrize("source", ESCAPES)
@pytest.mark.parametrize("part", ["email_html", "email_text", "push_title"])
def test_reaching_python_internals_is_refused(source: str, part: str):
    # given
    template = replace(PLAIN, **{part: source})
    # when
    with pytest.raises(DomainError) as refused:
        check_template(template)
    # then
    [problem] = refused.value.problems
    assert (problem.code, problem.field) == (ErrorCode.INVALID_VALUE, (part,))


@pytest.mark.parametrize(
    "source",
    [
        "{{ customer_name",
        "{% if points %}no end",
        "{{ points | no_such_filter }}",
        "{{ 'a' * 100000000 }}",
        "{% for i in range(10 ** 6) %}.{% endfor %}",
        "{{ ((10 ** 100) ** 100) ** 100 }}",
    ],
)
def test_broken_or_abusive_templates_are_refused(source: str):
    # given / when
    with pytest.raises(DomainError) as refused:
        check_template(replace(PLAIN, email_text=source))
    # then
    assert refused.value.problems[0].field == ("email_text",)


def test_parts_have_length_caps():
    # given / when / then
    with pytest.raises(DomainError) as refused:
        check_template(replace(PLAIN, email_subject="x" * 301))
    assert refused.value.problems[0].field == ("email_subject",)
    with pytest.raises(DomainError) as refused:
        check_template(replace(PLAIN, push_body="x" * 50_001))
    assert refused.value.problems[0].field == ("push_body",)
    check_template(replace(PLAIN, email_subject="x" * 300, email_html="x" * 50_000))


def test_ordinary_jinja_features_still_work():
    # given
    template = replace(
        PLAIN,
        email_text="{% if points %}{{ points }} pts{% endif %} {{ customer_name | upper }} "
        "{% for i in range(3) %}{{ i }}{% endfor %} {{ nothing.at.all }}|",
    )
    # when
    check_template(template)
    rendered = render(template, SAMPLE)
    # then
    assert rendered.email_text == "500 pts ALEX EXAMPLE 012 |"
