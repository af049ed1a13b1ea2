"""The values reconcile compares: patch-vs-order matching, provider amounts, JSON money."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers.http import decimal_of, fields_match, json_number

MATCHES = {
    "number-vs-string": ({"a": "81.00"}, {"a": 81, "extra": 1}, True),
    "nested-subset": ({"a": {"b": "x"}}, {"a": {"b": "x", "c": "y"}}, True),
    "list-item-subset": ({"a": [{"b": 1}]}, {"a": [{"b": 1, "c": 2}]}, True),
    "list-length": ({"a": [{"b": 1}]}, {"a": [{"b": 1}, {"b": 2}]}, False),
    "empty-vs-null": ({"a": "", "b": {}}, {"a": None}, True),
    "bool-vs-int": ({"a": True}, {"a": 1}, False),
    "missing": ({"a": "x"}, {}, False),
}


@pytest.mark.parametrize(("want", "have", "match"), MATCHES.values(), ids=MATCHES.keys())
def test_fields_match(want, have, match):
    assert fields_match(want, have) is match


DECIMALS = {81: Decimal(81), 81.5: Decimal("81.5"), "81.00": Decimal("81.00"), True: None}
DECIMALS |= {"x": None, None: None, "NaN": None}


@pytest.mark.parametrize(("value", "expected"), DECIMALS.items())
def test_decimal_of(value, expected):
    assert decimal_of(value) == expected


@pytest.mark.parametrize(
    ("amount", "number"),
    [("81.00", 81), ("81.5", 81.5), ("19.99", 19.99), ("0", 0), ("1.005", 1.01)],
)
def test_json_number(amount, number):
    result = json_number(Decimal(amount))

    assert (result, type(result)) == (number, type(number))


@given(st.decimals(min_value=0, max_value=10**11, places=2))
def test_json_number_round_trips_cents(amount):
    assert Decimal(str(json_number(amount))) == amount
