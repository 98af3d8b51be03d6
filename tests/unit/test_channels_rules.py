"""The channels' rules: the SMTP URL, who is sent what, message identities, and signed
unsubscribe links."""

from __future__ import annotations

import pytest

from loyalty_gql.domain.channels import (
    Category,
    Channel,
    SmtpServer,
    SmtpUrlError,
    category_of,
    may_send,
    message_id,
    parse_smtp_url,
    read_unsubscribe_token,
    unsubscribe_token,
)


@pytest.mark.parametrize(
    ("url", "server"),
    [
        ("smtp://mail.example", SmtpServer("mail.example", 587, False, True, None, None)),
        ("smtp://mail.example:25", SmtpServer("mail.example", 25, False, False, None, None)),
        ("smtp://mail.example:25?starttls=true",
         SmtpServer("mail.example", 25, False, True, None, None)),
        ("smtp://mail.example:587?starttls=False",
         SmtpServer("mail.example", 587, False, False, None, None)),
        ("smtps://ann:p%40ss@mail.example",
         SmtpServer("mail.example", 465, True, False, "ann", "p@ss")),
        ("smtps://mail.example:2465?cafile=/etc/ca.pem",
         SmtpServer("mail.example", 2465, True, False, None, None, "/etc/ca.pem")),
    ],
)  # fmt: skip
def test_smtp_urls_name_the_server_its_tls_and_credentials(url: str, server: SmtpServer) -> None:
    assert parse_smtp_url(url) == server


@pytest.mark.parametrize(
    "url", ["http://mail.example", "smtp://", "smtp://mail.example:x", "smtp://h?starttls=maybe"]
)
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(SmtpUrlError):
        parse_smtp_url(url)


def test_marketing_needs_consent_and_every_category_stops_after_an_opt_out() -> None:
    assert category_of("OFFER_ASSIGNED") is Category.MARKETING
    assert category_of("REWARD_EARNED") is Category.TRANSACTIONAL
    assert may_send(Category.TRANSACTIONAL, marketing_consent=False, opted_out=set())
    assert not may_send(Category.MARKETING, marketing_consent=False, opted_out=set())
    assert may_send(Category.MARKETING, marketing_consent=True, opted_out=set())
    assert not may_send(Category.MARKETING, marketing_consent=True, opted_out={Category.MARKETING})
    assert may_send(Category.TRANSACTIONAL, marketing_consent=True, opted_out={Category.MARKETING})


def test_an_events_message_id_is_the_same_on_every_attempt_and_per_channel() -> None:
    assert message_id(42, Channel.EMAIL, "shop.example") == "<loyalty-event-42.email@shop.example>"
    assert message_id(42, Channel.PUSH, "shop.example") != message_id(
        42, Channel.EMAIL, "shop.example"
    )


def test_unsubscribe_tokens_name_their_customer_and_only_ours_are_read() -> None:
    token = unsubscribe_token(b"key", 7, Category.MARKETING)
    assert read_unsubscribe_token(b"key", token) == (7, Category.MARKETING)
    assert read_unsubscribe_token(b"other key", token) is None
    assert read_unsubscribe_token(b"key", token.replace("7.", "8.", 1)) is None
    assert read_unsubscribe_token(b"key", token.replace("marketing", "transactional")) is None
    for junk in ("", "7", "x.marketing.abc", "7.nothing.abc"):
        assert read_unsubscribe_token(b"key", junk) is None
