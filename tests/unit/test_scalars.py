"""BigInt: a JSON number, exact in JavaScript, so refused beyond 2^53-1."""

from __future__ import annotations

import pytest
from graphql import GraphQLError

from loyalty_gql.api.core.scalars import SCALARS, BigInt, big_int_value


def test_big_int_is_a_json_number_up_to_two_to_the_53_less_one():
    assert SCALARS[BigInt].serialize is big_int_value
    assert SCALARS[BigInt].parse_value is big_int_value
    assert big_int_value(3_000_000_000) == 3_000_000_000
    assert big_int_value(2**53 - 1) == 9_007_199_254_740_991
    assert big_int_value(-(2**53 - 1)) == -9_007_199_254_740_991


@pytest.mark.parametrize("value", [2**53, -(2**53), "3000000000", True, 1.5])
def test_big_int_refuses_what_a_client_would_read_wrong(value: object):
    with pytest.raises(GraphQLError):
        big_int_value(value)
