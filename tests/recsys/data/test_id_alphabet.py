"""The one id alphabet shared by ingest and the API: the regex and the reasons agree."""

from __future__ import annotations

import random

import pytest
from pydantic import BaseModel, Field, ValidationError

from recsys.data.ids import ID_PATTERN, MAX_ID_LENGTH, id_problem, is_valid_id


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("85123A", None),
        ("a/b c+d@é", None),
        ("日本", None),
        ("a,b", None),
        ("...", None),
        (".a", None),
        ("x" * MAX_ID_LENGTH, None),
        ("", "empty"),
        ("x" * (MAX_ID_LENGTH + 1), "too_long"),
        ("a\x01b", "control_character"),
        ("a\x85b", "control_character"),
        (" a", "surrounding_space"),
        ("a\t", "control_character"),
        ("a\u3000", "surrounding_space"),
        (".", "dot_segment"),
        ("..", "dot_segment"),
    ],
)
def test_reasons(value: str, problem: str | None) -> None:
    assert id_problem(value) == problem
    assert is_valid_id(value) == (problem is None)


def test_regex_and_reasons_agree_on_random_strings() -> None:
    rng = random.Random(0)
    alphabet = ["a", ".", " ", "\x01", "\x85", "é", "/", "\u3000"]
    for _ in range(50_000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        assert is_valid_id(value) == (id_problem(value) is None), repr(value)


def test_pydantic_core_compiles_the_pattern() -> None:
    class Model(BaseModel):
        item_id: str = Field(pattern=ID_PATTERN)

    assert Model(item_id="a b/c").item_id == "a b/c"
    with pytest.raises(ValidationError):
        Model(item_id="..")
