"""Properties of the plan-header reader: any bytes give a `PlanHeader` or `EngineLoadError`,
and a well-formed synthetic header is read back exactly."""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from trtgui.core.engine.plan import (
    HEADER_BYTES,
    PLAN_TAGS,
    PlanHeader,
    parse_plan_header,
    read_plan_header,
)
from trtgui.core.errors import EngineLoadError


def _check(result_or_error: PlanHeader | EngineLoadError) -> None:
    if isinstance(result_or_error, EngineLoadError):
        message = result_or_error.message
        assert message and "\n" not in message and len(message) < 300, message


def _parse(head: bytes, size: int | None) -> PlanHeader | EngineLoadError:
    try:
        return parse_plan_header(head, path=Path("x.engine"), file_size=size)
    except EngineLoadError as err:
        return err


@settings(max_examples=100)
@given(st.binary(max_size=96), st.one_of(st.none(), st.integers(0, 1 << 40)))
def test_random_bytes(head: bytes, size: int | None) -> None:
    _check(_parse(head, size))


@st.composite
def headers(draw: st.DrawFn) -> tuple[bytes, dict[str, int | bytes]]:
    """A synthetic header: a real or random tag, random versions and declared size."""
    tag = draw(st.one_of(st.sampled_from(sorted(PLAN_TAGS)), st.binary(min_size=4, max_size=4)))
    serialization = draw(st.one_of(st.just(0), st.integers(0, (1 << 32) - 1)))
    middle = draw(st.binary(min_size=8, max_size=8))
    declared = draw(st.integers(0, (1 << 64) - 1))
    version = draw(st.tuples(*[st.integers(0, 255)] * 4))
    tail = draw(st.binary(max_size=36))
    head = (
        tag
        + struct.pack("<I", serialization)
        + middle
        + struct.pack("<Q", declared)
        + bytes(version)
        + tail
    )
    fields = {"tag": tag, "serialization": serialization, "declared": declared}
    fields.update({f"v{i}": v for i, v in enumerate(version)})
    return head, fields


@settings(max_examples=100)
@given(headers(), st.integers(0, 1 << 36))
def test_synthetic_headers(header: tuple[bytes, dict[str, int | bytes]], size: int) -> None:
    head, fields = header
    size = max(size, len(head)) if size else size
    outcome = _parse(head, size)
    _check(outcome)
    valid = (
        fields["tag"] in PLAN_TAGS
        and fields["serialization"] == 0
        and size >= HEADER_BYTES
        and fields["v0"] != 0
        and not (fields["tag"] == b"vtrt" and int(fields["declared"]) > size)  # type: ignore[arg-type]
    )
    assert isinstance(outcome, PlanHeader) == valid, (outcome, fields, size)
    if isinstance(outcome, PlanHeader):
        assert outcome.version == tuple(fields[f"v{i}"] for i in range(4))
        assert outcome.tag == bytes(fields["tag"]).decode("ascii")  # type: ignore[arg-type]
        assert outcome.file_size == size
        assert outcome.backend in ("rtx", "tensorrt")


@settings(max_examples=50)
@given(st.binary(max_size=200))
def test_files_on_disk(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.engine"
        path.write_bytes(data)
        try:
            header = read_plan_header(path)
        except EngineLoadError as err:
            _check(err)
        else:
            assert header.file_size == len(data)
