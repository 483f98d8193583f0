"""core/schema.py: the one JSON parser and pydantic's first error in words."""

from __future__ import annotations

import json
from typing import Annotated, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from trtgui.core.errors import SettingsError
from trtgui.core.schema import MAX_DEPTH, nesting_depth, parse_json, read_json, validate


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    WHAT: ClassVar[str] = 'an object with a "name"'

    name: str = Field(description="a string")
    sizes: list[Annotated[StrictInt, Field(ge=1)]] = Field([], description="a list of integers")


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    level: StrictInt = Field(3, ge=0, le=5, description="an integer")
    items: list[_Item] = Field([], description="a list of items")


def _message(data: object) -> str:
    with pytest.raises(SettingsError) as info:
        validate(_Record, data, SettingsError, where="outer")
    return info.value.message


def test_json_problems_are_one_line() -> None:
    cases = {
        "{x": "The file is not valid JSON (line 1, column 2: Expecting property name",
        "[" * 100_000 + "]" * 100_000: "The file is nested too deeply (more than 64 levels",
        # Python refuses to convert an integer of more than 4,300 digits.
        "1" * 5_000: "The file holds a number too long to read",
    }
    for text, words in cases.items():
        with pytest.raises(SettingsError) as info:
            parse_json(text, "The file", SettingsError)
        assert info.value.message.startswith(words), info.value.message
    nested = json.dumps([[[1]]])
    assert parse_json(nested, "The file", SettingsError) == [[[1]]]
    assert nesting_depth([[[1]]]) == 3 and nesting_depth({"a": [1]}) == 2 and nesting_depth(5) == 0
    # One level more than allowed is refused even though json.loads could read it.
    with pytest.raises(SettingsError, match="nested too deeply"):
        parse_json("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "The file", SettingsError)


def test_read_json_reads_through_the_regular_file_reader(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "s.json"
    path.write_text('{"a": 1}')
    assert read_json(path, "settings") == {"a": 1}
    with pytest.raises(SettingsError, match="is a folder"):
        read_json(tmp_path, "settings")


def test_findings_name_the_field_and_what_it_must_be() -> None:
    assert _message({"level": "3"}) == 'outer.level must be an integer, got "3".'
    assert _message({"level": 9}) == "outer.level must be an integer of at most 5, got 9."
    assert _message({"items": [3]}) == 'outer.items[0] must be an object with a "name", got 3.'
    assert _message({"items": [{}]}) == (
        'outer.items[0] has no "name": it must be an object with a "name".'
    )
    assert _message({"items": [{"name": "a", "sizes": [1, 0]}]}) == (
        "outer.items[0].sizes must be a list of integers, each of at least 1, got [1, 0]."
    )
    assert _message({"levl": 3}) == 'Unknown key "levl" in outer: check the spelling.'
