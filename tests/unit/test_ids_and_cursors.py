"""Global object IDs (api/core/ids.py) and pagination cursors (api/core/pagination.py)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty_gql.api.core.errors import BadRequestError
from loyalty_gql.api.core.ids import InvalidIdError, from_global_id, parse_id, to_global_id
from loyalty_gql.api.core.pagination import (
    decode_cursor,
    decode_id_cursor,
    encode_cursor,
    page_size,
)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


# Global IDs


def test_a_global_id_is_base64_of_type_and_key():
    assert to_global_id("Site", 1) == "U2l0ZTox"
    assert to_global_id("Customer", 42) == _b64("Customer:42")
    assert from_global_id("U2l0ZTox") == ("Site", 1)


@given(
    type_name=st.text(alphabet=st.characters(categories=["Lu", "Ll"]), min_size=1, max_size=30),
    pk=st.integers(min_value=1, max_value=2**63 - 1),
)
def test_a_global_id_round_trips(type_name: str, pk: int):
    global_id = to_global_id(type_name, pk)
    assert from_global_id(global_id) == (type_name, pk)
    assert parse_id(global_id, type_name) == pk


def test_parse_id_refuses_an_id_of_another_type():
    customer_id = to_global_id("Customer", 7)
    with pytest.raises(InvalidIdError) as raised:
        parse_id(customer_id, "Site")
    assert raised.value.message == f"{customer_id!r} is not a valid ID of a Site"
    assert raised.value.extensions == {"code": "BAD_USER_INPUT"}


@pytest.mark.parametrize(
    "value",
    [
        "",
        "not an id",
        "U2l0ZTo",  # truncated
        _b64("Site"),
        _b64("Site:"),
        _b64(":1"),
        _b64("Site:0"),
        _b64("Site:-1"),
        _b64("Site:01"),
        _b64("Site:+1"),
        _b64("Site: 1"),
        _b64("Site:1 "),
        _b64("Site:1.0"),
        _b64("Site:1:2"),
        _b64("Site:one"),
        _b64("Site:\u0661"),  # an Arabic-Indic digit one, which int() accepts
        base64.urlsafe_b64encode(b"Site:\xff").decode(),
        "Site:1",
        "é",
    ],
)
def test_a_malformed_id_is_a_bad_user_input(value: str):
    with pytest.raises(InvalidIdError) as raised:
        from_global_id(value)
    assert raised.value.message == f"{value!r} is not a valid ID"
    assert raised.value.extensions == {"code": "BAD_USER_INPUT"}


# Cursors


@pytest.mark.parametrize(
    "key", [[1], [123456789], ["2026-01-15T12:00:00+00:00", 42], [None, "é", 1.5]]
)
def test_a_cursor_round_trips(key: list[object]):
    assert decode_cursor(encode_cursor(key), arity=len(key)) == key


def test_a_cursor_is_compact_urlsafe_base64_json():
    assert encode_cursor([42]) == _b64("[42]")
    assert encode_cursor(("a", 1)) == _b64('["a",1]')


@given(st.integers(min_value=1, max_value=2**63 - 1))
def test_an_id_cursor_round_trips(row_id: int):
    assert decode_id_cursor(encode_cursor([row_id])) == row_id


def test_no_cursor_means_from_the_start():
    assert decode_id_cursor(None) is None


@pytest.mark.parametrize(
    ("cursor", "arity"),
    [
        ("", 1),
        ("not a cursor!", 1),
        ("WzF", 1),  # truncated
        (_b64("[1"), 1),
        (_b64("{}"), 1),
        (_b64("1"), 1),
        (_b64("[]"), 1),
        (_b64("[1, 2]"), 1),
        (_b64("[1]"), 2),
        (base64.urlsafe_b64encode(b"[\xff]").decode(), 1),
    ],
)
def test_a_malformed_cursor_is_a_bad_request(cursor: str, arity: int):
    with pytest.raises(BadRequestError) as raised:
        decode_cursor(cursor, arity)
    assert raised.value.message == f"{cursor!r} is not a valid cursor"
    assert raised.value.extensions == {"code": "BAD_USER_INPUT"}


@pytest.mark.parametrize("key", ['["1"]', "[true]", "[1.5]", "[null]", "[[1]]"])
def test_an_id_cursor_must_hold_an_integer(key: str):
    cursor = _b64(key)
    with pytest.raises(BadRequestError, match="is not a valid cursor"):
        decode_id_cursor(cursor)


# Page sizes


@pytest.mark.parametrize(("first", "size"), [(None, 20), (0, 0), (1, 1), (99, 99), (100, 100)])
def test_page_size_defaults_and_allows_up_to_the_maximum(first: int | None, size: int):
    assert page_size(first, default=20, maximum=100) == size


def test_more_than_the_maximum_page_size_is_a_bad_request():
    with pytest.raises(BadRequestError) as raised:
        page_size(101, default=20, maximum=100)
    assert raised.value.message == "`first` may be at most 100; page with `after`"
    assert raised.value.extensions == {"code": "BAD_USER_INPUT"}


def test_a_negative_page_size_is_a_bad_request():
    with pytest.raises(BadRequestError) as raised:
        page_size(-1, default=20, maximum=100)
    assert raised.value.message == "`first` must not be negative"


@pytest.mark.parametrize("cursor", [_b64(f"[{2**63}]"), _b64("[0]"), _b64("[" * 100_000)])
def test_a_cursor_no_row_can_have_is_a_bad_request(cursor: str):
    with pytest.raises(BadRequestError, match="is not a valid cursor"):
        decode_id_cursor(cursor)


@pytest.mark.parametrize("value", ["U2l0ZTox!!", " U2l0ZTox", "U2l0ZTox=", "U2l0\nZTox"])
def test_only_the_canonical_form_of_an_id_is_accepted(value: str):
    with pytest.raises(InvalidIdError):
        from_global_id(value)
