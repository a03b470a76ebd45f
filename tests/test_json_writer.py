"""contract.indented writes exactly what json.dumps(indent=2) writes, and fails where it fails."""

from __future__ import annotations

import enum
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from immunocli.contract import indented

leaves = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
values = st.recursive(leaves, lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=40)


def reference(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, allow_nan=False)


@settings(max_examples=400, deadline=None)
@given(values)
def test_indented_is_json_dumps_indent_2(value):
    try:
        expected = reference(value)
    except ValueError:  # a NaN or an infinity: refused alike
        with pytest.raises(ValueError):
            indented(value)
        return
    assert indented(value) == expected


class Colour(str, enum.Enum):
    RED = "red"


@pytest.mark.parametrize("value", [
    {1: "int key"}, {"t": (1, "two")}, [Colour.RED], {"big": 10**40, "neg": -0.0, "e": 1e16}, [[], {}, [[{}]]],
    {"s": "quote \" backslash \\ tab \t control \x01 é ☃ \udcff"},
])
def test_unusual_values_are_written_as_json_dumps_writes_them(value):
    assert indented(value) == reference(value)


def test_a_cycle_is_refused_as_json_dumps_refuses_it():
    cycle: list = []
    cycle.append(cycle)
    with pytest.raises(ValueError):
        indented(cycle)


def test_a_real_card_is_written_byte_for_byte(immuno):
    from immunocli.cache import Compiled
    from immunocli.layout import data_dirs

    card = Compiled(data_dirs([])).drug_card("pembrolizumab")
    # the card's trials are kept as their compiled JSON texts: written as json.dumps writes the decoded list
    assert type(card["drug"]["trials"]).__name__ == "Encoded"
    plain = {**card, "drug": {**card["drug"], "trials": list(card["drug"]["trials"])}}
    assert len(plain["drug"]["trials"]) > 50 and indented(card) == reference(plain)
